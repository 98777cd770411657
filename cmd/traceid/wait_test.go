package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/internal/vlogs"
)

// shipLater ships the lines of log to the store after delay, without
// force_flush: the store makes them searchable in its own time.
func shipLater(t *testing.T, store *vlogs.Server, log string, delay time.Duration) <-chan time.Time {
	shipped := make(chan time.Time, 1)
	data := mustRead(log)
	go func() {
		time.Sleep(delay)
		shipper, err := vlogs.NewShipper(store.URL, time.Hour)
		if err == nil {
			_, _ = shipper.Write(data)
			_ = shipper.Close(context.Background())
		}
		shipped <- time.Now()
	}()
	return shipped
}

// TestWaitsForLinesNotSearchableYet: the request's line reaches the store
// after traceid started (the shipper's batch, then the store's own delay
// before a line is searchable); traceid waits for it within -wait and
// says that it waited, rather than "no log line has id".
func TestWaitsForLinesNotSearchableYet(t *testing.T) {
	store := startStore(t)
	id := apierror.NewIDAt(time.Now().Add(-time.Minute)) // not young: only not found yet
	log := writeLog(t, logLine("offers", id, "", nil, "", time.Now().Add(-time.Minute)))
	shipped := shipLater(t, store, log, 300*time.Millisecond)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"-wait", "10s", "-store", store.URL, id}, nil, &out, &errOut)
	found := time.Now()
	require.Equal(t, 0, code, "%s\n%s", out.String(), errOut.String())
	lag := found.Sub(<-shipped)
	t.Logf("found %v after traceid started, %v after the line was shipped", found.Sub(start).Round(time.Millisecond), lag.Round(time.Millisecond))
	assert.Less(t, lag, 5*time.Second, "found once searchable, not at the end of -wait")
	assert.Contains(t, out.String(), "[offers] request "+id)
	assert.Regexp(t, `waited [0-9.]+ s for the store to make the newest lines searchable`, out.String())
}

// TestYoungStoryWaitsForItsLateLines: right after a call, the caller's
// line is in the store and the callee's is still on its way: the story of
// an id younger than -wait is searched again once it is -wait old, and
// holds both.
func TestYoungStoryWaitsForItsLateLines(t *testing.T) {
	store := startStore(t)
	caller, callee, now := newID(), newID(), time.Now()
	token := strings.Repeat("77aa", 8)
	callerLog := writeLog(t, strings.Replace(logLine("offers", caller, "", nil, "", now), `"id"`, `"call_tokens":["`+token+`"],"id"`, 1))
	calleeLog := writeLog(t, strings.Replace(logLine("pricing", callee, caller, nil, "", now), `"id"`, `"call_token":"`+token+`","id"`, 1))
	ship(t, store, callerLog)
	shipLater(t, store, calleeLog, 500*time.Millisecond)
	st := storyJSON(t, "-wait", "3s", "-store", store.URL, caller)
	assert.Equal(t, []string{caller, callee}, st.Order, "the late callee is in the story")
	assert.Positive(t, st.WaitedMS)
}

// TestSaysItWaitedBeforeNotFound: an id the store never gets is searched
// for -wait, and the answer says so; -wait 0 answers at once.
func TestSaysItWaitedBeforeNotFound(t *testing.T) {
	store := startStore(t)
	id := newID()
	var out, errOut bytes.Buffer
	start := time.Now()
	assert.Equal(t, 1, run([]string{"-wait", "600ms", "-store", store.URL, id}, nil, &out, &errOut))
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 600*time.Millisecond)
	assert.Less(t, took, 3*time.Second, "bounded by -wait")
	assert.Contains(t, errOut.String(), "no log line has id "+id+" (waited 0.6 s for the store to make new lines searchable)")

	out.Reset()
	assert.Equal(t, 1, run([]string{"-json", "-wait", "600ms", "-store", store.URL, id}, nil, &out, &errOut))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	assert.GreaterOrEqual(t, doc["waited_ms"], float64(600))

	start = time.Now()
	errOut.Reset()
	assert.Equal(t, 1, run([]string{"-wait", "0", "-store", store.URL, id}, nil, &out, &errOut))
	assert.Less(t, time.Since(start), 500*time.Millisecond)
	assert.NotContains(t, errOut.String(), "waited")

	assert.Equal(t, 2, run([]string{"-wait", "-1s", "-store", store.URL, id}, nil, &out, &errOut))
}

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

// TestAFailingStoreIsNamedOnce: while traceid waits for a store that
// fails, it says so once, not once a try, and claims no lines it did not
// read.
func TestAFailingStoreIsNamedOnce(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cannot connect to storage node", http.StatusBadGateway)
	}))
	t.Cleanup(failing.Close)
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run([]string{"-wait", "1s", "-store", failing.URL, newID()}, nil, &out, &errOut))
	assert.Equal(t, 1, strings.Count(errOut.String(), "could not read "+failing.URL), errOut.String())
	assert.NotContains(t, errOut.String(), "its lines before the error are used")
}

// TestLostLinesAreNamed: an id no line has, issued while a service's
// Shipper was losing lines, is answered with what the store's loss line
// says: its lines may be among them, and where else to look. An id of
// another time is not.
func TestLostLinesAreNamed(t *testing.T) {
	store := startStore(t)
	now := time.Now().UTC()
	from, to := now.Add(-20*time.Second), now.Add(-5*time.Second)
	marker := fmt.Sprintf(`{"time":%q,"service":"offers","level":"warn","message":%q,%q:2870,"lost_from":%q,"lost_to":%q,"lost_reason":"the buffer was full: the store was down or slow"}`+"\n",
		now.Format(time.RFC3339Nano), vlogs.LossMessage, vlogs.LostLines, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	shipper, err := vlogs.NewShipper(store.URL, time.Hour)
	require.NoError(t, err)
	_, _ = shipper.Write([]byte(marker))
	require.NoError(t, shipper.Close(context.Background()))
	require.NoError(t, store.Flush())

	lost := apierror.NewIDAt(now.Add(-10 * time.Second))
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{"-wait", "0", "-store", store.URL, lost}, nil, &out, &errOut))
	assert.Contains(t, out.String()+errOut.String(), "the store says 2870 lines of offers were lost on the way to it")
	assert.Contains(t, out.String()+errOut.String(), "look in offers' own log")

	out.Reset()
	errOut.Reset()
	other := apierror.NewIDAt(now.Add(-time.Hour))
	assert.Equal(t, 1, run([]string{"-wait", "0", "-store", store.URL, other}, nil, &out, &errOut))
	assert.NotContains(t, out.String()+errOut.String(), "were lost")
}
