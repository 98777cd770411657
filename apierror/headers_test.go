package apierror_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
)

// TestRendererOwnsTheHeaders: whatever the response had before and whatever
// the error carries, an error response has the contract's headers, the
// per-status headers, and none of the success body's.
func TestRendererOwnsTheHeaders(t *testing.T) {
	before := http.Header{
		"Content-Encoding":    {"gzip"},
		"Content-Length":      {"9000"},
		"Content-Range":       {"bytes 0-99/9000"},
		"Content-Disposition": {`attachment; filename="offers.csv"`},
		"Etag":                {`"v1"`},
		"Last-Modified":       {"Wed, 25 Nov 2026 09:00:00 GMT"},
		"Content-Language":    {"de"},
		"Content-Location":    {"/offers.csv"},
		"Content-Type":        {"text/csv"},
		"Cache-Control":       {"max-age=60"},
		"X-Request-Id":        {"someone-else"},
		"Vary":                {"Accept-Encoding"},
	}
	spoof := apierror.NotFound("").
		WithHeader("Cache-Control", "max-age=600").
		WithHeader("Content-Type", "text/html").
		WithHeader("X-Request-Id", "forged").
		WithHeader("X-Content-Type-Options", "").
		WithHeader("Content-Encoding", "br").
		WithHeader("ETag", `"v2"`).
		WithHeader("X-Offer-Version", "7")

	rec := httptest.NewRecorder()
	for k, v := range before {
		rec.Header()[k] = v
	}
	fixedRenderer().Write(rec, httptest.NewRequest(http.MethodGet, "/offers.csv", nil), spoof)
	h := rec.Result().Header
	assert.Equal(t, []string{apierror.ContentType}, h["Content-Type"])
	assert.Equal(t, []string{"nosniff"}, h["X-Content-Type-Options"])
	assert.Equal(t, []string{"no-store"}, h["Cache-Control"])
	assert.Equal(t, []string{fixedID}, h["X-Request-Id"])
	for _, k := range []string{"Content-Encoding", "Content-Range", "Content-Disposition", "Etag", "Last-Modified", "Content-Language", "Content-Location"} {
		assert.NotContains(t, h, k)
	}
	assert.NotEqual(t, "9000", h.Get("Content-Length"))
	assert.Equal(t, "7", h.Get("X-Offer-Version"), "other headers of the error are sent")
	assert.Equal(t, "Accept-Encoding", h.Get("Vary"), "unrelated headers set before are kept")
}

func TestPerStatusHeaders(t *testing.T) {
	now := fixedTime
	tests := []struct {
		name   string
		err    *apierror.Error
		before http.Header
		key    string
		want   []string // nil: absent
	}{
		{"401 from New gets the challenge", apierror.New(401, ""), nil, "Www-Authenticate", []string{apierror.DefaultChallenge}},
		{"401 keeps a more specific Bearer challenge", apierror.New(401, "").WithHeader("WWW-Authenticate", `Bearer realm="offers", error="invalid_token", error_description="expired"`), nil,
			"Www-Authenticate", []string{`Bearer realm="offers", error="invalid_token", error_description="expired"`}},
		{"401 keeps a Bearer challenge set on the response", apierror.New(401, ""), http.Header{"Www-Authenticate": {`bearer scope="offers"`}},
			"Www-Authenticate", []string{`bearer scope="offers"`}},
		{"401 adds Bearer before another scheme", apierror.New(401, ""), http.Header{"Www-Authenticate": {`Basic realm="x"`}},
			"Www-Authenticate", []string{apierror.DefaultChallenge, `Basic realm="x"`}},
		{"401 does not take BearerX for Bearer", apierror.New(401, "").WithHeader("WWW-Authenticate", "BearerX"), nil,
			"Www-Authenticate", []string{apierror.DefaultChallenge, "BearerX"}},
		{"405 with no method allowed has an empty Allow", apierror.MethodNotAllowed("PUT"), nil, "Allow", []string{""}},
		{"405 from New has an empty Allow", apierror.New(405, ""), nil, "Allow", []string{""}},
		{"405 keeps Allow set on the response", apierror.New(405, ""), http.Header{"Allow": {"GET, HEAD"}}, "Allow", []string{"GET, HEAD"}},
		{"405 lists the methods given", apierror.MethodNotAllowed("PUT", "GET", "POST"), nil, "Allow", []string{"GET, POST"}},
		{"429 from New gets the default", apierror.New(429, ""), nil, "Retry-After", []string{"60"}},
		{"429 keeps the error's", apierror.TooManyRequests(1500 * time.Millisecond), nil, "Retry-After", []string{"2"}},
		{"429 keeps the response's", apierror.New(429, ""), http.Header{"Retry-After": {"17"}}, "Retry-After", []string{"17"}},
		{"429 turns an HTTP date into seconds", apierror.New(429, ""), http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, "Retry-After", []string{"90"}},
		{"429 replaces nonsense with the default", apierror.New(429, ""), http.Header{"Retry-After": {"soon"}}, "Retry-After", []string{"60"}},
		{"503 keeps a known Retry-After", apierror.ServiceUnavailable(errors.New("x")).WithRetryAfter(30 * time.Second), nil, "Retry-After", []string{"30"}},
		{"503 without one has none", apierror.ServiceUnavailable(errors.New("x")), nil, "Retry-After", nil},
		{"503 drops nonsense", apierror.ServiceUnavailable(errors.New("x")), http.Header{"Retry-After": {"-5"}}, "Retry-After", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			for k, v := range tt.before {
				rec.Header()[k] = v
			}
			fixedRenderer().Write(rec, httptest.NewRequest(http.MethodGet, "/x", nil), tt.err)
			got, ok := rec.Result().Header[tt.key]
			if tt.want == nil {
				assert.False(t, ok, "%s: %q", tt.key, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestNoHeaderValueSharedBetweenResponses: code that edits a header value of
// one error response in place (after the renderer, or through a shared
// *Error) cannot change the next response.
func TestNoHeaderValueSharedBetweenResponses(t *testing.T) {
	shared := apierror.TooManyRequests(time.Minute)
	r := fixedRenderer()
	first := httptest.NewRecorder()
	r.Write(first, httptest.NewRequest(http.MethodGet, "/a", nil), shared)
	for _, v := range first.Header() {
		for i := range v {
			v[i] = "tampered"
		}
	}
	_ = append(first.Header()["Content-Type"], "appended")

	second := httptest.NewRecorder()
	r.Write(second, httptest.NewRequest(http.MethodGet, "/b", nil), shared)
	h := second.Result().Header
	assert.Equal(t, apierror.ContentType, h.Get("Content-Type"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "60", h.Get("Retry-After"))
	assert.Equal(t, "60", shared.Header.Get("Retry-After"), "the error itself is untouched")
}

func TestBuildersReturnCopies(t *testing.T) {
	base := apierror.NotFound("x")
	withHeader := base.WithHeader("X-A", "1")
	withRetry := base.WithRetryAfter(time.Second)
	withCause := base.WithCause(errors.New("c"))
	assert.Nil(t, base.Header, "WithHeader and WithRetryAfter leave the receiver alone")
	assert.Nil(t, base.Cause, "WithCause leaves the receiver alone")
	assert.Equal(t, "1", withHeader.Header.Get("X-A"))
	assert.Empty(t, withHeader.Header.Get("Retry-After"))
	assert.Equal(t, "1", withRetry.Header.Get("Retry-After"))
	assert.EqualError(t, withCause.Cause, "c")

	chained := withHeader.WithHeader("X-B", "2")
	assert.Empty(t, withHeader.Header.Get("X-B"), "a copy of a copy does not share its header map")
	assert.Equal(t, "1", chained.Header.Get("X-A"))
}

// TestFiveHundredsSendOnlyTheTable: whatever code puts in a 5xx's Message or
// Detail, the body carries the contract's title and sentence.
func TestFiveHundredsSendOnlyTheTable(t *testing.T) {
	for _, status := range []int{500, 501, 502, 503, 504, 507, 599} {
		e := apierror.New(status, "secret detail")
		e.Message = "db at 10.0.0.5 is down"
		e.Detail = "secret detail, set directly"
		env := fixedRenderer().Envelope(httptest.NewRequest(http.MethodGet, "/x", nil), e)
		assert.Equal(t, apierror.Title(status), env.Message, "%d", status)
		assert.Equal(t, apierror.PublicDetail(status), env.Error, "%d", status)
	}
}

func TestRequestPath(t *testing.T) {
	tests := []struct{ uri, urlPath, want string }{
		{"/api/v1/offers?token=x", "/offers", "/api/v1/offers"},
		{"/api/v1/offers#frag", "", "/api/v1/offers"},
		{"/a%2Fb/%ff?x=1", "/a/b/\xff", "/a%2Fb/%ff"},
		{"/", "/", "/"},
		{"*", "*", "*"},
		{"offers.360x.example:443", "", "*"},
		{"http://offers.360x.example/api/v1/offers?q=1", "/api/v1/offers", "/api/v1/offers"},
		{"http://offers.360x.example", "", "/"},
		{"", "/from/url", "/from/url"},
		{"", "", "/"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RequestURI = tt.uri
		req.URL.Path, req.URL.RawPath = tt.urlPath, ""
		assert.Equal(t, tt.want, apierror.RequestPath(req), "RequestURI %q", tt.uri)
	}
}

func TestNewfWraps(t *testing.T) {
	root := errors.New("root")
	e := apierror.Newf(404, "offer %d: %w", 7, root)
	assert.Equal(t, "offer 7: root", e.Detail)
	assert.ErrorIs(t, e, root)

	plain := apierror.Newf(409, "offer %d exists", 7)
	assert.Nil(t, plain.Cause)

	internal := apierror.Newf(503, "pricing: %w", root)
	assert.ErrorIs(t, internal, root)
	assert.Empty(t, internal.Detail)
}

// upstreamErr is what ReadResponse returns for another service's answer.
func upstreamErr(t *testing.T, status int, header http.Header) *apierror.Error {
	t.Helper()
	body := fmt.Sprintf(`{"id":"01a214c0-a188-7fd8-98f3-bfb3c820e6bb","timestamp":"2026-11-25T09:30:00.000Z","statusCode":%d,"message":"%s","error":"upstream detail","path":"/prices/7"}`,
		status, apierror.Title(status))
	resp := &http.Response{StatusCode: status, Header: header, Body: httpBody(body)}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set("Content-Type", apierror.ContentType)
	up, err := apierror.ReadResponse(resp)
	require.NoError(t, err)
	return up
}

func httpBody(s string) *bodyReader { return &bodyReader{strings.NewReader(s)} }

type bodyReader struct{ *strings.Reader }

func (bodyReader) Close() error { return nil }

func TestUpstreamErrors(t *testing.T) {
	t.Run("ReadResponse keeps the headers that matter", func(t *testing.T) {
		up := upstreamErr(t, 503, http.Header{"Retry-After": {"12"}, "Set-Cookie": {"s=1"}})
		assert.Equal(t, "12", up.Header.Get("Retry-After"))
		assert.Empty(t, up.Header.Get("Set-Cookie"))
	})
	t.Run("returned as is or wrapped: 502", func(t *testing.T) {
		for _, err := range []error{upstreamErr(t, 401, nil), fmt.Errorf("pricing: %w", upstreamErr(t, 404, nil)), upstreamErr(t, 500, nil)} {
			e := apierror.From(err)
			assert.Equal(t, 502, e.Status, "%v", err)
			assert.ErrorIs(t, e, err, "the upstream error stays the cause")
			assert.Empty(t, e.Header.Get("WWW-Authenticate"), "an upstream 401 says nothing about our client's token")
		}
	})
	t.Run("a 503 that says when to retry stays a 503", func(t *testing.T) {
		e := apierror.From(upstreamErr(t, 503, http.Header{"Retry-After": {"12"}}))
		assert.Equal(t, 503, e.Status)
		assert.Equal(t, "12", e.Header.Get("Retry-After"))
		assert.Equal(t, 502, apierror.From(upstreamErr(t, 503, nil)).Status)
	})
	t.Run("Forward passes one on deliberately", func(t *testing.T) {
		e := apierror.From(apierror.Forward(fmt.Errorf("pricing: %w", upstreamErr(t, 404, nil))))
		assert.Equal(t, 404, e.Status)
		assert.Equal(t, "upstream detail", e.Detail)
		assert.Nil(t, e.Received, "this service's own answer now")
		assert.Same(t, e, apierror.From(e), "From leaves it alone")

		rec := httptest.NewRecorder()
		fixedRenderer().Write(rec, httptest.NewRequest(http.MethodGet, "/x", nil), apierror.From(apierror.Forward(upstreamErr(t, 401, nil))))
		assert.Equal(t, 401, rec.Code)
		assert.Equal(t, apierror.DefaultChallenge, rec.Header().Get("WWW-Authenticate"), "the per-status headers apply again")

		five := apierror.From(apierror.Forward(upstreamErr(t, 500, nil)))
		assert.Equal(t, 500, five.Status)
		assert.Equal(t, "Generic Error", five.Message)
		assert.Empty(t, five.Detail, "an upstream 5xx's text is not this service's detail")
	})
	t.Run("Forward without an upstream error is From", func(t *testing.T) {
		assert.Equal(t, 500, apierror.From(apierror.Forward(errors.New("x"))).Status)
	})
	t.Run("Forward of nil is a nil error", func(t *testing.T) {
		var err error = apierror.Forward(nil)
		assert.True(t, err == nil, "not a typed nil")
		var typed *apierror.Error
		assert.True(t, apierror.Forward(typed) == nil, "a typed nil *Error means no error")
	})
	t.Run("Forward finds the upstream error inside this service's 502", func(t *testing.T) {
		bad := apierror.BadGateway(fmt.Errorf("pricing answered 404: %w", upstreamErr(t, 404, nil)))
		e := apierror.From(apierror.Forward(bad))
		assert.Equal(t, 404, e.Status)
		assert.Equal(t, "upstream detail", e.Detail)
		joined := apierror.From(apierror.Forward(errors.Join(errors.New("other"), upstreamErr(t, 409, nil))))
		assert.Equal(t, 409, joined.Status, "through errors.Join too")
	})
}

func TestUnsupportedMediaTypeNamesNoParameters(t *testing.T) {
	e := apierror.UnsupportedMediaType("Application/XML; charset=utf-8; token=s3cr3t", "application/json")
	assert.Equal(t, `Content-Type "application/xml" is not supported. Use application/json.`, e.Detail)
	assert.NotContains(t, e.Error(), "s3cr3t")
	assert.Equal(t, "The request has no Content-Type.", apierror.UnsupportedMediaType("").Detail)
	for _, bad := range []string{"text/plain, token=s3cr3t", "token=s3cr3t", "text/plain\ttoken=s3cr3t"} {
		d := apierror.UnsupportedMediaType(bad).Detail
		assert.NotContains(t, d, "s3cr3t", "%q", bad)
		assert.Contains(t, d, "not a valid media type", "%q", bad)
	}
	assert.Contains(t, apierror.UnsupportedMediaType("application/json;;token=s3cr3t").Detail, `"application/json"`)
}

// TestOutsideFindings: what an outside try of the API found.
func TestOutsideFindings(t *testing.T) {
	t.Run("typed nils of the kit's error types do not panic", func(t *testing.T) {
		var re *apierror.ResponseError
		assert.Equal(t, 500, apierror.From(fmt.Errorf("x: %w", re)).Status)
		assert.NotPanics(t, func() { _ = re.Error() })
	})
	t.Run("WithCause copies the attributes too", func(t *testing.T) {
		o := apierror.InvalidModel(apierror.Attr("a", "b"))
		c := o.WithCause(errors.New("x"))
		c.Attributes[0].Reason = "changed"
		assert.Equal(t, "b", o.Attributes[0].Reason)
	})
	t.Run("an envelope whose statusCode is not the HTTP status is not trusted", func(t *testing.T) {
		resp := &http.Response{StatusCode: 404, Header: http.Header{"Content-Type": {apierror.ContentType}},
			Body: httpBody(`{"id":"01a214c0-a188-7fd8-98f3-bfb3c820e6bb","timestamp":"2026-11-25T09:30:00.000Z","statusCode":503,"message":"m","error":"e","path":"/x"}`)}
		_, err := apierror.ReadResponse(resp)
		assert.ErrorIs(t, err, apierror.ErrNotEnvelope)
	})
	t.Run("an invalid model's detail is bounded", func(t *testing.T) {
		attrs := make([]apierror.Attribute, 1000)
		for i := range attrs {
			attrs[i] = apierror.Attr(fmt.Sprintf("items[%d].price", i), "is required")
		}
		e := apierror.InvalidModel(attrs...)
		assert.Len(t, e.Attributes, 1000)
		assert.True(t, strings.HasSuffix(e.Detail, "; and 980 more"), e.Detail)
	})
}
