package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// errorCounter counts error responses by status, as a Prometheus
// CounterVec with a "status" label would (prometheus.CounterVec's
// WithLabelValues(...).Inc() goes where Add is).
type errorCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *errorCounter) Add(ev middleware.ErrorEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[strconv.Itoa(ev.Status)]++
}

// An observer sees every error response once, after it was sent: here, a
// counter of errors by status, for metrics and alerts.
func ExampleWithObserver() {
	errors := &errorCounter{n: map[string]int{}}
	h := middleware.Errors(
		middleware.WithLogger(zerolog.Nop()),
		middleware.WithObserver(errors.Add),
	)(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		switch r.URL.Path {
		case "/missing":
			return apierror.NotFound("")
		case "/broken":
			panic("a bug")
		}
		return nil
	}))
	for _, path := range []string{"/missing", "/ok", "/missing", "/broken"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	statuses := make([]string, 0, len(errors.n))
	for s := range errors.n {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	for _, s := range statuses {
		fmt.Printf("errors_total{status=%q} %d\n", s, errors.n[s])
	}
	// Output:
	// errors_total{status="404"} 2
	// errors_total{status="500"} 1
}

// A handler's own log lines carry the request's id: the middleware puts a
// logger with it in the request's context, for zerolog.Ctx and
// hlog.FromRequest alike.
func ExampleErrors_contextLogger() {
	logger := zerolog.New(os.Stdout)
	h := middleware.Errors(
		middleware.WithLogger(logger),
		middleware.WithIDGenerator(func() string { return "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b" }),
		middleware.WithClock(func() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) }),
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zerolog.Ctx(r.Context()).Info().Str("offer", "1001").Msg("quote requested")
		hlog.FromRequest(r).Debug().Msg("the same logger, through hlog")
		w.WriteHeader(http.StatusNoContent)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/participant/offers/1001/quote", nil))
	// Output:
	// {"level":"info","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","offer":"1001","message":"quote requested"}
	// {"level":"debug","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","message":"the same logger, through hlog"}
}
