package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/logsink"
	"github.com/360x/errkit/middleware"
)

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// failingHandler answers /panic with a panic and anything else with a 404.
func failingHandler(logger zerolog.Logger) http.Handler {
	return middleware.Errors(middleware.WithLogger(logger), middleware.WithAccessLog(true))(
		middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			if r.URL.Path == "/panic" {
				panic("boom")
			}
			return apierror.NotFound("")
		}))
}

func serveFour(t *testing.T, h http.Handler) {
	t.Helper()
	for _, path := range []string{"/a", "/panic", "/b", "/panic"} {
		resp := apierrortest.Serve(h, httptest.NewRequest("GET", path, nil))
		status := 404
		if path == "/panic" {
			status = 500
		}
		apierrortest.AssertEnvelope(t, resp, status)
	}
}

// TestFailingLogWriter: through logsink, a log destination that fails
// costs lines, counted and reported once; the client still gets its
// envelope.
func TestFailingLogWriter(t *testing.T) {
	closed, err := os.CreateTemp(t.TempDir(), "log")
	require.NoError(t, err)
	require.NoError(t, closed.Close())

	for name, dst := range map[string]io.Writer{"failing": failingWriter{}, "closed file": closed} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			sink := logsink.New(dst, logsink.WithErrorReport(&stderr))
			serveFour(t, failingHandler(zerolog.New(sink)))
			require.NoError(t, sink.Close(context.Background()))
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "reported once: %q", stderr.String())
			assert.Contains(t, stderr.String(), "log destination failed")
			assert.Equal(t, int64(4), sink.Stats().Failed, "4 error lines (each with the access fields) lost")
		})
	}
}

// TestLogWriterErrorsReachingZerolog: a service that gives zerolog a writer
// that fails, with nothing in between, still answers every request.
func TestLogWriterErrorsReachingZerolog(t *testing.T) {
	var reported int
	logger := zerolog.New(failingWriter{})
	// zerolog reports each failed write through its global ErrorHandler
	// (stderr by default); count instead, and put it back afterwards.
	prev := zerolog.ErrorHandler
	zerolog.ErrorHandler = func(error) { reported++ }
	t.Cleanup(func() { zerolog.ErrorHandler = prev })
	serveFour(t, failingHandler(logger))
	assert.Equal(t, 4, reported, "zerolog saw each failure; the answers did not")
}
