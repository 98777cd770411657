package middleware_test

import (
	"context"
	"errors"
	"fmt"
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

func TestHandlerErrors(t *testing.T) {
	secret := errors.New("pq: password authentication failed for user svc")
	tests := []struct {
		name   string
		err    error
		status int
		detail string
		cause  string
	}{
		{"not found", apierror.NotFound("Offer 42 was not found."), 404, "Offer 42 was not found.", ""},
		{"wrapped invalid model", fmt.Errorf("create offer: %w", apierror.InvalidModel(apierror.Attr("price", "must be greater than 0"))), 400, "price: must be greater than 0", ""},
		{"invalid token", apierror.InvalidToken(), 401, "Token is invalid", ""},
		{"plain error", fmt.Errorf("load offers: %w", secret), 500, apierror.PublicDetail(500), "load offers: pq: password authentication failed for user svc"},
		{"bad gateway", apierror.BadGateway(secret), 502, apierror.PublicDetail(502), secret.Error()},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 504, apierror.PublicDetail(504), "query: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack()
			srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return tt.err }))
			resp, body := do(t, http.MethodGet, srv.URL+"/api/v1/participant/offers?secret=1", nil)
			env, line := s.checkEnvelope(t, resp, body, tt.status)
			assert.Equal(t, tt.detail, env.Error)
			assert.Equal(t, "/api/v1/participant/offers", env.Path)
			assert.NotContains(t, string(body), "password")
			if tt.cause != "" {
				assert.Equal(t, tt.cause, line["cause"])
			}
			assert.Equal(t, "GET", line["method"])
			assert.Equal(t, "/api/v1/participant/offers", line["path"])
		})
	}
}

func TestHandlerErrorHeaders(t *testing.T) {
	s := newStack()
	errs := map[string]*apierror.Error{
		"/401": apierror.InvalidToken(),
		"/429": apierror.TooManyRequests(7 * time.Second),
		"/405": apierror.MethodNotAllowed("PUT", "GET"),
	}
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return errs[r.URL.Path] }))
	resp, body := do(t, "GET", srv.URL+"/401", nil)
	s.checkEnvelope(t, resp, body, 401)
	assert.Equal(t, `Bearer error="invalid_token"`, resp.Header.Get("WWW-Authenticate"))
	resp, body = do(t, "GET", srv.URL+"/429", nil)
	s.checkEnvelope(t, resp, body, 429)
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))
	resp, body = do(t, "GET", srv.URL+"/405", nil)
	s.checkEnvelope(t, resp, body, 405)
	assert.Equal(t, "GET", resp.Header.Get("Allow"))
}

func TestRequestIDOnEveryResponse(t *testing.T) {
	s := newStack(middleware.WithAccessLog(true))
	var seen string
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = middleware.ID(r.Context())
		_, _ = io.WriteString(w, "ok")
	}))
	resp, body := do(t, "GET", srv.URL+"/healthz?x=1", nil, "X-Request-Id", "client-abc-123")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "ok", string(body))
	id := resp.Header.Get("X-Request-Id")
	assert.Equal(t, seen, id)
	assert.NotEqual(t, "client-abc-123", id, "an incoming id is never the id")
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), `"message":"request"`) }, 2*time.Second, 5*time.Millisecond)
	lines := s.log.Lines(t)
	require.Len(t, lines, 1)
	access := lines[0]
	assert.Equal(t, "info", access["level"])
	assert.Equal(t, id, access["id"])
	assert.Equal(t, "client-abc-123", access["client_request_id"])
	assert.EqualValues(t, 200, access["status"])
	assert.EqualValues(t, 2, access["bytes"])
	assert.Equal(t, "/healthz", access["path"])
	assert.Contains(t, access, "duration")
}

func TestClientRequestIDSanitised(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"abc-123", "abc-123"},
		{strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{strings.Repeat("a", 129), ""},
		{strings.Repeat("a", 4096), ""},
		{"evil\x7f", ""},
		{"caf\xc3\xa9", ""},
		{"tab\there", ""},
	}
	for _, tt := range tests {
		// Through the handler directly: net/http's client refuses to send
		// some of these header values at all.
		s := newStack()
		h := s.mw(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return apierror.NotFound("") }))
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header["X-Request-Id"] = []string{tt.in}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		_, line := s.checkEnvelope(t, rec.Result(), rec.Body.Bytes(), 404)
		if tt.want == "" {
			assert.NotContains(t, line, "client_request_id")
		} else {
			assert.Equal(t, tt.want, line["client_request_id"])
		}
	}
}

func TestHeadGetsNoBody(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return apierror.NotFound("") }))
	resp, body := do(t, http.MethodHead, srv.URL+"/x", nil)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Empty(t, body)
	assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	assert.Len(t, s.errorLinesEventually(t, resp.Header.Get("X-Request-Id"), 1), 1)
}

func TestWriteErrorWithoutMiddleware(t *testing.T) {
	rec := httptest.NewRecorder()
	middleware.WriteError(rec, httptest.NewRequest("GET", "/x", nil), apierror.Conflict("taken"))
	assert.Equal(t, 409, rec.Code)
	assert.Contains(t, rec.Body.String(), `"error":"taken"`)
	assert.NotEmpty(t, rec.Header().Get("X-Request-Id"))
}

func TestRouterHelpers(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Get("/offers", func(w http.ResponseWriter, r *http.Request) {})
	r.Post("/offers", func(w http.ResponseWriter, r *http.Request) {})
	r.Route("/offers/{id}", func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {})
		r.Delete("/", func(w http.ResponseWriter, r *http.Request) {})
	})
	srv := s.serve(t, r)

	resp, body := do(t, "GET", srv.URL+"/nowhere", nil)
	env, _ := s.checkEnvelope(t, resp, body, 404)
	assert.Equal(t, "/nowhere", env.Path)

	resp, body = do(t, "PUT", srv.URL+"/offers", nil)
	s.checkEnvelope(t, resp, body, 405)
	assert.Equal(t, "GET, POST", resp.Header.Get("Allow"))

	resp, body = do(t, "PATCH", srv.URL+"/offers/7", nil)
	s.checkEnvelope(t, resp, body, 405)
	assert.Equal(t, "GET, DELETE", resp.Header.Get("Allow"))
}

// TestForeignErrors covers error responses written by code that does not
// use apierror: the client still gets the envelope.
func TestForeignErrors(t *testing.T) {
	chiDefault := chi.NewRouter()
	chiDefault.Get("/offers", func(w http.ResponseWriter, r *http.Request) {})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /offers", func(w http.ResponseWriter, r *http.Request) {})

	tests := []struct {
		name, method, path string
		h                  http.Handler
		status             int
		detail             string
		allow              string
	}{
		{"chi default 404", "GET", "/nowhere", chiDefault, 404, "The requested resource was not found.", ""},
		{"chi default 405", "POST", "/offers", chiDefault, 405, "Method Not Allowed.", "GET"},
		{"ServeMux 404", "GET", "/nowhere", mux, 404, "The requested resource was not found.", ""},
		{"ServeMux 405", "POST", "/offers", mux, 405, "Method Not Allowed.", "GET, HEAD"},
		{"http.Error short 4xx", "GET", "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "missing query parameter: page", http.StatusBadRequest)
		}), 400, "missing query parameter: page", ""},
		{"http.Error HTML 4xx", "GET", "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(409)
			_, _ = io.WriteString(w, "<b>conflict</b>")
		}), 409, "Conflict.", ""},
		{"http.Error 5xx", "GET", "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "dial tcp 10.1.2.3:5432: connection refused", http.StatusInternalServerError)
		}), 500, apierror.PublicDetail(500), ""},
		{"bare WriteHeader 503", "GET", "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
		}), 503, apierror.PublicDetail(503), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack()
			srv := s.serve(t, tt.h)
			resp, body := do(t, tt.method, srv.URL+tt.path, nil)
			env, line := s.checkEnvelope(t, resp, body, tt.status)
			assert.Equal(t, tt.detail, env.Error)
			assert.Equal(t, true, line["foreign"])
			assert.Equal(t, tt.allow, resp.Header.Get("Allow"))
			assert.NotContains(t, string(body), "10.1.2.3")
			if tt.status == 500 {
				assert.Contains(t, line["cause"], "10.1.2.3", "a 5xx body goes to the log")
			}
		})
	}
}

func TestMaxBytesReader(t *testing.T) {
	s := newStack()
	r := chi.NewRouter()
	r.Use(s.mw)
	r.Method("POST", "/offers", middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		r.Body = http.MaxBytesReader(w, r.Body, 1024)
		if _, err := io.ReadAll(r.Body); err != nil {
			return fmt.Errorf("reading the offer: %w", err)
		}
		return nil
	}))
	srv := httptestServer(t, r)
	resp, body := do(t, "POST", srv.URL+"/offers", strings.NewReader(strings.Repeat("x", 4096)))
	env, _ := s.checkEnvelope(t, resp, body, 413)
	assert.Contains(t, env.Error, "1024 bytes")
}

func TestResponseControllerOnSuccess(t *testing.T) {
	s := newStack()
	flushed := make(chan struct{})
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		require.NoError(t, rc.SetWriteDeadline(time.Now().Add(5*time.Second)))
		_, _ = io.WriteString(w, "first\n")
		require.NoError(t, rc.Flush())
		<-flushed
		_, _ = io.WriteString(w, "second\n")
	}))
	resp, err := http.Get(srv.URL + "/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	buf := make([]byte, 6)
	_, err = io.ReadFull(resp.Body, buf)
	require.NoError(t, err, "the first chunk arrives before the handler ends: Flush reached the connection")
	assert.Equal(t, "first\n", string(buf))
	close(flushed)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "second\n", string(rest))
}

func TestReadFromKeepsWorking(t *testing.T) {
	s := newStack(middleware.WithAccessLog(true))
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rf, ok := w.(io.ReaderFrom)
		require.True(t, ok)
		_, err := rf.ReadFrom(strings.NewReader(strings.Repeat("z", 10000)))
		require.NoError(t, err)
	}))
	resp, body := do(t, "GET", srv.URL+"/file", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Len(t, body, 10000)
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), `"bytes":10000`) }, 2*time.Second, 5*time.Millisecond)
}

func TestHijackOnSuccess(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = rw.Flush()
	}))
	resp, body := do(t, "GET", srv.URL+"/ws", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "hijacked", string(body))
}

func TestWriteErrorWithoutMiddlewareLogsToTheContextLogger(t *testing.T) {
	logs := apierrortest.NewLogCapture()
	req := httptest.NewRequest("GET", "/x", nil)
	req = req.WithContext(logs.Logger().WithContext(req.Context()))
	rec := httptest.NewRecorder()
	middleware.WriteError(rec, req, errors.New("db down"))
	assert.Equal(t, 500, rec.Code)
	id := rec.Header().Get("X-Request-Id")
	lines := logs.ErrorLines(id)
	require.Len(t, lines, 1)
	assert.Equal(t, "db down", lines[0]["cause"])
}
