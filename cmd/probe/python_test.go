package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startPython runs testdata/service.py, a 360X service in Python, with
// defect, and returns its URL and log file. make test installs python3
// and sets ERRKIT_REQUIRE_PYTHON, so that a missing interpreter fails the
// test there; elsewhere it skips it.
func startPython(t *testing.T, defect string) (string, string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("ERRKIT_REQUIRE_PYTHON") != "" {
			t.Fatal("python3 is not installed; make test installs it")
		}
		t.Skip("python3 is not installed; make test installs it")
	}
	logPath := filepath.Join(t.TempDir(), "service.log")
	cmd := exec.Command(py, "testdata/service.py", "--defect", defect, "--log", logPath)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "service.py did not start: %s", &stderr)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	require.True(t, ok, "service.py said %q", line)
	return base, logPath
}

// TestPythonService: the probe grades a service in another language the
// same way: the good one passes every check, each broken one fails
// exactly the check it breaks.
func TestPythonService(t *testing.T) {
	for _, tc := range []struct{ defect, check string }{
		{"", ""},
		{"order", "body.members"},
		{"allow", "headers.allow"},
		{"www-authenticate", "headers.www-authenticate"},
		{"log-query", "log.no-canary"},
	} {
		t.Run("defect="+tc.defect, func(t *testing.T) {
			t.Parallel()
			base, logPath := startPython(t, tc.defect)
			r := runProbe(t, append(fullArgs(logPath), "-wait", "2s", base)...)
			if tc.check == "" {
				assert.Equal(t, exitPass, r.code, "stdout: %.4000s", r.stdout)
				for _, c := range r.report.Checks {
					assert.Equal(t, resultPass, c.Result, "%s judged %d: %v", c.ID, c.Judged, c.Failures)
				}
				return
			}
			assert.Equal(t, exitFail, r.code)
			assert.Equal(t, []string{tc.check}, r.failed(), "stdout: %.3000s", r.stdout)
		})
	}
}
