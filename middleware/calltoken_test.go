package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

// TestCallTokenFromTheClientIsValidated: X-Call-Token is client-controlled;
// only the form StartCall gives (32 lower-case hex characters) is logged,
// anything else is dropped.
func TestCallTokenFromTheClientIsValidated(t *testing.T) {
	good := "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ sent, logged string }{
		{good, good},
		{strings.ToUpper(good), ""},
		{good + "0", ""},
		{good[:31], ""},
		{strings.Repeat("z", 32), ""},
		{strings.Repeat("a", 4096), ""},
		{"0123456789abcdef\"0123456789abcde", ""},
		{"", ""},
	} {
		logs := apierrortest.NewLogCapture()
		h := middleware.Errors(middleware.WithLogger(logs.Logger()), middleware.WithAccessLog(true))(http.NotFoundHandler())
		req := httptest.NewRequest("GET", "/", nil)
		if tc.sent != "" {
			req.Header.Set(middleware.CallTokenHeader, tc.sent)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		lines := logs.Lines()
		require.Len(t, lines, 1)
		if tc.logged == "" {
			assert.NotContains(t, lines[0], "call_token", "sent %q", tc.sent)
		} else {
			assert.Equal(t, tc.logged, lines[0]["call_token"])
		}
	}
}

// TestStartCallIsBounded: a request lists at most 64 call tokens; beyond,
// StartCall gives none (a token nobody records links nothing). Outside the
// middleware it gives none either.
func TestStartCallIsBounded(t *testing.T) {
	assert.Empty(t, middleware.StartCall(httptest.NewRequest("GET", "/", nil).Context()))
	logs := apierrortest.NewLogCapture()
	var tokens []string
	h := middleware.Errors(middleware.WithLogger(logs.Logger()), middleware.WithAccessLog(true))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 70 {
			tokens = append(tokens, middleware.StartCall(r.Context()))
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	seen := map[string]bool{}
	for _, tok := range tokens[:64] {
		assert.Len(t, tok, 32)
		assert.False(t, seen[tok], "tokens are unique")
		seen[tok] = true
	}
	assert.Equal(t, []string{"", "", "", "", "", ""}, tokens[64:])
	assert.Len(t, logs.Lines()[0]["call_tokens"], 64)
}

// TestCallTokenGenerator: WithCallTokenGenerator's tokens are used when
// they have the form a callee logs, replaced by random ones otherwise; nil
// panics when the middleware is built.
func TestCallTokenGenerator(t *testing.T) {
	for _, tc := range []struct{ gen, want string }{
		{"5f0c2a9e7b3d41c8a6e2f9b0d4c7a135", "5f0c2a9e7b3d41c8a6e2f9b0d4c7a135"},
		{"not a token", ""},
	} {
		var got string
		h := middleware.Errors(middleware.WithCallTokenGenerator(func() string { return tc.gen }))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = middleware.StartCall(r.Context())
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		if tc.want != "" {
			assert.Equal(t, tc.want, got)
		} else {
			assert.Len(t, got, 32)
			assert.NotEqual(t, tc.gen, got)
		}
	}
	assert.Panics(t, func() { middleware.Errors(middleware.WithCallTokenGenerator(nil)) })
}
