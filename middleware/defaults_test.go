package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

var millisecondTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestSafeDefaults: NewLogger writes millisecond UTC times without a hook
// of the service's or a change of zerolog's globals, and WithService puts
// "service" on every line: the error line, the access line and a
// handler's own line through the request's logger.
func TestSafeDefaults(t *testing.T) {
	require.Equal(t, time.RFC3339, zerolog.TimeFieldFormat, "zerolog's global as it comes: seconds")
	logs := apierrortest.NewLogCapture()
	h := middleware.Errors(middleware.WithLogger(middleware.NewLogger(logs)), middleware.WithService("settlements"),
		middleware.WithAccessLog(true))(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		zerolog.Ctx(r.Context()).Info().Msg("looking the settlement up")
		if r.URL.Path == "/missing" {
			return apierror.NotFound("No settlement.")
		}
		return nil
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, path := range []string{"/missing", "/ok"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Eventually(t, func() bool { return len(logs.Lines()) == 4 }, 2*time.Second, 2*time.Millisecond)
	for _, l := range logs.Lines() {
		assert.Equal(t, "settlements", l["service"], "%v", l)
		assert.Regexp(t, millisecondTime, l["time"], "%v", l)
		assert.NotEmpty(t, l["id"], "%v", l)
	}
}

// TestContextLoggerKeepsItsFields: a logger hlog put in the context before
// Errors keeps its fields in the request's logger, which adds the id and
// the service.
func TestContextLoggerKeepsItsFields(t *testing.T) {
	outerLogs, logs := apierrortest.NewLogCapture(), apierrortest.NewLogCapture()
	outer := outerLogs.Logger().With().Str("host", "settlements-7").Logger()
	var id string
	h := hlog.NewHandler(outer)(middleware.Errors(middleware.WithLogger(logs.Logger()), middleware.WithService("settlements"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id = middleware.ID(r.Context())
			hlog.FromRequest(r).Info().Msg("mine")
		})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	lines := outerLogs.Lines()
	require.Len(t, lines, 1)
	assert.Equal(t, "settlements-7", lines[0]["host"], "the outer logger's field")
	assert.Equal(t, id, lines[0]["id"])
	assert.Equal(t, "settlements", lines[0]["service"])
	assert.Equal(t, "mine", lines[0]["message"])
}

func TestWithServiceRejectsAnEmptyName(t *testing.T) {
	assert.Panics(t, func() { middleware.Errors(middleware.WithService("")) })
}

// TestDefaultLoggerWritesMilliseconds: without WithLogger, the lines go to
// os.Stderr with millisecond times from WithClock's clock.
func TestDefaultLoggerWritesMilliseconds(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stderr
	os.Stderr = w
	at := time.Date(2026, 11, 25, 9, 30, 0, 123_000_000, time.UTC)
	h := middleware.Errors(middleware.WithClock(func() time.Time { return at }))(middleware.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) error { return apierror.NotFound("") }))
	os.Stderr = saved
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	require.NoError(t, w.Close())
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	var line map[string]any
	require.NoError(t, json.Unmarshal(out, &line), "%s", out)
	assert.Equal(t, "2026-11-25T09:30:00.123Z", line["time"])
}
