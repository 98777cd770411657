package middleware_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

type participantKey struct{}

// authenticate is an authentication middleware mounted inside Errors: it
// puts the participant in the request's context, or answers 401.
func authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if who == "" {
			middleware.WriteError(w, r, apierror.InvalidToken())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), participantKey{}, who)))
	})
}

// TestObserverSeesTheHandlersRequest: what an inner middleware put in the
// context (the participant) is in ev.Request, for an error a handler
// returned, a panic and a foreign error; chi's route pattern too.
func TestObserverSeesTheHandlersRequest(t *testing.T) {
	var evs events
	patterns := make(chan string, 3) // chi's route context is reused once the request ends
	s := newStack(middleware.WithObserver(evs.add), middleware.WithObserver(func(ev middleware.ErrorEvent) {
		patterns <- chi.RouteContext(ev.Request.Context()).RoutePattern()
	}))
	r := chi.NewRouter()
	r.Use(s.mw, authenticate)
	r.Get("/offers/{id}", middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("No offer " + chi.URLParam(r, "id") + ".")
	}))
	r.Get("/panic", middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		panic("boom")
	}))
	r.Get("/plain", middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		http.Error(w, "no", http.StatusConflict)
		return nil
	}))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/offers/9", "/panic", "/plain"} {
		resp, _ := do(t, "GET", srv.URL+path, nil, "Authorization", "Bearer alice")
		require.GreaterOrEqual(t, resp.StatusCode, 400)
	}
	require.Eventually(t, func() bool { return len(evs.get()) == 3 }, 2*time.Second, 5*time.Millisecond)
	for _, ev := range evs.get() {
		assert.Equal(t, "alice", ev.Request.Context().Value(participantKey{}), "%d %s", ev.Status, ev.Request.URL.Path)
		assert.NotEmpty(t, middleware.ID(ev.Request.Context()))
	}
	seen := []string{<-patterns, <-patterns, <-patterns} // in the order the observers ran
	assert.ElementsMatch(t, []string{"/offers/{id}", "/panic", "/plain"}, seen)
}

// TestObserverNeverDelaysTheAnswer: a slow observer does not hold up the
// answer to a POST whose body the handler never read (a 401 before the
// body is looked at): a small body sent whole, a body of 1 MiB of which
// the client has sent 300 KB so far, and Expect: 100-continue with no body
// sent. The client reads the status line off the connection itself: Go's
// client returns a response only once it has sent the whole body.
func TestObserverNeverDelaysTheAnswer(t *testing.T) {
	const slow = 1500 * time.Millisecond
	s := newStack(middleware.WithObserver(func(middleware.ErrorEvent) { time.Sleep(slow) }))
	r := chi.NewRouter()
	r.Use(s.mw, authenticate)
	r.Post("/offers", middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("not reached")
	}))
	plain := httptest.NewServer(r)
	t.Cleanup(plain.Close)
	// otelhttp in front replaces the body of net/http's own request, which
	// made net/http read the body before sending the status.
	otel := httptest.NewServer(otelhttp.NewHandler(r, "offers"))
	t.Cleanup(otel.Close)
	for _, tc := range []struct {
		name         string
		srv          *httptest.Server
		length, sent int
		expect       bool
	}{
		{"a small body", plain, 100, 100, false},
		{"a body of 1 MiB, 300 KB sent", plain, 1 << 20, 300_000, false},
		{"Expect: 100-continue", plain, 1 << 20, 0, true},
		{"otelhttp in front, a small body", otel, 100, 100, false},
		{"otelhttp in front, Expect: 100-continue", otel, 1 << 20, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", tc.srv.Listener.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			start := time.Now()
			head := fmt.Sprintf("POST /offers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", tc.length)
			if tc.expect {
				head += "Expect: 100-continue\r\n"
			}
			_, err = io.WriteString(c, head+"\r\n")
			require.NoError(t, err)
			_, err = c.Write(bytes.Repeat([]byte("x"), tc.sent))
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			require.NoError(t, err)
			took := time.Since(start)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, 401, resp.StatusCode)
			assert.Contains(t, string(body), `"statusCode":401`)
			assert.Less(t, took, slow/3, "the client waited %v for the observer", took)
		})
	}
}
