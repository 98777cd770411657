package apierror_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var (
	fixedTime = time.Date(2011, 10, 5, 14, 48, 0, 0, time.UTC)
	fixedID   = "93aa74d5-8caf-473f-af2f-42cf806ddfdc"
)

// fixedRenderer stamps the page's example id and timestamp.
func fixedRenderer() *apierror.Renderer {
	return apierror.NewRenderer(
		apierror.WithClock(func() time.Time { return fixedTime }),
		apierror.WithIDGenerator(func() string { return fixedID }),
	)
}

func render(t *testing.T, r *apierror.Renderer, method, target string, e *apierror.Error) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Write(rec, httptest.NewRequest(method, target, nil), e)
	return rec
}

// TestGolden renders one envelope per row of the page's table, plus 405 and
// 413, and compares each byte for byte with its file under testdata/golden.
func TestGolden(t *testing.T) {
	secret := errors.New("pq: connection to 10.0.0.7 refused")
	tests := []struct {
		file string
		err  *apierror.Error
	}{
		{"400_validation_error.json", apierror.Validation("The body is not valid JSON: unexpected end of input.")},
		{"400_invalid_model.json", apierror.InvalidModel(apierror.Attr("price", "must be greater than 0"), apierror.Attr("currency", "must be one of EUR, GBP, USD"))},
		{"401_invalid_token.json", apierror.InvalidToken()},
		{"403_unauthorized_action.json", apierror.Forbidden("")},
		{"404_not_found.json", apierror.NotFound("Offer 42 was not found.")},
		{"405_method_not_allowed.json", apierror.MethodNotAllowed("PUT", "GET", "POST")},
		{"413_payload_too_large.json", apierror.PayloadTooLarge(1 << 20)},
		{"429_too_many_requests.json", apierror.TooManyRequests(30 * time.Second)},
		{"500_generic_error.json", apierror.Internal(secret)},
		{"502_bad_gateway.json", apierror.BadGateway(secret)},
		{"503_connection_error.json", apierror.ServiceUnavailable(secret)},
		{"504_generic_error.json", apierror.GatewayTimeout(secret)},
	}
	r := fixedRenderer()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec := render(t, r, http.MethodGet, "/api/v1/participant/offers?token=abc", tt.err)
			got := rec.Body.Bytes()
			require.NoError(t, apierrortest.ValidateSchema(got))
			path := filepath.Join("..", "testdata", "golden", tt.file)
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./apierror -update to create it")
			assert.Equal(t, string(want), string(got))
			assert.NotContains(t, string(got), "10.0.0.7")
		})
	}
}

// TestGoldenFilesValidate checks every golden file against the schema, so
// that a hand edit cannot drift from it.
func TestGoldenFilesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 12)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.NoError(t, apierrortest.ValidateSchema(data), f)
		assert.True(t, bytes.HasSuffix(data, []byte("}\n")), "%s: compact JSON and one newline", f)
		assert.Equal(t, 1, bytes.Count(data, []byte("\n")), f)
	}
}

// TestPageExample reproduces the example of the 360X Errors page byte for
// byte, in the contract's compact form.
func TestPageExample(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "testdata", "page_example.json"))
	require.NoError(t, err)
	var want bytes.Buffer
	require.NoError(t, json.Compact(&want, page))
	want.WriteByte('\n')

	rec := render(t, fixedRenderer(), http.MethodGet, "/api/v1/participant/offers", apierror.InvalidToken())
	assert.Equal(t, want.String(), rec.Body.String())
	assert.Equal(t, 401, rec.Code)
}

func TestWriteHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Length", "999")
	rec.Header().Set("Content-Type", "text/plain")
	fixedRenderer().Write(rec, httptest.NewRequest(http.MethodGet, "/x", nil), apierror.TooManyRequests(3*time.Second))
	h := rec.Result().Header
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, fixedID, h.Get("X-Request-Id"))
	assert.Equal(t, "3", h.Get("Retry-After"))
	assert.Equal(t, strconv.Itoa(rec.Body.Len()), h.Get("Content-Length"), "the envelope's length, not the stale one")

	rec = render(t, fixedRenderer(), http.MethodGet, "/x", apierror.InvalidToken())
	assert.Equal(t, `Bearer error="invalid_token"`, rec.Header().Get("WWW-Authenticate"))
	rec = render(t, fixedRenderer(), http.MethodGet, "/x", apierror.MethodNotAllowed("DELETE", "GET", "HEAD"))
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}

func TestWriteHead(t *testing.T) {
	rec := render(t, fixedRenderer(), http.MethodHead, "/api/v1/participant/offers/9", apierror.NotFound("Offer 9 was not found."))
	assert.Equal(t, 404, rec.Code)
	assert.Empty(t, rec.Body.Bytes())
	assert.Equal(t, fixedID, rec.Header().Get("X-Request-Id"))
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
}

func TestWriteUsesContextID(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req = req.WithContext(apierror.WithID(req.Context(), "0190b6a4-1111-7222-8333-444455556666"))
	rec := httptest.NewRecorder()
	env := fixedRenderer().Write(rec, req, apierror.NotFound(""))
	assert.Equal(t, "0190b6a4-1111-7222-8333-444455556666", env.ID)
	assert.Contains(t, rec.Body.String(), `"id":"0190b6a4-1111-7222-8333-444455556666"`)
}

func Test5xxBodyNeverCarriesCause(t *testing.T) {
	const secret = "CANARY-7f3a-internal-dsn=postgres://admin:hunter2@db"
	causes := []*apierror.Error{
		apierror.Internal(errors.New(secret)),
		apierror.BadGateway(errors.New(secret)),
		apierror.ServiceUnavailable(errors.New(secret)),
		apierror.GatewayTimeout(errors.New(secret)),
		apierror.New(500, secret),
		apierror.New(507, secret),
		{Status: 500, Message: "Generic Error", Detail: secret},
		apierror.From(errors.New(secret)),
	}
	for _, e := range causes {
		rec := render(t, fixedRenderer(), http.MethodGet, "/x", e)
		assert.GreaterOrEqual(t, rec.Code, 500)
		assert.NotContains(t, rec.Body.String(), "CANARY", "status %d", rec.Code)
		assert.NotContains(t, rec.Body.String(), "hunter2")
		assert.NoError(t, apierrortest.ValidateSchema(rec.Body.Bytes()))
	}
}

func TestWriteOutOfRangeStatusAndNil(t *testing.T) {
	for _, e := range []*apierror.Error{nil, {}, {Status: 200, Message: "OK", Detail: "fine"}, apierror.New(302, "moved")} {
		rec := render(t, fixedRenderer(), http.MethodGet, "/x", e)
		assert.Equal(t, 500, rec.Code)
		assert.Contains(t, rec.Body.String(), `"statusCode":500,"message":"Generic Error"`)
		assert.NotContains(t, rec.Body.String(), "fine")
		assert.NotContains(t, rec.Body.String(), "moved")
	}
}

func TestWriteHostileStrings(t *testing.T) {
	hostile := []string{
		"bad \xff\xfe utf8",
		"new\nline and \r return",
		"nul \x00 and esc \x1b[31m red",
		"quote \" backslash \\ <script>&",
		"line sep \u2028 para sep \u2029",
		strings.Repeat("é", 300),
	}
	for _, s := range hostile {
		e := apierror.NotFound(s)
		e.Message = s
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.RequestURI = "/p/" + s // as a raw request line could carry it
		rec := httptest.NewRecorder()
		fixedRenderer().Write(rec, req, e)
		body := rec.Body.Bytes()
		assert.True(t, json.Valid(body), "%q", body)
		assert.Equal(t, 1, bytes.Count(body, []byte("\n")), "one line: %q", body)
		assert.NoError(t, apierrortest.ValidateSchema(body))

		var back map[string]any
		require.NoError(t, json.Unmarshal(body, &back))
		// Each invalid byte becomes one U+FFFD, as encoding/json does.
		want := strings.Map(func(r rune) rune { return r }, s)
		assert.Equal(t, want, back["message"])
		assert.Equal(t, want, back["error"])
		assert.Equal(t, "/p/"+want, back["path"])
	}
}

var timestampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

func TestTimestampAndDefaultID(t *testing.T) {
	zone := time.FixedZone("UTC+5", 5*3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), "2026-11-25T19:00:00.000Z"},
		{time.Date(2026, 11, 25, 19, 0, 0, 999_999_999, time.UTC), "2026-11-25T19:00:00.999Z"},
		{time.Date(2026, 11, 26, 0, 30, 1, 5_000_000, zone), "2026-11-25T19:30:01.005Z"},
	}
	for _, tt := range tests {
		r := apierror.NewRenderer(apierror.WithClock(func() time.Time { return tt.in }))
		rec := render(t, r, http.MethodGet, "/x", apierror.NotFound(""))
		var env struct{ ID, Timestamp string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env))
		assert.Equal(t, tt.want, env.Timestamp)
		assert.Regexp(t, timestampRE, env.Timestamp)

		id, err := uuid.Parse(env.ID)
		require.NoError(t, err)
		assert.Equal(t, id.String(), env.ID, "canonical lower-case form")
		assert.Equal(t, uuid.Version(7), id.Version())
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := make(map[string]bool, 10000)
	for range 10000 {
		id := apierror.NewID()
		require.Len(t, id, 36)
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
}

func TestNewIDIsUUIDv7WithTheTime(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	id := apierror.NewID()
	after := time.Now()
	u, err := uuid.Parse(id)
	require.NoError(t, err)
	assert.Equal(t, id, u.String())
	assert.Equal(t, uuid.Version(7), u.Version())
	assert.Equal(t, uuid.RFC4122, u.Variant())
	sec, nsec := u.Time().UnixTime()
	issued := time.Unix(sec, nsec)
	assert.False(t, issued.Before(before), "%s before %s", issued, before)
	assert.False(t, issued.After(after))
}

func TestNewIDAtCarriesTheTimeAndSortsByIt(t *testing.T) {
	base := time.Date(2026, 11, 26, 1, 2, 3, 123_456_789, time.UTC)
	var prev string
	for i := range 2000 {
		at := base.Add(time.Duration(i) * 300 * time.Nanosecond) // more than 1/4096 ms apart
		id := apierror.NewIDAt(at)
		u, err := uuid.Parse(id)
		require.NoError(t, err)
		assert.Equal(t, id, u.String(), "canonical lower-case form")
		assert.Equal(t, uuid.Version(7), u.Version())
		assert.Equal(t, uuid.RFC4122, u.Variant())
		sec, nsec := u.Time().UnixTime()
		assert.Equal(t, at.Truncate(time.Millisecond), time.Unix(sec, nsec).UTC(), "millisecond prefix of %s", id)
		if prev != "" {
			require.Less(t, prev, id, "ids made 300 ns apart sort in the order they were made")
		}
		prev = id
	}
}

func TestNewIDAtSameInstantIsStillUnique(t *testing.T) {
	at := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for range 100_000 {
		id := apierror.NewIDAt(at)
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
}

// BenchmarkNewID compares this package's generator with google/uuid's
// NewV7 (the one it replaced), serially and in parallel (-cpu 1,2).
func BenchmarkNewID(b *testing.B) {
	var sink string
	for _, g := range []struct {
		name string
		gen  func() string
	}{
		{"NewID", apierror.NewID},
		{"google-uuid-NewV7", func() string { return uuid.Must(uuid.NewV7()).String() }},
	} {
		b.Run(g.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					sink = g.gen()
				}
			})
		})
	}
	_ = sink
}

// TestNewIDAtOutsideWhatUUIDv7Holds: a time before 1970 or after the year
// 10889 gives an id at the edge, never one that wraps around.
func TestNewIDAtOutsideWhatUUIDv7Holds(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want time.Time
	}{
		{time.Time{}, time.Unix(0, 0)},
		{time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC), time.Unix(0, 0)},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 0)},
		{time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), time.UnixMilli(1<<48 - 1)},
		{time.Unix(0, 0), time.Unix(0, 0)},
	} {
		u, err := uuid.Parse(apierror.NewIDAt(tc.at))
		require.NoError(t, err)
		assert.Equal(t, uuid.Version(7), u.Version())
		sec, nsec := u.Time().UnixTime()
		assert.Equal(t, tc.want.UTC(), time.Unix(sec, nsec).UTC(), "for %v", tc.at)
	}
	assert.Less(t, apierror.NewIDAt(time.Time{}), apierror.NewIDAt(time.Unix(0, 1e6)), "sorts before every later id")
}

func TestValidID(t *testing.T) {
	// The pattern the envelope's JSON Schema gives the id.
	raw, err := os.ReadFile("../testdata/envelope.schema.json")
	require.NoError(t, err)
	var schema struct {
		Properties struct {
			ID struct{ Pattern string } `json:"id"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	schemaID := regexp.MustCompile(schema.Properties.ID.Pattern)

	for id, want := range map[string]bool{
		"01a21433-216f-72a2-95b6-c1f59791269d":   true,
		"93aa74d5-8caf-473f-af2f-42cf806ddfdc":   true, // v4: the contract accepts any UUID
		"01A21433-216F-72A2-95B6-C1F59791269D":   false,
		"01a21433216f72a295b6c1f59791269d":       false,
		"{01a21433-216f-72a2-95b6-c1f59791269d}": false,
		"01a21433-216f-72a2-95b6-c1f59791269":    false,
		"01a21433-216f-72a2-95b6-c1f59791269g":   false,
		"01a21433_216f-72a2-95b6-c1f59791269d":   false,
		"abc\r\nSet-Cookie: x=1":                 false,
		"":                                       false,
	} {
		assert.Equal(t, want, apierror.ValidID(id), "%q", id)
		assert.Equal(t, schemaID.MatchString(id), apierror.ValidID(id), "ValidID agrees with the envelope schema's pattern for %q", id)
		if want {
			_, err := uuid.Parse(id)
			assert.NoError(t, err)
		}
	}
	for range 1000 {
		assert.True(t, apierror.ValidID(apierror.NewID()))
	}
}

// TestRendererNeverSendsAnIDThatIsNotAUUID: what WithID or a generator
// gives that is not a UUID is replaced, never sent (a CR LF in it would
// be a header of the attacker's).
func TestRendererNeverSendsAnIDThatIsNotAUUID(t *testing.T) {
	for _, bad := range []string{"abc\r\nSet-Cookie: x=1", "", "not-a-uuid", strings.Repeat("a", 5000)} {
		r := apierror.NewRenderer(apierror.WithIDGenerator(func() string { return bad }))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/x", nil)
		r.Write(rec, req, apierror.NotFound(""))
		assert.True(t, apierror.ValidID(rec.Header().Get("X-Request-Id")), "generator %q", bad)

		rec = httptest.NewRecorder()
		req = req.WithContext(apierror.WithID(req.Context(), bad))
		apierror.NewRenderer().Write(rec, req, apierror.NotFound(""))
		assert.True(t, apierror.ValidID(rec.Header().Get("X-Request-Id")), "WithID %q", bad)
	}
}

// TestRendererSendsAnUpperCaseUUIDInLowerCase: an upper-case UUID given
// with WithID or by a generator is the same id in the contract's form.
func TestRendererSendsAnUpperCaseUUIDInLowerCase(t *testing.T) {
	const upper, lower = "01A21433-216F-72A2-95B6-C1F59791269D", "01a21433-216f-72a2-95b6-c1f59791269d"
	req := httptest.NewRequest("GET", "/x", nil)
	env := apierror.NewRenderer(apierror.WithIDGenerator(func() string { return upper })).Write(httptest.NewRecorder(), req, apierror.NotFound(""))
	assert.Equal(t, lower, env.ID)
	rec := httptest.NewRecorder()
	env = apierror.NewRenderer().Write(rec, req.WithContext(apierror.WithID(req.Context(), upper)), apierror.NotFound(""))
	assert.Equal(t, lower, env.ID)
	assert.Equal(t, lower, rec.Header().Get("X-Request-Id"))
}

func TestCanonicalID(t *testing.T) {
	for in, want := range map[string]struct {
		id string
		ok bool
	}{
		"01a21433-216f-72a2-95b6-c1f59791269d": {"01a21433-216f-72a2-95b6-c1f59791269d", true},
		"01A21433-216F-72a2-95B6-C1F59791269D": {"01a21433-216f-72a2-95b6-c1f59791269d", true},
		"01A21433216F72A295B6C1F59791269D":     {"01A21433216F72A295B6C1F59791269D", false},
		"req-1":                                {"req-1", false},
		"":                                     {"", false},
	} {
		id, ok := apierror.CanonicalID(in)
		assert.Equal(t, want.id, id, "%q", in)
		assert.Equal(t, want.ok, ok, "%q", in)
	}
}
