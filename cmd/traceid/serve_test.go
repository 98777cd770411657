package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testToken = "serve-test-token-0123456789abcdef"

// quoteLogs writes the lines the demo writes for its quote route, as the
// README shows them, with fresh ids: a 502 (pricing answered 404), a 504
// (pricing too slow), a 500 whose upstream failed with an internal cause,
// and a 404 of offers alone. It returns the log and the client's ids.
func quoteLogs(t *testing.T) (log string, ids map[string]string) {
	t.Helper()
	at := time.Now().UTC()
	ts := func(ms int) string {
		return at.Add(time.Duration(ms) * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}
	ids = map[string]string{}
	for _, k := range []string{"502", "502.pricing", "504", "504.pricing", "500", "500.pricing", "404", "200", "200.fx", "running"} {
		ids[k] = newID()
	}
	lines := []string{
		`{"level":"info","service":"offers","id":"` + ids["502"] + `","trace_id":"2b2ca8275bc3602a1520e586cb75b45d","offer":"1003","product":"discontinued","time":"` + ts(0) + `","message":"quote requested"}`,
		`{"level":"warn","service":"pricing","id":"` + ids["502.pricing"] + `","method":"GET","path":"/prices/discontinued","trace_id":"2b2ca8275bc3602a1520e586cb75b45d","client_request_id":"` + ids["502"] + `","status":404,"detail":"Product discontinued has no price.","bytes":199,"duration":0.04815,"time":"` + ts(1) + `","message":"Not Found"}`,
		`{"level":"error","service":"offers","id":"` + ids["502"] + `","method":"GET","path":"/api/v1/participant/offers/1003/quote","trace_id":"2b2ca8275bc3602a1520e586cb75b45d","status":502,"detail":"An upstream service failed to answer the request. Quote the id to 360X support.","cause":"pricing answered 404: 404 Not Found: Product discontinued has no price.","upstream_id":"` + ids["502.pricing"] + `","upstream_status":404,"upstream_path":"/prices/discontinued","bytes":263,"duration":1.628788,"time":"` + ts(2) + `","message":"Bad Gateway"}`,
		`{"level":"info","service":"pricing","id":"` + ids["504.pricing"] + `","method":"GET","path":"/prices/bulk","client_request_id":"` + ids["504"] + `","status":499,"cause":"context canceled","client_gone":true,"bytes":231,"duration":500.629965,"time":"` + ts(600) + `","message":"Client Closed Request"}`,
		`{"level":"error","service":"offers","id":"` + ids["504"] + `","method":"GET","path":"/api/v1/participant/offers/1004/quote","status":504,"detail":"The request took too long to complete. Try again later.","cause":"pricing: Get \"http://127.0.0.1:41749/prices/bulk\": context deadline exceeded","upstream_id":"` + ids["504.pricing"] + `","bytes":253,"duration":501.154743,"time":"` + ts(600) + `","message":"There was a generic error"}`,
		`{"level":"error","service":"pricing","id":"` + ids["500.pricing"] + `","method":"GET","path":"/prices/widget","client_request_id":"` + ids["500"] + `","status":500,"detail":"The server encountered an unexpected error. Quote the id to 360X support.","cause":"pq: relation \"prices\" does not exist","internal_detail":"secret table layout","duration":0.2,"time":"` + ts(700) + `","message":"Generic Error"}`,
		`{"level":"error","service":"offers","id":"` + ids["500"] + `","method":"GET","path":"/api/v1/participant/offers/1001/quote","status":502,"detail":"An upstream service failed to answer the request. Quote the id to 360X support.","cause":"pricing answered 500","upstream_id":"` + ids["500.pricing"] + `","upstream_status":500,"upstream_path":"/prices/widget","duration":0.9,"time":"` + ts(700) + `","message":"Bad Gateway"}`,
		`{"level":"error","service":"fx","id":"` + ids["200.fx"] + `","method":"GET","path":"/rates","client_request_id":"` + ids["200"] + `","status":503,"detail":"The service is temporarily unavailable. Try again later.","duration":0.3,"time":"` + ts(900) + `","message":"Connection Error"}`,
		`{"level":"info","service":"offers","id":"` + ids["200"] + `","method":"GET","path":"/api/v1/participant/offers/1001/quote","status":200,"calls":["` + ids["200.fx"] + `"],"duration":2.5,"time":"` + ts(901) + `","message":"request"}`,
		`{"level":"info","service":"offers","id":"` + ids["running"] + `","offer":"1001","time":"` + ts(950) + `","message":"quote requested"}`,
		`{"level":"warn","service":"offers","id":"` + ids["404"] + `","method":"GET","path":"/api/v1/participant/offers/9999","status":404,"detail":"Offer \"9999\" was not found.","duration":0.1,"time":"` + ts(800) + `","message":"Not Found"}`,
	}
	log = filepath.Join(t.TempDir(), "demo.log")
	require.NoError(t, os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return log, ids
}

func newTestConsole(t *testing.T, now time.Time, logs ...string) *httptest.Server {
	t.Helper()
	c, err := newConsole(consoleConfig{token: testToken, logs: logs, retention: 720 * time.Hour, now: func() time.Time { return now }})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv
}

// get fetches path with the bearer token, if any, and returns the answer
// and its body.
func get(t *testing.T, srv *httptest.Server, path, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirects.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// text is a page's text: its markup gone, its entities decoded.
func text(page string) string {
	return html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, ""))
}

// TestServeRefusesToStart: no token, a short one, nothing to search, a
// bad store URL: the console does not start and says why.
func TestServeRefusesToStart(t *testing.T) {
	log := filepath.Join(t.TempDir(), "a.log")
	require.NoError(t, os.WriteFile(log, nil, 0o600))
	tests := []struct {
		name, token string
		args        []string
		want        string
	}{
		{"no token", "", []string{log}, "TRACEID_TOKEN is not set"},
		{"short token", "short", []string{log}, "shorter than 16"},
		{"sixteen bytes, nine characters", strings.Repeat("é", 9), []string{log}, "shorter than 16"},
		{"a token with its newline", testToken + "\n", []string{log}, "white space"},
		{"spaces", strings.Repeat(" ", 16), []string{log}, "white space"},
		{"nothing to search", testToken, nil, "nothing to search"},
		{"bad store", testToken, []string{"-store", "localhost:9428"}, "want the http(s) URL"},
		{"missing log", testToken, []string{filepath.Join(t.TempDir(), "missing.log")}, "no such file"},
		{"stdin", testToken, []string{"-"}, "cannot read standard input"},
		{"bad retention", testToken, []string{"-retention", "-1h", log}, "want a duration above 0"},
		{"zero retention", testToken, []string{"-retention", "0", log}, "want a duration above 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			code := serveCommand(append([]string{"-listen", "127.0.0.1:0"}, tt.args...), func(k string) string {
				if k == "TRACEID_TOKEN" {
					return tt.token
				}
				return ""
			}, &errOut)
			assert.Equal(t, 2, code)
			assert.Contains(t, errOut.String(), tt.want)
		})
	}
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run([]string{"serve"}, nil, &out, &errOut), "traceid serve is reached from the command line")
}

// TestEveryRouteNeedsTheToken: without the token, or with a wrong one, an
// expired or forged session, every route answers 401 with nothing of the
// logs; with it, the page and the API answer.
func TestEveryRouteNeedsTheToken(t *testing.T) {
	log, ids := quoteLogs(t)
	now := time.Now()
	srv := newTestConsole(t, now, log)
	expired := newGate(testToken, func() time.Time { return now.Add(-sessionTTL - time.Minute) }).session()
	forged := newGate("another-token-0123456789", func() time.Time { return now }).session()
	routes := []string{"/", "/story/" + ids["502"], "/api/story/" + ids["502"], "/nothing", "/story/not-an-id"}
	for _, route := range routes {
		for _, creds := range []struct{ name, header, cookie string }{
			{"none", "", ""},
			{"wrong bearer", "Bearer not-the-token", ""},
			{"empty bearer", "Bearer ", ""},
			{"basic", "Basic " + testToken, ""},
			{"the token as a cookie", "", testToken},
			{"expired session", "", expired},
			{"session of another token", "", forged},
			{"bad session", "", "4102444800.AAAA"},
		} {
			t.Run(route+" "+creds.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+route, nil)
				if creds.header != "" {
					req.Header.Set("Authorization", creds.header)
				}
				if creds.cookie != "" {
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: creds.cookie})
				}
				resp, err := noRedirects.Do(req)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
				assert.Equal(t, `Bearer realm="traceid"`, resp.Header.Get("WWW-Authenticate"))
				for _, secret := range []string{ids["502.pricing"], "discontinued", "pricing", "Bad Gateway", "quote"} {
					assert.NotContains(t, string(body), secret)
				}
			})
		}
	}
	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		req, _ := http.NewRequest(method, srv.URL+"/find", strings.NewReader("paste="+ids["502"]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirects.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, method)
	}
	resp, body := get(t, srv, "/story/"+ids["502"], testToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "discontinued")
	resp, _ = get(t, srv, "/api/story/"+ids["502"], testToken)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = get(t, srv, "/assets/console.css", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the console's own files need no token: they hold nothing of the logs")
}

// login is a browser's login: the form, then its post, with the form's
// nonce cookie.
func login(t *testing.T, srv *httptest.Server, jar http.CookieJar, token string, edit func(*http.Request, url.Values)) *http.Response {
	t.Helper()
	client := &http.Client{Jar: jar, CheckRedirect: noRedirects.CheckRedirect}
	resp, err := client.Get(srv.URL + "/login?next=/story/" + newID())
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="nonce" value="([0-9a-f]+)"`).FindSubmatch(page)
	require.NotNil(t, m, "the form has its nonce")
	form := url.Values{"token": {token}, "nonce": {string(m[1])}, "next": {"/"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if edit != nil {
		edit(req, form)
	}
	req.Body = io.NopCloser(strings.NewReader(form.Encode()))
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// TestLoginForm: the form sets an HttpOnly, SameSite=Strict session
// cookie that opens the pages; a post from another site, or without the
// form's nonce, logs nobody in; a wrong token is refused; next cannot
// lead off the site.
func TestLoginForm(t *testing.T) {
	log, ids := quoteLogs(t)
	srv := newTestConsole(t, time.Now(), log)

	jar, _ := cookiejar.New(nil)
	resp := login(t, srv, jar, testToken, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/", resp.Header.Get("Location"))
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	require.NotNil(t, session)
	assert.True(t, session.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, session.SameSite)
	assert.NotContains(t, session.Value, testToken)
	client := &http.Client{Jar: jar}
	r, err := client.Get(srv.URL + "/story/" + ids["502"])
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusOK, r.StatusCode, "the cookie opens the pages")

	// Logging out ends it.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/logout", nil)
	req.Header.Set("Origin", srv.URL)
	r, err = (&http.Client{Jar: jar, CheckRedirect: noRedirects.CheckRedirect}).Do(req)
	require.NoError(t, err)
	r.Body.Close()
	r, err = client.Get(srv.URL + "/story/" + ids["502"])
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, r.StatusCode, "logged out")

	tests := []struct {
		name string
		edit func(*http.Request, url.Values)
		code int
	}{
		{"wrong token", func(_ *http.Request, f url.Values) { f.Set("token", "not-the-token") }, http.StatusUnauthorized},
		{"no nonce", func(_ *http.Request, f url.Values) { f.Del("nonce") }, http.StatusForbidden},
		{"another nonce", func(_ *http.Request, f url.Values) { f.Set("nonce", nonce()) }, http.StatusForbidden},
		{"another site's origin", func(r *http.Request, _ url.Values) { r.Header.Set("Origin", "https://evil.example") }, http.StatusForbidden},
		{"null origin", func(r *http.Request, _ url.Values) { r.Header.Set("Origin", "null") }, http.StatusForbidden},
		{"cross-site", func(r *http.Request, _ url.Values) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, http.StatusForbidden},
		{"same-site", func(r *http.Request, _ url.Values) { r.Header.Set("Sec-Fetch-Site", "same-site") }, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			resp := login(t, srv, jar, testToken, tt.edit)
			assert.Equal(t, tt.code, resp.StatusCode)
			for _, c := range resp.Cookies() {
				assert.NotEqual(t, sessionCookie, c.Name, "no session")
			}
		})
	}
	for next, want := range map[string]string{"//evil.example/x": "/", "https://evil.example/": "/", "/\\evil.example": "/", "/story/" + ids["502"]: "/story/" + ids["502"]} {
		jar, _ := cookiejar.New(nil)
		resp := login(t, srv, jar, testToken, func(_ *http.Request, f url.Values) { f.Set("next", next) })
		assert.Equal(t, want, resp.Header.Get("Location"), next)
	}
}

// TestAPIIsTheJSONDocument: /api/story/{id} answers what traceid -json
// prints for the same logs at the same time; 404 with the document when
// no line has the id, 400 for what is not an id.
func TestAPIIsTheJSONDocument(t *testing.T) {
	log, ids := quoteLogs(t)
	now := time.Now().UTC().Truncate(time.Second)
	srv := newTestConsole(t, now, log)
	for _, id := range []string{ids["502"], ids["504.pricing"], newID()} {
		var out, errOut bytes.Buffer
		code := run([]string{"-json", "-now", now.Format(time.RFC3339), "-retention", "720h", id, log}, nil, &out, &errOut)
		resp, body := get(t, srv, "/api/story/"+strings.ToUpper(id), testToken)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		if code == 0 {
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		} else {
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		}
		assert.Equal(t, out.String(), body, "byte for byte")
	}
	resp, body := get(t, srv, "/api/story/ticket-42", testToken)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body, "not a 360X id")
}

// TestVerdicts: the page says first what the client got and the root
// cause, and the summary to copy holds nothing internal.
func TestVerdicts(t *testing.T) {
	log, ids := quoteLogs(t)
	srv := newTestConsole(t, time.Now(), log)
	tests := []struct {
		id      string
		verdict []string
	}{
		{ids["502"], []string{
			"The client got 502 Bad Gateway from offers on GET /api/v1/participant/offers/1003/quote, after 1.6 ms.",
			`Root cause: the pricing service answered 404 "Product discontinued has no price." to offers' call, `,
		}},
		{ids["504"], []string{
			"The client got 504 There was a generic error from offers on GET /api/v1/participant/offers/1004/quote, after 501 ms.",
			"Root cause: the pricing service did not answer offers' call within 501 ms",
		}},
		{ids["500"], []string{
			`Root cause: the pricing service answered 500 "The server encountered an unexpected error. Quote the id to 360X support." to offers' call`,
			`Its log gives the cause: pq: relation "prices" does not exist.`,
		}},
		{ids["404"], []string{
			"The client got 404 Not Found from offers on GET /api/v1/participant/offers/9999, after 0.100 ms.",
			`offers refused the request as it was sent: "Offer \"9999\" was not found.". Nothing failed on 360X's side.`,
		}},
		{ids["502.pricing"], []string{"offers' request " + ids["502"] + " got 404 Not Found from pricing on GET /prices/discontinued",
			`pricing refused offers' call: "Product discontinued has no price."`,
			"This id is of a call between 360X services, made while answering the client's request " + ids["502"] + " (GET /api/v1/participant/offers/1003/quote), which got 502 Bad Gateway"}},
		{ids["200"], []string{
			"The client got 200 from offers on GET /api/v1/participant/offers/1001/quote, after 2.5 ms.",
			"The request succeeded, though 1 request it made failed: see the timeline.",
		}},
		{ids["running"], []string{"No line of offers gives the answer's status"}},
		{newID(), []string{"No log line has this id."}},
	}
	for _, tt := range tests {
		resp, page := get(t, srv, "/story/"+tt.id, testToken)
		body := text(page)
		verdict := body[strings.Index(body, "Verdict"):]
		verdict = verdict[:strings.Index(verdict, "days")]
		for _, want := range tt.verdict {
			assert.Contains(t, verdict, want, tt.id)
		}
		if strings.HasPrefix(tt.verdict[0], "No log line") {
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		}
		summary := body[strings.Index(body, "Summary for the ticket"):]
		summary = summary[:strings.Index(summary, "Copy the summary")]
		client := tt.id
		if tt.id == ids["502.pricing"] {
			client = ids["502"] // the ticket is about what the client got
			assert.NotContains(t, verdict, "Nothing failed on 360X's side")
		}
		assert.Contains(t, summary, "360X request id: "+client)
		for _, internal := range []string{"pricing", "pq:", "secret", "context deadline", "127.0.0.1", "/prices/", "discontinued has no price"} {
			assert.NotContains(t, summary, internal, tt.id)
		}
	}
}

// TestPasteFindsTheStory: the paste form reads the id (and what the
// client claims) and sends the browser to the story, which says whether
// the log agrees.
func TestPasteFindsTheStory(t *testing.T) {
	log, ids := quoteLogs(t)
	srv := newTestConsole(t, time.Now(), log)
	envelope := `{"id":"` + ids["502"] + `","timestamp":"2026-11-25T23:15:47.114Z","statusCode":502,"message":"Bad Gateway","error":"An upstream service failed to answer the request. Quote the id to 360X support.","path":"/api/v1/participant/offers/1003/quote"}`
	tests := []struct {
		name, paste, agreement string
		code                   int
	}{
		{"bare id", ids["502"], "", http.StatusOK},
		{"envelope", "The client wrote:\n" + envelope, "The client says 502 on /api/v1/participant/offers/1003/quote; the log agrees.", http.StatusOK},
		{"sentence", "We get 502 from https://api.example/api/v1/participant/offers/1003/quote?currency=EUR, id " + strings.ToUpper(ids["502"]), "the log agrees.", http.StatusOK},
		{"retyped status", "error 500 on /api/v1/participant/offers/1003/quote id " + ids["502"], "the log shows this id answered 502, not 500, on /api/v1/participant/offers/1003/quote", http.StatusOK},
		{"other path", "404 on /api/v1/participant/offers/1001 id " + ids["502"], "the log shows this id answered 502 on another path, /api/v1/participant/offers/1003/quote", http.StatusOK},
		{"unknown id", "502 on /x id " + newID(), "the log has no answer for this id", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/find", strings.NewReader(url.Values{"paste": {tt.paste}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Origin", srv.URL)
			resp, err := noRedirects.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			loc := resp.Header.Get("Location")
			require.True(t, strings.HasPrefix(loc, "/story/"), loc)
			r, page := get(t, srv, loc, testToken)
			assert.Equal(t, tt.code, r.StatusCode)
			if tt.agreement == "" {
				assert.NotContains(t, text(page), "The client says")
			} else {
				assert.Contains(t, text(page), tt.agreement)
			}
		})
	}
	post := func(paste, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/find", strings.NewReader(url.Values{"paste": {paste}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Origin", origin)
		resp, err := noRedirects.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	assert.Equal(t, http.StatusUnprocessableEntity, post("ticket 42: it does not work", srv.URL).StatusCode)
	assert.Equal(t, http.StatusRequestEntityTooLarge, post(strings.Repeat("a", maxPaste+8<<10), srv.URL).StatusCode)
	assert.Equal(t, http.StatusForbidden, post(ids["502"], "https://evil.example").StatusCode)
}

func TestParsePaste(t *testing.T) {
	id, other := "01a214fe-6929-7a37-a8df-75e48731f1d4", "01a214fe-692a-76d9-8d2e-be251096d6b7"
	tests := []struct {
		name, paste string
		want        pasted
	}{
		{"bare", id, pasted{ID: id}},
		{"upper case, spaces", "  " + strings.ToUpper(id) + "\n", pasted{ID: id}},
		{"envelope", `{"id":"` + id + `","statusCode":502,"message":"Bad Gateway","path":"/api/v1/participant/offers/1003/quote"}`,
			pasted{ID: id, Says: claimed{502, "/api/v1/participant/offers/1003/quote"}}},
		{"envelope's id over the others", `upstream ` + other + ` said {"id":"` + id + `","statusCode":502,"path":"/a"}`,
			pasted{ID: id, Others: []string{other}, Says: claimed{502, "/a"}}},
		{"headers", "HTTP/1.1 504 Gateway Timeout\nX-Request-Id: " + id, pasted{ID: id, Says: claimed{Status: 504}}},
		{"sentence with a URL", "Got 503 calling https://api.360x.example/api/v1/participant/offers/1001/quote?currency=USD (id " + id + ").",
			pasted{ID: id, Says: claimed{503, "/api/v1/participant/offers/1001/quote"}}},
		{"a path", "DELETE /api/v1/participant/offers/1002 failed: " + id, pasted{ID: id, Says: claimed{Path: "/api/v1/participant/offers/1002"}}},
		{"the id's digits are no status", "01a21433-216f-72a2-95b6-c1f597912404", pasted{ID: "01a21433-216f-72a2-95b6-c1f597912404"}},
		{"the URL's port is no status", "http://localhost:8080/x " + id, pasted{ID: id, Says: claimed{Path: "/x"}}},
		{"two ids", id + " and " + other, pasted{ID: id, Others: []string{other}}},
		{"no id", "ticket 42: 502 on /x", pasted{Says: claimed{502, "/x"}}},
		{"a broken envelope", `{"id":"` + id + `","statusCode":502,`, pasted{ID: id, Says: claimed{Status: 502}}},
		{"a port, then the status", "api.example.com:443 returned 502 for id " + id, pasted{ID: id, Says: claimed{Status: 502}}},
		{"a quantity, then the status", "Our order of 500 units failed with 404, id " + id, pasted{ID: id, Says: claimed{Status: 404}}},
		{"the status by its reason phrase", "we saw 200 items, then 503 Service Unavailable: " + id, pasted{ID: id, Says: claimed{Status: 503}}},
		{"two numbers, no telling", "500 units, 404 boxes: " + id, pasted{ID: id}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parsePaste(tt.paste))
		})
	}
}

// TestHostileLinesAreText: every value of a hostile line reaches the page
// escaped, behind a strict Content-Security-Policy.
func TestHostileLinesAreText(t *testing.T) {
	id := newID()
	log := filepath.Join(t.TempDir(), "hostile.log")
	require.NoError(t, os.WriteFile(log, []byte(hostileLines(id, time.Now())), 0o600))
	srv := newTestConsole(t, time.Now(), log)
	resp, page := get(t, srv, "/story/"+id, testToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, contentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	assert.Contains(t, contentSecurityPolicy, "script-src 'self';")
	assert.NotContains(t, contentSecurityPolicy, "unsafe")
	for _, raw := range []string{"<script>window", "<img", "<svg onload", "<b onclick", "<a href=\"javascript", "<iframe", "</textarea><script>"} {
		assert.NotContains(t, page, raw)
	}
	assert.Regexp(t, `^<script src="/assets/console.js" defer></script>$`, scriptTags(page), "the page's one script is the console's own")
	assert.Contains(t, text(page), "<script>window.__pwned='service'</script>", "shown as text")
	assert.True(t, strings.Contains(page, "caf\uFFFD\uFFFD\uFFFD"), "broken UTF-8 as U+FFFD")
	assert.NotContains(t, page, "\xff")
}

func scriptTags(page string) string {
	return strings.Join(regexp.MustCompile(`<script[^>]*>[^<]*</script>`).FindAllString(page, -1), "\n")
}

// TestRetention: the page says how many days are left, or that the lines
// have expired.
func TestRetention(t *testing.T) {
	log, ids := quoteLogs(t)
	issued, _ := issuedAt(ids["502"])
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{issued.Add(10 * 24 * time.Hour), "20.0 days left before its lines expire"},
		{issued.Add(40 * 24 * time.Hour), "its lines expired 10.0 days ago"},
	} {
		srv := newTestConsole(t, tt.now, log)
		_, page := get(t, srv, "/story/"+ids["502"], testToken)
		assert.Contains(t, text(page), tt.want)
	}
	_, page := get(t, newTestConsole(t, time.Now(), log), "/story/93aa74d5-8caf-473f-af2f-42cf806ddfdc", testToken)
	assert.Contains(t, text(page), "not a UUIDv7")

	// An id dated in the future is no id a service made: no days left,
	// no verdict on the retention.
	srv := newTestConsole(t, issued.Add(-400*24*time.Hour), log)
	_, page = get(t, srv, "/story/"+ids["502"], testToken)
	assert.Contains(t, text(page), "in the future: no 360X service with a right clock made it")
	assert.NotContains(t, text(page), "days left")
	_, doc := get(t, srv, "/api/story/"+ids["502"], testToken)
	assert.NotContains(t, doc, "within_retention")
	assert.Contains(t, doc, "in the future")
}

// TestTimelineToScale: each request's bar is drawn to one scale, a call
// inside its caller.
func TestTimelineToScale(t *testing.T) {
	log, ids := quoteLogs(t)
	srv := newTestConsole(t, time.Now(), log)
	_, page := get(t, srv, "/story/"+ids["504"], testToken)
	bars := regexp.MustCompile(`<rect class="span" x="(\d+)" y="0" width="(\d+)"`).FindAllStringSubmatch(page, -1)
	require.Len(t, bars, 2)
	var x, w [2]int
	for i, b := range bars {
		fmt.Sscan(b[1], &x[i])
		fmt.Sscan(b[2], &w[i])
	}
	assert.Equal(t, [2]int{0, 1000}, [2]int{x[0], w[0]}, "the outermost request spans the timeline")
	assert.InDelta(t, 999, w[1], 2, "pricing took 500.6 of its 501.2 ms")
	assert.LessOrEqual(t, x[1]+w[1], 1000, "a call inside its caller")
	var doc docStory
	_, api := get(t, srv, "/api/story/"+ids["504"], testToken)
	require.NoError(t, json.Unmarshal([]byte(api), &doc))
	assert.Len(t, doc.Order, 2)
}

// TestStoryPageGolden pins the story page byte for byte, from a fixed log
// and a fixed clock: a 502 whose upstream answered 404, and a forged
// claim. go test -run TestStoryPageGolden -update rewrites
// testdata/console/*.html.
func TestStoryPageGolden(t *testing.T) {
	now, err := time.Parse(time.RFC3339, "2026-11-26T00:00:00Z")
	require.NoError(t, err)
	srv := newTestConsole(t, now, "testdata/console/chain.log")
	for _, tc := range []struct{ golden, path string }{
		{"story.html", "/story/01a2120a-6224-7000-8000-c1f5979100a1?status=502&path=/api/v1/participant/offers/1003/quote"},
		{"story-pricing.html", "/story/01a2120a-6226-7000-8000-c1f5979100a2"},
		{"story-unknown.html", "/story/01a2120a-6224-7000-8000-c1f5979100ff"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			_, page := get(t, srv, tc.path, testToken)
			path := filepath.Join("testdata", "console", tc.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(page), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), page)
		})
	}
}

// TestSlowStore: a store that does not answer costs the page its query's
// timeout, then a 502 that says the logs could not be read, with nothing
// of the store's error; the operator's log says why.
func TestSlowStore(t *testing.T) {
	release := make(chan struct{})
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(store.Close)
	t.Cleanup(func() { close(release) })
	var warn serveLog
	const timeout = time.Second
	c, err := newConsole(consoleConfig{token: testToken, store: store.URL, retention: 720 * time.Hour, timeout: timeout, warn: &warn})
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	start := time.Now()
	resp, page := get(t, srv, "/story/"+newID(), testToken)
	// One bound for the whole search, its retries for a store that lags
	// included (it took two timeouts).
	assert.Less(t, time.Since(start), timeout+800*time.Millisecond)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, text(page), "The logs could not be read")
	assert.NotContains(t, page, store.URL)
	assert.Contains(t, warn.String(), store.URL)
	resp, body := get(t, srv, "/api/story/"+newID(), testToken)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.JSONEq(t, `{"error":"the logs could not be read"}`, body)
}

// serveLog is a bytes.Buffer for writers on several goroutines.
type serveLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *serveLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *serveLog) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FuzzParsePaste: whatever a ticket holds, the paste gives a canonical id
// or none, never one of its other ids twice, an HTTP status or none, and
// a path that is valid UTF-8.
func FuzzParsePaste(f *testing.F) {
	for _, seed := range []string{
		"01a214fe-6929-7a37-a8df-75e48731f1d4",
		`{"id":"01a214fe-6929-7a37-a8df-75e48731f1d4","statusCode":502,"path":"/api/v1/participant/offers/1003/quote"}`,
		"got 504 on https://api.example/a/b?c=d id 01A214FE-6929-7A37-A8DF-75E48731F1D4",
		`{"id":"x"} {"id":"01a214fe-6929-7a37-a8df-75e48731f1d4","statusCode":"502"}`,
		"\xff\xfe/\xc0 404 {",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p := parsePaste(text)
		if p.ID != "" {
			id, err := canonicalID(p.ID)
			require.NoError(t, err)
			assert.Equal(t, id, p.ID)
		}
		seen := map[string]bool{p.ID: true}
		for _, o := range p.Others {
			assert.False(t, seen[o], "an id twice")
			seen[o] = true
		}
		if s := p.Says.Status; s != 0 {
			assert.True(t, s >= 100 && s <= 599, "status %d", s)
		}
		assert.True(t, utf8.ValidString(p.Says.Path), "path %q", p.Says.Path)
	})
}
