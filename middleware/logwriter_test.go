package middleware_test

import (
	"bytes"
	"errors"
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
	"github.com/360x/errkit/middleware"
)

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestFailingLogWriter: the client still gets its envelope, the failure is
// reported on stderr once, and the service keeps serving.
func TestFailingLogWriter(t *testing.T) {
	closed, err := os.CreateTemp(t.TempDir(), "log")
	require.NoError(t, err)
	require.NoError(t, closed.Close())

	for name, sink := range map[string]interface{ Write([]byte) (int, error) }{"failing": failingWriter{}, "closed file": closed} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			w := middleware.NewFailSafeWriter(sink, &stderr)
			h := middleware.Errors(middleware.WithLogger(zerolog.New(w)), middleware.WithAccessLog(true))(
				middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
					if r.URL.Path == "/panic" {
						panic("boom")
					}
					return apierror.NotFound("")
				}))
			for _, path := range []string{"/a", "/panic", "/b", "/panic"} {
				resp := apierrortest.Serve(h, httptest.NewRequest("GET", path, nil))
				status := 404
				if path == "/panic" {
					status = 500
				}
				apierrortest.AssertEnvelope(t, resp, status)
			}
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "reported once: %q", stderr.String())
			assert.Contains(t, stderr.String(), "log writer failed")
			assert.Equal(t, int64(4), w.Lost(), "4 error lines (each with the access fields) lost")
		})
	}
}
