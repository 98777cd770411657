// Package apierrortest helps a service's tests prove that its error
// responses are 360X envelopes: the contract's members in order with their
// types, valid against the envelope's JSON Schema, the id in the body equal
// to the X-Request-Id header, and the headers each status needs.
//
//	func TestOfferNotFound(t *testing.T) {
//		resp := apierrortest.Serve(service, httptest.NewRequest("GET", "/offers/9", nil))
//		env := apierrortest.AssertEnvelope(t, resp, http.StatusNotFound)
//		assert.Equal(t, "Not Found", env.Message)
//	}
//
// Failures are reported through the TestingT given (a *testing.T, or
// anything testify accepts), one Errorf per problem, each saying exactly
// what is wrong.
package apierrortest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/360x/errkit"
	"github.com/360x/errkit/apierror"
)

// TestingT is the part of *testing.T the assertions use; testify's
// assert.TestingT plus Helper.
type TestingT interface {
	Errorf(format string, args ...any)
	Helper()
}

// Members are the envelope's members in the contract's order.
var members = [...]string{"id", "timestamp", "statusCode", "message", "error", "path"}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Serve runs h for req and returns the response it wrote, with the body
// readable.
func Serve(h http.Handler, req *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// AssertEnvelope checks that resp is a 360X error envelope for status and
// returns it (the zero Envelope when the body cannot be read as one). It
// reads and closes resp.Body, then replaces it with the bytes read, so the
// caller may read it again.
func AssertEnvelope(t TestingT, resp *http.Response, status int) apierror.Envelope {
	t.Helper()
	var body []byte
	if resp.Body != nil {
		var err error
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Errorf("apierrortest: reading the body: %v", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	env, problems := Check(resp, body, status)
	for _, p := range problems {
		t.Errorf("apierrortest: %s %s: %s\nbody: %.500s", requestLine(resp), strconv.Itoa(resp.StatusCode), p, body)
	}
	return env
}

func requestLine(resp *http.Response) string {
	if resp.Request == nil || resp.Request.URL == nil {
		return "response"
	}
	return resp.Request.Method + " " + resp.Request.URL.Path + " →"
}

// Check returns the envelope in body and every way in which resp and body
// fail to be the 360X error response for status; no problems means it is
// one. A HEAD response must have no body, and only its headers are checked.
func Check(resp *http.Response, body []byte, status int) (apierror.Envelope, []string) {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if resp.StatusCode != status {
		fail("status is %d, want %d", resp.StatusCode, status)
	}
	h := resp.Header
	for k, v := range map[string]string{
		"Content-Type":           apierror.ContentType,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := h.Get(k); got != v {
			fail("header %s is %q, want %q", k, got, v)
		}
	}
	id := h.Get("X-Request-Id")
	if !uuidRE.MatchString(id) {
		fail("header X-Request-Id is %q, want a lower-case UUID", id)
	}
	switch status {
	case http.StatusUnauthorized:
		if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			fail("a 401 needs a WWW-Authenticate: Bearer … header, got %q", h.Get("WWW-Authenticate"))
		}
	case http.StatusTooManyRequests:
		if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 0 {
			fail("a 429 needs Retry-After in whole seconds, got %q", h.Get("Retry-After"))
		}
	case http.StatusMethodNotAllowed:
		if h.Get("Allow") == "" {
			fail("a 405 needs an Allow header naming the allowed methods")
		}
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		if len(body) > 0 {
			fail("a HEAD response has a body of %d bytes", len(body))
		}
		return apierror.Envelope{ID: id, StatusCode: resp.StatusCode}, problems
	}

	env, bodyProblems := CheckBody(body)
	problems = append(problems, bodyProblems...)
	if env.ID != "" && env.ID != id {
		fail("body id %q differs from header X-Request-Id %q", env.ID, id)
	}
	if env.StatusCode != 0 && env.StatusCode != resp.StatusCode {
		fail("body statusCode %d differs from the HTTP status %d", env.StatusCode, resp.StatusCode)
	}
	if resp.Request != nil && resp.Request.URL != nil && env.Path != "" && env.Path != resp.Request.URL.Path {
		fail("body path %q differs from the request path %q", env.Path, resp.Request.URL.Path)
	}
	return env, problems
}

// CheckBody returns the envelope in body and every way in which body fails
// to be one: compact JSON and one newline, the six members in the
// contract's order with their types, valid against the envelope's JSON
// Schema.
func CheckBody(body []byte) (apierror.Envelope, []string) {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !bytes.HasSuffix(body, []byte("}\n")) || bytes.Count(body, []byte("\n")) != 1 {
		fail("body is not one line of JSON ending in a newline")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err == nil && compact.Len() != len(bytes.TrimSuffix(body, []byte("\n"))) {
		fail("body is not compact JSON")
	}
	keys, err := memberOrder(body)
	if err != nil {
		fail("body is not a JSON object: %v", err)
		return apierror.Envelope{}, problems
	}
	if strings.Join(keys, ",") != strings.Join(members[:], ",") {
		fail("members are %v, want exactly %v in that order", keys, members)
	}
	if err := ValidateSchema(body); err != nil {
		fail("body does not validate against the envelope schema: %v", err)
	}
	var env apierror.Envelope
	if err := env.UnmarshalJSON(body); err != nil {
		fail("body is not an envelope: %v", err)
	}
	var raw struct {
		StatusCode json.RawMessage `json:"statusCode"`
		Timestamp  string          `json:"timestamp"`
	}
	_ = json.Unmarshal(body, &raw)
	if len(raw.StatusCode) > 0 && raw.StatusCode[0] == '"' {
		fail("statusCode is a string, want a number")
	}
	if _, err := time.Parse(apierror.TimestampLayout, raw.Timestamp); err != nil {
		fail("timestamp %q is not in the form %s", raw.Timestamp, apierror.TimestampLayout)
	}
	return env, problems
}

// memberOrder returns the top-level member names of a JSON object in order.
func memberOrder(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("starts with %v", tok)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(errkit.EnvelopeSchema))
	if err != nil {
		return nil, fmt.Errorf("parsing the envelope schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	const url = "mem://envelope.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

// ValidateSchema reports why body is not valid against the envelope's JSON
// Schema (errkit.EnvelopeSchema), or nil.
func ValidateSchema(body []byte) error {
	sch, err := compiledSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}
