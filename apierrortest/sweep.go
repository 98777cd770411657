package apierrortest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/go-chi/chi/v5"
)

// SweepOption configures [Sweep].
type SweepOption func(*sweep)

type sweep struct {
	header http.Header
	skip   func(method, pattern string) bool
}

// WithHeader adds a header to every request of the sweep, for example the
// token that lets the requests past authentication to the router.
func WithHeader(key, value string) SweepOption {
	return func(s *sweep) { s.header.Add(key, value) }
}

// Skip leaves out the routes for which skip returns true.
func Skip(skip func(method, pattern string) bool) SweepOption {
	return func(s *sweep) { s.skip = skip }
}

// wrongMethods are tried, in order, as the method a route does not have.
var wrongMethods = []string{http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost, http.MethodGet}

// Sweep checks the envelope of the errors every chi service can produce
// without a line of its own code: it serves through h (the whole service)
// one request for an unknown route (a 404) and, for every route pattern of
// router found by chi.Walk, one request with a method the pattern does not
// have (a 405 whose Allow header names the methods it does have). Path
// parameters are filled with values their regular expressions accept.
func Sweep(t TestingT, h http.Handler, router chi.Routes, opts ...SweepOption) {
	t.Helper()
	s := &sweep{header: http.Header{}}
	for _, o := range opts {
		o(s)
	}
	byPattern := map[string][]string{}
	err := chi.Walk(router, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if s.skip == nil || !s.skip(method, pattern) {
			byPattern[pattern] = append(byPattern[pattern], method)
		}
		return nil
	})
	if err != nil {
		t.Errorf("apierrortest: walking the routes: %v", err)
		return
	}
	serve := func(method, path string, status int) *http.Response {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range s.header {
			req.Header[k] = v
		}
		resp := Serve(h, req)
		AssertEnvelope(t, resp, status)
		return resp
	}
	serve(http.MethodGet, "/apierrortest-no-such-route", http.StatusNotFound)

	patterns := make([]string, 0, len(byPattern))
	for p := range byPattern {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, pattern := range patterns {
		methods := byPattern[pattern]
		path, ok := samplePath(pattern)
		if !ok {
			t.Errorf("apierrortest: no sample path for route pattern %q", pattern)
			continue
		}
		i := slices.IndexFunc(wrongMethods, func(m string) bool { return !slices.Contains(methods, m) })
		if i < 0 {
			continue // the pattern has every method: no 405 to provoke
		}
		resp := serve(wrongMethods[i], path, http.StatusMethodNotAllowed)
		allow := resp.Header.Get("Allow")
		for _, m := range methods {
			if !containsToken(allow, m) {
				t.Errorf("apierrortest: %s %s: Allow %q does not name %s, which the route has", wrongMethods[i], path, allow, m)
			}
		}
	}
}

func containsToken(list, token string) bool {
	for f := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(f) == token {
			return true
		}
	}
	return false
}

var paramRE = regexp.MustCompile(`\{([^{}:]+)(?::([^{}]*(?:\{[^{}]*\}[^{}]*)*))?\}`)

// paramSamples are tried, in order, for a path parameter with a regexp.
var paramSamples = []string{"1", "a", "A", "a1", "abc", "00000000-0000-0000-0000-000000000000", "2026-01-01"}

// samplePath fills the parameters of a chi pattern with values their
// regular expressions accept; a trailing wildcard becomes "x".
func samplePath(pattern string) (string, bool) {
	ok := true
	path := paramRE.ReplaceAllStringFunc(pattern, func(m string) string {
		sub := paramRE.FindStringSubmatch(m)
		if sub[2] == "" {
			return "1"
		}
		re, err := regexp.Compile("^(?:" + sub[2] + ")$")
		if err != nil {
			ok = false
			return m
		}
		for _, v := range paramSamples {
			if re.MatchString(v) {
				return v
			}
		}
		ok = false
		return m
	})
	path = strings.ReplaceAll(path, "*", "x")
	return path, ok
}
