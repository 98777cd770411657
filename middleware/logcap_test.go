package middleware_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// rawGet sends a request line as is (Go's client would escape the path)
// and returns the status.
func rawGet(t *testing.T, addr, method, target string, hdr ...string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	req := method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	for _, h := range hdr {
		req += h + "\r\n"
	}
	_, err = c.Write([]byte(req + "\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestHostileFieldsAreCapped: a client, a handler and an upstream put as
// much as they can in every logged field; each line stays within
// MaxLogLine and says what was cut.
func TestHostileFieldsAreCapped(t *testing.T) {
	huge := func(c string) string { return strings.Repeat(c, 1<<20) }
	quotes := strings.Repeat(`"`, 65000)
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		for range 100 {
			middleware.RecordCall(r.Context(), strings.Repeat(`"`, middleware.MaxClientRequestID))
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/4xx"):
			return apierror.New(http.StatusUnprocessableEntity, huge("\x01"))
		case strings.HasPrefix(r.URL.Path, "/5xx"):
			up := &apierror.Error{Status: 500, Received: &apierror.Envelope{ID: huge(`"`), Path: huge("\\"), StatusCode: 500, Message: huge("m")}}
			return &apierror.Error{Status: 502, Message: huge("\xff"), Detail: huge("\n"), Code: apierror.Code(huge("c")),
				Cause: fmt.Errorf("pricing said %s: %w", huge(`"`), up)}
		default:
			panic(errors.New(huge("\x02")))
		}
	}))
	addr := strings.TrimPrefix(srv.URL, "http://")
	clientID := "X-Request-Id: " + strings.Repeat(`"`, middleware.MaxClientRequestID)
	assert.Equal(t, 422, rawGet(t, addr, "GET", "/4xx/"+quotes, clientID))
	assert.Equal(t, 502, rawGet(t, addr, strings.Repeat("M", 4000), "/5xx/"+quotes, clientID))
	assert.Equal(t, 500, rawGet(t, addr, "GET", "/panic/"+quotes, clientID))

	require.Eventually(t, func() bool { return len(s.log.Lines(t)) == 3 }, 2*time.Second, 5*time.Millisecond)
	raw := strings.SplitAfter(s.log.String(), "\n")
	lines := s.log.Lines(t)
	var msgs []any
	for _, l := range lines {
		msgs = append(msgs, l["message"])
	}
	require.Len(t, lines, 3, "one line a request: %v", msgs)
	for i, l := range raw[:3] {
		assert.LessOrEqual(t, len(l), middleware.MaxLogLine, "line %d is %d bytes", i, len(l))
	}
	for i, l := range lines {
		assert.Contains(t, l["path"], "…[cut from ", "line %d: path", i)
		assert.Len(t, l["calls"], 64, "line %d: %v", i, l["message"])
	}
	byStatus := map[float64]map[string]any{}
	for _, l := range lines {
		byStatus[l["status"].(float64)] = l
	}
	require.Len(t, byStatus, 3)
	assert.Contains(t, byStatus[422]["detail"], "…[cut from 1048576 bytes]")
	for _, f := range []string{"method", "internal_message", "internal_detail", "code", "cause", "upstream_id", "upstream_path"} {
		assert.Contains(t, byStatus[502][f], "…[cut from ", f)
	}
	assert.Contains(t, byStatus[500]["cause"], "…[cut from ")
	assert.Contains(t, byStatus[500]["stack"], "panic")
}
