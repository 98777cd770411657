package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// TestContextLoggerIsTheRequestsWherevereAsked: zerolog.Ctx finds the
// request's logger in the request's context, in contexts made from it and
// from several goroutines at once: one logger, with the request's id,
// made once.
func TestContextLoggerIsTheRequestsWherevereAsked(t *testing.T) {
	s := newStack()
	var loggers [8]*zerolog.Logger
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		ctx = context.WithValue(ctx, struct{ k string }{"x"}, 1)
		var wg sync.WaitGroup
		for i := range loggers {
			wg.Go(func() {
				if i%2 == 0 {
					loggers[i] = zerolog.Ctx(r.Context())
				} else {
					loggers[i] = zerolog.Ctx(ctx)
				}
			})
		}
		wg.Wait()
		loggers[0].Info().Msg("from the handler")
		return apierror.NotFound("")
	}))
	resp, body := do(t, "GET", srv.URL+"/offers/9", nil)
	_, line := s.checkEnvelope(t, resp, body, 404)
	for _, l := range loggers {
		require.Same(t, loggers[0], l, "one logger per request")
	}
	lines := s.log.Lines(t)
	require.Len(t, lines, 2)
	assert.Equal(t, "from the handler", lines[0]["message"])
	assert.Equal(t, line["id"], lines[0]["id"])
}

// TestContextLoggerAnOuterOneStillWins: a handler that puts a logger of
// its own in the context gets it back from zerolog.Ctx, as with any
// context value.
func TestContextLoggerAnOuterOneStillWins(t *testing.T) {
	s := newStack()
	mine := zerolog.New(io.Discard).With().Str("mine", "yes").Logger()
	var got *zerolog.Logger
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = zerolog.Ctx(mine.WithContext(r.Context()))
	}))
	resp, _ := do(t, "GET", srv.URL, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.NotNil(t, got)
	assert.NotEqual(t, zerolog.Ctx(context.Background()), got)
	buf := &lineBuffer{}
	l := got.Output(buf)
	l.Info().Msg("")
	assert.Contains(t, buf.String(), `"mine":"yes"`)
}

type lineBuffer struct{ b []byte }

func (l *lineBuffer) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }
func (l *lineBuffer) String() string              { return string(l.b) }

// TestCostPerRequest pins what Errors allocates per request, over the
// same handler without it: the per-request state, the id and the copy of
// the request that carries the context (3), whatever the access log. An
// error answered with its envelope, its headers and its log line costs two
// allocations more than the bare status and text of http.Error (the
// envelope's header values, the record of the error). A change
// that adds an allocation to every request of every service fails here
// rather than in a benchmark nobody runs.
func TestCostPerRequest(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own account")
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		_, _ = io.WriteString(w, `{"id":"42"}`)
	})
	notFound := apierror.NotFound("Offer 42 was not found.")
	fail := middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return notFound })
	logger := zerolog.New(io.Discard).With().Timestamp().Logger()
	req := httptest.NewRequest("GET", "/api/v1/participant/offers/42", nil)
	allocs := func(h http.Handler) float64 {
		return testing.AllocsPerRun(200, func() { h.ServeHTTP(httptest.NewRecorder(), req) })
	}
	bare := allocs(ok)
	httpError := allocs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Offer 42 was not found.", http.StatusNotFound)
	}))
	for _, access := range []bool{false, true} {
		mw := middleware.Errors(middleware.WithLogger(logger), middleware.WithAccessLog(access))
		assert.Equal(t, bare+3, allocs(mw(ok)), "success, access log %v", access)
		assert.Equal(t, httpError+2, allocs(mw(fail)), "error, access log %v", access)
	}
}

// TestGeneratorIDsThatAreNotUUIDsAreNotSent: an id from WithIDGenerator
// that is not a UUID never reaches the client or the log as the request's
// id (a CR LF in it would be a header of its own); the first is reported.
func TestGeneratorIDsThatAreNotUUIDsAreNotSent(t *testing.T) {
	for _, bad := range []string{"abc\r\nSet-Cookie: x=1", "", "req-1", strings.Repeat("a", 5000), "00000000-0000-0000-0000-000000000000"} {
		s := newStack(middleware.WithIDGenerator(func() string { return bad }), middleware.WithAccessLog(true))
		srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/missing" {
				middleware.WriteError(w, r, apierror.NotFound(""))
			}
		}))
		for _, path := range []string{"/", "/missing", "/"} {
			resp, body := do(t, "GET", srv.URL+path, nil)
			id := resp.Header.Get("X-Request-Id")
			assert.True(t, apierror.ValidID(id), "X-Request-Id %q for generator %q", id, bad)
			if resp.StatusCode == http.StatusNotFound {
				env, _ := s.checkEnvelope(t, resp, body, 404)
				assert.Equal(t, id, env.ID)
			}
		}
		require.Eventually(t, func() bool { return len(s.log.Lines(t)) == 4 }, 2*time.Second, 5*time.Millisecond)
		reports := 0
		for _, l := range s.log.Lines(t) {
			if l["rejected_id"] != nil {
				reports++
				assert.Equal(t, bad, l["rejected_id"])
			} else {
				assert.True(t, apierror.ValidID(l["id"].(string)))
			}
		}
		assert.Equal(t, 1, reports, "reported once per middleware")
	}
}

// TestContextLoggerWithLoggingOff: with a disabled logger, zerolog.Ctx
// behaves as zerolog's own WithContext would: the disabled logger hides a
// logger already in the context, and where there is none, zerolog.Ctx
// gives zerolog.DefaultContextLogger.
func TestContextLoggerWithLoggingOff(t *testing.T) {
	fallback := zerolog.New(io.Discard).With().Str("default", "yes").Logger()
	saved := zerolog.DefaultContextLogger
	zerolog.DefaultContextLogger = &fallback
	t.Cleanup(func() { zerolog.DefaultContextLogger = saved })
	outer := zerolog.New(io.Discard).With().Str("outer", "yes").Logger()

	for _, withOuter := range []bool{false, true} {
		var got *zerolog.Logger
		h := middleware.Errors(middleware.WithLogger(zerolog.Nop()))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = zerolog.Ctx(r.Context())
		}))
		req := httptest.NewRequest("GET", "/", nil)
		if withOuter {
			req = req.WithContext(outer.WithContext(req.Context()))
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		require.NotNil(t, got)
		if withOuter {
			assert.Equal(t, zerolog.Disabled, got.GetLevel(), "the disabled logger hides the outer one")
		} else {
			assert.Same(t, &fallback, got, "no logger in the context: zerolog's default")
		}
	}
}

// TestRequestContextHasAName: fmt and context's own String name the
// request's context, as they name the context package's.
func TestRequestContextHasAName(t *testing.T) {
	var name, child string
	h := middleware.Errors(middleware.WithLogger(zerolog.Nop()))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name = fmt.Sprint(r.Context())
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		child = fmt.Sprint(ctx)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Regexp(t, `^context\.Background\.WithValue\(middleware request [0-9a-f-]{36}\)$`, name)
	assert.Equal(t, name+".WithCancel", child)
}

// TestGeneratorUpperCaseUUIDIsSentInLowerCase: a generator's UUID in upper
// case is the same id, sent and logged in the contract's form, and not
// reported.
func TestGeneratorUpperCaseUUIDIsSentInLowerCase(t *testing.T) {
	s := newStack(middleware.WithIDGenerator(func() string { return "01A21433-216F-72A2-95B6-C1F59791269D" }))
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return apierror.NotFound("") }))
	resp, body := do(t, "GET", srv.URL, nil)
	env, line := s.checkEnvelope(t, resp, body, 404)
	assert.Equal(t, "01a21433-216f-72a2-95b6-c1f59791269d", env.ID)
	assert.Equal(t, env.ID, line["id"])
	assert.Len(t, s.log.Lines(t), 1, "no report of a rejected id")
}
