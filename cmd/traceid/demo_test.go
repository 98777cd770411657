package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/internal/demoproc"
)

// TestDemoStoryFromStoreEqualsFromItsLog: the demo binary (offers and its
// pricing service) logs to a file and ships to a real VictoriaLogs with
// -vlogs-url, as make run-stack runs it. For a 200, a 502, a 504 and a
// 503 whose second call (fx) found nothing listening, the story from the
// store equals the story from the log, from every id of each story.
func TestDemoStoryFromStoreEqualsFromItsLog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the demo")
	}
	store := startStore(t)
	bin, err := demoproc.Build("../..", t.TempDir())
	require.NoError(t, err)
	log := filepath.Join(t.TempDir(), "demo.log")
	out, err := os.Create(log)
	require.NoError(t, err)
	defer out.Close()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-vlogs-url", store.URL, "-quote-timeout", "300ms")
	cmd.Stdout = out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := listening(t, log)

	var ids []string
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/v1/participant/offers/1001/quote", 200},
		{"/api/v1/participant/offers/1003/quote", 502},
		{"/api/v1/participant/offers/1004/quote", 504},
		{"/api/v1/participant/offers/1001/quote?currency=USD", 503},
	} {
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		req.Header.Set("Authorization", "Bearer alice-token")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		if c.status == 200 {
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			ids = append(ids, resp.Header.Get("X-Request-Id"))
			continue
		}
		ids = append(ids, apierrortest.AssertEnvelope(t, resp, c.status).ID)
	}
	time.Sleep(400 * time.Millisecond) // the slow pricing call of the 504 ends (its caller gave up)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait()) // its shipper has sent every line
	require.NoError(t, store.Flush())

	// The fx call of the 503 reached nothing: its token is named as such.
	st := storyJSON(t, ids[3], log)
	assert.Len(t, st.Requests[ids[3]].Unreached, 1, "the fx call")
	assert.Empty(t, storyJSON(t, ids[0], log).Requests[ids[0]].Unreached)
	for _, id := range ids {
		fromLog := storyJSON(t, id, log)
		require.Len(t, fromLog.Order, 2, "offers and pricing (fx has no service behind it): %v", fromLog.Order)
		for _, from := range fromLog.Order {
			files := storyJSON(t, from, log)
			require.Equal(t, fromLog.Order, files.Order)
			fromStore := storyJSON(t, "-wait", "0", "-store", store.URL, from) // flushed: all there
			assertSameStory(t, files, fromStore, from+" ("+strings.TrimSpace(files.Requests[from].Service)+")")
		}
	}
}
