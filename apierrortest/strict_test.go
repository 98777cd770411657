package apierrortest_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
)

// swap returns goodBody with the first from replaced by to.
func swap(from, to string) string { return strings.Replace(goodBody, from, to, 1) }

// withStatus returns goodBody for status, with message as its message.
func withStatus(status int, message string) string {
	return swap(`"statusCode":401,"message":"Invalid Token"`, `"statusCode":`+strconv.Itoa(status)+`,"message":`+strconv.Quote(message))
}

// TestCheckBodyRejectsEveryRule has one bad body per rule of the contract.
// Each must give a problem from CheckBody naming it; where JSON Schema can
// express the rule (schema: true), ValidateSchema must reject it too. The
// others are what a schema cannot see: bytes outside the JSON data model
// (UTF-8, spacing, newline, member order, duplicates), the lexical form of
// a number (401.0 is an integer to JSON Schema), the calendar (30
// February), and 5xx titles outside the table.
func TestCheckBodyRejectsEveryRule(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		schema bool
		want   string
	}{
		// The body: valid UTF-8 JSON, an object.
		{"utf8/invalid", swap("Token is invalid", "Token \xff invalid"), false, "not valid UTF-8"},
		{"json/not JSON", "<html>401</html>\n", true, "not a JSON object"},
		{"json/array", "[" + strings.TrimSuffix(goodBody, "\n") + "]\n", true, "not a JSON object"},
		{"json/null", "null\n", true, "not a JSON object"},
		{"json/trailing value", strings.TrimSuffix(goodBody, "\n") + "{}\n", true, "not a JSON object"},
		{"json/truncated", goodBody[:len(goodBody)-3] + "\n", true, "not a JSON object"},

		// Compact, one newline.
		{"layout/no newline", strings.TrimSuffix(goodBody, "\n"), false, "one line of JSON ending in a newline"},
		{"layout/two newlines", goodBody + "\n", false, "one line of JSON ending in a newline"},
		{"layout/CRLF", strings.TrimSuffix(goodBody, "\n") + "\r\n", false, "one line of JSON ending in a newline"},
		{"layout/space after comma", swap(`,"error"`, `, "error"`), false, "not compact"},
		{"layout/leading space", " " + goodBody, false, "not compact"},

		// Exactly the six members, in order, once each.
		{"members/order", swap(`"id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc","timestamp":"2011-10-05T14:48:00.000Z"`, `"timestamp":"2011-10-05T14:48:00.000Z","id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc"`), false, "in that order"},
		{"members/missing", swap(`,"path":"/api/v1/participant/offers"`, ""), true, "members are"},
		{"members/extra", swap(`}`, `,"debug":"x"}`), true, "members are"},
		{"members/duplicate", swap(`,"path":`, `,"path":"/a","path":`), false, "each once"},

		// id: an RFC 9562 UUID, canonical lower-case.
		{"id/not a UUID", swap(goodID, "42"), true, "canonical lower-case"},
		{"id/upper case", swap(goodID, strings.ToUpper(goodID)), true, "canonical lower-case"},
		{"id/braces", swap(`"`+goodID+`"`, `"{`+goodID+`}"`), true, "canonical lower-case"},
		{"id/no hyphens", swap(goodID, strings.ReplaceAll(goodID, "-", "")), true, "canonical lower-case"},
		{"id/number", swap(`"`+goodID+`"`, "42"), true, "want a string"},
		{"id/version 0", swap("-473f-", "-073f-"), true, "version 0"},
		{"id/version 9", swap("-473f-", "-973f-"), true, "version 9"},
		{"id/version f", swap("-473f-", "-f73f-"), true, "version f"},
		{"id/nil UUID", swap(goodID, "00000000-0000-0000-0000-000000000000"), true, "version 0"},
		{"id/max UUID", swap(goodID, "ffffffff-ffff-ffff-ffff-ffffffffffff"), true, "version f"},
		{"id/variant 0xxx (NCS)", swap("-af2f-", "-7f2f-"), true, "variant digit 7"},
		{"id/variant 110x (Microsoft)", swap("-af2f-", "-cf2f-"), true, "variant digit c"},
		{"id/variant 111x (future)", swap("-af2f-", "-ff2f-"), true, "variant digit f"},

		// timestamp: UTC, exactly milliseconds, Z, a real instant.
		{"timestamp/seconds", swap("14:48:00.000Z", "14:48:00Z"), true, `timestamp "2011-10-05T14:48:00Z"`},
		{"timestamp/microseconds", swap("14:48:00.000Z", "14:48:00.000000Z"), true, "timestamp"},
		{"timestamp/offset", swap("14:48:00.000Z", "14:48:00.000+00:00"), true, "timestamp"},
		{"timestamp/lower-case z", swap("14:48:00.000Z", "14:48:00.000z"), true, "timestamp"},
		{"timestamp/space for T", swap("2011-10-05T", "2011-10-05 "), true, "timestamp"},
		{"timestamp/one-digit hour", swap("T14:48", "T4:48"), true, "timestamp"},
		{"timestamp/number", swap(`"2011-10-05T14:48:00.000Z"`, "1317826080000"), true, "want a string"},
		{"timestamp/month 00", swap("2011-10-05", "2011-00-05"), true, "timestamp"},
		{"timestamp/month 13", swap("2011-10-05", "2011-13-05"), true, "timestamp"},
		{"timestamp/day 00", swap("2011-10-05", "2011-10-00"), true, "timestamp"},
		{"timestamp/day 32", swap("2011-10-05", "2011-10-32"), true, "timestamp"},
		{"timestamp/hour 24", swap("T14:48:00", "T24:48:00"), true, "timestamp"},
		{"timestamp/minute 60", swap("T14:48:00", "T14:60:00"), true, "timestamp"},
		{"timestamp/second 60", swap("T14:48:00", "T14:48:60"), true, "timestamp"},
		{"timestamp/30 February", swap("2011-10-05", "2012-02-30"), false, "timestamp"},
		{"timestamp/31 April", swap("2011-10-05", "2011-04-31"), false, "timestamp"},
		{"timestamp/29 February, not a leap year", swap("2011-10-05", "2011-02-29"), false, "timestamp"},

		// statusCode: an integer number from 400 to 599.
		{"statusCode/string", swap(`"statusCode":401`, `"statusCode":"401"`), true, "statusCode is a string"},
		{"statusCode/null", swap(`"statusCode":401`, `"statusCode":null`), true, "statusCode null"},
		{"statusCode/fraction", swap(`"statusCode":401`, `"statusCode":401.5`), true, "statusCode 401.5"},
		{"statusCode/401.0", swap(`"statusCode":401`, `"statusCode":401.0`), false, "statusCode 401.0"},
		{"statusCode/exponent", swap(`"statusCode":401`, `"statusCode":4.01e2`), false, "statusCode 4.01e2"},
		{"statusCode/200", withStatus(200, "OK"), true, "statusCode 200"},
		{"statusCode/399", withStatus(399, "x"), true, "statusCode 399"},
		{"statusCode/600", withStatus(600, "x"), true, "statusCode 600"},
		{"statusCode/negative", withStatus(-401, "x"), true, "statusCode -401"},

		// message: a non-empty string; the contract's title for a 5xx.
		{"message/empty", swap(`"Invalid Token"`, `""`), true, "message is empty"},
		{"message/null", swap(`"Invalid Token"`, `null`), true, "want a string"},
		{"message/number", swap(`"Invalid Token"`, `401`), true, "want a string"},
		{"message/500 not Generic Error", withStatus(500, "Internal Server Error"), true, `want "Generic Error"`},
		{"message/502 not Bad Gateway", withStatus(502, "Generic Error"), true, `want "Bad Gateway"`},
		{"message/503 not Connection Error", withStatus(503, "Service Unavailable"), true, `want "Connection Error"`},
		{"message/504 not There was a generic error", withStatus(504, "Gateway Timeout"), true, `want "There was a generic error"`},
		{"message/501 not its status text", withStatus(501, "Generic Error"), false, `want "Not Implemented"`},
		{"message/599 not the fallback title", withStatus(599, "Generic Error"), false, `want "` + apierror.Title(599) + `"`},

		// error: a non-empty string.
		{"error/empty", swap(`"Token is invalid"`, `""`), true, "error is empty"},
		{"error/null", swap(`"Token is invalid"`, `null`), true, "want a string"},
		{"error/object", swap(`"Token is invalid"`, `{"detail":"x"}`), true, "want a string"},

		// path: the request path without query or fragment, or "*".
		{"path/empty", swap(`"/api/v1/participant/offers"`, `""`), true, "path"},
		{"path/query", swap("/api/v1/participant/offers", "/api/v1/participant/offers?page=2"), true, `path "/api/v1/participant/offers?page=2"`},
		{"path/empty query", swap("/api/v1/participant/offers", "/api/v1/participant/offers?"), true, "path"},
		{"path/fragment", swap("/api/v1/participant/offers", "/api/v1/participant/offers#top"), true, "path"},
		{"path/relative", swap("/api/v1/participant/offers", "api/v1/participant/offers"), true, "path"},
		{"path/absolute URL", swap("/api/v1/participant/offers", "https://api.360x.example/api/v1/participant/offers"), true, "path"},
		{"path/asterisk and more", swap("/api/v1/participant/offers", "*x"), true, "path"},
		{"path/number", swap(`"/api/v1/participant/offers"`, `1`), true, "want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, goodBody, tt.body, "the case must change the good body")
			_, problems := apierrortest.CheckBody([]byte(tt.body))
			require.NotEmpty(t, problems, "CheckBody accepts %q", tt.body)
			assert.Contains(t, strings.Join(problems, "\n"), tt.want)
			if tt.schema {
				assert.Error(t, apierrortest.ValidateSchema([]byte(tt.body)), "the schema accepts %q", tt.body)
			}
		})
	}
}

// TestGoodBodiesPass: the golden files, the page's example, and bodies at
// the edges of the rules pass CheckBody and the schema.
func TestGoodBodiesPass(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 12)
	bodies := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		bodies[filepath.Base(f)] = string(data)
	}

	// The page shows its example pretty-printed; the contract's wire form
	// of it is the compact one.
	page, err := os.ReadFile(filepath.Join("..", "testdata", "page_example.json"))
	require.NoError(t, err)
	require.NoError(t, apierrortest.ValidateSchema(page), "page_example.json as the page shows it")
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, page))
	bodies["page_example.json, compact"] = compact.String() + "\n"

	for name, body := range map[string]string{
		"version 1":                swap("-473f-", "-173f-"),
		"version 7, variant 8":     swap(goodID, "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"),
		"version 8, variant b":     swap("-473f-af2f-", "-873f-bf2f-"),
		"29 February, leap year":   swap("2011-10-05T14:48:00.000Z", "2012-02-29T23:59:59.999Z"),
		"path asterisk":            swap(`"/api/v1/participant/offers"`, `"*"`),
		"path root":                swap(`"/api/v1/participant/offers"`, `"/"`),
		"path escaped":             swap(`"/api/v1/participant/offers"`, `"/files/a%20b/\u00e9"`),
		"status 400":               withStatus(400, "Validation Error"),
		"status 499":               withStatus(499, "Client Closed Request"),
		"status 501":               withStatus(501, "Not Implemented"),
		"status 599":               withStatus(599, apierror.Title(599)),
		"4xx free-form message":    swap("Invalid Token", "Token Expired"),
		"message with HTML escape": swap("Token is invalid", `Token \u003cnone\u003e is invalid`),
	} {
		bodies[name] = body
	}

	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			_, problems := apierrortest.CheckBody([]byte(body))
			assert.Empty(t, problems)
			assert.NoError(t, apierrortest.ValidateSchema([]byte(body)))
		})
	}
}

// responseFor returns a response to req with the good headers and body,
// both made to fit status.
func responseFor(req *http.Request, status int) (*http.Response, string) {
	h := goodHeader()
	body := withStatus(status, apierror.Title(status))
	switch status {
	case http.StatusMethodNotAllowed:
		h.Set("Allow", "GET, POST")
	case http.StatusTooManyRequests:
		h.Set("Retry-After", "30")
	}
	if status != http.StatusUnauthorized {
		h.Del("WWW-Authenticate")
	}
	if req.Method == http.MethodHead {
		body = ""
	}
	if req.URL.Path != "/api/v1/participant/offers" {
		body = strings.Replace(body, `"/api/v1/participant/offers"`, strconv.Quote(req.URL.Path), 1)
	}
	return &http.Response{StatusCode: status, Header: h, Request: req}, body
}

func getOffers() *http.Request { return httptest.NewRequest("GET", "/api/v1/participant/offers", nil) }

// TestCheckRejectsEveryResponseRule has one bad response per rule of the
// contract on the response around the body.
func TestCheckRejectsEveryResponseRule(t *testing.T) {
	tests := []struct {
		name   string
		status int
		req    *http.Request // nil: GET /api/v1/participant/offers
		edit   func(resp *http.Response, body *string)
		want   string
	}{
		{"status/differs", 401, nil, func(r *http.Response, _ *string) { r.StatusCode = 404 }, "status is 404, want 401"},
		{"status/body statusCode differs", 401, nil, func(_ *http.Response, b *string) { *b = swap(`"statusCode":401`, `"statusCode":403`) }, "body statusCode 403 differs"},
		{"path/body path differs", 401, nil, func(_ *http.Response, b *string) { *b = swap("/api/v1/participant/offers", "/other") }, "differs from the request path"},

		{"Content-Type/missing", 401, nil, del("Content-Type"), "header Content-Type"},
		{"Content-Type/no charset", 401, nil, set("Content-Type", "application/json"), "header Content-Type"},
		{"Content-Type/upper-case charset", 401, nil, set("Content-Type", "application/json; charset=UTF-8"), "header Content-Type"},
		{"Content-Type/problem+json", 401, nil, set("Content-Type", "application/problem+json"), "header Content-Type"},
		{"Content-Type/twice", 401, nil, add("Content-Type", apierror.ContentType), "header Content-Type"},
		{"nosniff/missing", 401, nil, del("X-Content-Type-Options"), "X-Content-Type-Options"},
		{"nosniff/other value", 401, nil, set("X-Content-Type-Options", "sniff"), "X-Content-Type-Options"},
		{"Cache-Control/missing", 401, nil, del("Cache-Control"), "Cache-Control"},
		{"Cache-Control/no-cache", 401, nil, set("Cache-Control", "no-cache"), "Cache-Control"},
		{"Cache-Control/more directives", 401, nil, set("Cache-Control", "no-store, max-age=0"), "Cache-Control"},

		{"X-Request-Id/missing", 401, nil, del("X-Request-Id"), "X-Request-Id"},
		{"X-Request-Id/differs from body id", 401, nil, set("X-Request-Id", "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"), "differs from header X-Request-Id"},
		{"X-Request-Id/upper case", 401, nil, set("X-Request-Id", strings.ToUpper(goodID)), "X-Request-Id"},
		{"X-Request-Id/twice", 401, nil, add("X-Request-Id", goodID), "X-Request-Id appears 2 times"},
		{"X-Request-Id/version 0, as the body's id", 401, nil, func(r *http.Response, b *string) {
			r.Header.Set("X-Request-Id", "93aa74d5-8caf-073f-af2f-42cf806ddfdc")
			*b = swap(goodID, "93aa74d5-8caf-073f-af2f-42cf806ddfdc")
		}, "header X-Request-Id \"93aa74d5-8caf-073f-af2f-42cf806ddfdc\" is not a valid id: version 0"},
		{"X-Request-Id/variant c, as the body's id", 401, nil, func(r *http.Response, b *string) {
			r.Header.Set("X-Request-Id", "93aa74d5-8caf-473f-cf2f-42cf806ddfdc")
			*b = swap(goodID, "93aa74d5-8caf-473f-cf2f-42cf806ddfdc")
		}, "header X-Request-Id \"93aa74d5-8caf-473f-cf2f-42cf806ddfdc\" is not a valid id: variant digit c"},

		{"401/no WWW-Authenticate", 401, nil, del("WWW-Authenticate"), "WWW-Authenticate"},
		{"401/empty WWW-Authenticate", 401, nil, set("WWW-Authenticate", ""), "WWW-Authenticate"},
		{"401/Basic", 401, nil, set("WWW-Authenticate", `Basic realm="360x"`), "WWW-Authenticate"},
		{"401/BearerX", 401, nil, set("WWW-Authenticate", `BearerX error="invalid_token"`), "WWW-Authenticate"},
		{"401/Bearer only inside a quoted string", 401, nil, set("WWW-Authenticate", `Basic realm="a, Bearer b"`), "WWW-Authenticate"},
		{"401/Bearer only as a parameter name", 401, nil, set("WWW-Authenticate", `Basic realm="x", bearer=1`), "WWW-Authenticate"},
		{"401/Bearer only as a parameter name, spaced", 401, nil, set("WWW-Authenticate", `Basic realm="x", bearer = 1`), "WWW-Authenticate"},

		{"405/no Allow", 405, nil, del("Allow"), "Allow"},

		{"429/no Retry-After", 429, nil, del("Retry-After"), "Retry-After"},
		{"429/Retry-After HTTP-date", 429, nil, set("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"), "Retry-After"},
		{"429/Retry-After negative", 429, nil, set("Retry-After", "-1"), "Retry-After"},
		{"429/Retry-After plus sign", 429, nil, set("Retry-After", "+30"), "Retry-After"},
		{"429/Retry-After fraction", 429, nil, set("Retry-After", "1.5"), "Retry-After"},
		{"429/Retry-After empty", 429, nil, set("Retry-After", ""), "Retry-After"},
		{"429/Retry-After twice", 429, nil, add("Retry-After", "30"), "Retry-After"},

		{"success header/Content-Range", 401, nil, set("Content-Range", "bytes 0-99/200"), "header Content-Range"},
		{"success header/Content-Disposition", 401, nil, set("Content-Disposition", `attachment; filename="offers.csv"`), "header Content-Disposition"},
		{"success header/ETag", 401, nil, set("ETag", `"abc"`), "header ETag"},
		{"success header/Last-Modified", 401, nil, set("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"), "header Last-Modified"},
		{"success header/Content-Language", 401, nil, set("Content-Language", "en"), "header Content-Language"},
		{"success header/Content-Location", 401, nil, set("Content-Location", "/api/v1/participant/offers/1"), "header Content-Location"},
		{"success header/empty ETag", 401, nil, set("ETag", ""), "header ETag"},
		{"Content-Encoding/not decompressed", 401, nil, set("Content-Encoding", "gzip"), "header Content-Encoding"},

		{"HEAD/with a body", 401, httptest.NewRequest("HEAD", "/api/v1/participant/offers", nil), func(_ *http.Response, b *string) { *b = goodBody }, "a HEAD response has a body"},
		{"HEAD/bad header", 401, httptest.NewRequest("HEAD", "/api/v1/participant/offers", nil), del("Cache-Control"), "Cache-Control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req == nil {
				req = getOffers()
			}
			resp, body := responseFor(req, tt.status)
			_, problems := apierrortest.Check(resp, []byte(body), tt.status)
			require.Empty(t, problems, "the response before the edit passes")
			if tt.edit != nil {
				tt.edit(resp, &body)
			}
			_, problems = apierrortest.Check(resp, []byte(body), tt.status)
			require.NotEmpty(t, problems)
			assert.Contains(t, strings.Join(problems, "\n"), tt.want)
		})
	}
}

func set(k, v string) func(*http.Response, *string) {
	return func(r *http.Response, _ *string) { r.Header.Set(k, v) }
}
func add(k, v string) func(*http.Response, *string) {
	return func(r *http.Response, _ *string) { r.Header.Add(k, v) }
}
func del(k string) func(*http.Response, *string) {
	return func(r *http.Response, _ *string) { r.Header.Del(k) }
}

// TestCheckAcceptsTheEdgesOfTheRules: responses the contract allows,
// though they look unusual.
func TestCheckAcceptsTheEdgesOfTheRules(t *testing.T) {
	tests := []struct {
		name   string
		status int
		req    *http.Request
		edit   func(resp *http.Response, body *string)
	}{
		{"401/lower-case bearer", 401, nil, set("WWW-Authenticate", `bearer error="invalid_token"`)},
		{"401/bare Bearer", 401, nil, set("WWW-Authenticate", "Bearer")},
		{"401/Bearer after Basic in one value", 401, nil, set("WWW-Authenticate", `Basic realm="a, b", Bearer realm="360x"`)},
		{"401/Bearer in a second field line", 401, nil, func(r *http.Response, _ *string) {
			r.Header.Set("WWW-Authenticate", `Basic realm="360x"`)
			r.Header.Add("WWW-Authenticate", `Bearer error="invalid_token"`)
		}},
		{"405/empty Allow", 405, nil, set("Allow", "")},
		{"429/Retry-After 0", 429, nil, set("Retry-After", "0")},
		{"Content-Encoding/transparently decompressed", 401, nil, func(r *http.Response, _ *string) {
			r.Uncompressed = true
			r.Header.Set("Content-Encoding", "gzip")
		}},
		{"OPTIONS */path asterisk", 404, httptest.NewRequest("OPTIONS", "*", nil), nil},
		{"HEAD/no body", 401, httptest.NewRequest("HEAD", "/api/v1/participant/offers", nil), nil},
		{"5xx/501", 501, nil, nil},
		{"5xx/503", 503, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req == nil {
				req = getOffers()
			}
			resp, body := responseFor(req, tt.status)
			if tt.edit != nil {
				tt.edit(resp, &body)
			}
			env, problems := apierrortest.Check(resp, []byte(body), tt.status)
			assert.Empty(t, problems)
			assert.Equal(t, goodID, env.ID)
		})
	}
}

// TestCheckOverHTTPWithGzip: through a real client, a gzip-encoded error
// body that the client decompressed transparently passes; one the client
// asked for itself, and so still has Content-Encoding, does not.
func TestCheckOverHTTPWithGzip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range goodHeader() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusUnauthorized)
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, goodBody)
		_ = zw.Close()
	}))
	defer srv.Close()

	get := func(acceptEncoding string) (*http.Response, []byte) {
		req, err := http.NewRequest("GET", srv.URL+"/api/v1/participant/offers", nil)
		require.NoError(t, err)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}

	resp, body := get("")
	require.True(t, resp.Uncompressed, "the client decompressed the body")
	_, problems := apierrortest.Check(resp, body, http.StatusUnauthorized)
	assert.Empty(t, problems)

	// A client that asked for gzip itself gets it: allowed, checked on the
	// decompressed body.
	resp, body = get("gzip")
	require.False(t, resp.Uncompressed)
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	_, problems = apierrortest.Check(resp, plain, http.StatusUnauthorized)
	assert.Empty(t, problems)

	// A client that did not ask for it must not get it.
	resp, body = get("identity")
	_, problems = apierrortest.Check(resp, body, http.StatusUnauthorized)
	assert.Contains(t, strings.Join(problems, "\n"), "header Content-Encoding")
}
