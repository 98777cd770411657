package apierror_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
)

func response(status int, contentType, body string) *http.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func TestReadResponseGood(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"number status", `{"id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc","timestamp":"2011-10-05T14:48:00.000Z","statusCode":401,"message":"Invalid Token","error":"Token is invalid","path":"/api/v1/participant/offers"}`},
		{"string status", `{"id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc","timestamp":"2011-10-05T14:48:00.000Z","statusCode":"401","message":"Invalid Token","error":"Token is invalid","path":"/api/v1/participant/offers"}`},
		{"pretty, reordered, unknown members", "{\n \"path\": \"/api/v1/participant/offers\",\n \"extra\": {\"a\": [1,2]},\n \"statusCode\": 401, \"message\": \"Invalid Token\",\n \"error\": \"Token is invalid\", \"timestamp\": \"2011-10-05T14:48:00.000Z\", \"id\": \"93aa74d5-8caf-473f-af2f-42cf806ddfdc\"}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := apierror.ReadResponse(response(401, "application/json; charset=utf-8", tt.body))
			require.NoError(t, err)
			assert.Equal(t, 401, e.Status)
			assert.Equal(t, "Invalid Token", e.Message)
			assert.Equal(t, "Token is invalid", e.Detail)
			assert.Nil(t, e.Cause)
			require.NotNil(t, e.Received)
			assert.Equal(t, "93aa74d5-8caf-473f-af2f-42cf806ddfdc", e.Received.ID)
			assert.Equal(t, "/api/v1/participant/offers", e.Received.Path)
			assert.Equal(t, 401, e.Received.StatusCode)
			assert.True(t, e.Received.Timestamp.Equal(time.Date(2011, 10, 5, 14, 48, 0, 0, time.UTC)))
		})
	}
}

// TestReadResponseRoundTrip reads back what the renderer writes.
func TestReadResponseRoundTrip(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/participant/offers/9", nil)
	sent := fixedRenderer().Write(rec, req, apierror.NotFound("Offer 9 was not found."))
	e, err := apierror.ReadResponse(rec.Result())
	require.NoError(t, err)
	assert.Equal(t, 404, e.Status)
	assert.Equal(t, "Offer 9 was not found.", e.Detail)
	require.NotNil(t, e.Received)
	assert.Equal(t, sent, *e.Received)
}

func TestReadResponseNotEnvelope(t *testing.T) {
	big := `{"id":"x","statusCode":500,"message":"` + strings.Repeat("a", apierror.MaxEnvelopeSize) + `"}`
	tests := []struct {
		name   string
		resp   *http.Response
		reason string
	}{
		{"proxy HTML", response(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"), "content type is not JSON"},
		{"HTML without content type", response(503, "", "<html>down</html>"), "body is not an envelope"},
		{"empty", response(500, "application/json", ""), "empty body"},
		{"no body", &http.Response{StatusCode: 504, Header: http.Header{}, Body: http.NoBody}, "empty body"},
		{"truncated", response(500, "application/json", `{"id":"93aa74d5","statusCode":500,"mess`), "body is not an envelope"},
		{"other JSON shape", response(400, "application/json", `{"errors":[{"detail":"bad"}]}`), "body is not an envelope"},
		{"array", response(400, "application/json", `[1,2,3]`), "body is not an envelope"},
		{"status not a number", response(400, "application/json", `{"id":"a","statusCode":"abc","message":"m"}`), "body is not an envelope"},
		{"status out of range", response(400, "application/json", `{"id":"a","statusCode":200,"message":"m"}`), "envelope statusCode 200 is not an error status"},
		{"success status", response(200, "application/json", `{"id":"a","statusCode":400,"message":"m"}`), "status is not an error status"},
		{"too large", response(500, "application/json", big), "body exceeds 65536 bytes"},
		{"deeply nested", response(400, "application/json", strings.Repeat("[", 60000)), "body is not an envelope"},
		{"read error", &http.Response{StatusCode: 500, Header: http.Header{}, Body: io.NopCloser(iotest.ErrReader(errors.New("connection reset")))}, "reading the body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := apierror.ReadResponse(tt.resp)
			assert.Nil(t, e)
			require.ErrorIs(t, err, apierror.ErrNotEnvelope)
			var re *apierror.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.resp.StatusCode, re.StatusCode, "the HTTP status is kept")
			assert.Equal(t, tt.reason, re.Reason)
			assert.Contains(t, err.Error(), "status")
		})
	}
}

func TestReadResponseBoundedRead(t *testing.T) {
	// An endless body: the reader stops after MaxEnvelopeSize+1 bytes.
	r := &countingReader{}
	_, err := apierror.ReadResponse(&http.Response{StatusCode: 500, Header: http.Header{}, Body: io.NopCloser(r)})
	require.ErrorIs(t, err, apierror.ErrNotEnvelope)
	assert.LessOrEqual(t, r.n, int64(apierror.MaxEnvelopeSize+1))
}

type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	c.n += int64(len(p))
	return len(p), nil
}
