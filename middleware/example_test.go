package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// Mounting the middleware and the two router helpers on a chi router is all
// it takes for every error of the service to leave in the envelope.
func ExampleErrors() {
	logger := zerolog.New(os.Stdout) // a real service adds .With().Timestamp()

	r := chi.NewRouter()
	r.Use(middleware.Errors(
		middleware.WithLogger(logger),
		// Fixed clock and ids keep this example's output stable.
		middleware.WithClock(func() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) }),
		middleware.WithIDGenerator(func() string { return "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b" }),
	))
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Method(http.MethodGet, "/api/v1/participant/offers/{id}", middleware.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) error {
			return apierror.NotFound("Offer " + chi.URLParam(r, "id") + " was not found.")
		}))

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/participant/offers/42?verbose=1", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// {"level":"warn","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","method":"GET","path":"/api/v1/participant/offers/42","status":404,"detail":"Offer 42 was not found.","bytes":197,"duration":0,"message":"Not Found"}
	// 404 {"id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","timestamp":"2026-11-25T09:30:00.000Z","statusCode":404,"message":"Not Found","error":"Offer 42 was not found.","path":"/api/v1/participant/offers/42"}
}

// A handler that returns its error: a plain Go error becomes a 500 whose
// cause is logged and never sent.
func ExampleHandlerFunc() {
	h := middleware.Errors(
		middleware.WithLogger(zerolog.New(os.Stdout)),
		middleware.WithClock(func() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) }),
		middleware.WithIDGenerator(func() string { return "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b" }),
	)(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("loading offers: %w", errDatabase)
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/participant/offers", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// {"level":"error","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","method":"GET","path":"/api/v1/participant/offers","status":500,"detail":"The server encountered an unexpected error. Quote the id to 360X support.","cause":"loading offers: pq: connection refused","bytes":248,"duration":0,"message":"Generic Error"}
	// 500 {"id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","timestamp":"2026-11-25T09:30:00.000Z","statusCode":500,"message":"Generic Error","error":"The server encountered an unexpected error. Quote the id to 360X support.","path":"/api/v1/participant/offers"}
}

var errDatabase = fmt.Errorf("pq: connection refused")
