package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const offersSpec = "testdata/offers.openapi.json"

// probeRun is one run of the command.
type probeRun struct {
	code   int
	stdout string
	stderr string
	report report
}

// runProbe runs the command in-process with args (-json added) and reads
// its report.
func runProbe(t *testing.T, args ...string) probeRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"-json"}, args...), &stdout, &stderr)
	r := probeRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if code != exitUsage {
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &r.report), "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	}
	return r
}

// results maps each check to its result.
func (r probeRun) results() map[string]string {
	m := map[string]string{}
	for _, c := range r.report.Checks {
		m[c.ID] = c.Result
	}
	return m
}

func (r probeRun) failed() []string {
	var out []string
	for _, c := range r.report.Checks {
		if c.Result == resultFail {
			out = append(out, c.ID)
		}
	}
	sort.Strings(out)
	return out
}

// startService serves a service with defect (none: "") and returns its
// URL and the path of its log file.
func startService(t *testing.T, defect string) (string, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "service.log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	srv := httptest.NewServer(&service{defect: defect, limit: 25, log: f})
	t.Cleanup(srv.Close)
	return srv.URL, logPath
}

// probeArgs are the flags that make every check but the support side's
// judge something on the test services: the document, credentials,
// -unsafe for the invalid model, a burst for a 429.
func probeArgs() []string {
	return []string{"-openapi", offersSpec, "-H", "Authorization: Bearer " + serviceToken, "-unsafe", "-burst", "40",
		"-rate", "2000", "-sample", "10"}
}

// fullArgs are probeArgs with the support side read from logPath.
func fullArgs(logPath string) []string {
	return append(probeArgs(), "-log", logPath, "-wait", "300ms")
}

// defects are the broken services: each breaks the rule of one check.
var defects = []struct{ defect, check string }{
	{"status-415", "status.expected"},
	{"validate-first", "status.expected"},
	{"order", "body.members"},
	{"status-string", "body.types"},
	{"id-upper", "id.format"},
	{"id-v4", "id.v7"},
	{"id-stale", "id.v7"},
	{"id-repeat", "id.unique"},
	{"id-client", "id.not-client"},
	{"timestamp", "timestamp.format"},
	{"timestamp-stale", "timestamp.format"},
	{"status-code", "status.code"},
	{"path-query", "path.as-sent"},
	{"message", "message.table"},
	{"attrs-unnamed", "invalid-model.attributes"},
	{"5xx-internal", "error.5xx-internal"},
	{"content-type", "headers.contract"},
	{"etag", "headers.contract"},
	{"request-id", "headers.request-id"},
	{"www-authenticate", "headers.www-authenticate"},
	{"allow", "headers.allow"},
	{"retry-after", "headers.retry-after"},
	{"head-body", "head.no-body"},
	{"log-missing", "log.error-line"},
	{"log-status", "log.status-level"},
	{"log-query", "log.no-canary"},
	{"log-query-text", "log.no-canary"}, // a line that is not JSON
	{"log-token", "log.no-canary"},
}

func TestGoodServicePassesEveryCheck(t *testing.T) {
	base, logPath := startService(t, "")
	r := runProbe(t, append(fullArgs(logPath), base)...)
	require.Equal(t, exitPass, r.code, "stdout: %s", r.stdout)
	for _, c := range r.report.Checks {
		assert.Equal(t, resultPass, c.Result, "%s judged %d", c.ID, c.Judged)
	}
	assert.Len(t, r.report.Checks, len(checks))
}

// TestBrokenServicesFailExactlyTheirCheck is the proof that every check
// can fail, and fails alone: each service breaks one rule.
func TestBrokenServicesFailExactlyTheirCheck(t *testing.T) {
	for _, d := range defects {
		t.Run(d.defect, func(t *testing.T) {
			t.Parallel()
			base, logPath := startService(t, d.defect)
			r := runProbe(t, append(fullArgs(logPath), base)...)
			assert.Equal(t, exitFail, r.code)
			assert.Equal(t, []string{d.check}, r.failed(), "stdout: %.3000s", r.stdout)
			assert.NotContains(t, r.stdout, serviceToken, "the report must not show the token given with -H")
			for _, c := range r.report.Checks {
				if c.ID == d.check {
					require.NotEmpty(t, c.Failures)
					assert.NotEmpty(t, c.Failures[0].Problem)
				}
			}
		})
	}
}

func TestEveryCheckHasABrokenService(t *testing.T) {
	var covered []string
	for _, d := range defects {
		covered = append(covered, d.check)
	}
	for _, c := range checks {
		assert.Contains(t, covered, c.ID, "no broken service fails %s", c.ID)
	}
	ids := map[string]bool{}
	for _, c := range checks {
		assert.False(t, ids[c.ID], "check id %s twice", c.ID)
		ids[c.ID] = true
		assert.Regexp(t, `^[a-z0-9-]+(\.[a-z0-9-]+)+$`, c.ID)
		assert.NotEmpty(t, c.Title)
		assert.True(t, strings.HasPrefix(c.Rule, "docs/contract.md"), "%s: %s", c.ID, c.Rule)
	}
}

// TestSafeByDefault: without -unsafe the probe sends no well-formed body
// and no DELETE or POST a service could act on; the checks that need one
// do not apply rather than fail.
func TestSafeByDefault(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	base, logPath := startService(t, "")
	// A recording proxy in front of the service.
	rec := httptest.NewServer(recorder(base, func(line string) { mu.Lock(); seen = append(seen, line); mu.Unlock() }))
	defer rec.Close()
	r := runProbe(t, "-openapi", offersSpec, "-H", "Authorization: Bearer "+serviceToken, "-rate", "2000", "-sample", "2", "-log", logPath, "-wait", "100ms", rec.URL)
	require.Equal(t, exitPass, r.code, r.stdout)
	assert.Equal(t, resultSkip, r.results()["invalid-model.attributes"])
	for _, c := range r.report.Checks {
		if c.ID == "invalid-model.attributes" {
			assert.Contains(t, c.Skip, "-unsafe", "a skipped check says what makes it apply")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		method, body, _ := strings.Cut(s, " ")
		assert.NotEqual(t, "DELETE", method, s)
		if method == "PUT" || method == "PATCH" {
			assert.Empty(t, body, "the 405 probe sends no body")
		}
		if method == "POST" {
			assert.False(t, json.Valid([]byte(body)), "a well-formed body was sent: %.80s", body)
		}
	}
}

func TestReportFormats(t *testing.T) {
	base, logPath := startService(t, "allow")
	junit := filepath.Join(t.TempDir(), "probe.xml")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(fullArgs(logPath), "-junit", junit, base), &stdout, &stderr)
	assert.Equal(t, exitFail, code)
	text := stdout.String()
	assert.Contains(t, text, "FAIL    headers.allow")
	assert.Contains(t, text, "FAIL headers.allow: a 405 has Allow with the path's methods")
	assert.Contains(t, text, "rule: docs/contract.md")
	assert.Contains(t, text, "> PATCH /api/v1/participant/offers")
	assert.Contains(t, text, "< 405 Method Not Allowed")
	assert.Contains(t, text, `"statusCode":405`)
	assert.NotContains(t, text, serviceToken, "the report must not show the token given with -H")

	data, err := os.ReadFile(junit)
	require.NoError(t, err)
	var suites junitSuites
	require.NoError(t, xml.Unmarshal(data, &suites))
	require.Len(t, suites.Suites, 1)
	s := suites.Suites[0]
	assert.Equal(t, len(checks), s.Tests)
	assert.Equal(t, 1, s.Failures)
	for _, c := range s.Cases {
		if c.Name == "headers.allow" {
			require.NotNil(t, c.Failure)
			assert.Contains(t, c.Failure.Message, "no Allow header")
		} else {
			assert.Nil(t, c.Failure, c.Name)
		}
	}
}

func TestBadFlagsAndUnreachableExit2(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	for name, args := range map[string][]string{
		"no base":          {},
		"two bases":        {"http://a", "http://b"},
		"not http":         {"ftp://x"},
		"query in base":    {"http://127.0.0.1:1/?x=1"},
		"log and store":    {"-log", "x", "-store", "http://127.0.0.1:1", "http://127.0.0.1:1"},
		"bad header":       {"-H", "no colon", "http://127.0.0.1:1"},
		"hop header":       {"-H", "Connection: keep-alive", "http://127.0.0.1:1"},
		"no document":      {"-openapi", "testdata/none.json", "http://127.0.0.1:1"},
		"not openapi 3":    {"-openapi", "testdata/swagger2.json", "http://127.0.0.1:1"},
		"unreachable":      {closed},
		"sample too small": {"-sample", "1", "http://127.0.0.1:1"},
		"no log file":      {"-log", "testdata/none.log", "http://127.0.0.1:1"},
		"no store":         {"-store", closed, "http://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runProbe(t, args...)
			assert.Equal(t, exitUsage, r.code)
			assert.True(t, strings.HasPrefix(r.stderr, "probe: ") || strings.Contains(r.stderr, "usage"), r.stderr)
		})
	}
}

func TestYAMLDocumentReadsAsJSON(t *testing.T) {
	j, err := loadSpec(context.Background(), offersSpec)
	require.NoError(t, err)
	y, err := loadSpec(context.Background(), "testdata/offers.openapi.yaml")
	require.NoError(t, err)
	assert.Equal(t, j, y)
	var post operation
	for _, p := range j.paths {
		for _, op := range p.ops {
			if p.template == "/api/v1/participant/offers" && op.method == "POST" {
				post = op
			}
			if p.template == "/healthz" {
				assert.False(t, op.secured, "security: [] makes /healthz open")
			}
		}
	}
	assert.Equal(t, operation{method: "POST", secured: true, jsonBody: true, required: []string{"currency", "price", "product", "quantity"}}, post)
}

func TestFillNamesNoResource(t *testing.T) {
	p := &prober{run: "abcd"}
	assert.Equal(t, "/a/probe-abcd/b/probe-abcd", p.fill("/a/{x}/b/{y}"))
	assert.Equal(t, "/plain", p.fill("/plain"))
	assert.Equal(t, "/broken{", p.fill("/broken{"))
	assert.True(t, slices.Contains([]string{"GET", "PATCH", "PUT"}, (&prober{o: &options{}}).disallowed([]string{"POST"})))
	assert.Equal(t, "", (&prober{o: &options{}}).disallowed([]string{"GET", "PATCH", "PUT"}))
	assert.Equal(t, "DELETE", (&prober{o: &options{unsafe: true}}).disallowed([]string{"GET", "PATCH", "PUT"}))
}

func TestDocumentFromURL(t *testing.T) {
	doc := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	defer doc.Close()
	s, err := loadSpec(context.Background(), doc.URL+"/offers.openapi.yaml")
	require.NoError(t, err)
	assert.Len(t, s.paths, 5)
	_, err = loadSpec(context.Background(), doc.URL+"/none.json")
	assert.ErrorContains(t, err, "404")
}

// demoRoutes are testdata/offers.openapi.json as -route flags.
var demoRoutes = []string{
	"-route", "GET /healthz",
	"-route", "GET,POST /api/v1/participant/offers auth json=product,price,currency,quantity",
	"-route", "GET,DELETE /api/v1/participant/offers/{id} auth",
	"-route", "GET /api/v1/participant/offers/{id}/quote auth",
	"-route", "GET /api/v1/debug/panic auth",
}

func TestRoutesByFlag(t *testing.T) {
	var routes routeFlags
	for i := 1; i < len(demoRoutes); i += 2 {
		require.NoError(t, routes.Set(demoRoutes[i]))
	}
	doc, err := loadSpec(context.Background(), offersSpec)
	require.NoError(t, err)
	got := routes.addTo(nil).paths
	sort.Slice(got, func(i, j int) bool { return got[i].template < got[j].template })
	assert.Equal(t, doc.paths, got, "the flags say what the document says")

	base, logPath := startService(t, "")
	args := append(fullArgs(logPath), demoRoutes...)
	args = slices.Delete(args, 0, 2) // no -openapi
	r := runProbe(t, append(args, base)...)
	assert.Equal(t, exitPass, r.code, r.stdout)
	for _, c := range r.report.Checks {
		assert.Equal(t, resultPass, c.Result, c.ID)
	}

	for _, bad := range []string{"GET", "/x", "GET x", "GET /x?q", "G3T /x", "GET /x admin"} {
		assert.Error(t, (&routeFlags{}).Set(bad), bad)
	}
}

func TestTLS(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "service.log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	defer f.Close()
	srv := httptest.NewTLSServer(&service{limit: 25, log: f})
	defer srv.Close()
	r := runProbe(t, append(fullArgs(logPath), "-insecure", srv.URL)...)
	assert.Equal(t, exitPass, r.code, r.stdout)
	r = runProbe(t, srv.URL)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "certificate")
}

// TestWithoutCredentials: a secured path may answer 401 before it routes
// or validates; without -H credentials that is not a failure, and the
// probe says what it could not reach.
func TestWithoutCredentials(t *testing.T) {
	base, logPath := startService(t, "")
	r := runProbe(t, "-openapi", offersSpec, "-unsafe", "-rate", "2000", "-sample", "2", "-log", logPath, "-wait", "300ms", base)
	assert.Equal(t, exitPass, r.code, r.stdout)
	assert.Contains(t, r.stderr, "no credentials given with -H")
	assert.Equal(t, resultSkip, r.results()["invalid-model.attributes"], "the 401 comes first")
}

// TestRateLimitsItself: requests start at least 1/-rate apart, as the
// probe sent them and as the service saw them.
func TestRateLimitsItself(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	base, _ := startService(t, "")
	rec := httptest.NewServer(recorder(base, func(string) { mu.Lock(); arrivals = append(arrivals, time.Now()); mu.Unlock() }))
	defer rec.Close()
	o, err := parseFlags([]string{"-rate", "50", "-sample", "5", rec.URL}, io.Discard)
	require.NoError(t, err)
	answers := newProber(o, nil).probe(context.Background())
	require.Len(t, answers, 10)
	for i := 1; i < len(answers); i++ {
		assert.GreaterOrEqual(t, answers[i].sent.Sub(answers[i-1].sent), 20*time.Millisecond, "requests %d and %d", i-1, i)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, arrivals, len(answers))
	// What the network or a busy machine adds to one arrival it takes
	// from the next gap, not from the whole span.
	span := arrivals[len(arrivals)-1].Sub(arrivals[0])
	assert.GreaterOrEqual(t, span, time.Duration(len(arrivals)-1)*20*time.Millisecond-15*time.Millisecond)
}
