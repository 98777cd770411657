package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierrortest"
)

// buildDemo builds the binary once per test run.
var buildDemo = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "offers-demo-e2e")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "offers-demo")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &buildError{out}
	}
	return bin, nil
})

type buildError struct{ out []byte }

func (b *buildError) Error() string { return "go build: " + string(b.out) }

func demoBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildDemo()
	require.NoError(t, err)
	built = bin
	return bin
}

// built is the binary to remove when the tests are done, if one was built.
var built string

func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		_ = os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// demo is a running offers-demo process.
type demo struct {
	cmd    *exec.Cmd
	base   string
	stdout *syncBuffer
	stderr *syncBuffer
}

func startDemo(t *testing.T, args ...string) *demo {
	t.Helper()
	d := &demo{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	d.cmd = exec.Command(demoBinary(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	d.cmd.Env = os.Environ()
	require.NoError(t, d.cmd.Start())
	t.Cleanup(func() { _ = d.cmd.Process.Kill() })
	require.Eventually(t, func() bool {
		for _, l := range logLines(t, d.stdout.String()) {
			if l["message"] == "listening" {
				d.base = "http://" + l["addr"].(string)
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "no listening line; stderr: %s", d.stderr.String())
	return d
}

func logLines(t *testing.T, out string) []map[string]any {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if !assert.NoError(t, json.Unmarshal(sc.Bytes(), &m), "log line is not JSON: %q", sc.Text()) {
			continue
		}
		lines = append(lines, m)
	}
	return lines
}

type call struct {
	name        string
	method      string
	path        string
	token       string
	contentType string
	body        string
	status      int
	header      map[string]string // headers the response must have
	detail      string            // the envelope's "error" must contain this
}

// TestDemoEndToEnd drives every route of the demo over real HTTP, checks
// every error against the schema and the contract's headers, checks that
// every id received is in exactly one error line of the log, and stops the
// server with SIGTERM.
func TestDemoEndToEnd(t *testing.T) {
	d := startDemo(t, "-tokens", "alice-token=alice,bob-token=bob,carol-token=carol", "-rate-limit", "30/1m")
	const offers = "/api/v1/participant/offers"
	calls := []call{
		{name: "health", method: "GET", path: "/healthz", status: 200},
		{name: "list", method: "GET", path: offers, token: "alice-token", status: 200},
		{name: "get", method: "GET", path: offers + "/1001", token: "alice-token", status: 200},
		{name: "create", method: "POST", path: offers, token: "alice-token", contentType: "application/json",
			body: `{"product":"bolt","price":1.5,"currency":"EUR","quantity":3}`, status: 201},
		{name: "quote", method: "GET", path: offers + "/1001/quote", token: "alice-token", status: 200},
		{name: "no token", method: "GET", path: offers, status: 401,
			header: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}, detail: "Token is invalid"},
		{name: "unknown token", method: "POST", path: offers, token: "mallory", contentType: "application/json", body: `{"price":-1}`, status: 401,
			header: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}},
		{name: "unknown id", method: "GET", path: offers + "/9999", token: "alice-token", status: 404, detail: `Offer "9999" was not found.`},
		{name: "unknown route", method: "GET", path: "/api/v2/nothing", token: "alice-token", status: 404},
		{name: "wrong method", method: "PUT", path: offers, token: "alice-token", status: 405, header: map[string]string{"Allow": "GET, POST"}},
		{name: "wrong content type", method: "POST", path: offers, token: "alice-token", contentType: "text/plain", body: "x", status: 415},
		{name: "malformed JSON", method: "POST", path: offers, token: "alice-token", contentType: "application/json", body: `{"price":`, status: 400, detail: "not valid JSON"},
		{name: "invalid model", method: "POST", path: offers, token: "alice-token", contentType: "application/json",
			body: `{"product":"bolt","price":0,"currency":"JPY"}`, status: 400,
			detail: "price: must be greater than 0; currency: must be one of EUR, GBP, USD; quantity: is required"},
		{name: "wrong type", method: "POST", path: offers, token: "alice-token", contentType: "application/json",
			body: `{"product":"bolt","price":"cheap","currency":"EUR","quantity":1}`, status: 400, detail: "price: must be a number"},
		{name: "too large", method: "POST", path: offers, token: "alice-token", contentType: "application/json",
			body: `{"product":"` + strings.Repeat("a", 2<<20) + `"}`, status: 413},
		{name: "delete other's", method: "DELETE", path: offers + "/1002", token: "alice-token", status: 403, detail: "belongs to another participant"},
		{name: "upstream error", method: "GET", path: offers + "/1003/quote", token: "alice-token", status: 502},
		{name: "upstream slow", method: "GET", path: offers + "/1004/quote", token: "alice-token", status: 504},
		{name: "upstream down", method: "GET", path: offers + "/1001/quote?currency=USD", token: "alice-token", status: 503,
			header: map[string]string{"Retry-After": "30"}},
		{name: "panic", method: "GET", path: "/api/v1/debug/panic", token: "alice-token", status: 500},
		{name: "head error", method: "HEAD", path: offers + "/9999", token: "alice-token", status: 404},
		{name: "delete own", method: "DELETE", path: offers + "/1001", token: "alice-token", status: 204},
	}
	received := map[string]int{} // id -> status
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			id, _ := d.check(t, c)
			received[id] = c.status
		})
	}

	// The per-token rate limit: carol's 31st request in the minute is a 429.
	t.Run("rate limit", func(t *testing.T) {
		var last *http.Response
		for range 31 {
			resp, body := d.do(t, call{method: "GET", path: offers, token: "carol-token"})
			last = resp
			if resp.StatusCode == 429 {
				id := checkEnvelope(t, resp, body, 429)
				assert.Regexp(t, `^\d+$`, resp.Header.Get("Retry-After"))
				received[id] = 429
				break
			}
			received[resp.Header.Get("X-Request-Id")] = resp.StatusCode
		}
		require.Equal(t, 429, last.StatusCode)
		// Alice is not limited by carol's use.
		resp, _ := d.do(t, call{method: "GET", path: offers, token: "alice-token"})
		received[resp.Header.Get("X-Request-Id")] = resp.StatusCode
		assert.Equal(t, 200, resp.StatusCode)
	})

	// SIGTERM: a clean exit.
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit status 0 after SIGTERM; stderr: %s", d.stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}

	// Every id received is in the log: exactly one error line for an
	// error, none for a success, and one line per request in all (the
	// error line carries the access fields).
	lines := logLines(t, d.stdout.String())
	errorLines, accessLines, allLines := map[string]int{}, map[string]int{}, map[string]int{}
	for _, l := range lines {
		if l["service"] != "offers" {
			continue
		}
		id, _ := l["id"].(string)
		if _, ok := l["duration"]; ok {
			allLines[id]++
		}
		switch {
		case l["level"] == "warn" || l["level"] == "error":
			errorLines[id]++
			if status, ok := received[id]; ok {
				assert.EqualValues(t, status, l["status"], "the logged status is the one received")
			}
		case l["message"] == "request":
			accessLines[id]++
			if status, ok := received[id]; ok {
				assert.EqualValues(t, status, l["status"], "the access line's status is the one received")
			}
		}
	}
	for id, status := range received {
		want := 0
		if status >= 400 {
			want = 1
		}
		assert.Equal(t, want, errorLines[id], "error lines for %s (status %d)", id, status)
		assert.Equal(t, 1-want, accessLines[id], "access lines for %s (status %d)", id, status)
		assert.Equal(t, 1, allLines[id], "lines with the access fields for %s", id)
	}
	for id := range errorLines {
		_, ok := received[id]
		assert.True(t, ok, "error line for id %s that no client received", id)
	}
	out := d.stdout.String()
	for _, secret := range []string{"alice-token", "bob-token", "carol-token", "mallory", "Bearer "} {
		assert.NotContains(t, out, secret, "tokens are never logged")
	}
	assert.Contains(t, out, `"upstream_status":404`, "the 502's line names the upstream")
	assert.Contains(t, out, `"message":"stopped"`)
}

func (d *demo) do(t *testing.T, c call) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(c.method, d.base+c.path, strings.NewReader(c.body))
	require.NoError(t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func (d *demo) check(t *testing.T, c call) (string, []byte) {
	t.Helper()
	resp, body := d.do(t, c)
	require.Equal(t, c.status, resp.StatusCode, "body: %.300s", body)
	for k, v := range c.header {
		assert.Equal(t, v, resp.Header.Get(k), k)
	}
	id := resp.Header.Get("X-Request-Id")
	require.Len(t, id, 36, "every response has its id")
	if c.status < 400 {
		return id, body
	}
	if c.method == http.MethodHead {
		assert.Empty(t, body)
		return id, body
	}
	checkEnvelope(t, resp, body, c.status)
	if c.detail != "" {
		var env struct{ Error string }
		require.NoError(t, json.Unmarshal(body, &env))
		assert.Contains(t, env.Error, c.detail)
	}
	return id, body
}

// checkEnvelope validates an error response and returns its id.
func checkEnvelope(t *testing.T, resp *http.Response, body []byte, status int) string {
	t.Helper()
	require.NoError(t, apierrortest.ValidateSchema(body), "body: %.300s", body)
	var env struct {
		ID         string
		StatusCode int
	}
	require.NoError(t, json.Unmarshal(body, &env))
	assert.Equal(t, status, env.StatusCode)
	assert.Equal(t, env.ID, resp.Header.Get("X-Request-Id"))
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	if status >= 500 {
		assert.NotContains(t, string(body), "pricing")
		assert.NotContains(t, string(body), "127.0.0.1")
		assert.NotContains(t, string(body), "nil pointer")
	}
	return env.ID
}

// TestBadFlags: a bad value exits 2 with one line naming the flag or the
// environment variable.
func TestBadFlags(t *testing.T) {
	bin := demoBinary(t)
	tests := []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-log-level", "loud"}, "", "flag -log-level"},
		{[]string{"-log-format", "xml"}, "", "flag -log-format"},
		{[]string{"-rate-limit", "many"}, "", "flag -rate-limit"},
		{[]string{"-tokens", "justatoken"}, "", "flag -tokens"},
		{[]string{"-quote-timeout", "soon"}, "", "flag -quote-timeout"},
		{[]string{"-debug-addr", "0.0.0.0:6060"}, "", "flag -debug-addr"},
		{[]string{"-no-such-flag"}, "", "-no-such-flag"},
		{nil, "OFFERS_LOG_LEVEL=loud", "OFFERS_LOG_LEVEL (flag -log-level)"},
		{nil, "OFFERS_RATE_LIMIT=0/1m", "OFFERS_RATE_LIMIT (flag -rate-limit)"},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		cmd.Env = os.Environ()
		if tt.env != "" {
			cmd.Env = append(cmd.Env, tt.env)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%v", tt.args)
		assert.Equal(t, 2, exit.ExitCode(), "%v", tt.args)
		msg := stderr.String()
		assert.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
		assert.Contains(t, msg, tt.want)
	}
}
