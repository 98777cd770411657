package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// TestLateWriteBehindTimeoutHandlerIsNoClientGone: a handler behind
// http.TimeoutHandler that writes after the timeout gets
// http.ErrHandlerTimeout and returns it; the client got its 504 and never
// left, so no line says it closed the request (net/http had canceled the
// request's context because the middleware had returned).
func TestLateWriteBehindTimeoutHandlerIsNoClientGone(t *testing.T) {
	var buf lockedBuffer
	returned := make(chan struct{})
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithLogger(middleware.NewLogger(&buf))))
	late := middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		defer close(returned)
		time.Sleep(300 * time.Millisecond)
		_, err := io.WriteString(w, "late")
		return err
	})
	r.Get("/slow", http.TimeoutHandler(late, 50*time.Millisecond, "").ServeHTTP)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/slow")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	<-returned
	time.Sleep(50 * time.Millisecond) // the late error's line
	log := buf.String()
	assert.Contains(t, log, `"status":504`)
	assert.NotContains(t, log, `"status":499`, log)
	assert.NotContains(t, log, "client_gone", log)
}

// TestNoQueryInAnyLoggedText: a URL's query is cut from every text the
// line holds, not only from an *url.Error's: an error a handler wrote
// itself, a panic value, a 5xx's internal detail, a foreign 5xx body.
func TestNoQueryInAnyLoggedText(t *testing.T) {
	var buf lockedBuffer
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithLogger(middleware.NewLogger(&buf))))
	r.Get("/wrapped", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("calling https://pricing.example/prices?api_key=SECRET1 failed: %w", io.ErrUnexpectedEOF)
	}).ServeHTTP)
	r.Get("/panic", func(w http.ResponseWriter, r *http.Request) {
		panic("signed https://cdn.example/a.png?sig=SECRET2#top")
	})
	r.Get("/detail", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.New(http.StatusBadGateway, "upstream http://10.0.0.1:8080/x?token=SECRET3 said no")
	}).ServeHTTP)
	r.Get("/foreign", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "see https://status.example/?sig=SECRET4", http.StatusServiceUnavailable)
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	for _, p := range []string{"/wrapped", "/panic", "/detail", "/foreign"} {
		resp, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	time.Sleep(50 * time.Millisecond)
	log := buf.String()
	for _, secret := range []string{"SECRET1", "SECRET2", "SECRET3", "SECRET4"} {
		assert.NotContains(t, log, secret)
	}
	assert.Contains(t, log, "https://pricing.example/prices failed", "the URL itself stays")
	assert.Contains(t, log, "https://cdn.example/a.png#top")
}
