package middleware_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/middleware"
)

// TestHijackThenPanicWritesNothing: after a websocket-style hijack, a panic
// writes nothing to the connection; the hijack is tracked from the hijack
// itself (through http.ResponseController), not guessed from headers.
func TestHijackThenPanicWritesNothing(t *testing.T) {
	for _, via := range []string{"ResponseController", "Hijacker", "ResponseController then error"} {
		t.Run(via, func(t *testing.T) {
			s := newStack()
			srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				var conn net.Conn
				var rw *bufio.ReadWriter
				var err error
				if via == "Hijacker" {
					conn, rw, err = w.(http.Hijacker).Hijack()
				} else {
					conn, rw, err = http.NewResponseController(w).Hijack()
				}
				require.NoError(t, err)
				_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nhello")
				_ = rw.Flush()
				defer conn.Close()
				if strings.HasSuffix(via, "error") {
					return errors.New("after hijack")
				}
				panic("after hijack")
			}))
			conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(3*time.Second)))
			got, _ := io.ReadAll(conn)
			assert.True(t, strings.HasSuffix(string(got), "hello"), "nothing after the hijacker's bytes: %q", got)
			assert.NotContains(t, string(got), "statusCode")

			require.Eventually(t, func() bool { return strings.Contains(s.log.String(), "after hijack") }, 2*time.Second, 5*time.Millisecond)
			lines := s.log.Lines(t)
			require.Len(t, lines, 1)
			assert.Equal(t, true, lines[0]["hijacked"])
			assert.Equal(t, "error", lines[0]["level"])
		})
	}
}

func TestHijackedWriterRefusesWrites(t *testing.T) {
	s := newStack()
	errs := make(chan error, 1)
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, err = w.Write([]byte("x"))
		errs <- err
		middleware.WriteError(w, r, io.ErrUnexpectedEOF)
	}))
	resp, err := http.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	assert.ErrorIs(t, <-errs, http.ErrHijacked)
}
