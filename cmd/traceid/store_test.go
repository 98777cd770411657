package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
		return run([]string{"-json", "-store", store.URL, id}, nil, &out, &errOut) == 0
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
	require.Equal(t, 0, run([]string{"-store", store.URL, id}, nil, &out, &errOut))
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
		return run([]string{"-store", store.URL, "-retention", "96h", id}, nil, &out, &errOut) == 0
	}, 10*time.Second, 100*time.Millisecond, "within 4 days: found")
	assert.Equal(t, 1, run([]string{"-store", store.URL, "-retention", "48h", id}, nil, &out, &errOut), "outside 2 days: not searched")
}
