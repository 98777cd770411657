package main

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestObservability: otelhttp in front puts a trace beside every id, the
// pricing service's lines continue the caller's trace, a handler's own
// line carries the id, and the debug endpoint counts errors by status.
func TestObservability(t *testing.T) {
	debugAddr := freeAddr(t)
	d := startDemo(t, "-debug-addr", debugAddr)
	resp, body := d.do(t, call{method: "GET", path: "/api/v1/participant/offers/1003/quote", token: "alice-token"})
	id := checkEnvelope(t, resp, body, http.StatusBadGateway)
	resp, body = d.do(t, call{method: "GET", path: "/api/v1/participant/offers/9999", token: "alice-token"})
	checkEnvelope(t, resp, body, http.StatusNotFound)

	// The observer runs once the client has its answer: wait for it.
	var got struct {
		Errors map[string]int `json:"errors_by_status"`
	}
	require.Eventually(t, func() bool {
		vars, err := http.Get("http://" + debugAddr + "/debug/vars")
		if err != nil {
			return false
		}
		defer vars.Body.Close()
		return json.NewDecoder(vars.Body).Decode(&got) == nil && got.Errors["502"] == 1 && got.Errors["404"] == 1
	}, 2*time.Second, 10*time.Millisecond, "errors_by_status: %v", got.Errors)

	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	_ = d.cmd.Wait()
	var errorLine, handlerLine, pricingLine map[string]any
	for _, l := range logLines(t, d.stdout.String()) {
		switch {
		case l["id"] == id && l["level"] == "error":
			errorLine = l
		case l["id"] == id && l["message"] == "quote requested":
			handlerLine = l
		case l["client_request_id"] == id:
			pricingLine = l
		}
	}
	require.NotNil(t, errorLine, "the 502's error line")
	require.NotNil(t, handlerLine, "the handler's own line carries the id")
	require.NotNil(t, pricingLine, "the pricing service's line")
	trace, _ := errorLine["trace_id"].(string)
	assert.Regexp(t, hex32, trace)
	assert.Equal(t, trace, handlerLine["trace_id"])
	assert.Equal(t, trace, pricingLine["trace_id"], "one trace across both services")
	assert.NotEqual(t, errorLine["span_id"], pricingLine["span_id"])
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
