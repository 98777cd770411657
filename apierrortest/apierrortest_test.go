package apierrortest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// recorder is a TestingT that keeps the failures instead of failing.
type recorder struct{ errs []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

func response(status int, header http.Header, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body)),
		Request: httptest.NewRequest("GET", "/api/v1/participant/offers", nil),
	}
}

const goodID = "93aa74d5-8caf-473f-af2f-42cf806ddfdc"

func goodHeader() http.Header {
	return http.Header{
		"Content-Type": {apierror.ContentType}, "X-Content-Type-Options": {"nosniff"},
		"Cache-Control": {"no-store"}, "X-Request-Id": {goodID},
		"Www-Authenticate": {`Bearer error="invalid_token"`},
	}
}

const goodBody = `{"id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc","timestamp":"2011-10-05T14:48:00.000Z","statusCode":401,"message":"Invalid Token","error":"Token is invalid","path":"/api/v1/participant/offers"}` + "\n"

func TestAssertEnvelopeAcceptsTheContract(t *testing.T) {
	r := &recorder{}
	env := apierrortest.AssertEnvelope(r, response(401, goodHeader(), goodBody), 401)
	assert.Empty(t, r.errs)
	assert.Equal(t, goodID, env.ID)
	assert.Equal(t, "Invalid Token", env.Message)
}

// TestAssertEnvelopeSaysWhatIsWrong: each broken response gives a failure
// naming the problem.
func TestAssertEnvelopeSaysWhatIsWrong(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header func(http.Header)
		body   string
		want   string
	}{
		{"wrong status", 404, nil, goodBody, "status is 401, want 404"},
		{"member order", 401, nil, `{"timestamp":"2011-10-05T14:48:00.000Z","id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc","statusCode":401,"message":"Invalid Token","error":"Token is invalid","path":"/api/v1/participant/offers"}` + "\n", "want exactly [id timestamp statusCode message error path] in that order"},
		{"string status", 401, nil, strings.Replace(goodBody, `"statusCode":401`, `"statusCode":"401"`, 1), "statusCode is a string"},
		{"missing member", 401, nil, strings.Replace(goodBody, `,"path":"/api/v1/participant/offers"`, "", 1), "members are"},
		{"timestamp precision", 401, nil, strings.Replace(goodBody, "14:48:00.000Z", "14:48:00Z", 1), "timestamp \"2011-10-05T14:48:00Z\""},
		{"pretty body", 401, nil, strings.Replace(goodBody, `,"error"`, `, "error"`, 1), "not compact"},
		{"no newline", 401, nil, strings.TrimSuffix(goodBody, "\n"), "one line of JSON ending in a newline"},
		{"id mismatch", 401, func(h http.Header) { h.Set("X-Request-Id", "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b") }, goodBody, "differs from header X-Request-Id"},
		{"no content type", 401, func(h http.Header) { h.Del("Content-Type") }, goodBody, "header Content-Type"},
		{"no nosniff", 401, func(h http.Header) { h.Del("X-Content-Type-Options") }, goodBody, "X-Content-Type-Options"},
		{"no WWW-Authenticate", 401, func(h http.Header) { h.Del("WWW-Authenticate") }, goodBody, "WWW-Authenticate"},
		{"not JSON", 401, nil, "<html>401</html>\n", "not a JSON object"},
		{"extra member", 401, nil, strings.Replace(goodBody, `}`, `,"debug":"x"}`, 1), "members are"},
		{"path mismatch", 401, nil, strings.Replace(goodBody, "/api/v1/participant/offers", "/other", 1), "differs from the request path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := goodHeader()
			if tt.header != nil {
				tt.header(h)
			}
			r := &recorder{}
			apierrortest.AssertEnvelope(r, response(401, h, tt.body), tt.status)
			require.NotEmpty(t, r.errs)
			assert.Contains(t, strings.Join(r.errs, "\n"), tt.want)
		})
	}
}

func TestStatusSpecificHeaders(t *testing.T) {
	for status, want := range map[int]string{429: "Retry-After", 405: "Allow"} {
		h := goodHeader()
		body := strings.Replace(goodBody, `"statusCode":401`, fmt.Sprintf(`"statusCode":%d`, status), 1)
		r := &recorder{}
		apierrortest.AssertEnvelope(r, response(status, h, body), status)
		assert.Contains(t, strings.Join(r.errs, "\n"), want)
	}
}

func service(logs *apierrortest.LogCapture) *chi.Mux {
	r := chi.NewRouter()
	r.Use(middleware.Errors(middleware.WithLogger(logs.Logger())))
	r.NotFound(middleware.NotFound)
	r.MethodNotAllowed(middleware.MethodNotAllowed)
	r.Get("/offers", func(w http.ResponseWriter, r *http.Request) {})
	r.Post("/offers", func(w http.ResponseWriter, r *http.Request) {})
	r.Route("/offers/{id:[0-9]+}", func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {})
		r.Delete("/", func(w http.ResponseWriter, r *http.Request) {})
		r.Get("/quote", func(w http.ResponseWriter, r *http.Request) {})
	})
	r.Get("/files/*", func(w http.ResponseWriter, r *http.Request) {})
	return r
}

func TestSweepPassesAConformingService(t *testing.T) {
	logs := apierrortest.NewLogCapture()
	svc := service(logs)
	r := &recorder{}
	apierrortest.Sweep(r, svc, svc)
	assert.Empty(t, r.errs)
	// One 404 and one 405 per pattern, each logged once.
	errorLines := 0
	for _, l := range logs.Lines() {
		if l["level"] == "warn" {
			errorLines++
			assert.Len(t, logs.ErrorLines(l["id"].(string)), 1)
		}
	}
	assert.Equal(t, 1+4, errorLines) // the unknown route, then 4 patterns
}

func TestSweepCatchesAServiceWithoutTheMiddleware(t *testing.T) {
	r := chi.NewRouter()
	r.Get("/offers", func(w http.ResponseWriter, r *http.Request) {})
	rec := &recorder{}
	apierrortest.Sweep(rec, r, r)
	assert.NotEmpty(t, rec.errs, "chi's plain 404/405 are not envelopes")
}
