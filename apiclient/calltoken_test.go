package apiclient_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/middleware"
)

var tokenPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestCallTokenLinksACallWithoutAnAnswer: a call that timed out has no
// answer, so no id of the callee reaches the caller; yet the caller's line
// lists the call's token and the callee's line carries the same token, so
// the two lines name each other.
func TestCallTokenLinksACallWithoutAnAnswer(t *testing.T) {
	upLogs, logs := apierrortest.NewLogCapture(), apierrortest.NewLogCapture()
	up := upstream(t, upLogs)
	srv := caller(t, logs, apiclient.NewClient(nil), up.URL+"/slow")

	resp, err := http.Get(srv.URL + "/quote")
	require.NoError(t, err)
	env := apierrortest.AssertEnvelope(t, resp, http.StatusGatewayTimeout)
	line := errorLines(t, logs, env.ID)[0]
	assert.Nil(t, line["calls"], "no answer, no callee id")
	tokens, _ := line["call_tokens"].([]any)
	require.Len(t, tokens, 1, "the caller lists the token of the call it made: %v", line)
	token, _ := tokens[0].(string)
	assert.Regexp(t, tokenPattern, token)

	var upLine map[string]any
	require.Eventually(t, func() bool {
		for _, l := range upLogs.Lines() {
			if l["client_request_id"] == env.ID {
				upLine = l
				return true
			}
		}
		return false
	}, 3*time.Second, 5*time.Millisecond, "the slow upstream logs its request when it ends")
	assert.Equal(t, token, upLine["call_token"], "the callee logs the token it received")
}

// TestCallTokenIsTheCallersOwn: every call gets a fresh token, a token on
// the outgoing request (copied from an incoming one) is replaced, the
// caller's request is not changed, and outside the middleware no token
// is sent.
func TestCallTokenIsTheCallersOwn(t *testing.T) {
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get(middleware.CallTokenHeader)
	}))
	defer srv.Close()
	client := apiclient.NewClient(nil)
	relayed := strings.Repeat("ab", 16)
	logs := apierrortest.NewLogCapture()
	h := middleware.Errors(middleware.WithLogger(logs.Logger()), middleware.WithAccessLog(true))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, own := range []string{"", relayed} {
			req, _ := http.NewRequestWithContext(r.Context(), "GET", srv.URL, nil)
			if own != "" {
				req.Header.Set(middleware.CallTokenHeader, own)
			}
			resp, err := client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, own, req.Header.Get(middleware.CallTokenHeader), "the caller's request is not changed")
		}
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(middleware.CallTokenHeader, relayed)
	h.ServeHTTP(httptest.NewRecorder(), req)
	first, second := <-got, <-got
	assert.Regexp(t, tokenPattern, first)
	assert.Regexp(t, tokenPattern, second)
	assert.NotEqual(t, first, second)
	assert.NotEqual(t, relayed, second, "a token on the request is replaced by the caller's own")
	lines := logs.Lines()
	require.Len(t, lines, 1)
	assert.Equal(t, []any{first, second}, lines[0]["call_tokens"])
	assert.Equal(t, relayed, lines[0]["call_token"], "the token this request received")

	// Outside the middleware: nothing is recorded, so nothing is sent,
	// and a copied token is removed.
	out, _ := http.NewRequest("GET", srv.URL, nil)
	out.Header.Set(middleware.CallTokenHeader, relayed)
	resp, err := client.Do(out)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, <-got)
}
