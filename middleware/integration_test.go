package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// slowHandler waits for its context or 5 s, and returns the context's error.
var slowHandler = middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	select {
	case <-r.Context().Done():
		return fmt.Errorf("waiting for the quote: %w", r.Context().Err())
	case <-time.After(5 * time.Second):
		_, _ = io.WriteString(w, "too late")
		return nil
	}
})

func TestChiTimeout(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	r.Use(s.mw, chimw.Timeout(50*time.Millisecond))
	r.Method("GET", "/slow", slowHandler)
	r.Get("/ignores-context", func(w http.ResponseWriter, r *http.Request) {
		// Returns without an error after the deadline. It waits for the
		// context's own timer rather than sleeping: a sleep past the
		// deadline can return before the timer has fired, and then chi's
		// cancel() makes the context Canceled, not DeadlineExceeded, and no
		// 504 is written (the flake of 1 run in 100).
		for r.Context().Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	})
	srv := httptestServer(t, r)

	resp, body := do(t, "GET", srv.URL+"/slow", nil)
	_, line := s.checkEnvelope(t, resp, body, 504)
	assert.Contains(t, line["cause"], "context deadline exceeded")

	// A handler that ignores its context: chi's Timeout writes a bare 504
	// after it returns, which the middleware turns into the envelope.
	resp, body = do(t, "GET", srv.URL+"/ignores-context", nil)
	s.checkEnvelope(t, resp, body, 504)
}

func TestHTTPTimeoutHandler(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	r.Use(s.mw)
	r.Method("GET", "/slow", http.TimeoutHandler(slowHandler, 50*time.Millisecond, ""))
	r.Method("GET", "/fast-error", http.TimeoutHandler(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("Offer 3 was not found.")
	}), time.Second, ""))
	srv := httptestServer(t, r)

	resp, body := do(t, "GET", srv.URL+"/slow", nil)
	env, line := s.checkEnvelope(t, resp, body, 504)
	assert.Equal(t, "There was a generic error", env.Message)
	assert.Contains(t, line["cause"], "http.TimeoutHandler")

	// An error within the time limit passes through the TimeoutHandler's
	// buffer unchanged.
	resp, body = do(t, "GET", srv.URL+"/fast-error", nil)
	env, _ = s.checkEnvelope(t, resp, body, 404)
	assert.Equal(t, "Offer 3 was not found.", env.Error)

	// The slow handler's own error, reported after the timeout answered,
	// is logged aside, not as a second error line.
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), "waiting for the quote") }, 6*time.Second, 10*time.Millisecond)
}

func TestHTTPRate(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	r.Use(s.mw, httprate.LimitBy(2, time.Minute, httprate.Key("*")))
	r.Get("/offers", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "[]") })
	srv := httptestServer(t, r)

	for range 2 {
		resp, _ := do(t, "GET", srv.URL+"/offers", nil)
		require.Equal(t, 200, resp.StatusCode)
	}
	resp, body := do(t, "GET", srv.URL+"/offers", nil)
	env, _ := s.checkEnvelope(t, resp, body, 429)
	assert.Equal(t, "Too Many Requests", env.Message)
	assert.Regexp(t, `^\d+$`, resp.Header.Get("Retry-After"))
}

func TestChiThrottle(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	r.Use(s.mw, chimw.ThrottleWithOpts(chimw.ThrottleOpts{Limit: 1, BacklogLimit: 0, StatusCode: http.StatusServiceUnavailable, BacklogTimeout: time.Millisecond, RetryAfterFn: func(bool) time.Duration { return 5 * time.Second }}))
	release := make(chan struct{})
	started := make(chan struct{})
	r.Get("/busy", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})
	srv := httptestServer(t, r)

	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(srv.URL + "/busy")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	resp, body := do(t, "GET", srv.URL+"/busy", nil)
	close(release)
	<-done
	env, line := s.checkEnvelope(t, resp, body, 503)
	assert.Equal(t, "Connection Error", env.Message)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	assert.Contains(t, line["cause"], "Server capacity exceeded")
}

// TestCanary sends a unique token in Authorization, Cookie, the query
// string and the body to every error path; it must appear nowhere in the
// log.
func TestCanary(t *testing.T) {
	const canary = "CANARY-b9e1c3f0d2"
	s := newStack(middleware.WithAccessLog(true))
	r := chi.NewRouter()
	r.Use(s.mw)
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Method("POST", "/error", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, _ = io.ReadAll(r.Body)
		return apierror.Validation("The body is not valid JSON.")
	}))
	r.Method("POST", "/internal", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, _ = io.ReadAll(r.Body)
		return errors.New("db down")
	}))
	r.Post("/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	r.Post("/foreign", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", 400) })
	r.Method("POST", "/too-large", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4))
		return err
	}))
	srv := httptestServer(t, r)

	for _, path := range []string{"/error", "/internal", "/panic", "/foreign", "/too-large", "/nowhere"} {
		for _, method := range []string{"POST", "GET"} {
			resp, _ := do(t, method, srv.URL+path+"?token="+canary, strings.NewReader(`{"secret":"`+canary+`"}`),
				"Authorization", "Bearer "+canary, "Cookie", "session="+canary, "X-Api-Key", canary)
			assert.GreaterOrEqual(t, resp.StatusCode, 400)
		}
	}
	// One line per request, each with the access fields.
	require.Eventually(t, func() bool { return strings.Count(s.log.String(), `"duration":`) == 12 }, 2*time.Second, 5*time.Millisecond)
	assert.NotContains(t, s.log.String(), canary)
	assert.NotContains(t, s.log.String(), "CANARY")
}

// TestConcurrentMixedPaths runs every path from many goroutines under
// -race; all ids are distinct and each has exactly one error line.
func TestConcurrentMixedPaths(t *testing.T) {
	s := newStack(middleware.WithAccessLog(true))
	r := chi.NewRouter()
	r.Use(s.mw)
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Get("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	r.Method("GET", "/error", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("x")
	}))
	r.Get("/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	r.Get("/foreign", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad", 500) })
	r.Method("GET", "/deadline", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return context.DeadlineExceeded
	}))
	srv := httptestServer(t, r)

	paths := []struct {
		path   string
		method string
		status int
	}{{"/ok", "GET", 200}, {"/error", "GET", 404}, {"/panic", "GET", 500}, {"/foreign", "GET", 500}, {"/deadline", "GET", 504}, {"/nowhere", "GET", 404}, {"/ok", "POST", 405}}
	const workers, each = 16, 20
	var mu sync.Mutex
	ids := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				p := paths[(w+i)%len(paths)]
				req, _ := http.NewRequest(p.method, srv.URL+p.path, nil)
				resp, err := http.DefaultClient.Do(req)
				if !assert.NoError(t, err) {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				assert.Equal(t, p.status, resp.StatusCode, p.path)
				mu.Lock()
				ids[resp.Header.Get("X-Request-Id")] = resp.StatusCode
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, ids, workers*each, "every id distinct")
	require.Eventually(t, func() bool { return strings.Count(s.log.String(), `"duration":`) == workers*each }, 5*time.Second, 10*time.Millisecond)
	counts := map[string]int{}
	lines := map[string]int{}
	for _, l := range s.log.Lines(t) {
		id := l["id"].(string)
		lines[id]++
		if l["level"] == "warn" || l["level"] == "error" || l["message"] == "request" {
			assert.EqualValues(t, ids[id], l["status"], "the logged status is the one the client received (%v)", l)
		}
		if l["level"] == "warn" || l["level"] == "error" {
			counts[id]++
		}
	}
	for id, status := range ids {
		assert.Equal(t, 1, lines[id], "one line per request: %s", id)
		if status >= 400 {
			assert.Equal(t, 1, counts[id], "id %s (status %d)", id, status)
		} else {
			assert.Zero(t, counts[id])
		}
	}
}

// TestHTTPRateRetryAfterIsTheReset: httprate sends its whole window as
// Retry-After (60) and the real reset as X-RateLimit-Reset; the envelope
// and Retry-After say the seconds until a retry passes: the reset, and the
// time the ended window still weighs (half the window for a limit of 1).
func TestHTTPRateRetryAfterIsTheReset(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	const window = time.Minute
	r.Use(s.mw, httprate.LimitBy(1, window, httprate.Key("*")))
	r.Get("/offers", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "[]") })
	srv := httptestServer(t, r)

	resp, _ := do(t, "GET", srv.URL+"/offers", nil)
	require.Equal(t, 200, resp.StatusCode)
	resp, body := do(t, "GET", srv.URL+"/offers", nil)
	at := time.Now()
	env, _ := s.checkEnvelope(t, resp, body, 429)
	reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	require.NoError(t, err, "httprate's reset is passed on")
	// To the end of the reset's second, then half the window over the
	// limit: httprate's window slides, and the ended one weighs on.
	want := int(math.Ceil((time.Unix(reset+1, 0).Sub(at) + window/2).Seconds()))
	got, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.InDelta(t, want, got, 1, "Retry-After is the time until a retry passes, not the window")
	assert.LessOrEqual(t, got, int(1.5*window.Seconds())+1)
	assert.Equal(t, fmt.Sprintf("Rate limit exceeded. Retry after %d second%s", got, map[bool]string{true: ".", false: "s."}[got == 1]), env.Error)
}

// TestHTTPRateRetryAfterIsEnough: a client that waits the Retry-After it
// was given is let through, although httprate's window slides (the ended
// window still weighs past its reset).
func TestHTTPRateRetryAfterIsEnough(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	r.Use(s.mw, httprate.LimitBy(2, 2*time.Second, httprate.Key("*")))
	r.Get("/offers", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "[]") })
	srv := httptestServer(t, r)
	for range 2 {
		resp, _ := do(t, "GET", srv.URL+"/offers", nil)
		require.Equal(t, 200, resp.StatusCode)
	}
	resp, _ := do(t, "GET", srv.URL+"/offers", nil)
	require.Equal(t, 429, resp.StatusCode)
	wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.LessOrEqual(t, wait, 4, "the reset (at most 3 s, to the end of its second) and a quarter of the window, rounded up")
	time.Sleep(time.Duration(wait) * time.Second)
	resp, _ = do(t, "GET", srv.URL+"/offers", nil)
	assert.Equal(t, 200, resp.StatusCode, "a retry after %d s", wait)
}

func TestRateLimitResetForms(t *testing.T) {
	s := newStack(middleware.WithClock(func() time.Time { return time.Unix(1_800_000_000, 0) }))
	for _, tc := range []struct {
		reset, retryAfter, want string
		limit                   string
	}{
		{"1800000007", "60", "9", "60"}, // httprate: its limit too: 0.5 s more for its sliding window
		{"1800000007", "60", "39", "1"}, // a limit of 1: half the window more
		{"1800000007", "9", "13", "1"},  // the window, whatever it is, from Retry-After
		{"1800000007", "60", "8", ""},   // Unix seconds, the window as Retry-After, no limit given
		{"7", "", "7", ""},              // seconds from now
		{"1800000030", "2", "2", ""},    // the limiter's Retry-After is sooner
		{"1799999990", "", "1", ""},     // a reset in the past: at least 1 s
		{"soon", "", "60", ""},          // not a number: the default
	} {
		h := s.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-RateLimit-Reset", tc.reset)
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			if tc.limit != "" {
				w.Header().Set("X-RateLimit-Limit", tc.limit)
			}
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, tc.want, rec.Header().Get("Retry-After"), "%+v", tc)
	}
}
