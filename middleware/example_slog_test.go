package middleware_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// A service that logs with log/slog mounts the kit with its *slog.Logger;
// handlers get the request's logger, with its id, from middleware.Slog.
func ExampleWithSlog() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { // no times, so that the output is the same every run
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	h := middleware.Errors(middleware.WithSlog(logger), middleware.WithService("offers"),
		middleware.WithIDGenerator(func() string { return "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b" }),
		middleware.WithClock(func() time.Time { return time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC) }),
	)(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		middleware.Slog(r.Context()).Info("looking the offer up", "offer", 9)
		return apierror.NotFound("Offer 9 was not found.")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/offers/9", nil))
	// Output:
	// {"level":"INFO","msg":"looking the offer up","service":"offers","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","offer":9}
	// {"level":"WARN","msg":"Not Found","service":"offers","id":"0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b","method":"GET","path":"/offers/9","status":404,"detail":"Offer 9 was not found.","bytes":176,"duration":0}
}
