package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/vlogs"
)

func startStore(t *testing.T) *vlogs.Server { return vlogs.StartForTest(t) }

// ship sends the lines of the log files to the store, as the demo's
// -vlogs-url does, and makes them searchable.
func ship(t *testing.T, srv *vlogs.Server, files ...string) {
	t.Helper()
	shipper, err := vlogs.NewShipper(srv.URL, time.Hour)
	require.NoError(t, err)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = shipper.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, shipper.Close(context.Background()))
	require.NoError(t, srv.Flush())
}

// TestStoreTellsTheSameStory: the logs of a real 502 chain plus forged
// requests, shipped to a real VictoriaLogs; traceid -store finds the same
// story as from the files: the same requests, lines and links, and the same
// unconfirmed claims left out.
func TestStoreTellsTheSameStory(t *testing.T) {
	store := startStore(t)
	id, logA, logB := forgedChain(t)
	ship(t, store, logA, logB)

	fromFiles, fromStore := &story{}, &story{}
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-json", id, logA, logB}, nil, &out, &errOut), errOut.String())
	require.NoError(t, json.Unmarshal(out.Bytes(), fromFiles))
	out.Reset()
	require.Eventually(t, func() bool {
		out.Reset()
		return run([]string{"-json", "-wait", "0", "-store", store.URL, id}, nil, &out, &errOut) == 0
	}, 10*time.Second, 100*time.Millisecond, errOut.String())
	require.NoError(t, json.Unmarshal(out.Bytes(), fromStore))

	assert.Equal(t, fromFiles.Order, fromStore.Order)
	for _, rid := range fromFiles.Order {
		f, s := fromFiles.Requests[rid], fromStore.Requests[rid]
		require.NotNil(t, s, rid)
		assert.Equal(t, f.Service, s.Service)
		assert.Equal(t, f.Method, s.Method)
		assert.Equal(t, f.Path, s.Path)
		assert.Equal(t, f.CalledBy, s.CalledBy)
		assert.Len(t, s.Lines, len(f.Lines))
	}
	assert.Len(t, fromStore.Claims, len(fromFiles.Claims))

	out.Reset()
	require.Equal(t, 0, run([]string{"-wait", "0", "-store", store.URL, id}, nil, &out, &errOut))
	assert.Contains(t, out.String(), "[pricing] called by "+id)
	assert.Contains(t, out.String(), "upstream: ")
	assert.Contains(t, out.String(), "Not followed: 3 requests")
}

// TestStoreHonoursTheRetention: lines older than -retention are not
// searched.
func TestStoreHonoursTheRetention(t *testing.T) {
	store := startStore(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "old.log")
	id := "01a21433-216f-72a2-95b6-c1f59791269d"
	old := time.Now().Add(-72 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	require.NoError(t, os.WriteFile(log, []byte(`{"level":"warn","service":"offers","id":"`+id+`","status":404,"time":"`+old+`","message":"Not Found"}`+"\n"), 0o600))
	ship(t, store, log)
	var out, errOut bytes.Buffer
	require.Eventually(t, func() bool {
		out.Reset()
		return run([]string{"-wait", "0", "-store", store.URL, "-retention", "96h", id}, nil, &out, &errOut) == 0
	}, 10*time.Second, 100*time.Millisecond, "within 4 days: found")
	assert.Equal(t, 1, run([]string{"-wait", "0", "-store", store.URL, "-retention", "48h", id}, nil, &out, &errOut), "outside 2 days: not searched")
}

// TestStoreLocationsCanBeLookedUp: a line from the store is located by
// its stream and _time, a LogsQL query that finds it in the store again,
// not by its position in one answer.
func TestStoreLocationsCanBeLookedUp(t *testing.T) {
	store := startStore(t)
	id, at := newID(), time.Now().Add(-time.Minute)
	log := writeLog(t, logLine("offers", id, "", nil, "", at), logLine("offers", newID(), id, nil, "", at.Add(time.Millisecond)))
	ship(t, store, log)
	st := storyJSON(t, "-wait", "2s", "-store", store.URL, id)
	require.Equal(t, []string{id}, st.Order)
	l := st.Requests[id].Lines[0]
	assert.Equal(t, store.URL, l.File)
	assert.Zero(t, l.Number, "no line number from a store")
	assert.Equal(t, `_stream:{service="offers"} _time:`+at.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano), l.Location)
	require.Len(t, st.Claims, 1)
	assert.Contains(t, st.Claims[0].Location, `_stream:{service="offers"} _time:`)

	var found []string
	require.NoError(t, vlogs.Query(context.Background(), http.DefaultClient, store.URL, l.Location, func(raw []byte) { found = append(found, string(raw)) }))
	require.Len(t, found, 1, "the location's query finds the line, and only it")
	assert.Contains(t, found[0], id)

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-wait", "0", "-store", store.URL, id}, nil, &out, &errOut))
	assert.Contains(t, out.String(), "("+store.URL+" "+l.Location+")")
	assert.NotContains(t, out.String(), store.URL+":1)")
}

// TestStoreQueryNamesEveryLinkField: the LogsQL query searches each field
// the story follows, for ids and for call tokens.
func TestStoreQueryNamesEveryLinkField(t *testing.T) {
	q := storeQuery([]string{newID(), strings.Repeat("ab12", 8)}, time.Hour)
	for _, f := range linkFields {
		assert.Regexp(t, `[ (]`+f+`:`, q, "the query searches %s", f)
	}
}

// TestTraceFromAStoreSource: the entry points the console was built on
// (trace over storeSource) tell the story buildStory tells.
func TestTraceFromAStoreSource(t *testing.T) {
	store := startStore(t)
	id := newID()
	ship(t, store, writeLog(t, logLine("offers", id, "", nil, "", time.Now())))
	st := trace(id, []source{storeSource(store.URL, time.Hour, 10*time.Second)}, window{now: time.Now(), retention: time.Hour}, io.Discard)
	require.Equal(t, []string{id}, st.Order)
	built, err := buildStory(context.Background(), id, storyOptions{Store: store.URL, Retention: time.Hour}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, built.Order, st.Order)
	assert.Equal(t, built.Requests[id].Lines[0].Location, st.Requests[id].Lines[0].Location)
}
