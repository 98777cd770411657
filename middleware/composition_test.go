package middleware_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// TestWriterCapabilitiesOverRealServers: over HTTP/1.1 the handler's writer
// flushes, hijacks and reads from like net/http's; over HTTP/2 it flushes
// and pushes, and does not claim Hijack, which HTTP/2 cannot do.
func TestWriterCapabilitiesOverRealServers(t *testing.T) {
	type caps struct{ flush, hijack, push, readFrom bool }
	probe := func(got chan<- caps) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var c caps
			_, c.flush = w.(http.Flusher)
			_, c.hijack = w.(http.Hijacker)
			_, c.push = w.(http.Pusher)
			_, c.readFrom = w.(io.ReaderFrom)
			got <- c
			require.NoError(t, http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Second)), "deadlines through Unwrap")
			_, _ = io.WriteString(w, "ok")
		})
	}

	t.Run("HTTP/1.1", func(t *testing.T) {
		bare, kit := make(chan caps, 1), make(chan caps, 1)
		for _, c := range []struct {
			h  http.Handler
			ch chan caps
		}{{probe(bare), bare}, {newStack().mw(probe(kit)), kit}} {
			srv := httptestServer(t, c.h)
			resp, body := do(t, "GET", srv.URL, nil)
			require.Equal(t, 200, resp.StatusCode, string(body))
		}
		want, got := <-bare, <-kit
		assert.Equal(t, want, got)
		assert.True(t, got.hijack && got.flush && got.readFrom)
	})
	t.Run("HTTP/2", func(t *testing.T) {
		bare, kit := make(chan caps, 1), make(chan caps, 1)
		for _, c := range []struct {
			h  http.Handler
			ch chan caps
		}{{probe(bare), bare}, {newStack().mw(probe(kit)), kit}} {
			srv := httptest.NewUnstartedServer(c.h)
			srv.EnableHTTP2 = true
			srv.StartTLS()
			t.Cleanup(srv.Close)
			resp, err := srv.Client().Get(srv.URL)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, 2, resp.ProtoMajor)
		}
		want, got := <-bare, <-kit
		assert.Equal(t, want, got)
		assert.False(t, got.hijack)
	})
}

// TestHijackThroughResponseController: a websocket-style upgrade through
// http.ResponseController is tracked; an error afterwards writes nothing.
func TestHijackThroughResponseController(t *testing.T) {
	s := newStack()
	srv := s.serve(t, hijacking(t, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nhello"))
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 101, resp.StatusCode)
	id := s.idFromLog(t)
	lines := s.errorLinesEventually(t, id, 1)
	require.Len(t, lines, 1)
	assert.Equal(t, true, lines[0]["hijacked"])
}

// hijacking is a handler that takes the connection through
// http.ResponseController, writes raw to it, closes it, and then returns an
// error.
func hijacking(t *testing.T, raw string) http.Handler {
	return middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		conn, rw, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		_, _ = rw.WriteString(raw)
		_ = rw.Flush()
		_ = conn.Close()
		return apierror.Internal(io.ErrUnexpectedEOF)
	})
}

// idFromLog returns the id of the only request in the log.
func (s *stack) idFromLog(t *testing.T) string {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.log.Lines(t)) > 0 }, 2*time.Second, 5*time.Millisecond)
	id, _ := s.log.Lines(t)[0]["id"].(string)
	return id
}

// TestWithIDBehindTheMiddlewareKeepsTracking: a handler that stores another
// id with apierror.WithID does not split the request in two.
func TestWithIDBehindTheMiddlewareKeepsTracking(t *testing.T) {
	s := newStack()
	srv := s.serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(apierror.WithID(r.Context(), "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"))
		middleware.WriteError(w, r, apierror.Conflict("Offer 7 exists."))
	}))
	resp, body := do(t, "GET", srv.URL+"/offers", nil)
	env, line := s.checkEnvelope(t, resp, body, 409)
	assert.Equal(t, "Offer 7 exists.", env.Error)
	assert.NotEqual(t, "0196b1a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b", env.ID, "the middleware's id")
	assert.NotContains(t, line, "foreign")
}

// TestErrorsMountedTwiceRecoversInside: the inner instance recovers the
// panic with its stack, into the outer instance's request.
func TestErrorsMountedTwiceRecoversInside(t *testing.T) {
	s := newStack()
	sub := chi.NewRouter()
	sub.Use(middleware.Errors()) // another package's own mount, default options
	sub.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("inner") })
	r := chi.NewRouter()
	r.Use(s.mw)
	r.Mount("/sub", sub)
	srv := httptestServer(t, r)

	resp, body := do(t, "GET", srv.URL+"/sub/boom", nil)
	_, line := s.checkEnvelope(t, resp, body, 500)
	assert.Equal(t, "panic: inner", line["cause"])
	assert.Contains(t, line["stack"], "composition_test.go")
	assert.Equal(t, "/sub/boom", line["path"])
}

// TestSlowReaderIsAClientGone: net/http's write deadline ends the response
// to a client that does not read: one info line with status 499, no error.
func TestSlowReaderIsAClientGone(t *testing.T) {
	s := newStack(middleware.WithAccessLog(true))
	handlerErr := make(chan error, 1)
	srv := httptest.NewUnstartedServer(s.mw(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				handlerErr <- err
				return err
			}
		}
	})))
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /export HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	id := resp.Header.Get("X-Request-Id")
	// Never read the body: the server's writes block until the deadline.
	select {
	case err := <-handlerErr:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the write deadline did not end the handler")
	}
	require.Eventually(t, func() bool { return strings.Contains(s.log.String(), id) }, 2*time.Second, 5*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	var mine []map[string]any
	for _, l := range s.log.Lines(t) {
		if l["id"] == id {
			mine = append(mine, l)
		}
	}
	require.Len(t, mine, 1, s.log.String())
	assert.Equal(t, "info", mine[0]["level"])
	assert.Equal(t, true, mine[0]["client_gone"])
	assert.EqualValues(t, apierror.StatusClientClosedRequest, mine[0]["status"])
}

// TestOwnCancellationIsAFailure: context.Canceled from the service's own
// work (the client is still there) is a 500, not a 499 the client would
// receive.
func TestOwnCancellationIsAFailure(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithCancel(r.Context())
		cancel()
		return ctx.Err()
	}))
	resp, body := do(t, "GET", srv.URL, nil)
	_, line := s.checkEnvelope(t, resp, body, 500)
	assert.Equal(t, "context canceled", line["cause"])
}

// TestTimeoutHandlerIsAServerTimeout: a write after http.TimeoutHandler's
// deadline fails with http.ErrHandlerTimeout; that is the server's timeout
// (504, an error line), not a client that went away.
func TestTimeoutHandlerIsAServerTimeout(t *testing.T) {
	s := newStack()
	wrote, answered := make(chan error, 1), make(chan struct{})
	srv := s.serve(t, http.TimeoutHandler(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		<-answered // the timeout has answered the client
		_, err := io.WriteString(w, "late")
		wrote <- err
		return err
	}), 50*time.Millisecond, ""))
	resp, body := do(t, "GET", srv.URL, nil)
	close(answered)
	s.checkEnvelope(t, resp, body, 504)
	assert.ErrorIs(t, <-wrote, http.ErrHandlerTimeout)
}

// bodyHandler reads the whole body and, on failure, answers as a careless
// handler would: a 400 whose detail is the read error's text.
var bodyHandler = middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	if _, err := io.ReadAll(r.Body); err != nil {
		return apierror.Validation("The body could not be read: " + err.Error()).WithCause(err)
	}
	return nil
})

// TestBodyReadTimeoutIs408: the server's read deadline passes while the
// client sends its body: a 408 envelope, never a 400 that names sockets.
func TestBodyReadTimeoutIs408(t *testing.T) {
	s := newStack()
	srv := httptest.NewUnstartedServer(s.mw(bodyHandler))
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /offers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"product\":")
	require.NoError(t, err)
	// ... and nothing more: the body never completes.
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_, line := s.checkEnvelope(t, resp, body, http.StatusRequestTimeout)
	assert.NotContains(t, string(body), "127.0.0.1")
	assert.Contains(t, line["cause"], "timeout", "the read error is in the log")
}

// TestBodyResetIsAClientGone: the client resets the connection mid-body:
// one info line with status 499, no warn line, no 400.
func TestBodyResetIsAClientGone(t *testing.T) {
	s := newStack()
	srv := s.serve(t, bodyHandler)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	_, err = io.WriteString(conn, "POST /offers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"product\":")
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the handler is reading
	require.NoError(t, conn.(*net.TCPConn).SetLinger(0))
	require.NoError(t, conn.Close()) // RST

	require.Eventually(t, func() bool { return len(s.log.Lines(t)) == 1 }, 2*time.Second, 5*time.Millisecond)
	l := s.log.Lines(t)[0]
	assert.Equal(t, "info", l["level"])
	assert.Equal(t, true, l["client_gone"])
	assert.EqualValues(t, apierror.StatusClientClosedRequest, l["status"])
}
