// Package apierrortest helps a service's tests prove that its error
// responses are 360X envelopes: the contract's members in order with their
// types, valid against the envelope's JSON Schema, the id in the body equal
// to the X-Request-Id header, the headers each status needs, and none of
// the headers that describe a success body.
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// one. Besides the body's rules (see [CheckBody]) it checks that the status
// is status; the headers Content-Type (exactly [apierror.ContentType]),
// X-Content-Type-Options: nosniff and Cache-Control: no-store; an
// X-Request-Id that is a valid id and equal to the body's id; the body's
// statusCode and path equal to the HTTP status and the request's path; a
// Bearer challenge in WWW-Authenticate for a 401, an Allow header (possibly
// empty) for a 405 and Retry-After in whole seconds for a 429; and none of
// the headers that describe a success body (Content-Range,
// Content-Disposition, ETag, Last-Modified, Content-Language,
// Content-Location, and Content-Encoding unless resp.Uncompressed or the
// request's Accept-Encoding allowed it). A HEAD
// response must have no body, and only its headers are checked.
func Check(resp *http.Response, body []byte, status int) (apierror.Envelope, []string) {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if resp.StatusCode != status {
		fail("status is %d, want %d", resp.StatusCode, status)
	}
	h := resp.Header
	for _, kv := range [...][2]string{
		{"Content-Type", apierror.ContentType},
		{"X-Content-Type-Options", "nosniff"},
		{"Cache-Control", "no-store"},
	} {
		if got := h.Values(kv[0]); len(got) != 1 || got[0] != kv[1] {
			fail("header %s is %q, want %q", kv[0], strings.Join(got, ", "), kv[1])
		}
	}
	id := h.Get("X-Request-Id")
	if n := len(h.Values("X-Request-Id")); n > 1 {
		fail("header X-Request-Id appears %d times, want once", n)
	}
	if p := idProblem(id); p != "" {
		fail("header X-Request-Id %q is not a valid id: %s", id, p)
	}
	switch status {
	case http.StatusUnauthorized:
		if !hasBearerChallenge(h.Values("WWW-Authenticate")) {
			fail("a 401 needs a WWW-Authenticate header with a Bearer challenge, got %q", strings.Join(h.Values("WWW-Authenticate"), ", "))
		}
	case http.StatusTooManyRequests:
		if ra := h.Values("Retry-After"); len(ra) != 1 || !digitsRE.MatchString(ra[0]) {
			fail("a 429 needs one Retry-After in whole seconds, got %q", strings.Join(ra, ", "))
		}
	case http.StatusMethodNotAllowed:
		// RFC 9110 §10.2.1: an empty Allow means no method is allowed, so
		// the header must be present but may be empty.
		if len(h.Values("Allow")) == 0 {
			fail("a 405 needs an Allow header naming the allowed methods")
		}
	}
	for _, k := range successHeaders {
		if v := h.Values(k); len(v) > 0 {
			fail("header %s: %q describes a success body; an error response must not carry it", k, strings.Join(v, ", "))
		}
	}
	if v := h.Values("Content-Encoding"); len(v) > 0 && !resp.Uncompressed && !accepted(resp.Request, v) {
		fail("header Content-Encoding: %q on an error response to a request that did not accept it", strings.Join(v, ", "))
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
	if resp.Request != nil && resp.Request.URL != nil && env.Path != "" && env.Path != apierror.RequestPath(resp.Request) {
		fail("body path %q differs from the request path %q", env.Path, apierror.RequestPath(resp.Request))
	}
	return env, problems
}

// successHeaders describe a success body; an error response carries none.
var successHeaders = [...]string{"Content-Range", "Content-Disposition", "ETag", "Last-Modified", "Content-Language", "Content-Location"}

// hasBearerChallenge reports whether one of the WWW-Authenticate field
// values has a challenge whose auth-scheme is Bearer, in any case
// (RFC 9110 §11.6.1, RFC 6750 §3).
func hasBearerChallenge(values []string) bool {
	for _, v := range values {
		for _, el := range splitList(v) {
			// An element that starts a challenge is the scheme, a token,
			// alone or followed by spaces and its first parameter or
			// token68; an element that is a later auth-param is
			// token BWS "=" BWS value.
			scheme, rest, _ := strings.Cut(el, " ")
			if strings.EqualFold(scheme, "Bearer") && !strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=") {
				return true
			}
		}
	}
	return false
}

// splitList splits a header field value at the commas outside quoted
// strings and trims each element of spaces and tabs.
func splitList(v string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, strings.Trim(v[start:i], " \t"))
			start = i + 1
		}
	}
	return append(out, strings.Trim(v[start:], " \t"))
}

var (
	digitsRE = regexp.MustCompile(`^[0-9]+$`)
	// timestampRE is the timestamp's pattern in the JSON Schema.
	timestampRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$`)
	// pathRE is the path's pattern in the JSON Schema.
	pathRE = regexp.MustCompile(`^(/[^?#]*|\*)$`)
)

// idProblem says why id is not a valid envelope id, an RFC 9562 UUID in
// canonical lower-case form with a version from 1 to 8 and the variant
// 10xx, or returns "".
func idProblem(id string) string {
	switch {
	case !uuidRE.MatchString(id):
		return "want a UUID in canonical lower-case form"
	case id[14] < '1' || id[14] > '8':
		return fmt.Sprintf("version %c, want 1 to 8", id[14])
	case !strings.ContainsRune("89ab", rune(id[19])):
		return fmt.Sprintf("variant digit %c, want 8, 9, a or b (RFC 9562)", id[19])
	}
	return ""
}

// CheckBody returns the envelope in body and every way in which body fails
// to be one: valid UTF-8, compact JSON followed by exactly one newline, the
// six members id, timestamp, statusCode, message, error and path in that
// order, each once and no other; id an RFC 9562 UUID (version 1 to 8,
// variant 10xx) in canonical lower-case form; timestamp a real UTC instant
// in [apierror.TimestampLayout]; statusCode an integer from 400 to 599
// written as a number; message and error non-empty strings, the message of
// a 5xx being [apierror.Title] of its status; path starting with "/" and
// without "?" or "#", or exactly "*"; and valid against the envelope's JSON
// Schema. The envelope returned is read leniently, as
// [apierror.Envelope.UnmarshalJSON] reads it, so it may be partly filled
// even when there are problems.
func CheckBody(body []byte) (apierror.Envelope, []string) {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !utf8.Valid(body) {
		fail("body is not valid UTF-8")
	}
	if !bytes.HasSuffix(body, []byte("}\n")) || bytes.Count(body, []byte("\n")) != 1 {
		fail("body is not one line of JSON ending in a newline")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		if err == nil {
			err = fmt.Errorf("it is %.20s", bytes.TrimSpace(body))
		}
		fail("body is not a JSON object: %v", err)
		return apierror.Envelope{}, problems
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
		fail("members are %v, want exactly %v in that order, each once", keys, members)
	}
	if err := ValidateSchema(body); err != nil {
		fail("body does not validate against the envelope schema: %v", err)
	}

	// str returns member name as a string; ok is false, and a problem
	// recorded, when it is absent or not a string.
	str := func(name string) (s string, ok bool) {
		raw, present := obj[name]
		if !present {
			return "", false // reported with the members
		}
		if err := json.Unmarshal(raw, &s); err != nil || raw[0] != '"' {
			fail("%s is %.40s, want a string", name, raw)
			return "", false
		}
		return s, true
	}
	if id, ok := str("id"); ok {
		if p := idProblem(id); p != "" {
			fail("id %q is not a valid id: %s", id, p)
		}
	}
	if ts, ok := str("timestamp"); ok {
		if _, err := time.Parse(apierror.TimestampLayout, ts); err != nil || !timestampRE.MatchString(ts) {
			fail("timestamp %q is not a UTC time in the form %s", ts, apierror.TimestampLayout)
		}
	}
	code := 0
	if raw, ok := obj["statusCode"]; ok {
		switch {
		case raw[0] == '"':
			fail("statusCode is a string, want a number")
		case !digitsRE.Match(raw):
			fail("statusCode %.40s is not an integer from 400 to 599", raw)
		default:
			code, _ = strconv.Atoi(string(raw))
			if code < 400 || code > 599 {
				fail("statusCode %d is not from 400 to 599", code)
			}
		}
	}
	if msg, ok := str("message"); ok {
		if msg == "" {
			fail("message is empty")
		} else if code >= 500 && code <= 599 && msg != apierror.Title(code) {
			fail("message of a %d is %q, want %q", code, msg, apierror.Title(code))
		}
	}
	if e, ok := str("error"); ok && e == "" {
		fail("error is empty")
	}
	if p, ok := str("path"); ok && !pathRE.MatchString(p) {
		fail("path %q is not a request path: it must start with / and have no ? or #, or be *", p)
	}

	var env apierror.Envelope
	if err := env.UnmarshalJSON(body); err != nil {
		fail("body is not an envelope: %v", err)
	}
	return env, problems
}

// accepted reports whether req's Accept-Encoding allows each of the
// codings: a compressor in front of the service (chi's Compress) may
// compress an envelope for a client that asked for it. The body must then
// be given to Check decompressed.
func accepted(req *http.Request, codings []string) bool {
	if req == nil {
		return false
	}
	var allowed []string
	for _, v := range req.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if q := strings.TrimSpace(params); q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
				continue
			}
			allowed = append(allowed, strings.ToLower(strings.TrimSpace(name)))
		}
	}
	for _, c := range codings {
		for _, one := range strings.Split(c, ",") {
			one = strings.ToLower(strings.TrimSpace(one))
			if !slices.Contains(allowed, one) && !slices.Contains(allowed, "*") {
				return false
			}
		}
	}
	return true
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
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(errkit.EnvelopeSchema()))
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
// Schema (errkit.EnvelopeSchema()), or nil.
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
