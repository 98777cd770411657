package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logLine is one JSON line as a service writes it.
func logLine(service, id, client string, calls []string, upstream string, at time.Time) string {
	m := map[string]any{"level": "info", "service": service, "id": id, "method": "GET", "path": "/" + service,
		"status": 200, "time": at.UTC().Format("2006-01-02T15:04:05.000Z"), "message": "request"}
	if client != "" {
		m["client_request_id"] = client
	}
	if len(calls) > 0 {
		m["calls"] = calls
	}
	if upstream != "" {
		m["upstream_id"], m["level"], m["status"], m["message"] = upstream, "error", 502, "Bad Gateway"
	}
	b, _ := json.Marshal(m)
	return string(b) + "\n"
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func writeLog(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.log")
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "")), 0o600))
	return p
}

func storyOf(t *testing.T, args ...string) (*story, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	run(append([]string{"-json"}, args...), nil, &out, &errOut)
	st := &story{}
	require.NoError(t, json.Unmarshal(out.Bytes(), st), "%s %s", out.String(), errOut.String())
	return st, errOut.String()
}

// TestSuccessfulCallIsLinked: a call that was answered is named by the
// caller (calls) and by the callee (client_request_id): a link.
func TestSuccessfulCallIsLinked(t *testing.T) {
	caller, callee, now := newID(), newID(), time.Now()
	log := writeLog(t,
		logLine("pricing", callee, caller, nil, "", now),
		logLine("offers", caller, "", []string{callee}, "", now))
	for _, from := range []string{caller, callee} {
		st, _ := storyOf(t, from, log)
		assert.Equal(t, []string{caller, callee}, st.Order, "from %s", from)
		assert.Empty(t, st.Claims)
	}
}

// TestUpstreamNamingAnotherIDIsNotFollowed: a service that answers with
// someone else's request id (a made-up answer) cannot pull the caller into
// that request's story: the request's own lines do not name the caller.
func TestUpstreamNamingAnotherIDIsNotFollowed(t *testing.T) {
	victim, victimsClient, evilCaller, now := newID(), newID(), newID(), time.Now()
	log := writeLog(t,
		logLine("offers", victim, victimsClient, nil, "", now),
		logLine("offers", evilCaller, "", nil, victim, now)) // its "upstream" answered with the victim's id
	st, _ := storyOf(t, victim, log)
	assert.Equal(t, []string{victim}, st.Order)
	require.Len(t, st.Claims, 1)
	assert.Equal(t, evilCaller, st.Claims[0].ID)
}

// TestLongChainsAreFollowedOrSaidToBeCut: 40 hops in shuffled lines are
// all found; a chain longer than the limit says it was cut.
func TestLongChainsAreFollowedOrSaidToBeCut(t *testing.T) {
	chain := func(n int) ([]string, []string) {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = newID()
		}
		lines := make([]string, n)
		for i, id := range ids {
			client, callee := "", ""
			if i > 0 {
				client = ids[i-1]
			}
			if i+1 < n {
				callee = ids[i+1]
			}
			var calls []string
			if callee != "" {
				calls = []string{callee}
			}
			lines[n-1-i] = logLine(fmt.Sprintf("s%d", i), id, client, calls, "", time.Now()) // callees first: the worst order
		}
		return ids, lines
	}
	ids, lines := chain(40)
	st, _ := storyOf(t, ids[0], writeLog(t, lines...))
	assert.Len(t, st.Order, 40)
	assert.False(t, st.Truncated)

	ids, lines = chain(maxHops + 6)
	st, _ = storyOf(t, ids[0], writeLog(t, lines...))
	assert.True(t, st.Truncated)
	var out, errOut bytes.Buffer
	run([]string{ids[0], writeLog(t, lines...)}, nil, &out, &errOut)
	assert.Contains(t, out.String(), "The chain goes on beyond")
}

// TestRetentionAppliesToFilesToo: a line older than -retention is not
// read, from a file as from the store.
func TestRetentionAppliesToFilesToo(t *testing.T) {
	id := newID()
	log := writeLog(t, logLine("offers", id, "", nil, "", time.Now().Add(-72*time.Hour)))
	st, _ := storyOf(t, "-retention", "96h", id, log)
	assert.Len(t, st.Order, 1)
	st, _ = storyOf(t, "-retention", "48h", id, log)
	assert.Empty(t, st.Order)
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run([]string{"-retention", "-5m", id, log}, nil, &out, &errOut))
}

// TestConsoleLogBesideJSONLogs: the file that holds no JSON is named.
func TestConsoleLogBesideJSONLogs(t *testing.T) {
	id := newID()
	console := writeLog(t, "09:30:00.000 WRN Not Found id="+id+"\n")
	json := writeLog(t, logLine("pricing", newID(), "", nil, "", time.Now()))
	var out, errOut bytes.Buffer
	run([]string{id, console, json}, nil, &out, &errOut)
	assert.Contains(t, errOut.String(), "no line of "+console+" is JSON")
	assert.NotContains(t, errOut.String(), "no line of "+json)
}

// TestStoreTakesManyIDsInOneHop: a request that called 300 services is
// followed through the store, in queries the store accepts.
func TestStoreTakesManyIDsInOneHop(t *testing.T) {
	store := startStore(t)
	root, now := newID(), time.Now()
	callees := make([]string, 300)
	lines := make([]string, 0, 301)
	for i := range callees {
		callees[i] = newID()
		lines = append(lines, logLine("pricing", callees[i], root, nil, "", now))
	}
	lines = append(lines, logLine("offers", root, "", callees[:64], "", now)) // a line lists 64 calls
	for i := 64; i < len(callees); i += 64 {
		lines = append(lines, logLine("offers", root, "", callees[i:min(i+64, len(callees))], "", now))
	}
	log := writeLog(t, lines...)
	ship(t, store, log)
	var st *story
	require.Eventually(t, func() bool {
		st, _ = storyOf(t, "-wait", "0", "-store", store.URL, root)
		return len(st.Order) == 301
	}, 10*time.Second, 200*time.Millisecond)
	fromFile, _ := storyOf(t, root, log)
	assert.Len(t, fromFile.Order, 301)
}
