package middleware

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
)

// hijackRecorder is a recorder whose connection can be taken.
type hijackRecorder struct{ *httptest.ResponseRecorder }

func (h hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c1, c2 := net.Pipe()
	_ = c2.Close()
	return c1, bufio.NewReadWriter(bufio.NewReader(c1), bufio.NewWriter(c1)), nil
}

// TestPhaseTable drives the tracker through each row of the table in the
// doc comment of phase: a starting phase, one event, the phase after it,
// what reached the client and whether the request ends aborted.
func TestPhaseTable(t *testing.T) {
	type event func(t *tracker)
	foreign := func(tr *tracker) { tr.WriteHeader(http.StatusTeapot) }
	success := func(tr *tracker) { tr.WriteHeader(http.StatusCreated) }
	body := func(tr *tracker) { _, _ = tr.Write([]byte("body")) }
	report := func(tr *tracker) { tr.report(tr, errorRecord{err: apierror.NotFound("x")}) }
	panicked := func(tr *tracker) { tr.recovered(tr, "boom", []byte("stack")) }
	hijack := func(tr *tracker) { _, _, _ = tr.hijack() }
	envelope := func(tr *tracker) { // the in-flight envelope comes through
		tr.Header()["Content-Type"] = []string{apierror.ContentType}
		tr.WriteHeader(tr.answer.env.StatusCode)
	}

	tests := []struct {
		name      string
		from      phase
		ev        event
		want      phase
		code      int  // status on the wire after the event; 0: none
		asides    int  // errors recorded aside
		abort     bool // the request will end aborted
		hasAnswer bool
	}{
		{"open: a foreign error is held", open, foreign, held, 0, 0, false, false},
		{"open: a success commits", open, success, committed, 201, 0, false, false},
		{"open: a body commits with 200", open, body, committed, 200, 0, false, false},
		{"open: an error answers", open, report, answered, 404, 0, false, true},
		{"open: a hijack", open, hijack, hijacked, 0, 0, false, false},
		{"held: a foreign body is kept", held, body, held, 0, 0, false, false},
		{"held: an error goes aside", held, report, held, 0, 1, false, false},
		{"held: a panic answers, the held error goes aside", held, panicked, answered, 500, 1, false, true},
		{"answering: the envelope arrives", answering, envelope, answered, 404, 0, false, true},
		{"answering: a foreign error answers instead", answering, foreign, held, 0, 1, false, false},
		{"answering: a success means the envelope was lost", answering, success, committed, 201, 0, true, true},
		{"answering: an error goes aside", answering, report, answering, 0, 1, false, true},
		{"answered: a second error goes aside", answered, report, answered, 0, 1, false, true},
		{"answered: a foreign status is ignored", answered, foreign, answered, 0, 0, false, true},
		{"committed: an error answers, the response is aborted", committed, report, committed, 0, 0, true, true},
		{"committed: a foreign status is ignored", committed, foreign, committed, 0, 0, false, false},
		{"hijacked: an error is logged, nothing written", hijacked, report, hijacked, 0, 0, false, true},
		{"hijacked: a body is refused", hijacked, body, hijacked, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := hijackRecorder{httptest.NewRecorder()}
			cfg := newConfig([]Option{WithLogger(zerolog.Nop())})
			tr := newTracker(cfg, rec, httptest.NewRequest(http.MethodGet, "/offers/7", nil))
			tr.phase = tt.from
			if tt.from == answering || tt.from == answered {
				r := errorRecord{err: apierror.NotFound("first")}
				r.env = cfg.renderer.Envelope(tr.req, r.err)
				tr.answer = keep(r)
			}
			if tt.from == held {
				tr.foreign = http.StatusTeapot
			}
			tt.ev(tr)
			assert.Equal(t, tt.want, tr.phase)
			if tt.code != 0 {
				assert.Equal(t, tt.code, rec.Code)
			} else {
				assert.False(t, rec.Flushed || rec.Body.Len() > 0, "nothing written: %q", rec.Body.String())
			}
			assert.Len(t, tr.asides, tt.asides)
			assert.Equal(t, tt.abort, tr.abort)
			assert.Equal(t, tt.hasAnswer, tr.answer != nil)
		})
	}
}

// TestFinishRendersWhatIsPending: the rows of the table's last column.
func TestFinishRendersWhatIsPending(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(tr *tracker)
		code int
	}{
		{"held: the foreign error's envelope", func(tr *tracker) { tr.WriteHeader(http.StatusTeapot) }, http.StatusTeapot},
		{"answering: the envelope that never came through", func(tr *tracker) {
			// Rendered into a writer that kept it (a buffer in between).
			tr.report(httptest.NewRecorder(), errorRecord{err: apierror.Conflict("x")})
		}, http.StatusConflict},
		{"open: nothing", func(*tracker) {}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tr := newTracker(newConfig([]Option{WithLogger(zerolog.Nop())}), rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			tt.set(tr)
			tr.finish()
			assert.Equal(t, done, tr.phase)
			assert.Equal(t, tt.code, rec.Code)
			if tt.code >= 400 {
				assert.Equal(t, apierror.ContentType, rec.Header().Get("Content-Type"))
				assert.Contains(t, rec.Body.String(), `"id":"`+tr.id+`"`)
			}
		})
	}
}

// Writers with every combination of the optional interfaces.
type (
	plainW    struct{ http.ResponseWriter }
	flushW    struct{ http.ResponseWriter }
	hijackW   struct{ http.ResponseWriter }
	pushW     struct{ http.ResponseWriter }
	readFromW struct{ http.ResponseWriter }
)

func (flushW) Flush()                                        {}
func (hijackW) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, errors.New("no") }
func (pushW) Push(string, *http.PushOptions) error           { return nil }
func (readFromW) ReadFrom(r io.Reader) (int64, error)        { return io.Copy(io.Discard, r) }
func (u unwrapW) Unwrap() http.ResponseWriter                { return u.w }
func (u unwrapW) Header() http.Header                        { return u.w.Header() }
func (u unwrapW) Write(p []byte) (int, error)                { return u.w.Write(p) }
func (u unwrapW) WriteHeader(code int)                       { u.w.WriteHeader(code) }

// unwrapW hides w's methods but leads to it through Unwrap.
type unwrapW struct{ w http.ResponseWriter }

// combo is a writer with the capabilities in caps (capFlush, …).
func combo(caps int) http.ResponseWriter {
	type f = http.Flusher
	type h = http.Hijacker
	type p = http.Pusher
	type r = io.ReaderFrom
	base := httptest.NewRecorder()
	fl, hj, pu, rf := flushW{base}, hijackW{base}, pushW{base}, readFromW{base}
	type rw = http.ResponseWriter
	switch caps {
	case 0:
		return plainW{base}
	case capFlush:
		return struct {
			rw
			f
		}{base, fl}
	case capHijack:
		return struct {
			rw
			h
		}{base, hj}
	case capFlush | capHijack:
		return struct {
			rw
			f
			h
		}{base, fl, hj}
	case capPush:
		return struct {
			rw
			p
		}{base, pu}
	case capFlush | capPush:
		return struct {
			rw
			f
			p
		}{base, fl, pu}
	case capHijack | capPush:
		return struct {
			rw
			h
			p
		}{base, hj, pu}
	case capFlush | capHijack | capPush:
		return struct {
			rw
			f
			h
			p
		}{base, fl, hj, pu}
	case capReadFrom:
		return struct {
			rw
			r
		}{base, rf}
	case capFlush | capReadFrom:
		return struct {
			rw
			f
			r
		}{base, fl, rf}
	case capHijack | capReadFrom:
		return struct {
			rw
			h
			r
		}{base, hj, rf}
	case capFlush | capHijack | capReadFrom:
		return struct {
			rw
			f
			h
			r
		}{base, fl, hj, rf}
	case capPush | capReadFrom:
		return struct {
			rw
			p
			r
		}{base, pu, rf}
	case capFlush | capPush | capReadFrom:
		return struct {
			rw
			f
			p
			r
		}{base, fl, pu, rf}
	case capHijack | capPush | capReadFrom:
		return struct {
			rw
			h
			p
			r
		}{base, hj, pu, rf}
	default:
		return struct {
			rw
			f
			h
			p
			r
		}{base, fl, hj, pu, rf}
	}
}

func capsOf(w http.ResponseWriter) int {
	var c int
	if _, ok := w.(http.Flusher); ok {
		c |= capFlush
	}
	if _, ok := w.(http.Hijacker); ok {
		c |= capHijack
	}
	if _, ok := w.(http.Pusher); ok {
		c |= capPush
	}
	if _, ok := w.(io.ReaderFrom); ok {
		c |= capReadFrom
	}
	return c
}

// TestViewOffersExactlyTheWritersCapabilities: for each of the 16
// combinations, the handler's writer has exactly the optional interfaces of
// the writer beneath; Flush and Hijack also when only reachable through
// Unwrap, as http.ResponseController reaches them.
func TestViewOffersExactlyTheWritersCapabilities(t *testing.T) {
	cfg := newConfig([]Option{WithLogger(zerolog.Nop())})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for caps := range 16 {
		w := combo(caps)
		require.Equal(t, caps, capsOf(w), "the test's writer")
		v := newTracker(cfg, w, req).view()
		assert.Equal(t, caps, capsOf(v), "caps %04b", caps)
		_, ok := v.(interface{ Unwrap() http.ResponseWriter })
		assert.True(t, ok, "Unwrap, for http.ResponseController")

		behind := newTracker(cfg, unwrapW{w}, req).view()
		assert.Equal(t, caps&(capFlush|capHijack), capsOf(behind), "through Unwrap, caps %04b", caps)
	}
}

// TestTrackerStaysSmall: the per-request state is allocated for every
// request; at 512 bytes or less the allocator needs no header for it, which
// measurably speeds up every success (BENCHMARKS.md). A field that pushes
// it over belongs in a record made when it is needed.
func TestTrackerStaysSmall(t *testing.T) {
	assert.LessOrEqual(t, reflect.TypeFor[tracker]().Size(), uintptr(512))
}
