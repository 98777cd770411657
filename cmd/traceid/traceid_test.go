package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// fileLogger is a zerolog logger writing JSON lines to a file, as a
// service in production does.
func fileLogger(t *testing.T, path, service string) zerolog.Logger {
	f, err := os.Create(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return zerolog.New(&lockedWriter{w: f}).With().Timestamp().Str("service", service).Logger()
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestTwoServiceChain: a client's id leads, through traceid on the two
// services' logs, to the upstream's error line with its cause.
func TestTwoServiceChain(t *testing.T) {
	offers, stop, logA, logB := offersAndPricing(t, apierror.Internal(errors.New("pq: relation \"prices\" does not exist")))

	resp, err := http.Get(offers.URL + "/api/v1/participant/offers/1001/quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusBadGateway)
	stop() // every handler has returned: the logs are whole

	var out, errOut bytes.Buffer
	code := run([]string{env.ID, logA, logB}, nil, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	text := out.String()
	assert.Contains(t, text, "[offers] request "+env.ID)
	assert.Contains(t, text, "[pricing] called by "+env.ID)
	assert.Contains(t, text, `cause: pq: relation "prices" does not exist`, "the root cause, two hops from the client")
	assert.Contains(t, text, "within the 30-day log retention")

	// The same from the upstream's id, in JSON: the caller is found too.
	out.Reset()
	require.Equal(t, 0, run([]string{"-json", env.ID, logB, logA}, nil, &out, &errOut))
	var st story
	require.NoError(t, json.Unmarshal(out.Bytes(), &st))
	require.Len(t, st.Order, 2)
	assert.Equal(t, env.ID, st.Order[0])
	upstream := st.Requests[st.Order[1]]
	assert.Equal(t, "pricing", upstream.Service)
	assert.Equal(t, env.ID, upstream.CalledBy)
	assert.Len(t, upstream.Lines, 1, "the error line, which carries the access fields")

	out.Reset()
	require.Equal(t, 0, run([]string{upstream.ID, logA, logB}, nil, &out, &errOut))
	assert.True(t, strings.Index(out.String(), "[offers] request") < strings.Index(out.String(), "[pricing] called by"),
		"from the upstream's id, the story starts at the outermost caller")
}

func TestExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.log")
	id := "01a21433-216f-72a2-95b6-c1f59791269d"
	require.NoError(t, os.WriteFile(log, []byte(
		`{"level":"warn","id":"`+id+`","status":404,"message":"Not Found","service":"offers"}`+"\n"+
			"offers-demo listening on http://127.0.0.1:8080\n"+
			"\n"+
			`{"level":"info","id":"`+id+`","status":404,"message":"request"}`+"\n"), 0o600))

	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{"found", []string{id, log}, "", 0, "Scanned 3 lines in 1 log; 1 line was not JSON and skipped.", ""},
		{"upper case id", []string{strings.ToUpper(id), log}, "", 0, "[offers] request " + id, ""},
		{"unknown id", []string{"01a21433-0000-7000-8000-000000000000", log}, "", 1, "", "no log line has id"},
		{"malformed id", []string{"ticket-42", log}, "", 2, "", "is not a 360X error id"},
		{"unreadable and readable", []string{id, filepath.Join(dir, "missing.log"), log}, "", 0, "could not read", "could not read"},
		{"only unreadable", []string{id, filepath.Join(dir, "missing.log")}, "", 2, "", "no log could be read"},
		{"stdin", []string{id}, `{"level":"warn","id":"` + id + `","status":404,"message":"Not Found"}` + "\n", 0, "(stdin)", ""},
		{"old id", []string{"-now", "2027-01-30T00:00:00Z", id, log}, "", 0, "OLDER than the 30-day log retention", ""},
		{"not v7", []string{"93aa74d5-8caf-473f-af2f-42cf806ddfdc", log}, "", 1, "not a UUIDv7", ""},
		{"no args", nil, "", 2, "", "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			assert.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			assert.Contains(t, out.String(), tt.stdout)
			assert.Contains(t, errOut.String(), tt.stderr)
		})
	}
}

// generated is a log of n lines made on the fly, one of them the story's.
type generated struct {
	lines, at int64
	id        string
	n         int64
	buf       []byte
}

func (g *generated) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.n < g.lines {
		g.n++
		id := fmt.Sprintf("01a21433-%04x-7000-8000-%012x", g.n%0xffff, g.n)
		if g.n == g.at {
			id = g.id
		}
		g.buf = fmt.Appendf(g.buf, `{"level":"info","service":"offers","id":"%s","method":"GET","path":"/api/v1/participant/offers/%d","status":200,"bytes":718,"duration":0.1,"time":"2026-11-25T19:33:44.943Z","message":"request"}`+"\n", id, g.n)
		if g.n%1000 == 0 {
			g.buf = append(g.buf, "not json at all\n"...)
		}
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

func (g *generated) Close() error { return nil }

// TestStreamsInConstantMemory searches a generated log of about 200 MB:
// the heap stays within a few MiB, whatever the size of the log.
func TestStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200 MB")
	}
	const lines = 1_000_000 // ~200 bytes each
	id := "01a21433-216f-72a2-95b6-c1f59791269d"
	src := source{name: "generated", open: func() (io.ReadCloser, error) {
		return &generated{lines: lines, at: lines / 2, id: id}, nil
	}}
	var st *story
	growth := float64(peakHeapGrowth(func() {
		st = trace(id, []source{src}, window{now: time.Now(), retention: 100 * 365 * 24 * time.Hour}, io.Discard)
	}))
	require.Equal(t, []string{id}, st.Order)
	assert.EqualValues(t, lines+lines/1000, st.LinesScanned)
	assert.EqualValues(t, lines/1000, st.BadLines)
	t.Logf("scanned %d lines (~%d MB); peak heap growth %.1f MiB", st.LinesScanned, lines*200/1_000_000, growth/(1<<20))
	assert.Less(t, growth, float64(16<<20), "memory does not grow with the log")
}

// peakHeapGrowth runs fn and returns how far the heap in use rose above
// where it stood before, sampled every 20 ms.
func peakHeapGrowth(fn func()) uint64 {
	runtime.GC()
	var before, m runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	fn()
	close(stop)
	<-done
	runtime.ReadMemStats(&m) // a run shorter than the period is measured too
	if m.HeapInuse > peak.Load() {
		peak.Store(m.HeapInuse)
	}
	return peak.Load() - min(peak.Load(), before.HeapInuse)
}

// TestPrintsTheTrace: a request logged with an OpenTelemetry trace shows
// it, so support can open the trace beside the story.
func TestPrintsTheTrace(t *testing.T) {
	log := filepath.Join(t.TempDir(), "a.log")
	id := "01a21433-216f-72a2-95b6-c1f59791269d"
	require.NoError(t, os.WriteFile(log, []byte(
		`{"level":"error","id":"`+id+`","method":"GET","path":"/x","status":502,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","message":"Bad Gateway","service":"offers"}`+"\n"), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{id, log}, nil, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "trace 4bf92f3577b34da6a3ce929d0e0e4736")
	assert.Contains(t, out.String(), "span_id: 00f067aa0ba902b7")

	out.Reset()
	require.Equal(t, 0, run([]string{"-json", id, log}, nil, &out, &errOut))
	var st story
	require.NoError(t, json.Unmarshal(out.Bytes(), &st))
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", st.Requests[id].TraceID)
}

// TestForgedClientIDIsNotFollowed: after a real 502 with id X, anyone can
// send X-Request-Id: X to any route. Those requests name X as their
// client; X's lines name none of them, so they stay out of X's story,
// listed as unconfirmed claims.
func TestForgedClientIDIsNotFollowed(t *testing.T) {
	id, logA, logB := forgedChain(t)

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-json", id, logA, logB}, nil, &out, &errOut), errOut.String())
	var st story
	require.NoError(t, json.Unmarshal(out.Bytes(), &st))
	require.Len(t, st.Order, 2, "the request and the pricing call it confirms, nothing else")
	assert.Equal(t, id, st.Order[0])
	assert.Equal(t, "pricing", st.Requests[st.Order[1]].Service)
	assert.Equal(t, id, st.Requests[st.Order[1]].CalledBy, "confirmed by the 502's upstream_id")
	require.Len(t, st.Claims, 3, "the forged requests, listed, not followed")
	for _, c := range st.Claims {
		assert.Equal(t, id, c.ClientID)
		assert.Nil(t, st.Requests[c.ID], "no line of a forged request is in the story")
	}

	out.Reset()
	require.Equal(t, 0, run([]string{id, logA, logB}, nil, &out, &errOut))
	assert.Contains(t, out.String(), "Not followed: 3 requests")
	assert.NotContains(t, out.String(), "[offers] called by")
}

// forgedChain serves a real 502 (offers calling pricing), then three
// anonymous requests that send its id as X-Request-Id, and returns the
// 502's id and the two services' logs.
func forgedChain(t *testing.T) (id, logA, logB string) {
	t.Helper()
	offers, stop, logA, logB := offersAndPricing(t, apierror.NotFound("Product discontinued has no price."))
	resp, err := http.Get(offers.URL + "/quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusBadGateway)
	for _, forged := range []struct{ method, path string }{{"GET", "/api/v1/debug/panic"}, {"DELETE", "/api/v1/participant/offers/1001"}, {"DELETE", "/api/v1/participant/offers/1002"}} {
		req, _ := http.NewRequest(forged.method, offers.URL+forged.path, nil)
		req.Header.Set("X-Request-Id", env.ID)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	stop() // every handler has returned: the logs are whole
	return env.ID, logA, logB
}

// offersAndPricing starts two services, each logging JSON lines to a file
// of its own as in production: pricing answers every call with
// pricingAnswer; offers answers /…/quote by calling pricing (apiclient)
// and anything else with a 401, as to an anonymous caller. stop closes
// both, waiting for their handlers: then the logs are whole.
func offersAndPricing(t *testing.T, pricingAnswer error) (offers *httptest.Server, stop func(), logA, logB string) {
	t.Helper()
	dir := t.TempDir()
	logA, logB = filepath.Join(dir, "offers.log"), filepath.Join(dir, "pricing.log")
	pricing := httptest.NewServer(middleware.Errors(middleware.WithLogger(fileLogger(t, logB, "pricing")), middleware.WithAccessLog(true))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return pricingAnswer })))
	client := apiclient.NewClient(nil)
	offers = httptest.NewServer(middleware.Errors(middleware.WithLogger(fileLogger(t, logA, "offers")), middleware.WithAccessLog(true))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if !strings.HasSuffix(r.URL.Path, "/quote") {
				return apierror.InvalidToken()
			}
			req, _ := http.NewRequestWithContext(r.Context(), "GET", pricing.URL+"/prices/widget", nil)
			resp, err := client.Do(req)
			if e := apiclient.Failure("pricing", resp, err); e != nil {
				return e
			}
			resp.Body.Close()
			return nil
		})))
	stop = func() { offers.Close(); pricing.Close() }
	t.Cleanup(stop)
	return offers, stop, logA, logB
}

// TestConsoleLogSaysItNeedsJSON: a console-format log is not read, and
// traceid says why.
func TestConsoleLogSaysItNeedsJSON(t *testing.T) {
	log := filepath.Join(t.TempDir(), "console.log")
	require.NoError(t, os.WriteFile(log, []byte("09:30:00.000 WRN Not Found id=01a21433-216f-72a2-95b6-c1f59791269d status=404\n"), 0o600))
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run([]string{"01a21433-216f-72a2-95b6-c1f59791269d", log}, nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "not a console-format log")
}

// TestCountsWhatItRead: a log named twice is read once, a log that could
// not be read is not counted as scanned, and -json with no match still
// gives a list of requests (empty), not null.
func TestCountsWhatItRead(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.log")
	id := "01a21433-216f-72a2-95b6-c1f59791269d"
	require.NoError(t, os.WriteFile(log, []byte(`{"level":"warn","id":"`+id+`","status":404,"message":"Not Found"}`+"\n"+`{"level":"info","id":"01a21433-0000-7000-8000-000000000001","message":"request"}`+"\n"), 0o600))
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{id, log, log, dir + "/./a.log", filepath.Join(dir, "missing.log")}, nil, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "Scanned 2 lines in 1 log; could not read "+filepath.Join(dir, "missing.log"))

	out.Reset()
	require.Equal(t, 1, run([]string{"-json", "01a21433-ffff-7000-8000-000000000009", log}, nil, &out, &errOut))
	var st map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &st))
	assert.Equal(t, []any{}, st["order"])
}
