package apierror_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
)

// orderedEnvelope is what encoding/json makes of an envelope: the reference
// the hand-written encoder must agree with, byte for byte.
type orderedEnvelope struct {
	ID         string `json:"id"`
	Timestamp  string `json:"timestamp"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
	Path       string `json:"path"`
}

func reference(t testing.TB, v apierror.Envelope) string {
	b, err := json.Marshal(orderedEnvelope{v.ID, v.Timestamp.UTC().Format(apierror.TimestampLayout), v.StatusCode, v.Message, v.Error, v.Path})
	require.NoError(t, err)
	return string(b)
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "\xff", "a\x00b\x1f\x7f", "<>&'\"\\", "\u2028\u2029", "日本語", "\xed\xa0\x80", "\xf4\x90\x80\x80", strings.Repeat("x\n", 50)} {
		v := apierror.Envelope{ID: s, Timestamp: time.Unix(1700000000, 123456789), StatusCode: 404, Message: s, Error: s, Path: s}
		assert.Equal(t, reference(t, v), string(v.AppendJSON(nil)), "%q", s)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("/api/v1/participant/offers", "Not Found", "offer 7", int64(0))
	f.Add("/p/\xff\xfe", "a\nb", "\x00\x1b[31m", int64(-1))
	f.Add("\u2028", "<script>", "\"\\", int64(1<<40))
	f.Fuzz(func(t *testing.T, path, message, detail string, ms int64) {
		// The schema's rules for what a renderer produces: a path that
		// starts with '/' and has no query or fragment, a non-empty message
		// and detail, a 5xx's contract title.
		path = "/" + strings.NewReplacer("?", "%3F", "#", "%23").Replace(path)
		if message == "" {
			message = "m"
		}
		if detail == "" {
			detail = "d"
		}
		v := apierror.Envelope{
			ID:         "93aa74d5-8caf-473f-af2f-42cf806ddfdc",
			Timestamp:  time.UnixMilli(ms % 253402300799000).UTC(), // years 0000-9999
			StatusCode: 400 + int(uint64(ms)%200),
			Message:    message, Error: detail, Path: path,
		}
		if v.Timestamp.Year() < 0 {
			v.Timestamp = time.Unix(0, 0)
		}
		if v.StatusCode >= 500 {
			v.Message = apierror.Title(v.StatusCode)
			message = v.Message
		}
		got := v.AppendJSON(nil)
		require.True(t, json.Valid(got))
		assert.NotContains(t, string(got), "\n")
		assert.Equal(t, reference(t, v), string(got))
		require.NoError(t, apierrortest.ValidateSchema(got))

		var back apierror.Envelope
		require.NoError(t, back.UnmarshalJSON(got))
		for _, pair := range [][2]string{{path, back.Path}, {message, back.Message}, {detail, back.Error}} {
			if utf8.ValidString(pair[0]) {
				assert.Equal(t, pair[0], pair[1])
			} else {
				assert.Equal(t, strings.Map(func(r rune) rune { return r }, pair[0]), pair[1])
			}
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"id":"93aa74d5-8caf-473f-af2f-42cf806ddfdc","timestamp":"2011-10-05T14:48:00.000Z","statusCode":401,"message":"Invalid Token","error":"Token is invalid","path":"/api/v1/participant/offers"}`))
	f.Add([]byte(`{"id":"a","statusCode":"503","message":"m"}`))
	f.Add([]byte(`<html>502</html>`))
	f.Add([]byte(`[[[[[[[[[[`))
	f.Add([]byte(`{"statusCode":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := apierror.ParseEnvelope(data, 502)
		if err != nil {
			assert.Nil(t, e)
			assert.ErrorIs(t, err, apierror.ErrNotEnvelope)
			return
		}
		require.NotNil(t, e.Received)
		assert.GreaterOrEqual(t, e.Status, 400)
		assert.LessOrEqual(t, e.Status, 599)
	})
}

func TestAppendTimestampMatchesTimeFormat(t *testing.T) {
	times := []time.Time{
		time.Date(2011, 10, 5, 14, 48, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 2, 28, 23, 59, 59, 1_000_000, time.FixedZone("x", -7*3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1_795_635_183, 987_654_321),
	}
	for _, ts := range times {
		v := apierror.Envelope{Timestamp: ts}
		got := string(v.AppendJSON(nil))
		assert.Contains(t, got, `"timestamp":"`+ts.UTC().Format(apierror.TimestampLayout)+`"`)
	}
}

// FuzzRenderer drives the renderer itself with arbitrary bytes in the path,
// the title and the detail: the body is always one line of JSON, valid
// against the schema, that reads back to the same values (invalid UTF-8
// replaced).
func FuzzRenderer(f *testing.F) {
	f.Add("/api/v1/participant/offers", "Not Found", "Offer 7 was not found.", 404)
	f.Add("/p/\xff\x00\n", "\x1b[31m", "a\u2028b", 400)
	f.Add("/", "", "", 503)
	f.Fuzz(func(t *testing.T, path, message, detail string, status int) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		e := &apierror.Error{Status: status, Message: message, Detail: detail}
		rec := httptest.NewRecorder()
		env := apierror.NewRenderer().Write(rec, req, e)
		body := rec.Body.Bytes()
		require.True(t, json.Valid(body))
		require.Equal(t, 1, strings.Count(string(body), "\n"))
		require.NoError(t, apierrortest.ValidateSchema(body))
		back, err := apierror.ParseEnvelope(body, rec.Code)
		require.NoError(t, err)
		valid := func(s string) string { return strings.Map(func(r rune) rune { return r }, s) }
		assert.Equal(t, valid(env.Path), back.Received.Path)
		assert.Equal(t, valid(env.Message), back.Message)
		assert.Equal(t, valid(env.Error), back.Detail)
		assert.Equal(t, env.StatusCode, rec.Code)
		if rec.Code >= 500 {
			assert.Equal(t, apierror.PublicDetail(rec.Code), back.Detail, "no 5xx detail reaches the body")
		}
	})
}

// FuzzReadResponse: the reader never panics on any body, and reads a
// bounded amount of it.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte(`{"id":"a","statusCode":"503","message":"m","error":"e","path":"/"}`), "application/json", 503)
	f.Add([]byte(`<html>`), "text/html", 502)
	f.Add([]byte{}, "", 500)
	f.Fuzz(func(t *testing.T, body []byte, contentType string, status int) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(bytes.NewReader(body))}
		e, err := apierror.ReadResponse(resp)
		if err != nil {
			assert.Nil(t, e)
			assert.ErrorIs(t, err, apierror.ErrNotEnvelope)
			return
		}
		assert.LessOrEqual(t, len(body), apierror.MaxEnvelopeSize)
		assert.GreaterOrEqual(t, e.Status, 400)
		assert.LessOrEqual(t, e.Status, 599)
	})
}

func TestAppendTimestampIsAppendFormat(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 11, 26, 0, 31, 5, 999_999_999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("CET", 3600)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
		time.Now(),
	} {
		assert.Equal(t, at.UTC().Format(apierror.TimestampLayout), string(apierror.AppendTimestamp([]byte{}, at)), "%v", at)
	}
}
