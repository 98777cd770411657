// Package bench compares the cost of this project's middleware with its
// peers, in one run: the happy path (a 200), the error path (a 404
// envelope) and the panic path, each through a chi router and
// httptest.NewRecorder, plus parallel variants. It is a module of its own so
// that echo, a benchmark-only dependency, stays out of the library's
// go.mod. See BENCHMARKS.md for the budgets and the last figures.
package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

const path = "/api/v1/participant/offers/42"

var discard = zerolog.New(io.Discard).With().Timestamp().Logger()

func ok(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"42"}`)
}

// errkitRouter is the stack the README recommends: ids, recovery, error
// logging and the access log on, the router helpers set.
func errkitRouter(h http.Handler) http.Handler { return errkitRouterAccess(h, true) }

// errkitRouterAccess is errkitRouter with the access log on or off, to
// show what the access line costs.
func errkitRouterAccess(h http.Handler, access bool) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithLogger(discard), middleware.WithAccessLog(access)))
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Method(http.MethodGet, "/api/v1/participant/offers/{id}", h)
	return r
}

func chiRouter(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(mws...)
	r.Method(http.MethodGet, "/api/v1/participant/offers/{id}", h)
	return r
}

// chiStack is chi's own: RequestID, Logger (to io.Discard), Recoverer.
func chiStack() []func(http.Handler) http.Handler {
	logger := chimw.RequestLogger(&chimw.DefaultLogFormatter{Logger: log.New(io.Discard, "", 0), NoColor: true})
	return []func(http.Handler) http.Handler{chimw.RequestID, logger, chimw.Recoverer}
}

// hlogStack is zerolog's hlog: NewHandler, RequestIDHandler, AccessHandler.
func hlogStack() []func(http.Handler) http.Handler {
	return []func(http.Handler) http.Handler{
		hlog.NewHandler(discard),
		hlog.RequestIDHandler("req_id", "Request-Id"),
		hlog.AccessHandler(func(r *http.Request, status, size int, d time.Duration) {
			hlog.FromRequest(r).Info().Str("method", r.Method).Stringer("url", r.URL).
				Int("status", status).Int("size", size).Dur("duration", d).Msg("")
		}),
	}
}

func serve(b *testing.B, h http.Handler, want int) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("status %d, want %d", rec.Code, want)
		}
	}
}

func serveParallel(b *testing.B, h http.Handler, want int) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				b.Errorf("status %d, want %d", rec.Code, want)
				return
			}
		}
	})
}

func BenchmarkHappy(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(ok)), 200) })
	b.Run("errkit", func(b *testing.B) { serve(b, errkitRouter(http.HandlerFunc(ok)), 200) })
	b.Run("errkit-no-access-log", func(b *testing.B) { serve(b, errkitRouterAccess(http.HandlerFunc(ok), false), 200) })
	b.Run("chi", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(ok), chiStack()...), 200) })
	b.Run("hlog", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(ok), hlogStack()...), 200) })
	b.Run("minimum", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(ok), accessMinimum), 200) })
}

var notFound = middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	return apierror.NotFound("Offer 42 was not found.")
})

// naive is what a service writes without this project: uuid.New,
// time.Format, encoding/json and one zerolog line.
func naive(w http.ResponseWriter, r *http.Request) {
	id := uuid.New().String()
	body := struct {
		ID         string `json:"id"`
		Timestamp  string `json:"timestamp"`
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
		Error      string `json:"error"`
		Path       string `json:"path"`
	}{id, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), 404, "Not Found", "Offer 42 was not found.", r.URL.Path}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Request-Id", id)
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(body)
	discard.Warn().Str("id", id).Int("status", 404).Str("method", r.Method).Str("path", r.URL.Path).Msg("Not Found")
}

// contractMinimum is the least any code can do to answer this 404 as the
// contract asks and log it as support needs, with no middleware: a fresh
// UUIDv7 (apierror.NewIDAt), the envelope appended without reflection
// into a reused buffer, the contract's headers and Content-Length assigned
// directly, and one zerolog line with the fields of this project's error
// line (id, status, method, path, message, detail, bytes, duration). It
// recovers nothing, holds nothing back and sees no other writer: what is
// left of the kit's cost above it is the middleware's own.
func contractMinimum(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	env := apierror.Envelope{ID: apierror.NewIDAt(start), Timestamp: time.Now(), StatusCode: http.StatusNotFound,
		Message: "Not Found", Error: "Offer 42 was not found.", Path: r.URL.Path}
	buf := append(env.AppendJSON(make([]byte, 0, 512)), '\n')
	h := w.Header()
	values := []string{apierror.ContentType, "nosniff", "no-store", env.ID, strconv.Itoa(len(buf))}
	h["Content-Type"], h["X-Content-Type-Options"], h["Cache-Control"] = values[0:1:1], values[1:2:2], values[2:3:3]
	h["X-Request-Id"], h["Content-Length"] = values[3:4:4], values[4:5:5]
	w.WriteHeader(http.StatusNotFound)
	n, _ := w.Write(buf)
	discard.Warn().Str("id", env.ID).Str("method", r.Method).Str("path", env.Path).Int("status", env.StatusCode).
		Str("detail", env.Error).Int("bytes", n).Dur("duration", time.Since(start)).Msg(env.Message)
}

// accessMinimum is the least any code can do for a success with an access
// line: a fresh id in X-Request-Id and one zerolog line with this
// project's access fields (id, method, path, status, bytes, duration),
// with no middleware: no recovery, no context, no view of the writer.
func accessMinimum(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := apierror.NewIDAt(start)
		w.Header()["X-Request-Id"] = []string{id}
		h.ServeHTTP(w, r)
		discard.Info().Str("id", id).Str("method", r.Method).Str("path", r.URL.Path).Int("status", http.StatusOK).
			Int("bytes", 11).Dur("duration", time.Since(start)).Msg("request")
	})
}

// floor is http.Error with a fixed JSON body: the least any error costs.
func floor(w http.ResponseWriter, r *http.Request) {
	http.Error(w, `{"statusCode":404,"message":"Not Found"}`, http.StatusNotFound)
}

func echoNotFound() http.Handler {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	e.GET("/api/v1/participant/offers/:id", func(c echo.Context) error {
		return echo.NewHTTPError(http.StatusNotFound, "Offer 42 was not found.")
	})
	return e
}

func BenchmarkError(b *testing.B) {
	b.Run("floor", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(floor)), 404) })
	b.Run("errkit", func(b *testing.B) { serve(b, errkitRouter(notFound), 404) })
	b.Run("errkit-no-access-log", func(b *testing.B) { serve(b, errkitRouterAccess(notFound, false), 404) })
	b.Run("naive", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(naive)), 404) })
	b.Run("minimum", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(contractMinimum)), 404) })
	b.Run("echo", func(b *testing.B) { serve(b, echoNotFound(), 404) })
}

func boom(w http.ResponseWriter, r *http.Request) { panic("boom") }

// quietStderr points file descriptor 2 at /dev/null for the benchmark:
// chi's Recoverer prints every stack to the stderr it saw at start-up, and
// go test would copy it all into the benchmark output.
func quietStderr(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		b.Fatal(err)
	}
	if err := syscall.Dup3(int(devnull.Fd()), 2, 0); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = syscall.Dup3(saved, 2, 0)
		_ = syscall.Close(saved)
		_ = devnull.Close()
	})
}

func echoPanic() http.Handler {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	e.Use(echomw.Recover())
	e.GET("/api/v1/participant/offers/:id", func(c echo.Context) error { panic("boom") })
	return e
}

// stackLines counts the log lines that carry a stack, so that the panic
// benchmark shows the stack logged, not just the 500 sent.
type stackLines struct{ n int }

func (s *stackLines) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"stack":`)) {
		s.n++
	}
	return len(p), nil
}

func BenchmarkPanic(b *testing.B) {
	quietStderr(b)
	b.Run("errkit", func(b *testing.B) {
		var lines stackLines
		logger := zerolog.New(&lines).With().Timestamp().Logger()
		r := chi.NewRouter()
		r.Use(middleware.Errors(middleware.WithLogger(logger), middleware.WithAccessLog(true)))
		r.Get("/api/v1/participant/offers/{id}", boom)
		serve(b, r, 500)
		if lines.n != b.N {
			b.Fatalf("%d lines with a stack for %d panics", lines.n, b.N)
		}
	})
	b.Run("chi", func(b *testing.B) { serve(b, chiRouter(http.HandlerFunc(boom), chimw.Recoverer), 500) })
	b.Run("echo", func(b *testing.B) { serve(b, echoPanic(), 500) })
}

func BenchmarkParallel(b *testing.B) {
	// bare shows how far the machine and the harness scale with a second
	// core, with no middleware at all.
	b.Run("bare", func(b *testing.B) { serveParallel(b, chiRouter(http.HandlerFunc(ok)), 200) })
	b.Run("happy", func(b *testing.B) { serveParallel(b, errkitRouter(http.HandlerFunc(ok)), 200) })
	b.Run("error", func(b *testing.B) { serveParallel(b, errkitRouter(notFound), 404) })
}
