package middleware_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// lockedBuffer is a log destination several requests write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), "\n")
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(s), &m), s)
		out = append(out, m)
	}
	return out
}

// sameService runs the routes every test of this file uses behind opts:
// an error, a panic, and a success whose handler logs a line of its own
// through the request's *slog.Logger. It returns the ids of the requests.
func sameService(t *testing.T, lines func() int, opts ...middleware.Option) []string {
	h := middleware.Errors(append([]middleware.Option{middleware.WithService("offers"), middleware.WithAccessLog(true)}, opts...)...)(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			switch r.URL.Path {
			case "/missing":
				return apierror.NotFound("No offer 9.")
			case "/panic":
				panic("the store is gone")
			}
			middleware.Slog(r.Context()).Info("looking the offer up", "offer", 7, "cached", true)
			return nil
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	var ids []string
	for i, path := range []string{"/missing", "/panic", "/ok"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		ids = append(ids, resp.Header.Get("X-Request-Id"))
		// A request's line is written just after its answer: wait for it,
		// so that the lines come in the order of the requests.
		want := []int{1, 2, 4}[i]
		require.Eventually(t, func() bool { return lines() == want }, 2*time.Second, time.Millisecond)
	}
	return ids
}

// normalize makes a line comparable across loggers: slog's msg and upper-
// case level are zerolog's message and level; the values that differ from
// run to run (id, time, duration, stack) are checked, then dropped.
func normalize(t *testing.T, l map[string]any, ids []string) map[string]any {
	out := map[string]any{}
	for k, v := range l {
		switch k {
		case "msg":
			k = "message"
		case "level":
			v = strings.ToLower(v.(string))
		case "id":
			assert.Contains(t, ids, v)
			v = ids[0] == v
		case "time", "duration", "stack":
			continue
		}
		out[k] = v
	}
	return out
}

// TestSlogLinesAreZerologsLines: a service that logs with log/slog gets
// the lines a zerolog service gets, field for field, and its handlers'
// own lines carry the request's id and the service.
func TestSlogLinesAreZerologsLines(t *testing.T) {
	zl := apierrortest.NewLogCapture()
	zids := sameService(t, func() int { return len(zl.Lines()) }, middleware.WithLogger(middleware.NewLogger(zl)))
	var sl lockedBuffer
	sids := sameService(t, func() int { return sl.count() }, middleware.WithSlog(slog.New(slog.NewJSONHandler(&sl, nil))))

	require.Eventually(t, func() bool { return len(zl.Lines()) == 4 }, 2*time.Second, 2*time.Millisecond)
	zlines := zl.Lines()
	require.Eventually(t, func() bool { return len(sl.lines(t)) == 4 }, 2*time.Second, 2*time.Millisecond)
	slines := sl.lines(t)
	for i := range zlines {
		assert.Equal(t, normalize(t, zlines[i], zids), normalize(t, slines[i], sids), "line %d", i)
		assert.Equal(t, zlines[i]["id"] == zids[0], slines[i]["id"] == sids[0])
		assert.Equal(t, zlines[i]["stack"] != nil, slines[i]["stack"] != nil)
	}
	// The handler's own line, through middleware.Slog, in both.
	for _, lines := range [][]map[string]any{zlines, slines} {
		mine := lines[2]
		assert.Contains(t, []any{mine["message"], mine["msg"]}, "looking the offer up")
		assert.Equal(t, "offers", mine["service"])
		assert.EqualValues(t, 7, mine["offer"])
	}
	assert.Equal(t, zids[2], zlines[2]["id"])
	assert.Equal(t, sids[2], slines[2]["id"])
	assert.Equal(t, 1, strings.Count(zl.String(), `"looking the offer up"`))
	for _, l := range zlines {
		assert.Regexp(t, millisecondTime, l["time"], "one millisecond time a line, also through slog: %v", l)
	}
	assert.Equal(t, 4, strings.Count(zl.String(), `"time":`), "no second time field from zerolog's slog handler")
}

// TestSlogOutsideTheMiddleware: the context's zerolog logger, or
// slog.Default().
func TestSlogOutsideTheMiddleware(t *testing.T) {
	assert.Same(t, slog.Default(), middleware.Slog(t.Context()))
	logs := apierrortest.NewLogCapture()
	l := logs.Logger().With().Str("host", "h1").Logger()
	middleware.Slog(l.WithContext(t.Context())).Warn("careful", "n", 1)
	lines := logs.Lines()
	require.Len(t, lines, 1)
	assert.Equal(t, "h1", lines[0]["host"])
	assert.Equal(t, "warn", lines[0]["level"])
}

func TestWithSlogRejectsNil(t *testing.T) {
	assert.Panics(t, func() { middleware.Errors(middleware.WithSlog(nil)) })
}

// TestSlogCarriesTheTrace: with a span in the request's context, the
// request's *slog.Logger writes its trace_id and span_id beside the id,
// under zerolog and under slog alike.
func TestSlogCarriesTheTrace(t *testing.T) {
	zl := apierrortest.NewLogCapture()
	var sl lockedBuffer
	for _, opt := range []middleware.Option{
		middleware.WithLogger(middleware.NewLogger(zl)),
		middleware.WithSlog(slog.New(slog.NewJSONHandler(&sl, nil))),
	} {
		h := withSpan(middleware.Errors(opt)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.Slog(r.Context()).Info("mine")
		})))
		srv := httptest.NewServer(h)
		resp, err := http.Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		srv.Close()
	}
	lines := append(zl.Lines(), sl.lines(t)...)
	require.Len(t, lines, 2)
	for _, l := range lines {
		assert.Equal(t, testSpan.TraceID().String(), l["trace_id"], "%v", l)
		assert.Equal(t, testSpan.SpanID().String(), l["span_id"], "%v", l)
		assert.NotEmpty(t, l["id"], "%v", l)
	}
}
