package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/demoproc"
	"github.com/360x/errkit/internal/vlogs"
)

// demoDir holds the demo's binary, built once for the package's tests
// and removed by TestMain.
var demoDir string

var demoBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "probe-demo")
	if err != nil {
		return "", err
	}
	demoDir = dir
	return demoproc.Build("../..", dir)
})

func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		_ = os.RemoveAll(demoDir)
	}
	os.Exit(code)
}

// startDemo runs the demo on a free loopback port with its log in a file,
// and returns its URL and the file.
func startDemo(t *testing.T, args ...string) (string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the demo")
	}
	bin, err := demoBinary()
	require.NoError(t, err)
	logPath := filepath.Join(t.TempDir(), "offers.log")
	out, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-rate-limit", "25/1m"}, args...)...)
	cmd.Stdout = out
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = out.Close() })
	var base string
	require.Eventually(t, func() bool {
		f, err := os.Open(logPath)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "listening" && l.Addr != "" {
				base = "http://" + l.Addr
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the demo did not start: %s", &stderr)
	return base, logPath
}

// demoArgs are the flags that make every check judge the demo: its
// document and a token, -unsafe for the invalid model, and a burst over
// the demo's 25 requests a minute for a 429.
func demoArgs() []string {
	return []string{"-openapi", offersSpec, "-H", "Authorization: Bearer alice-token", "-unsafe", "-burst", "40", "-rate", "500", "-sample", "10"}
}

func assertEveryCheckPasses(t *testing.T, r probeRun) {
	t.Helper()
	assert.Equal(t, exitPass, r.code, "stdout: %.4000s\nstderr: %s", r.stdout, r.stderr)
	require.Len(t, r.report.Checks, len(checks))
	for _, c := range r.report.Checks {
		assert.Equal(t, resultPass, c.Result, "%s judged %d: %v", c.ID, c.Judged, c.Failures)
	}
}

// TestDemoPassesEveryCheck: the kit's demo keeps the contract, its log
// file included.
func TestDemoPassesEveryCheck(t *testing.T) {
	base, logPath := startDemo(t)
	r := runProbe(t, append(demoArgs(), "-log", logPath, "-wait", "15s", base)...)
	assertEveryCheckPasses(t, r)
	assert.Positive(t, r.report.Requests)
}

// TestDemoPassesEveryCheckFromTheStore: the same, with the support side
// read from a real VictoriaLogs the demo ships its log to.
func TestDemoPassesEveryCheckFromTheStore(t *testing.T) {
	store := vlogs.StartForTest(t)
	base, _ := startDemo(t, "-vlogs-url", store.URL)
	r := runProbe(t, append(demoArgs(), "-store", store.URL, "-store-filter", "service:offers", "-wait", "15s", base)...)
	assertEveryCheckPasses(t, r)
	assert.Equal(t, store.URL, r.report.Support)
}

// TestStoreSideCanFail: read from the store, the support checks fail as
// they do from a file: a service whose lines carry the query string, and
// one whose 404s never reach the store.
func TestStoreSideCanFail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts VictoriaLogs")
	}
	store := vlogs.StartForTest(t)
	for _, tc := range []struct{ defect, check, wait string }{
		{"", "", "15s"}, // the probe stops waiting when every id is in
		{"log-query", "log.no-canary", "15s"},
		{"log-missing", "log.error-line", "2s"}, // it waits all of -wait
	} {
		t.Run("defect="+tc.defect, func(t *testing.T) {
			t.Parallel()
			name := "fake-" + tc.defect
			srv := httptest.NewServer(&service{defect: tc.defect, limit: 25, log: storeWriter(store.URL), name: name})
			defer srv.Close()
			r := runProbe(t, append(probeArgs(), "-wait", tc.wait, "-store", store.URL, "-store-filter", "service:"+strconv.Quote(name), srv.URL)...)
			if tc.check == "" {
				assertEveryCheckPasses(t, r)
				return
			}
			assert.Equal(t, exitFail, r.code)
			assert.Equal(t, []string{tc.check}, r.failed(), "stdout: %.3000s", r.stdout)
		})
	}
}

// storeWriter sends each line written to it to the VictoriaLogs at base,
// at once: the reference service's log, shipped.
type storeWriter string

func (base storeWriter) Write(p []byte) (int, error) {
	resp, err := http.Post(string(base)+"/insert/jsonline?_stream_fields=service&_msg_field=message", "application/stream+json", bytes.NewReader(p))
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("the store answered %s", resp.Status)
	}
	return len(p), nil
}
