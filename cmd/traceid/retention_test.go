package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/vlogs"
)

// startVictoriaLogs starts the real VictoriaLogs binary on a free
// loopback port with flags, stopped when the test ends, and returns its
// base URL.
func startVictoriaLogs(t *testing.T, flags ...string) string {
	t.Helper()
	if vlogs.Binary() == "" {
		vlogs.StartForTest(t) // skips or fails the test, as make test says
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cmd := exec.Command(vlogs.Binary(), append([]string{"-httpListenAddr=" + addr, "-storageDataPath=" + t.TempDir(), "-loggerLevel=ERROR"}, flags...)...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond)
	return base
}

// TestRetentionIsTheStores: the verdict on the id's age is against the
// retention the store states (its -retentionPeriod), on one node and on a
// cluster's front node (whose storage nodes keep the lines); a -retention
// that disagrees is used and named; a store whose retention cannot be read
// is said to be so.
func TestRetentionIsTheStores(t *testing.T) {
	single := startVictoriaLogs(t, "-retentionPeriod=45d")
	node := startVictoriaLogs(t, "-retentionPeriod=40d")
	front := startVictoriaLogs(t, "-storageNode="+node[len("http://"):])
	// A store behind a proxy that lets only searches through: its
	// /metrics is out of reach.
	target, _ := url.Parse(single)
	proxy := httputil.NewSingleHostReverseProxy(target)
	notAStore := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/select/") {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(notAStore.Close)
	log := writeLog(t, logLine("offers", "01a21433-216f-72a2-95b6-c1f59791269d", "", nil, "", time.Now()))

	id := "01a21433-216f-72a2-95b6-c1f59791269d" // issued 2026-11-25 09:30
	now := "2027-01-05T00:00:00Z"                // 40.6 days later
	for _, tc := range []struct {
		name      string
		args      []string
		retention string
		from      string
		within    bool
		text      string
		warning   string
	}{
		{"one node", []string{"-store", single}, "1080h0m0s", "store", true, "within the 45-day log retention (the store's -retentionPeriod=45d)", ""},
		{"a cluster", []string{"-store", front}, "960h0m0s", "store", false, "OLDER than the 40-day log retention (the store's -retentionPeriod=40d on storage node " + node[len("http://"):] + ")", ""},
		{"a -retention that disagrees", []string{"-store", single, "-retention", "720h"}, "720h0m0s", "flag", false, "OLDER than the 30-day log retention (-retention; the store says -retentionPeriod=45d)", "-retention 720h0m0s differs from the store's -retentionPeriod=45d"},
		{"not readable", []string{"-store", notAStore.URL}, "720h0m0s", "default", false, "OLDER than the 30-day log retention (the default", "could not read the retention of the store at " + notAStore.URL},
		{"files only", []string{"--", log}, "720h0m0s", "default", false, "OLDER than the 30-day log retention (the default", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-json", "-wait", "0", "-now", now}, tc.args...)
			withID := func(args []string) []string { // the id before the files, after the flags
				for i, a := range args {
					if a == "--" {
						return append(append(append([]string{}, args[:i]...), id), args[i+1:]...)
					}
				}
				return append(args, id)
			}
			var out, errOut bytes.Buffer
			run(withID(args), nil, &out, &errOut)
			st := &story{}
			require.NoError(t, json.Unmarshal(out.Bytes(), st), "%s\n%s", out.String(), errOut.String())
			assert.Equal(t, tc.retention, st.Retention)
			assert.Equal(t, tc.from, st.RetentionFrom)
			require.NotNil(t, st.InRetention)
			assert.Equal(t, tc.within, *st.InRetention)
			if tc.warning != "" {
				require.Len(t, st.Warnings, 1)
				assert.Contains(t, st.Warnings[0], tc.warning)
				assert.Contains(t, errOut.String(), tc.warning)
			} else {
				assert.Empty(t, st.Warnings)
			}
			out.Reset()
			run(withID(args[1:]), nil, &out, &errOut)
			assert.Contains(t, out.String(), tc.text)
		})
	}
}
