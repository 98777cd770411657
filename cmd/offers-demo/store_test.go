package main

import (
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/vlogs"
)

// TestShipsToTheStore: with -vlogs-url the demo's JSON lines reach a real
// VictoriaLogs, where support finds the 502 and the pricing call behind it
// by the id the client received.
func TestShipsToTheStore(t *testing.T) {
	store := vlogs.StartForTest(t)
	d := startDemo(t, "-vlogs-url", store.URL)
	resp, body := d.do(t, call{method: "GET", path: "/api/v1/participant/offers/1003/quote", token: "alice-token"})
	id := checkEnvelope(t, resp, body, http.StatusBadGateway)
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, d.cmd.Wait(), "exit 0")
	require.NoError(t, store.Flush())

	var found []map[string]any
	query := `_time:1h (id:"` + id + `" OR client_request_id:"` + id + `")`
	require.Eventually(t, func() bool {
		found = nil
		err := vlogs.Query(context.Background(), http.DefaultClient, store.URL, query, func(raw []byte) {
			var m map[string]any
			if json.Unmarshal(raw, &m) == nil {
				found = append(found, m)
			}
		})
		return err == nil && len(found) >= 3
	}, 10*time.Second, 100*time.Millisecond)
	services := map[any]int{}
	for _, l := range found {
		services[l["service"]]++
	}
	assert.Equal(t, 2, services["offers"], "the handler's own line and the 502's error line")
	assert.Equal(t, 1, services["pricing"], "the pricing call, which names the caller")
}
