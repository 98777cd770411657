package middleware_test

// Regression tests for failures that well-known Go frameworks shipped.
// Each is named after what it guards.

import (
	"context"
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

func TestGoroutinePanicIsRecoveredAndReported(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return <-middleware.Go(r.Context(), func(ctx context.Context) error {
			var offers []string
			_ = offers[len(offers)] // index out of range
			return nil
		})
	}))
	resp, body := do(t, "GET", srv.URL+"/report", nil)
	_, line := s.checkEnvelope(t, resp, body, 500)
	assert.Contains(t, line["cause"], "index out of range")
	assert.Contains(t, line["stack"], "regression_test.go", "the goroutine's own stack")
}

func TestGoroutinePanicDroppedByHandlerIsStillLogged(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-middleware.Go(r.Context(), func(ctx context.Context) error { panic("forgotten") })
		_, _ = io.WriteString(w, "ok anyway")
	}))
	resp, _ := do(t, "GET", srv.URL+"/", nil)
	assert.Equal(t, 200, resp.StatusCode)
	lines := s.errorLinesEventually(t, resp.Header.Get("X-Request-Id"), 1)
	require.Len(t, lines, 1)
	assert.Equal(t, "panic in a goroutine of the request", lines[0]["message"])
	assert.Equal(t, "error", lines[0]["level"])
	assert.Contains(t, lines[0]["stack"], "regression_test.go")
}

func TestGoReturnsFnError(t *testing.T) {
	want := errors.New("plain")
	assert.Equal(t, want, <-middleware.Go(context.Background(), func(context.Context) error { return want }))
	err := <-middleware.Go(context.Background(), func(context.Context) error { panic("no request") })
	var p *middleware.PanicError
	require.ErrorAs(t, err, &p)
	assert.Equal(t, "no request", p.Value)
}

// TestBrokenClientConnectionIsNotACrash: the client disconnects while a
// large response is being written. One info line with the id, no warn or
// error line, no stack.
func TestBrokenClientConnectionIsNotACrash(t *testing.T) {
	s := newStack()
	handlerDone := make(chan error, 1)
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		chunk := []byte(strings.Repeat("x", 32<<10))
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := w.Write(chunk); err != nil {
				handlerDone <- err
				return fmt.Errorf("streaming the export: %w", err)
			}
			http.NewResponseController(w).Flush()
		}
		handlerDone <- nil
		return nil
	}))
	resp, err := http.Get(srv.URL + "/export")
	require.NoError(t, err)
	id := resp.Header.Get("X-Request-Id")
	_, _ = io.ReadFull(resp.Body, make([]byte, 1024))
	resp.Body.Close() // the client goes away mid-response
	select {
	case err := <-handlerDone:
		require.Error(t, err, "the handler saw the broken connection")
	case <-time.After(6 * time.Second):
		t.Fatal("handler did not finish")
	}
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), `"client_gone":true`) }, 2*time.Second, 5*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	lines := s.log.Lines(t)
	require.Len(t, lines, 1, s.log.String())
	assert.Equal(t, "info", lines[0]["level"])
	assert.Equal(t, id, lines[0]["id"])
	assert.Equal(t, true, lines[0]["client_gone"])
	assert.EqualValues(t, apierror.StatusClientClosedRequest, lines[0]["status"])
	assert.NotContains(t, lines[0], "stack")
}

// TestClientCanceledIsNotAnErrorLevelFailure: a client that goes away
// before the answer gives context.Canceled: one info line with status 499,
// never a warn or error line, so it is counted apart from real failures.
func TestClientCanceledIsNotAnErrorLevelFailure(t *testing.T) {
	s := newStack()
	started := make(chan struct{})
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		close(started)
		<-r.Context().Done()
		return fmt.Errorf("waiting for the database: %w", r.Context().Err())
	}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	go func() { <-started; cancel() }()
	_, err := http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), "waiting for the database") }, 2*time.Second, 5*time.Millisecond)
	lines := s.log.Lines(t)
	require.Len(t, lines, 1)
	assert.Equal(t, "info", lines[0]["level"])
	assert.Equal(t, true, lines[0]["client_gone"])
	assert.EqualValues(t, apierror.StatusClientClosedRequest, lines[0]["status"])
}

// TestInternalSecretNeverInAnyBody: a database-style error with a secret
// wrapped into a 500, a 502 and an invalid_model 400.
func TestInternalSecretNeverInAnyBody(t *testing.T) {
	const secret = "SECRET-dsn=postgres://svc:hunter2@10.0.0.5/offers"
	dbErr := fmt.Errorf("pq: %s", secret)
	for _, e := range []error{
		fmt.Errorf("load: %w", dbErr),
		apierror.Internal(dbErr),
		apierror.BadGateway(dbErr),
		apierror.InvalidModel(apierror.Attr("price", "must be greater than 0")).WithCause(dbErr),
	} {
		s := newStack()
		srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return e }))
		resp, body := do(t, "GET", srv.URL+"/", nil)
		_, line := s.checkEnvelope(t, resp, body, apierror.From(e).StatusCode())
		assert.NotContains(t, string(body), "SECRET")
		assert.NotContains(t, string(body), "hunter2")
		assert.Contains(t, line["cause"], "SECRET", "the secret is in the log, for support")
	}
}

// TestPanicAfterForeignErrorOutranksIt: a handler writes http.Error, then
// panics before returning: the client gets the 500, and the foreign error
// is logged aside rather than lost.
func TestPanicAfterForeignErrorOutranksIt(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "missing page parameter", http.StatusBadRequest)
		panic("and then a crash")
	}))
	resp, body := do(t, "GET", srv.URL+"/", nil)
	env, line := s.checkEnvelope(t, resp, body, 500)
	assert.Equal(t, "panic: and then a crash", line["cause"])
	var aside map[string]any
	for _, l := range s.log.Lines(t) {
		if l["level"] == "info" && l["id"] == env.ID {
			aside = l
		}
	}
	require.NotNil(t, aside, s.log.String())
	assert.Contains(t, aside["cause"], "missing page parameter")
}
