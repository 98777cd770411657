package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// TestHandleBehindTheUsualWrappers: a handler that returns its error,
// behind http.TimeoutHandler, http.StripPrefix, http.MaxBytesHandler and
// http.AllowQuerySemicolons, on chi's r.Get and r.Post (through the
// wrapper's ServeHTTP): its error is its envelope with one error line, its
// success a success, TimeoutHandler's timeout a 504 envelope and
// MaxBytesHandler's limit a 413.
func TestHandleBehindTheUsualWrappers(t *testing.T) {
	fn := func(w http.ResponseWriter, r *http.Request) error {
		switch {
		case strings.HasSuffix(r.URL.Path, "/missing"):
			return apierror.NotFound("No such offer.")
		case strings.HasSuffix(r.URL.Path, "/slow"):
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
				return r.Context().Err()
			}
		case strings.HasSuffix(r.URL.Path, "/big"):
			if _, err := io.ReadAll(r.Body); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "fine")
		return err
	}
	wrappers := map[string]func(http.Handler) http.Handler{
		"TimeoutHandler":       func(h http.Handler) http.Handler { return http.TimeoutHandler(h, 200*time.Millisecond, "") },
		"StripPrefix":          func(h http.Handler) http.Handler { return http.StripPrefix("/v1", h) },
		"MaxBytesHandler":      func(h http.Handler) http.Handler { return http.MaxBytesHandler(h, 10) },
		"AllowQuerySemicolons": http.AllowQuerySemicolons,
	}
	for name, wrap := range wrappers {
		t.Run(name, func(t *testing.T) {
			logs := apierrortest.NewLogCapture()
			r := chi.NewRouter()
			r.Use(middleware.Errors(middleware.WithLogger(logs.Logger())))
			r.Get("/v1/offers/*", wrap(middleware.Handle(fn)).ServeHTTP)
			r.Post("/v1/offers/*", wrap(middleware.Handle(fn)).ServeHTTP)
			srv := httptest.NewServer(r)
			defer srv.Close()

			resp, body := do(t, "GET", srv.URL+"/v1/offers/7", nil)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "fine", string(body))

			resp, err := http.Get(srv.URL + "/v1/offers/missing")
			require.NoError(t, err)
			env := apierrortest.AssertEnvelope(t, resp, 404)
			require.Eventually(t, func() bool { return len(logs.ErrorLines(env.ID)) == 1 }, time.Second, 2*time.Millisecond)

			if name == "TimeoutHandler" {
				resp, err := http.Get(srv.URL + "/v1/offers/slow")
				require.NoError(t, err)
				env := apierrortest.AssertEnvelope(t, resp, 504)
				require.Eventually(t, func() bool { return len(logs.ErrorLines(env.ID)) == 1 }, time.Second, 2*time.Millisecond)
			}
			if name == "MaxBytesHandler" {
				resp, err := http.Post(srv.URL+"/v1/offers/big", "application/json", strings.NewReader(strings.Repeat("x", 100)))
				require.NoError(t, err)
				apierrortest.AssertEnvelope(t, resp, 413)
			}
		})
	}
}
