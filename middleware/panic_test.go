package middleware_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

type panickyError struct{}

func (panickyError) Error() string { panic("Error() itself panics") }

type panickyStringer struct{}

func (panickyStringer) String() string { panic("String() itself panics") }

func TestPanicBecomes500(t *testing.T) {
	tests := []struct {
		name  string
		value func() any
		cause string
	}{
		{"string", func() any { return "boom" }, "panic: boom"},
		{"error", func() any { return errors.New("db: secret-dsn") }, "panic: db: secret-dsn"},
		{"nil", func() any { return nil }, "panic: panic called with nil argument"},
		{"runtime error", func() any { var s []int; i := len(s) + 3; return s[i] }, "index out of range [3] with length 0"},
		{"Error panics", func() any { return panickyError{} }, "whose Error or String method panicked"},
		{"String panics", func() any { return panickyStringer{} }, "whose Error or String method panicked"},
		{"struct", func() any { return struct{ A int }{7} }, "panic: {7}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack()
			srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				panic(tt.value())
			}))
			resp, body := do(t, "GET", srv.URL+"/panic", nil)
			env, line := s.checkEnvelope(t, resp, body, 500)
			assert.Equal(t, apierror.PublicDetail(500), env.Error)
			assert.Contains(t, line["cause"], tt.cause)
			assert.Contains(t, line["stack"], "panic_test.go", "the stack of the panicking goroutine")
			assert.NotContains(t, line["stack"], "goroutine 1 [", "not every goroutine's stack")
			assert.NotContains(t, string(body), "secret")

			// The server keeps serving.
			resp, _ = do(t, "GET", srv.URL+"/again", nil)
			assert.Equal(t, 500, resp.StatusCode)
		})
	}
}

func TestPanicInDeferredFunction(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { panic("in defer") }()
	}))
	resp, body := do(t, "GET", srv.URL+"/", nil)
	_, line := s.checkEnvelope(t, resp, body, 500)
	assert.Equal(t, "panic: in defer", line["cause"])
}

func TestPanicErrorUnwraps(t *testing.T) {
	sentinel := errors.New("sentinel")
	p := &middleware.PanicError{Value: fmt.Errorf("x: %w", sentinel)}
	assert.ErrorIs(t, p, sentinel)
	assert.Equal(t, "panic: x: sentinel", p.Error())
}

func TestAbortHandlerPassedOn(t *testing.T) {
	s := newStack(middleware.WithAccessLog(true))
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	resp, err := http.Get(srv.URL + "/abort")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	require.Error(t, err, "the connection is aborted, no response")
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), `"message":"request"`) }, 2*time.Second, 5*time.Millisecond)
	for _, l := range s.log.Lines(t) {
		assert.NotEqual(t, "error", l["level"], "not logged as a crash: %v", l)
		assert.NotEqual(t, "warn", l["level"])
	}
	assert.NotContains(t, s.log.String(), "Generic Error")
}

// TestPanicAfterResponseStarted: a 200 and part of a body are out; the
// panic must not append an envelope, and the client must see a broken
// response rather than a complete 200.
func TestPanicAfterResponseStarted(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, strings.Repeat("a", 100))
		http.NewResponseController(w).Flush()
		panic("half way")
	}))
	resp, err := http.Get(srv.URL + "/stream")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Error(t, err, "the client's read fails")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.NotContains(t, string(body), "statusCode")

	id := resp.Header.Get("X-Request-Id")
	lines := s.errorLinesEventually(t, id, 1)
	require.Len(t, lines, 1)
	assert.Equal(t, "error", lines[0]["level"])
	assert.Equal(t, true, lines[0]["committed"])
	assert.EqualValues(t, 200, lines[0]["status"], "the status the client received")
	assert.Equal(t, "panic: half way", lines[0]["cause"])
}

// TestPanicAfterChunkedStart: without a Content-Length the abort still
// shows: the chunked body never gets its terminating chunk.
func TestPanicAfterChunkedStart(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		panic("late")
	}))
	resp, err := http.Get(srv.URL + "/stream")
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Error(t, err)
}

func TestErrorAfterResponseStarted(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Length", "50")
		_, _ = io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		return errors.New("stream broke")
	}))
	resp, err := http.Get(srv.URL + "/stream")
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Error(t, err)
	lines := s.errorLinesEventually(t, resp.Header.Get("X-Request-Id"), 1)
	require.Len(t, lines, 1)
	assert.Equal(t, true, lines[0]["committed"])
	assert.Equal(t, "stream broke", lines[0]["cause"])
}

// TestErrorPathRunsOnce: a handler returns an error after an envelope was
// already written for the request: no second body, no second error line.
func TestErrorPathRunsOnce(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		middleware.WriteError(w, r, apierror.InvalidToken())
		return errors.New("and then this")
	}))
	resp, body := do(t, "GET", srv.URL+"/", nil)
	env, _ := s.checkEnvelope(t, resp, body, 401)
	assert.Equal(t, 1, strings.Count(string(body), `"id"`))
	assert.Contains(t, s.log.String(), "and then this", "the second error is logged aside")
	for _, l := range s.log.Lines(t) {
		if l["cause"] == "and then this" {
			assert.Equal(t, "info", l["level"])
			assert.Equal(t, env.ID, l["id"])
		}
	}
}
