package main

import (
	"bytes"
	"context"
	"encoding/json"

	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/logsink"
	"github.com/360x/errkit/middleware"
)

// kitService is a 360X service as the demo builds one: the kit's
// middleware with the access log, JSON lines with millisecond timestamps
// and its name as service, in a log file of its own.
func kitService(t *testing.T, dir, name string, h middleware.HandlerFunc) (*httptest.Server, string) {
	t.Helper()
	path := filepath.Join(dir, name+".log")
	f, err := os.Create(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	logger := zerolog.New(&lockedWriter{w: f}).Hook(logsink.Timestamp(nil)).With().Str("service", name).Logger()
	srv := httptest.NewServer(middleware.Errors(middleware.WithLogger(logger), middleware.WithAccessLog(true))(h))
	return srv, path
}

// call makes a call to another service with a deadline, as the demo's
// offers does, and answers with apiclient.Failure.
func call(r *http.Request, client *http.Client, service, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if e := apiclient.Failure(service, resp, err); e != nil {
		return e
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// slow waits for d or for the request to end, as the demo's pricing does
// for "bulk".
func slow(r *http.Request, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-r.Context().Done():
		return r.Context().Err()
	}
}

// fourServices serves a chain of four real services over HTTP, each
// logging to its own file:
//
//	gateway /api/quote -> offers /quote -> fx /rates (times out: no answer)
//	                                   -> pricing /prices/gadget (200)
//	                                   -> pricing /prices/widget (404)
//
// and offers /slow-quote -> pricing /prices/bulk, which outlasts the
// call's 100 ms: a 504. stop waits for every handler: then the logs are
// whole.
func fourServices(t *testing.T) (gateway, offers *httptest.Server, stop func(), logs []string) {
	t.Helper()
	dir := t.TempDir()
	client := apiclient.NewClient(nil)
	pricing, pricingLog := kitService(t, dir, "pricing", func(w http.ResponseWriter, r *http.Request) error {
		switch r.URL.Path {
		case "/prices/gadget":
			_, err := io.WriteString(w, `{"unitPrice":39.5}`)
			return err
		case "/prices/bulk":
			return slow(r, 2*time.Second)
		}
		return apierror.NotFound("Product widget has no price.")
	})
	fx, fxLog := kitService(t, dir, "fx", func(w http.ResponseWriter, r *http.Request) error {
		return slow(r, 2*time.Second)
	})
	offers, offersLog := kitService(t, dir, "offers", func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path == "/slow-quote" {
			return call(r, client, "pricing", pricing.URL+"/prices/bulk", 100*time.Millisecond)
		}
		_ = call(r, client, "fx", fx.URL+"/rates", 50*time.Millisecond) // the rate is optional
		if err := call(r, client, "pricing", pricing.URL+"/prices/gadget", time.Second); err != nil {
			return err
		}
		return call(r, client, "pricing", pricing.URL+"/prices/widget", time.Second)
	})
	gateway, gatewayLog := kitService(t, dir, "gateway", func(w http.ResponseWriter, r *http.Request) error {
		return call(r, client, "offers", offers.URL+"/quote", 2*time.Second)
	})
	stop = func() { gateway.Close(); offers.Close(); fx.Close(); pricing.Close() }
	t.Cleanup(stop)
	return gateway, offers, stop, []string{gatewayLog, offersLog, fxLog, pricingLog}
}

// storyJSON runs traceid -json with args and returns its story.
func storyJSON(t *testing.T, args ...string) *story {
	t.Helper()
	var out, errOut bytes.Buffer
	run(append([]string{"-json"}, args...), nil, &out, &errOut)
	st := &story{}
	require.NoError(t, json.Unmarshal(out.Bytes(), st), "%s\n%s", out.String(), errOut.String())
	return st
}

// assertSameStory checks that two stories have the same requests, links,
// lines (every field; the time as an instant) and claims.
func assertSameStory(t *testing.T, want, got *story, from string) {
	t.Helper()
	require.Equal(t, want.Order, got.Order, "from %s", from)
	for _, rid := range want.Order {
		w, g := want.Requests[rid], got.Requests[rid]
		require.NotNil(t, g, rid)
		assert.Equal(t, w.Service, g.Service, "from %s", from)
		assert.Equal(t, w.Method+" "+w.Path, g.Method+" "+g.Path, "from %s", from)
		assert.Equal(t, w.CalledBy, g.CalledBy, "from %s: caller of %s", from, rid)
		assert.Equal(t, w.ClaimedBy, g.ClaimedBy, "from %s", from)
		assert.ElementsMatch(t, w.Calls, g.Calls, "from %s: calls of %s", from, rid)
		require.Len(t, g.Lines, len(w.Lines), "from %s: lines of %s", from, rid)
		for i := range w.Lines {
			assert.Equal(t, comparable(t, w.Lines[i]), comparable(t, g.Lines[i]), "from %s: line %d of %s", from, i, rid)
		}
	}
	claims := func(st *story) []string {
		var out []string
		for _, c := range st.Claims {
			out = append(out, c.ID+" "+c.Reason)
		}
		sort.Strings(out)
		return out
	}
	assert.Equal(t, claims(want), claims(got), "from %s", from)
	assert.Equal(t, want.Truncated, got.Truncated)
}

// comparable is a line's fields with its time as an instant.
func comparable(t *testing.T, l *line) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(l.Fields, &m))
	at, err := time.Parse(time.RFC3339Nano, m["time"].(string))
	require.NoError(t, err)
	m["time"] = at.UnixMilli()
	return m
}

// TestStoreStoryEqualsFileStoryFromAnyID: four real services, each
// logging to a file and the files shipped to a real VictoriaLogs; the
// story is the same from the store as from the files, started from each
// id of the chain: the caller of a successful call (named only in calls)
// and the call that got no answer (named only by its call token) are
// found from either end.
func TestStoreStoryEqualsFileStoryFromAnyID(t *testing.T) {
	store := startStore(t)
	gateway, _, stop, logs := fourServices(t)
	resp, err := http.Get(gateway.URL + "/api/quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusBadGateway)
	stop()
	ship(t, store, logs...)

	fromFiles := storyJSON(t, append([]string{env.ID}, logs...)...)
	require.Len(t, fromFiles.Order, 5, "gateway, offers, fx, pricing twice: %v", fromFiles.Order)
	services := map[string]int{}
	for _, rid := range fromFiles.Order {
		services[fromFiles.Requests[rid].Service]++
	}
	assert.Equal(t, map[string]int{"gateway": 1, "offers": 1, "fx": 1, "pricing": 2}, services)
	assert.Empty(t, fromFiles.Claims)

	for _, from := range fromFiles.Order {
		files := storyJSON(t, append([]string{"-wait", "0", from}, logs...)...)
		assert.Equal(t, fromFiles.Order, files.Order, "from the files, from %s (%s)", from, fromFiles.Requests[from].Service)
		fromStore := storyJSON(t, "-wait", "2s", "-store", store.URL, from)
		assertSameStory(t, files, fromStore, from+" ("+fromFiles.Requests[from].Service+")")
	}
}

// Test504StoryShowsTheSlowUpstream: the call timed out, so the caller
// never learned the upstream's id; the call token still leads from the
// 504 to the upstream's line, with its duration.
func Test504StoryShowsTheSlowUpstream(t *testing.T) {
	_, offers, stop, logs := fourServices(t)
	resp, err := http.Get(offers.URL + "/slow-quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusGatewayTimeout)
	stop()

	st := storyJSON(t, append([]string{env.ID}, logs...)...)
	require.Len(t, st.Order, 2, "the 504 and the slow call: %v", st.Order)
	up := st.Requests[st.Order[1]]
	assert.Equal(t, "pricing", up.Service)
	assert.Equal(t, env.ID, up.CalledBy)
	assert.Equal(t, "/prices/bulk", up.Path)
	assert.Empty(t, st.Claims, "a confirmed link, not an unconfirmed claim")

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(append([]string{env.ID}, logs...), nil, &out, &errOut), errOut.String())
	text := out.String()
	assert.Contains(t, text, "[pricing] called by "+env.ID)
	pricingPart := text[strings.Index(text, "[pricing] called by"):]
	assert.Contains(t, pricingPart, "duration: ", "the slow upstream's line says how long it took")
	assert.NotContains(t, text, "Not followed")
}

// TestLyingUpstreamIsNotFollowed replays the forgery of a lying upstream:
// called by V with X-Request-Id V, it sends its own request to a real
// service with X-Request-Id V, reads that request's id R from the answer
// and answers V's call with X-Request-Id R (and R's envelope). V's line
// names R (calls, upstream_id) and R's names V (client_request_id), yet R
// did not receive V's call token: it is listed, not followed. Nor does
// the story of R pull V in.
func TestLyingUpstreamIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	pricing, pricingLog := kitService(t, dir, "pricing", func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("Product widget has no price.")
	})
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest(http.MethodGet, pricing.URL+"/prices/widget", nil)
		req.Header.Set("X-Request-Id", r.Header.Get("X-Request-Id")) // V's id, as its own request's
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("X-Request-Id", resp.Header.Get("X-Request-Id")) // R, as the answer to V
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	client := apiclient.NewClient(nil)
	offers, offersLog := kitService(t, dir, "offers", func(w http.ResponseWriter, r *http.Request) error {
		return call(r, client, "pricing", liar.URL+"/prices/widget", time.Second)
	})
	resp, err := http.Get(offers.URL + "/quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusBadGateway)
	offers.Close()
	liar.Close()
	pricing.Close()
	v := env.ID

	st := storyJSON(t, v, offersLog, pricingLog)
	assert.Equal(t, []string{v}, st.Order, "R is not pulled in as confirmed")
	require.Len(t, st.Claims, 1)
	r := st.Claims[0].ID
	assert.Equal(t, v, st.Claims[0].ClientID)
	assert.Contains(t, st.Claims[0].Reason, "did not receive that call's token")
	assert.Equal(t, r, st.Requests[v].Lines[0].fieldsMap(t)["upstream_id"], "the forgery took: V's line names R")

	fromR := storyJSON(t, r, offersLog, pricingLog)
	assert.Equal(t, []string{r}, fromR.Order, "nor does R's story pull V in")
}

func (l *line) fieldsMap(t *testing.T) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(l.Fields, &m))
	return m
}

// TestTokenPassedOnConfirmsNothing: a callee that passes the call token
// it received on to another request (which both log) leaves two requests
// claiming one call: neither is confirmed.
func TestTokenPassedOnConfirmsNothing(t *testing.T) {
	caller, callee, other, now := newID(), newID(), newID(), time.Now()
	token := strings.Repeat("5f0c2a9e", 4)
	withToken := func(l, key string, v any) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		m[key] = v
		b, _ := json.Marshal(m)
		return string(b) + "\n"
	}
	log := writeLog(t,
		withToken(logLine("offers", caller, "", nil, "", now), "call_tokens", []string{token}),
		withToken(logLine("pricing", callee, caller, nil, "", now), "call_token", token),
		withToken(logLine("pricing", other, caller, nil, "", now), "call_token", token))
	st, _ := storyOf(t, caller, log)
	assert.Equal(t, []string{caller}, st.Order)
	require.Len(t, st.Claims, 2)
	for _, c := range st.Claims {
		assert.Contains(t, c.Reason, "another request received too")
	}

	// The same call received once: confirmed.
	log = writeLog(t,
		withToken(logLine("offers", caller, "", nil, "", now), "call_tokens", []string{token}),
		withToken(logLine("pricing", callee, caller, nil, "", now), "call_token", token))
	for _, from := range []string{caller, callee} {
		st, _ = storyOf(t, from, log)
		assert.Equal(t, []string{caller, callee}, st.Order, "from %s", from)
	}
}

// TestStoreSearchesEveryLinkField: for each field the story follows
// (linkFields), a call linked by that field alone; shipped to a real
// VictoriaLogs, the story from the store equals the story from the file,
// from either end of each call.
func TestStoreSearchesEveryLinkField(t *testing.T) {
	store := startStore(t)
	now := time.Now().Add(-time.Minute)
	set := func(l string, kv ...any) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		b, _ := json.Marshal(m)
		return string(b) + "\n"
	}
	okCaller, okCallee := newID(), newID()   // calls + client_request_id (an older kit)
	errCaller, errCallee := newID(), newID() // upstream_id + client_request_id (an older kit)
	tokCaller, tokCallee := newID(), newID() // call_tokens + call_token + client_request_id
	token := strings.Repeat("0a1b2c3d", 4)
	log := writeLog(t,
		logLine("pricing", okCallee, okCaller, nil, "", now),
		logLine("offers", okCaller, "", []string{okCallee}, "", now),
		logLine("pricing", errCallee, errCaller, nil, "", now),
		logLine("offers", errCaller, "", nil, errCallee, now),
		set(logLine("fx", tokCallee, tokCaller, nil, "", now), "call_token", token),
		set(logLine("offers", tokCaller, "", nil, "", now), "call_tokens", []string{token}))
	ship(t, store, log)
	for _, pair := range [][2]string{{okCaller, okCallee}, {errCaller, errCallee}, {tokCaller, tokCallee}} {
		for _, from := range pair {
			files := storyJSON(t, from, log)
			require.Equal(t, pair[:], files.Order, "from the file, from %s", from)
			assertSameStory(t, files, storyJSON(t, "-wait", "2s", "-store", store.URL, from), from)
		}
	}
}

// TestClaimsSayWhyTheyAreNotFollowed: each way a request can touch a
// story without being confirmed is listed with its own reason.
func TestClaimsSayWhyTheyAreNotFollowed(t *testing.T) {
	now := time.Now()
	token := strings.Repeat("0123abcd", 4)
	set := func(l string, kv ...any) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		b, _ := json.Marshal(m)
		return string(b) + "\n"
	}
	v, other := newID(), newID()
	for _, tc := range []struct {
		name, reason string
		line         func(id string) string
	}{
		{"a client's claim", "as its client (client_request_id), whose lines do not name it",
			func(id string) string { return logLine("pricing", id, v, nil, "", now) }},
		{"an answer's id without the token", "did not receive that call's token",
			func(id string) string { return logLine("pricing", id, v, nil, "", now) }},
		{"an answer's id naming another client", "does not name it as its client",
			func(id string) string { return logLine("pricing", id, other, nil, "", now) }},
		{"a caller the story does not confirm", "names " + v + " as a request it called",
			func(id string) string { return logLine("gateway", id, "", []string{v}, "", now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newID()
			var calls []string
			if strings.HasPrefix(tc.name, "an answer's id") {
				calls = []string{id}
			}
			log := writeLog(t, set(logLine("offers", v, "", calls, "", now), "call_tokens", []string{token}), tc.line(id))
			st, _ := storyOf(t, v, log)
			assert.Equal(t, []string{v}, st.Order)
			require.Len(t, st.Claims, 1)
			assert.Equal(t, id, st.Claims[0].ID)
			assert.Equal(t, v, st.Claims[0].ClientID)
			assert.Contains(t, st.Claims[0].Reason, tc.reason)
		})
	}
}
