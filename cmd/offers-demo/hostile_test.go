package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierrortest"
)

// rawRequest sends raw bytes to the demo and returns the response, or the
// read error when the server closes without one.
func rawRequest(t *testing.T, d *demo, raw string) (*http.Response, []byte, error) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, raw)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestHostileInput sends what an attacker or a broken client sends, and
// checks the answer and that every log line stays one line of valid JSON.
func TestHostileInput(t *testing.T) {
	d := startDemo(t, "-read-header-timeout", "500ms")
	const auth = "Authorization: Bearer alice-token\r\n"

	t.Run("control characters and invalid UTF-8 in the path", func(t *testing.T) {
		resp, body, err := rawRequest(t, d, "GET /api/v1/%ff%fe/%0a%00%1b[31m/offers HTTP/1.1\r\nHost: x\r\n"+auth+"Connection: close\r\n\r\n")
		require.NoError(t, err)
		resp.Request, _ = http.NewRequest("GET", "/api/v1/%ff%fe/%0a%00%1b[31m/offers", nil)
		env, problems := apierrortest.Check(resp, body, 404)
		assert.Empty(t, problems)
		// The path is the one the client sent, still percent-encoded: no
		// control character or invalid byte reaches the body.
		assert.Equal(t, "/api/v1/%ff%fe/%0a%00%1b[31m/offers", env.Path)
	})
	t.Run("invalid UTF-8 and escapes in header values", func(t *testing.T) {
		resp, body, err := rawRequest(t, d, "GET /api/v1/participant/offers/9999 HTTP/1.1\r\nHost: x\r\n"+auth+
			"X-Request-Id: \xff\xfe\x1b]0;pwned\x07\r\nUser-Agent: \xc3\x28\r\nConnection: close\r\n\r\n")
		require.NoError(t, err)
		if resp.StatusCode == 404 {
			checkEnvelope(t, resp, body, 404)
		} else {
			// net/http refuses some control bytes before any handler runs.
			assert.Equal(t, 400, resp.StatusCode)
		}
	})
	t.Run("X-Request-Id of 4 KiB", func(t *testing.T) {
		resp, body := d.do(t, call{method: "GET", path: "/api/v1/participant/offers/9999", token: "alice-token"})
		checkEnvelope(t, resp, body, 404)
		req, _ := http.NewRequest("GET", d.base+"/api/v1/participant/offers/9999", nil)
		req.Header.Set("Authorization", "Bearer alice-token")
		req.Header.Set("X-Request-Id", strings.Repeat("r", 4096))
		resp2, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body2, _ := io.ReadAll(resp2.Body)
		resp2.Body.Close()
		id := checkEnvelope(t, resp2, body2, 404)
		assert.NotEqual(t, strings.Repeat("r", 4096), id)
	})
	t.Run("X-Request-Id with a newline (obs-fold)", func(t *testing.T) {
		resp, _, err := rawRequest(t, d, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\n b\nc\r\nConnection: close\r\n\r\n")
		if err == nil {
			assert.Contains(t, []int{200, 400}, resp.StatusCode)
		}
	})
	t.Run("JSON body with control characters and invalid UTF-8", func(t *testing.T) {
		resp, body := d.do(t, call{method: "POST", path: "/api/v1/participant/offers", token: "alice-token", contentType: "application/json",
			body: "{\"product\":\"\x1b[2J\x00\xff\",\"price\":1,\"currency\":\"EUR\",\"quantity\":1}"})
		checkEnvelope(t, resp, body, 400)
	})
	t.Run("limits net/http enforces before any handler", func(t *testing.T) {
		// These answers come from net/http itself, before the middleware
		// sees the request: they cannot be envelopes (RELIABILITY.md).
		for raw, status := range map[string]int{
			"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\nConnection: close\r\n\r\n": 431,
			"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n":                                400,
			"GET /a%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":                                                  400,
			"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n":                                                          400,
		} {
			resp, body, err := rawRequest(t, d, raw)
			require.NoError(t, err)
			assert.Equal(t, status, resp.StatusCode)
			assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"), "%s", body)
		}
	})
	t.Run("slow client sending headers byte by byte", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(d.base, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		start := time.Now()
		req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 100) + "\r\n\r\n"
		var writeErr error
		for i := 0; i < len(req) && writeErr == nil && time.Since(start) < 5*time.Second; i++ {
			_, writeErr = conn.Write([]byte{req[i]})
			time.Sleep(100 * time.Millisecond)
		}
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, readErr := io.ReadAll(conn)
		assert.True(t, writeErr != nil || readErr == nil, "the server ended the connection (write: %v, read: %v)", writeErr, readErr)
		assert.Less(t, time.Since(start), 5*time.Second)
	})

	resp, _ := d.do(t, call{method: "GET", path: "/healthz"})
	assert.Equal(t, 200, resp.StatusCode, "still serving")
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, d.cmd.Wait())
	for _, line := range strings.Split(strings.TrimSpace(d.stdout.String()), "\n") {
		assert.True(t, json.Valid([]byte(line)), "log line is not one valid JSON line: %q", line)
	}
	assert.NotContains(t, d.stdout.String(), "pwned", "a rejected client id is not logged")
}

// TestCanarySweep sends a unique canary as the bearer token, a cookie, a
// query parameter and in the body of a request to every route: it appears
// nowhere in the log and in no 5xx body.
func TestCanarySweep(t *testing.T) {
	const canary = "CANARY-5f0c9a1e77"
	d := startDemo(t, "-tokens", canary+"=alice,bob-token=bob")
	const offers = "/api/v1/participant/offers"
	routes := [][2]string{
		{"GET", "/healthz"}, {"GET", offers}, {"POST", offers}, {"GET", offers + "/1001"}, {"GET", offers + "/9999"},
		{"DELETE", offers + "/1002"}, {"PUT", offers}, {"GET", offers + "/1001/quote"}, {"GET", offers + "/1003/quote"},
		{"GET", offers + "/1004/quote"}, {"GET", offers + "/1001/quote?currency=USD"}, {"GET", "/api/v1/debug/panic"},
		{"GET", "/nowhere"}, {"DELETE", offers + "/1004"},
	}
	statuses := map[int]bool{}
	for _, r := range routes {
		for _, body := range []string{`{"product":"` + canary + `","price":1,"currency":"EUR","quantity":1}`, `{"product":"` + canary + `","price":-1}`, `{"` + canary + ``} {
			sep := "?"
			if strings.Contains(r[1], "?") {
				sep = "&"
			}
			req, err := http.NewRequest(r[0], d.base+r[1]+sep+"token="+canary, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+canary)
			req.Header.Set("Cookie", "session="+canary)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Api-Key", canary)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses[resp.StatusCode] = true
			if resp.StatusCode >= 500 {
				assert.NotContains(t, string(data), canary, "%s %s", r[0], r[1])
			}
		}
	}
	for _, s := range []int{200, 201, 204, 400, 403, 404, 405, 500, 502, 503, 504} {
		assert.True(t, statuses[s], "the sweep reached status %d", s)
	}
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, d.cmd.Wait())
	assert.NotContains(t, d.stdout.String(), canary)
	assert.NotContains(t, d.stderr.String(), canary, "nor in the banner")
}

// TestFailingLogSink: with stdout closed, the demo answers every request
// with its envelope, says so once on stderr, and keeps serving.
func TestFailingLogSink(t *testing.T) {
	bin := demoBinary(t)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, r.Close()) // nobody reads stdout: writes fail with EPIPE
	stderr := &syncBuffer{}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = w, stderr
	require.NoError(t, cmd.Start())
	require.NoError(t, w.Close())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var base string
	require.Eventually(t, func() bool {
		_, rest, ok := strings.Cut(stderr.String(), "listening on ")
		if ok {
			base, _, _ = strings.Cut(rest, "\n")
		}
		return ok
	}, 10*time.Second, 20*time.Millisecond)
	d := &demo{base: base}
	for i := range 5 {
		resp, body := d.do(t, call{method: "GET", path: fmt.Sprintf("/api/v1/participant/offers/9%d", i), token: "alice-token"})
		checkEnvelope(t, resp, body, 404)
	}
	resp, _ := d.do(t, call{method: "GET", path: "/healthz"})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, 1, strings.Count(stderr.String(), "log destination failed"), stderr.String())
}

// TestOversizeBodyWithExpectContinue: a Content-Length over the limit with
// Expect: 100-continue gets its 413 at once, without a 100 Continue and
// without the server waiting for the body.
func TestOversizeBodyWithExpectContinue(t *testing.T) {
	d := startDemo(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, "POST /api/v1/participant/offers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\n"+
		"Content-Type: application/json; token=s3cr3t\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "an answer without the body being sent")
	body, _ := io.ReadAll(resp.Body)
	checkEnvelope(t, resp, body, http.StatusRequestEntityTooLarge)
}

// TestUnsupportedMediaTypeParameters: a 415 names the media type only; no
// parameter of the header reaches the body or the log.
func TestUnsupportedMediaTypeParameters(t *testing.T) {
	d := startDemo(t)
	resp, body := d.do(t, call{method: "POST", path: "/api/v1/participant/offers", token: "alice-token",
		contentType: "application/xml; token=s3cr3t-param", body: "<offer/>"})
	checkEnvelope(t, resp, body, http.StatusUnsupportedMediaType)
	assert.Contains(t, string(body), `\"application/xml\"`)
	assert.NotContains(t, string(body), "s3cr3t-param")
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	_ = d.cmd.Wait()
	assert.NotContains(t, d.stdout.String(), "s3cr3t-param")
}
