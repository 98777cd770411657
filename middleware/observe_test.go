package middleware_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// events collects what observers see.
type events struct {
	mu  sync.Mutex
	evs []middleware.ErrorEvent
}

func (e *events) add(ev middleware.ErrorEvent) { e.mu.Lock(); e.evs = append(e.evs, ev); e.mu.Unlock() }

func (e *events) get() []middleware.ErrorEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]middleware.ErrorEvent(nil), e.evs...)
}

// TestObserverRunsAfterTheClientHasItsAnswer: a slow observer does not
// hold up the envelope.
func TestObserverRunsAfterTheClientHasItsAnswer(t *testing.T) {
	released := make(chan struct{})
	s := newStack(middleware.WithObserver(func(middleware.ErrorEvent) { <-released }))
	defer close(released)
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("Offer 9 was not found.")
	}))
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL)
		if err == nil {
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- resp.StatusCode
		}
	}()
	select {
	case status := <-got:
		assert.Equal(t, 404, status)
	case <-time.After(2 * time.Second):
		t.Fatal("the client waited for the observer")
	}
}

// TestObserverSeesEveryErrorLine: once per request whose line is an error
// or client-gone line, with the status the client received.
func TestObserverSeesEveryErrorLine(t *testing.T) {
	t.Run("a client gone while the handler returns nothing", func(t *testing.T) {
		evs := &events{}
		s := newStack(middleware.WithObserver(evs.add))
		started := make(chan struct{})
		srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-r.Context().Done()
		}))
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		go func() { <-started; cancel() }()
		_, _ = http.DefaultClient.Do(req)
		require.Eventually(t, func() bool { return len(evs.get()) == 1 }, 2*time.Second, 5*time.Millisecond)
		ev := evs.get()[0]
		assert.True(t, ev.ClientGone)
		assert.Equal(t, 499, ev.Status)
	})
	t.Run("a goroutine's panic after a success", func(t *testing.T) {
		evs := &events{}
		s := newStack(middleware.WithObserver(evs.add))
		srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-middleware.Go(r.Context(), func(context.Context) error { panic("late") })
			_, _ = io.WriteString(w, "ok")
		}))
		resp, _ := do(t, "GET", srv.URL, nil)
		assert.Equal(t, 200, resp.StatusCode)
		require.Eventually(t, func() bool { return len(evs.get()) == 1 }, 2*time.Second, 5*time.Millisecond)
		ev := evs.get()[0]
		assert.True(t, ev.Panic)
		assert.Equal(t, 200, ev.Status, "what the client received")
	})
	t.Run("no event for a success", func(t *testing.T) {
		evs := &events{}
		s := newStack(middleware.WithObserver(evs.add))
		srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
		do(t, "GET", srv.URL, nil)
		time.Sleep(20 * time.Millisecond)
		assert.Empty(t, evs.get())
	})
	t.Run("a hijack claims no status", func(t *testing.T) {
		evs := &events{}
		s := newStack(middleware.WithObserver(evs.add))
		srv := s.serve(t, hijacking(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		resp, err := http.Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		require.Eventually(t, func() bool { return len(evs.get()) == 1 }, 2*time.Second, 5*time.Millisecond)
		assert.Zero(t, evs.get()[0].Status)
		assert.True(t, evs.get()[0].Hijacked)
		line := s.errorLinesEventually(t, s.idFromLog(t), 1)[0]
		assert.NotContains(t, line, "status")
	})
}

// TestObserverPanicIsContained: the client's answer is untouched, later
// observers still run, and the panic is on a line of its own that does not
// take the request's id as "id".
func TestObserverPanicIsContained(t *testing.T) {
	evs := &events{}
	s := newStack(
		middleware.WithObserver(func(middleware.ErrorEvent) { panic("observer bug") }),
		middleware.WithObserver(evs.add),
	)
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("")
	}))
	resp, body := do(t, "GET", srv.URL+"/x", nil)
	env, _ := s.checkEnvelope(t, resp, body, 404)
	require.Eventually(t, func() bool { return len(evs.get()) == 1 }, 2*time.Second, 5*time.Millisecond)
	var panicLine map[string]any
	for _, l := range s.log.Lines(t) {
		if l["message"] == "error observer panicked" {
			panicLine = l
		}
	}
	require.NotNil(t, panicLine)
	assert.Equal(t, env.ID, panicLine["observed_id"])
	assert.Equal(t, "/x", panicLine["path"])
	assert.NotContains(t, panicLine, "id")
	assert.Panics(t, func() { middleware.Errors(middleware.WithObserver(nil)) })
}
