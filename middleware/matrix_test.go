package middleware_test

// TestCompositionMatrix proves, over a real server and Go's own HTTP
// client, that the kit's promises hold in the stacks real chi services
// build. Rows are stacks (middleware.Errors mounted first, plus one
// middleware of chi, httprate or net/http); columns are error sources (one
// route per column on every stack); every cell checks the same invariants
// (checkMatrixEnvelope, checkMatrixPartial).
//
// Expectations follow the contract, not the code of the day: a failing
// cell is a place where a stack breaks a promise.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

const (
	matrixQuery        = "?token=secret-query" // sent on every request; never in a body or the log
	matrixAuth         = "Bearer secret-auth"  // sent on every request; never in the log
	matrixSecret       = "secret-"             // every internal string below starts with it
	matrixUpstreamPath = "/prices/p1"
)

// matrixLogLeaks must appear nowhere in a service's log.
var matrixLogLeaks = []string{"secret-query", "secret-auth"}

// matrixEnv is what a column's handler may need besides the request.
type matrixEnv struct {
	upstreamURL string
	client      *http.Client // with apiclient.Transport, for calls upstream
}

// matrixColumn is one error source: a route on every stack.
type matrixColumn struct {
	name     string
	method   string // of the client's request; GET when empty
	status   int    // what the client must receive (partial: the status sent before the error)
	partial  bool   // an error after a 200 has started: the client must see a broken response
	upstream bool   // the error was read from the upstream: its line names it
	detail   string // the body's "error" the client must get, when set
	handler  func(*matrixEnv) http.Handler
}

func (c matrixColumn) requestMethod() string {
	if c.method == "" {
		return http.MethodGet
	}
	return c.method
}

// matrixReturn is a column whose handler returns a fresh error per request.
func matrixReturn(name string, status int, newErr func() error) matrixColumn {
	detail := ""
	if e, ok := errors.AsType[*apierror.Error](newErr()); ok && status < 500 {
		detail = e.Detail
	}
	return matrixColumn{name: name, status: status, detail: detail, handler: func(*matrixEnv) http.Handler {
		return middleware.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return newErr() })
	}}
}

func matrixColumns() []matrixColumn {
	return []matrixColumn{
		matrixReturn("e400-validation", 400, func() error { return apierror.Validation("The body is not valid JSON.") }),
		matrixReturn("e400-invalid-model", 400, func() error {
			return apierror.InvalidModel(apierror.Attr("price", "must be greater than 0"))
		}),
		matrixReturn("e401-invalid-token", 401, func() error { return apierror.InvalidToken() }),
		matrixReturn("e401-new", 401, func() error { return apierror.New(401, "") }),
		matrixReturn("e403", 403, func() error { return apierror.Forbidden("") }),
		matrixReturn("e404", 404, func() error { return apierror.NotFound("Offer 42 was not found.") }),
		matrixReturn("e405-no-allowed", 405, func() error { return apierror.MethodNotAllowed("PUT") }),
		matrixReturn("e429-no-retry-after", 429, func() error { return apierror.New(429, "") }),
		matrixReturn("e500", 500, func() error { return apierror.Internal(errors.New("secret-db-password")) }),
		matrixReturn("e502", 502, func() error {
			return apierror.BadGateway(errors.New("pricing said secret-upstream-detail"))
		}),
		matrixReturn("e503", 503, func() error {
			return apierror.ServiceUnavailable(errors.New("dial secret-upstream-detail: connection refused"))
		}),
		matrixReturn("e503-message-set-by-code", 503, func() error {
			e := apierror.ServiceUnavailable(errors.New("refused"))
			e.Message = "secret-db at 10.0.0.5 is down"
			e.Detail = "secret-detail set by code"
			return e
		}),
		matrixReturn("e504", 504, func() error {
			return apierror.GatewayTimeout(fmt.Errorf("secret-upstream-detail: %w", context.DeadlineExceeded))
		}),
		{name: "success-headers-then-error", status: 404, detail: "Export 9 was not found.", handler: func(*matrixEnv) http.Handler {
			// Headers set for a success body the handler then did not send.
			return middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				h := w.Header()
				h.Set("Content-Encoding", "gzip")
				h.Set("Content-Length", "12345")
				h.Set("ETag", `"v7"`)
				h.Set("Content-Disposition", `attachment; filename="export.csv"`)
				h.Set("Last-Modified", "Wed, 25 Nov 2026 09:00:00 GMT")
				h.Set("Content-Range", "bytes 0-99/12345")
				return apierror.NotFound("Export 9 was not found.")
			})
		}},
		{name: "panic", status: 500, handler: func(*matrixEnv) http.Handler {
			return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret-panic-value") })
		}},
		{name: "http-error-401", status: 401, handler: func(*matrixEnv) http.Handler {
			// as go-chi/jwtauth writes it
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "Unauthorized", http.StatusUnauthorized) })
		}},
		{name: "http-error-500", status: 500, handler: func(*matrixEnv) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "secret-foreign-5xx", 500) })
		}},
		{name: "goroutine-panic", status: 500, handler: func(*matrixEnv) http.Handler {
			return middleware.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				err := <-middleware.Go(r.Context(), func(context.Context) error { panic("secret-goroutine") })
				return err
			})
		}},
		{name: "goroutine-panic-ignored", status: 404, handler: func(*matrixEnv) http.Handler {
			return middleware.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				<-middleware.Go(r.Context(), func(context.Context) error { panic("secret-goroutine") })
				return apierror.NotFound("")
			})
		}},
		{name: "upstream-404", status: 502, upstream: true, handler: func(env *matrixEnv) http.Handler {
			return middleware.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, env.upstreamURL+matrixUpstreamPath, nil)
				if err != nil {
					return err
				}
				resp, err := env.client.Do(req)
				if err != nil {
					return fmt.Errorf("pricing: %w", err)
				}
				defer resp.Body.Close()
				// The upstream's own error, read and returned wrapped: it
				// must become this service's 502.
				up, err := apierror.ReadResponse(resp)
				if err != nil {
					return fmt.Errorf("pricing: unexpected answer: %w", err)
				}
				return fmt.Errorf("pricing: %w", up)
			})
		}},
		{name: "partial-write", status: 200, partial: true, handler: func(*matrixEnv) http.Handler {
			return middleware.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte("partial"))
				_ = http.NewResponseController(w).Flush()
				return errors.New("secret-after-partial: the rest of the export failed")
			})
		}},
		{name: "head-404", method: http.MethodHead, status: 404, handler: func(*matrixEnv) http.Handler {
			return middleware.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
				return apierror.NotFound("Offer 42 was not found.")
			})
		}},
	}
}

// matrixBuild is what a row needs to build its stack.
type matrixBuild struct {
	errs   func() func(http.Handler) http.Handler // a new middleware.Errors logging to the row's capture
	routes func(chi.Router)                       // registers every column under /c/
}

// matrixRow is one stack. The client sends prefix + "/c/" + column.
type matrixRow struct {
	name        string
	prefix      string
	noHeadRoute bool // HEAD is served by chi's GetHead, not by a HEAD route
	build       func(matrixBuild) http.Handler
}

// matrixChi is Errors first on a chi router, then mws, then the routes.
func matrixChi(mws ...func(http.Handler) http.Handler) func(matrixBuild) http.Handler {
	return func(b matrixBuild) http.Handler {
		r := chi.NewRouter()
		r.Use(b.errs())
		r.Use(mws...)
		b.routes(r)
		return r
	}
}

func matrixRows() []matrixRow {
	return []matrixRow{
		{name: "plain", build: matrixChi()},
		{name: "chi-Compress", build: matrixChi(chimw.Compress(5))},
		{name: "chi-StripPrefix", prefix: "/api", build: matrixChi(chimw.StripPrefix("/api"))},
		{name: "http-StripPrefix-outside", prefix: "/api", build: func(b matrixBuild) http.Handler {
			// The router, with Errors inside, is mounted behind
			// net/http's StripPrefix.
			return http.StripPrefix("/api", matrixChi()(b))
		}},
		{name: "chi-Timeout", build: matrixChi(chimw.Timeout(2 * time.Second))},
		{name: "chi-Throttle", build: matrixChi(chimw.Throttle(100))},
		//lint:ignore SA1019 deprecated, and still in the stacks services build: the matrix covers it
		{name: "chi-RealIP", build: matrixChi(chimw.RealIP)},
		{name: "chi-RequestID", build: matrixChi(chimw.RequestID)},
		{name: "chi-Recoverer-inside", build: matrixChi(chimw.Recoverer)},
		{name: "chi-CleanPath", build: matrixChi(chimw.CleanPath)},
		{name: "chi-GetHead", noHeadRoute: true, build: matrixChi(chimw.GetHead)},
		{name: "chi-SetHeader-Cache-Control", build: matrixChi(chimw.SetHeader("Cache-Control", "max-age=60"))},
		{name: "chi-NoCache", build: matrixChi(chimw.NoCache)},
		{name: "chi-AllowContentType", build: matrixChi(chimw.AllowContentType("application/json"))},
		//lint:ignore SA1019 deprecated, and still in the stacks services build: the matrix covers it
		{name: "httprate-LimitByIP", build: matrixChi(httprate.LimitByIP(1000, time.Minute))},
		{name: "http-TimeoutHandler", build: matrixChi(func(h http.Handler) http.Handler {
			return http.TimeoutHandler(h, 2*time.Second, "")
		})},
		{name: "http-MaxBytesHandler", build: matrixChi(func(h http.Handler) http.Handler {
			return http.MaxBytesHandler(h, 1<<20)
		})},
		{name: "mounted-subrouter", prefix: "/sub", build: func(b matrixBuild) http.Handler {
			r := chi.NewRouter()
			r.Use(b.errs())
			sub := chi.NewRouter()
			b.routes(sub)
			r.Mount("/sub", sub)
			return r
		}},
		{name: "Errors-twice-mounted-subrouter", prefix: "/sub", build: func(b matrixBuild) http.Handler {
			r := chi.NewRouter()
			r.Use(b.errs())
			sub := chi.NewRouter()
			sub.Use(b.errs())
			b.routes(sub)
			r.Mount("/sub", sub)
			return r
		}},
		{name: "Errors-twice-group", build: func(b matrixBuild) http.Handler {
			r := chi.NewRouter()
			r.Use(b.errs())
			r.Group(func(g chi.Router) {
				g.Use(b.errs())
				b.routes(g)
			})
			return r
		}},
	}
}

// matrixDone tells a cell when the server has finished its request: the
// outermost handler of a row has returned, so every log line of the request
// is written (the log is written when the handler returns, possibly after
// the client has read the response).
type matrixDone struct {
	mu   sync.Mutex
	done map[string]chan struct{} // by the path the client sent
}

func (d *matrixDone) expect(path string) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done == nil {
		d.done = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	d.done[path] = ch
	return ch
}

func (d *matrixDone) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		defer func() { // also when the request is aborted with a panic
			d.mu.Lock()
			if ch, ok := d.done[path]; ok {
				close(ch)
				delete(d.done, path)
			}
			d.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// matrixResult is what the client got.
type matrixResult struct {
	path    string // the URL path the client sent
	resp    *http.Response
	body    []byte
	doErr   error
	readErr error
}

func matrixRequest(client *http.Client, method, url string) matrixResult {
	var res matrixResult
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		res.doErr = err
		return res
	}
	res.path = req.URL.Path
	req.Header.Set("Authorization", matrixAuth)
	// No Accept-Encoding: the transport asks for gzip itself and
	// decompresses transparently.
	resp, err := client.Do(req)
	if err != nil {
		res.doErr = err
		return res
	}
	defer resp.Body.Close()
	res.resp = resp
	res.body, res.readErr = io.ReadAll(resp.Body)
	return res
}

func TestCompositionMatrix(t *testing.T) {
	// The upstream: another 360X service running the kit, answering a 404.
	upLog := apierrortest.NewLogCapture()
	up := chi.NewRouter()
	up.Use(middleware.Errors(middleware.WithLogger(upLog.Logger())))
	up.Method(http.MethodGet, "/prices/{product}", middleware.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		return apierror.NotFound("Product secret-pricing-detail has no price.")
	}))
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	env := &matrixEnv{upstreamURL: upSrv.URL, client: &http.Client{Transport: &apiclient.Transport{}, Timeout: 5 * time.Second}}

	// A new connection per request: the transport retries an idempotent
	// request whose reused connection broke before a response, which
	// would send an aborted request twice.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	columns := matrixColumns()
	for _, row := range matrixRows() {
		t.Run(row.name, func(t *testing.T) {
			logs := apierrortest.NewLogCapture()
			var done matrixDone
			handler := row.build(matrixBuild{
				errs: func() func(http.Handler) http.Handler {
					return middleware.Errors(middleware.WithLogger(logs.Logger()))
				},
				routes: func(r chi.Router) {
					r.NotFound(middleware.NotFound)
					r.MethodNotAllowed(middleware.MethodNotAllowed)
					for _, col := range columns {
						h := col.handler(env)
						r.Method(http.MethodGet, "/c/"+col.name, h)
						if col.requestMethod() != http.MethodGet && !(col.requestMethod() == http.MethodHead && row.noHeadRoute) {
							r.Method(col.requestMethod(), "/c/"+col.name, h)
						}
					}
				},
			})
			srv := httptest.NewServer(done.wrap(handler))
			t.Cleanup(srv.Close)
			t.Cleanup(func() {
				// Runs after every cell of the row: nothing of what the
				// client sent leaks into any line of the log.
				all := logs.String()
				for _, leak := range matrixLogLeaks {
					assert.NotContains(t, all, leak, "the row's log holds %q", leak)
				}
			})

			for _, col := range columns {
				t.Run(col.name, func(t *testing.T) {
					t.Parallel()
					path := row.prefix + "/c/" + col.name
					finished := done.expect(path)
					res := matrixRequest(client, col.requestMethod(), srv.URL+path+matrixQuery)
					select {
					case <-finished:
					case <-time.After(5 * time.Second):
						require.FailNow(t, "the server did not finish the request within 5 s")
					}
					c := matrixCell{t: t, col: col, res: res, logs: logs, upLog: upLog}
					if col.partial {
						c.checkPartial()
					} else {
						c.checkEnvelope()
					}
				})
			}
		})
	}
	t.Cleanup(func() {
		all := upLog.String()
		for _, leak := range matrixLogLeaks {
			assert.NotContains(t, all, leak, "the upstream's log holds %q", leak)
		}
	})
}

// matrixCell is one request of the matrix with what it needs to be checked.
type matrixCell struct {
	t     *testing.T
	col   matrixColumn
	res   matrixResult
	logs  *apierrortest.LogCapture // the service's
	upLog *apierrortest.LogCapture // the upstream's
}

var wholeSeconds = regexp.MustCompile(`^[0-9]+$`)

// checkEnvelope checks the invariants every error response shares.
func (c matrixCell) checkEnvelope() {
	t, res, want := c.t, c.res, c.col.status
	require.NoError(t, res.doErr, "the request failed")
	resp, body := res.resp, res.body
	head := resp.Request.Method == http.MethodHead

	// 1. The body is readable (gzip is undone by the transport).
	assert.NoError(t, res.readErr, "reading the body")

	// 7. The status.
	assert.Equal(t, want, resp.StatusCode, "status; body: %.300s", body)

	// 2. The contract: members, order, formats, headers.
	env, problems := apierrortest.Check(resp, body, want)
	assert.Empty(t, problems, "contract problems; body: %.300s", body)
	switch want {
	case http.StatusUnauthorized:
		assert.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer"),
			"a 401 needs WWW-Authenticate: Bearer …, got %q", resp.Header.Get("WWW-Authenticate"))
	case http.StatusMethodNotAllowed:
		_, ok := resp.Header["Allow"]
		assert.True(t, ok, "a 405 needs an Allow header (may be empty)")
	case http.StatusTooManyRequests:
		assert.Regexp(t, wholeSeconds, resp.Header.Get("Retry-After"), "a 429 needs Retry-After in whole seconds")
	}
	for _, h := range []string{"ETag", "Content-Disposition", "Content-Range", "Last-Modified"} {
		assert.Empty(t, resp.Header.Values(h), "an error response has no %s header", h)
	}

	// 3. One id: header, body, exactly one warn/error line.
	id := resp.Header.Get("X-Request-Id")
	require.NotEmpty(t, id, "X-Request-Id header")
	if !head {
		assert.Equal(t, id, env.ID, "body id = X-Request-Id")
	}
	lines := c.logs.ErrorLines(id)
	if assert.Len(t, lines, 1, "exactly one warn/error line for id %s; the id's lines:\n%s", id, c.related(id)) {
		line := lines[0]
		// 4. The logged status is the one the client received.
		assert.EqualValues(t, resp.StatusCode, line["status"], "logged status")
		wantLevel := "warn"
		if resp.StatusCode >= 500 {
			wantLevel = "error"
		}
		assert.Equal(t, wantLevel, line["level"], "level of the error line")
		if !head {
			assert.Equal(t, env.Message, line["message"], "logged message = body message")
		}
		// 5. The log's path is the path the client sent.
		assert.Equal(t, res.path, line["path"], "logged path")
		if c.col.upstream {
			c.checkUpstream(id, line)
		}
	}

	// 5. The body's path is the path the client sent.
	if !head {
		assert.Equal(t, res.path, env.Path, "body path")
	}

	// The innermost error's detail reaches the client, whatever the stack.
	if c.col.detail != "" && !head {
		assert.Equal(t, c.col.detail, env.Error, "the error's own detail")
	}

	// One line per request: exactly one line with the access fields.
	var requestLines int
	for _, l := range c.logs.Lines() {
		if _, ok := l["duration"]; ok && l["path"] == res.path {
			requestLines++
		}
	}
	assert.Equal(t, 1, requestLines, "one line per request; the id's lines:\n%s", c.related(id))

	// 6. No internal text in a body or a header.
	c.checkNoSecretsSent()
	if !head && resp.StatusCode >= 500 {
		assert.Equal(t, apierror.PublicDetail(resp.StatusCode), env.Error, "a 5xx carries the fixed public sentence")
	}
	c.checkLogLeaks(id)
}

// checkUpstream: the error line names the upstream envelope it was read from.
func (c matrixCell) checkUpstream(id string, line map[string]any) {
	t := c.t
	var upLines []map[string]any
	deadline := time.Now().Add(2 * time.Second) // the upstream logs after it has answered
	for {
		upLines = upLines[:0]
		for _, l := range c.upLog.Lines() {
			if l["client_request_id"] == id && (l["level"] == "warn" || l["level"] == "error") {
				upLines = append(upLines, l)
			}
		}
		if len(upLines) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if assert.Len(t, upLines, 1, "the upstream's error line naming %s as client_request_id", id) {
		assert.Equal(t, upLines[0]["id"], line["upstream_id"], "upstream_id = the upstream envelope's id")
	}
	assert.EqualValues(t, 404, line["upstream_status"], "upstream_status")
	assert.Equal(t, matrixUpstreamPath, line["upstream_path"], "upstream_path")
	assert.NotEmpty(t, line["cause"], "cause")
}

// checkPartial: an error after a 200 has started. The client must not take
// the response for a success, and the error is logged once as committed.
func (c matrixCell) checkPartial() {
	t, res := c.t, c.res
	var id string
	if res.doErr == nil {
		assert.Error(t, res.readErr, "reading the whole body succeeded: the client got a clean %d with body %q",
			res.resp.StatusCode, res.body)
		id = res.resp.Header.Get("X-Request-Id")
		assert.NotEmpty(t, id, "X-Request-Id header")
		c.checkNoSecretsSent()
	}
	var lines []map[string]any
	if id != "" {
		lines = c.logs.ErrorLines(id)
	} else { // no response: find the request's line by its path
		for _, l := range c.logs.Lines() {
			if l["path"] == res.path && (l["level"] == "warn" || l["level"] == "error") {
				lines = append(lines, l)
			}
		}
	}
	if assert.Len(t, lines, 1, "exactly one warn/error line for the request (id %q); its lines:\n%s", id, c.related(id)) {
		line := lines[0]
		assert.Equal(t, true, line["committed"], `"committed":true`)
		assert.EqualValues(t, http.StatusOK, line["status"], "logged status: the 200 that was sent")
		assert.Equal(t, res.path, line["path"], "logged path")
		if id == "" {
			id, _ = line["id"].(string)
		}
	}
	c.checkLogLeaks(id)
}

// checkNoSecretsSent: no internal string in the body or any header.
func (c matrixCell) checkNoSecretsSent() {
	t, res := c.t, c.res
	assert.NotContains(t, string(res.body), matrixSecret, "internal text in the body: %.300s", res.body)
	for k, vs := range res.resp.Header {
		for _, v := range vs {
			assert.NotContains(t, k+": "+v, matrixSecret, "internal text in a header")
		}
	}
}

// checkLogLeaks: nothing the client sent as a secret (query, Authorization)
// is in any line of this request, in the service's log or the upstream's.
func (c matrixCell) checkLogLeaks(id string) {
	for _, line := range strings.Split(c.related(id), "\n") {
		for _, leak := range matrixLogLeaks {
			assert.NotContains(c.t, line, leak, "a log line of the request holds %q", leak)
		}
	}
}

// related returns the raw log lines of the request: the service's lines
// with its id or its path, and the upstream's lines naming it as the client.
func (c matrixCell) related(id string) string {
	var out []string
	pathField := `"path":"` + c.res.path + `"`
	for _, l := range strings.Split(c.logs.String(), "\n") {
		if l != "" && ((id != "" && strings.Contains(l, `"id":"`+id+`"`)) || strings.Contains(l, pathField)) {
			out = append(out, l)
		}
	}
	if id != "" {
		for _, l := range strings.Split(c.upLog.String(), "\n") {
			if strings.Contains(l, `"client_request_id":"`+id+`"`) {
				out = append(out, "upstream: "+l)
			}
		}
	}
	return strings.Join(out, "\n")
}
