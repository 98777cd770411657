package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// logSink is the kit's log capture, with testing.TB-friendly accessors.
type logSink struct{ *apierrortest.LogCapture }

// Lines parses every line; each must be one JSON object.
func (s *logSink) Lines(t testing.TB) []map[string]any {
	t.Helper()
	lines := s.LogCapture.Lines()
	for _, l := range lines {
		require.NotContains(t, l, "unparsed", "log line is not JSON")
	}
	return lines
}

// ErrorLines returns the warn and error lines of request id.
func (s *logSink) ErrorLines(t testing.TB, id string) []map[string]any {
	t.Helper()
	s.Lines(t)
	return s.LogCapture.ErrorLines(id)
}

// stack is a middleware under test with its captured log.
type stack struct {
	log *logSink
	mw  func(http.Handler) http.Handler
}

func newStack(opts ...middleware.Option) *stack {
	s := &stack{log: &logSink{apierrortest.NewLogCapture()}}
	opts = append([]middleware.Option{middleware.WithLogger(s.log.Logger())}, opts...)
	s.mw = middleware.Errors(opts...)
	return s
}

// serve runs h behind the middleware on a real HTTP server.
func (s *stack) serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(s.mw(h))
	t.Cleanup(srv.Close)
	return srv
}

type envelope struct {
	ID         string `json:"id"`
	Timestamp  string `json:"timestamp"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
	Error      string `json:"error"`
	Path       string `json:"path"`
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

// checkEnvelope asserts that resp is the envelope for status: headers,
// schema, the id in the header and the body, and exactly one error line for
// that id in the log. It returns the envelope and its error line.
func (s *stack) checkEnvelope(t *testing.T, resp *http.Response, body []byte, status int) (envelope, map[string]any) {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "body: %s", body)
	got, problems := apierrortest.Check(resp, body, status)
	require.Empty(t, problems, "body: %s", body)
	env := envelope{ID: got.ID, StatusCode: got.StatusCode, Message: got.Message, Error: got.Error, Path: got.Path}
	id, err := uuid.Parse(env.ID)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(7), id.Version())

	lines := s.errorLinesEventually(t, env.ID, 1)
	require.Len(t, lines, 1, "exactly one error line for %s in:\n%s", env.ID, s.log.String())
	line := lines[0]
	assert.EqualValues(t, status, line["status"])
	wantLevel := "warn"
	if status >= 500 {
		wantLevel = "error"
	}
	assert.Equal(t, wantLevel, line["level"])
	assert.Equal(t, env.Message, line["message"])
	return env, line
}

// errorLinesEventually waits briefly for n error lines: the log is written
// when the handler returns, which may be just after the client has read
// the response.
func (s *stack) errorLinesEventually(t *testing.T, id string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		lines := s.log.ErrorLines(t, id)
		if len(lines) >= n || time.Now().After(deadline) {
			time.Sleep(20 * time.Millisecond) // and no more arrive
			return s.log.ErrorLines(t, id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func httptestServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
