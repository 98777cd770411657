package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"

	"github.com/360x/errkit/middleware"
)

// byToken keys httprate's limit by the bearer token.
func byToken(r *http.Request) (string, error) {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), nil
}

// The usual limiters and timeouts, mounted after Errors: each one's answer
// leaves as an envelope (chi's Timeout and TimeoutHandler as a 504,
// httprate's 429 with the Retry-After of its reset, Throttle's 503).
func ExampleErrors_limitsAndTimeouts() {
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithService("offers")))
	r.Use(chimw.Timeout(2 * time.Second))            // a handler returning ctx.Err(): 504
	r.Use(httprate.LimitBy(1, time.Minute, byToken)) // 429 + Retry-After: when a retry passes
	r.Use(chimw.ThrottleWithOpts(chimw.ThrottleOpts{ // 503
		Limit: 64, StatusCode: http.StatusServiceUnavailable}))
	report := middleware.Handle(func(w http.ResponseWriter, r *http.Request) error {
		_, err := fmt.Fprint(w, "report")
		return err
	})
	r.Get("/report", http.TimeoutHandler(report, 5*time.Second, "").ServeHTTP) // 504: "" lets its answer be told apart

	for range 2 {
		req := httptest.NewRequest(http.MethodGet, "/report", nil)
		req.Header.Set("Authorization", "Bearer alice-token")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 200
	// 429
}
