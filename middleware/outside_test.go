package middleware_test

// Regressions for what a first outside try of the kit found broken.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// TestClientGoneWhateverTheHandlerReturns: once the client has gone, the
// request's one line is an info line with status 499, whatever the handler
// then returns; a panic stays an error line, as the bug it is.
func TestClientGoneWhateverTheHandlerReturns(t *testing.T) {
	for _, tc := range []struct {
		name      string
		accessLog bool
		ret       func(r *http.Request) error
		level     string
		status    int
	}{
		{"nothing, access log on", true, func(*http.Request) error { return nil }, "info", 499},
		{"nothing, access log off", false, func(*http.Request) error { return nil }, "info", 499},
		{"a 404", false, func(*http.Request) error { return apierror.NotFound("Offer 9 was not found.") }, "info", 499},
		{"a plain error", false, func(*http.Request) error { return errors.New("db went away too") }, "info", 499},
		{"a panic", false, func(*http.Request) error { panic("a bug is a bug") }, "error", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(middleware.WithAccessLog(tc.accessLog))
			started := make(chan struct{})
			srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				close(started)
				<-r.Context().Done()
				return tc.ret(r)
			}))
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
			go func() { <-started; cancel() }()
			_, err := http.DefaultClient.Do(req)
			require.ErrorIs(t, err, context.Canceled)
			require.Eventually(t, func() bool { return len(s.log.Lines(t)) > 0 }, 2*time.Second, 5*time.Millisecond)
			time.Sleep(20 * time.Millisecond)
			lines := s.log.Lines(t)
			require.Len(t, lines, 1, s.log.String())
			assert.Equal(t, tc.level, lines[0]["level"])
			assert.EqualValues(t, tc.status, lines[0]["status"])
			if tc.status == 499 {
				assert.Equal(t, true, lines[0]["client_gone"])
			}
		})
	}
}

// TestTypedNilIsNoError: a handler that returns a nil *apierror.Error as
// its error (code of the service's own) answered nothing wrong.
func TestTypedNilIsNoError(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, _ = io.WriteString(w, `{"ok":true}`)
		var upstreamErr *apierror.Error // the call succeeded
		return upstreamErr
	}))
	resp, body := do(t, "GET", srv.URL, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"ok":true}`, string(body))
	assert.Empty(t, s.log.ErrorLines(t, resp.Header.Get("X-Request-Id")))

	// Without the middleware, and wrapped: never a panic.
	rec := httptest.NewRecorder()
	middleware.WriteError(rec, httptest.NewRequest("GET", "/", nil), fmt.Errorf("x: %w", (*apierror.Error)(nil)))
	assert.Equal(t, 500, rec.Code)
}

// TestRequestReplacedInPlaceKeepsTheID: a middleware that overwrites the
// request in place (*r = *r.WithContext(...)) with another id cannot split
// the envelope from the log.
func TestRequestReplacedInPlaceKeepsTheID(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*r = *r.WithContext(apierror.WithID(r.Context(), "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"))
		middleware.WriteError(w, r, apierror.NotFound(""))
	}))
	resp, body := do(t, "GET", srv.URL+"/x", nil)
	env, _ := s.checkEnvelope(t, resp, body, 404)
	assert.NotEqual(t, "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b", env.ID)
}

// TestSuccessCarriesTheRequestID: X-Request-Id on a success is the
// request's id, whatever the handler (or a reverse proxy) put there.
func TestSuccessCarriesTheRequestID(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(h http.Header)
	}{
		{"Set and Add", func(h http.Header) { h.Set("X-Request-Id", "evil"); h.Add("X-Request-Id", "upstream-id") }},
		{"Add", func(h http.Header) { h.Add("X-Request-Id", "upstream-id") }},
		{"written into the slice", func(h http.Header) { h["X-Request-Id"][0] = "evil" }},
		{"deleted", func(h http.Header) { h.Del("X-Request-Id") }},
		{"emptied", func(h http.Header) { h["X-Request-Id"] = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(middleware.WithAccessLog(true))
			srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.tamper(w.Header())
				if r.URL.Path == "/write" {
					_, _ = io.WriteString(w, "ok")
				}
			}))
			// With a body, and with none: net/http sends the 200 once
			// the handlers have returned.
			for i, path := range []string{"/write", "/nothing"} {
				resp, _ := do(t, "GET", srv.URL+path, nil)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.Len(t, resp.Header.Values("X-Request-Id"), 1, path)
				id := resp.Header.Get("X-Request-Id")
				require.Eventually(t, func() bool { return len(s.log.Lines(t)) == i+1 }, 2*time.Second, 5*time.Millisecond)
				assert.Equal(t, id, s.log.Lines(t)[i]["id"], path)
			}
		})
	}
}

// TestHandlerTimeoutErrorIs504: http.ErrHandlerTimeout returned by a
// handler is the server's timeout.
func TestHandlerTimeoutErrorIs504(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("writing the report: %w", http.ErrHandlerTimeout)
	}))
	resp, body := do(t, "GET", srv.URL, nil)
	s.checkEnvelope(t, resp, body, 504)
}

// TestUnflushedPartialWriteThenError: the client receives the status the
// log names (200), then a broken body.
func TestUnflushedPartialWriteThenError(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, _ = io.WriteString(w, "partial")
		return errors.New("the rest failed")
	}))
	resp, err := http.Get(srv.URL)
	require.NoError(t, err, "the status line arrived")
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	_, err = io.ReadAll(resp.Body)
	assert.Error(t, err, "the body is broken, not complete")
	lines := s.errorLinesEventually(t, resp.Header.Get("X-Request-Id"), 1)
	require.Len(t, lines, 1)
	assert.EqualValues(t, 200, lines[0]["status"])
	assert.Equal(t, true, lines[0]["committed"])
}

// TestCauseLogsNoQuery: the URL of a failed call is logged without its
// query, which may hold what the client sent.
func TestCauseLogsNoQuery(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", "http://127.0.0.1:1/rates?token=s3cr3t&to=USD", nil)
		_, err := http.DefaultClient.Do(req)
		return apierror.ServiceUnavailable(fmt.Errorf("fx: %w", err))
	}))
	resp, body := do(t, "GET", srv.URL, nil)
	_, line := s.checkEnvelope(t, resp, body, 503)
	assert.Contains(t, line["cause"], "http://127.0.0.1:1/rates")
	assert.NotContains(t, s.log.String(), "s3cr3t")
}

// TestTypedNilPanicErrorIsSafe: a nil *PanicError returned as an error is
// an error like any other, not a panic of the kit.
func TestTypedNilPanicErrorIsSafe(t *testing.T) {
	var p *middleware.PanicError
	assert.NotPanics(t, func() { _ = apierror.From(p).Error() })
}
