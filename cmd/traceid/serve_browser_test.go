package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/demoproc"
	"github.com/360x/errkit/internal/vlogs"
)

// chromiumBinary returns Debian's Chromium ($CHROMIUM_BIN, else
// /usr/bin/chromium). make test installs it and sets
// ERRKIT_REQUIRE_CHROMIUM, so that a missing browser fails the test there;
// elsewhere it skips it.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("CHROMIUM_BIN")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("ERRKIT_REQUIRE_CHROMIUM") != "" {
			t.Fatal("Chromium is not installed at " + bin + "; make test installs Debian's chromium package")
		}
		t.Skip("Chromium is not installed at " + bin + "; make test installs Debian's chromium package")
	}
	return bin
}

// browser starts a headless Chromium for the test, with a fresh profile
// and none of its own network traffic, and returns a tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	// The profile is removed once the browser is gone: its helper
	// processes may still write there as it closes, which t.TempDir's own
	// removal does not wait for.
	profile, err := os.MkdirTemp("", "traceid-chromium-")
	require.NoError(t, err)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumBinary(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1920, 1080),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancelT()
		cancel()
		cancelA()
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	require.NoError(t, chromedp.Run(ctx), "starting Chromium")
	return ctx
}

// demoWithStore builds and starts the demo shipping its log to store, and
// returns its base URL.
func demoWithStore(t *testing.T, store *vlogs.Server) string {
	t.Helper()
	dir := t.TempDir()
	bin, err := demoproc.Build("../..", dir)
	require.NoError(t, err)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-vlogs-url", store.URL)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		sent := false
		for sc.Scan() { // read to the end, so the demo never blocks on its log
			var l map[string]any
			if !sent && json.Unmarshal(sc.Bytes(), &l) == nil && l["message"] == "listening" {
				addr <- "http://" + l["addr"].(string)
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(15 * time.Second):
		t.Fatal("the demo did not say it was listening")
	}
	return ""
}

// ask sends a request to the demo as alice and returns the envelope's id.
func ask(t *testing.T, base, path string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer alice-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env struct{ ID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	require.NotEmpty(t, env.ID)
	return env.ID
}

// hostileLines are log lines whose every client-controlled field tries to
// run a script on the page: markup, event-handler attributes, javascript:
// URLs, and broken UTF-8.
func hostileLines(id string, at time.Time) string {
	ts := at.UTC().Format("2006-01-02T15:04:05.000Z")
	return `{"level":"error","service":"<script>window.__pwned='service'</script>","id":"` + id + `",` +
		`"method":"<img src=x onerror=\"window.__pwned='method'\">","path":"/x\"><script>window.__pwned='path'</script>",` +
		`"trace_id":"' onmouseover='window.__pwned=\"trace\"","status":500,` +
		`"detail":"javascript:window.__pwned='detail'","cause":"<svg onload=\"window.__pwned='cause'\"></svg>",` +
		`"<b onclick=\"window.__pwned='key'\">key</b>":"<a href=\"javascript:window.__pwned='href'\">click</a>",` +
		`"broken":"caf` + "\xe9\xff\xfe" + ` <iframe src=\"javascript:window.__pwned='iframe'\"></iframe>",` +
		`"duration":1.5,"time":"` + ts + `","message":"</textarea><script>window.__pwned='message'</script>"}` + "\n"
}

// chain64 is a story of 64 hops: each request of offers calls the next,
// named by both sides, 2 ms inside its caller.
func chain64(at time.Time) (string, []string) {
	var b strings.Builder
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = newID()
	}
	for i, id := range ids {
		m := map[string]any{"level": "info", "service": []string{"offers", "pricing", "fx", "stock"}[i%4], "id": id, "method": "GET",
			"path": fmt.Sprintf("/hop/%d", i), "status": 200, "duration": float64(64-i) * 2,
			"time": at.Add(-time.Duration(i) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z"), "message": "request"}
		if i > 0 {
			m["client_request_id"] = ids[i-1]
		}
		if i < 63 {
			m["calls"] = []string{ids[i+1]}
			m["status"], m["level"], m["message"], m["detail"] = 502, "error", "Bad Gateway", "An upstream service failed to answer the request."
		} else {
			m["status"], m["level"], m["message"], m["detail"] = 503, "error", "Service Unavailable", "The last hop is down."
		}
		line, _ := json.Marshal(m)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String(), ids
}

// TestConsoleInABrowser: the demo ships its log to a real VictoriaLogs;
// support logs in to the console in a real Chromium, pastes a ticket,
// reads the verdict, expands a line (with the keyboard), follows a link;
// hostile lines show as text and never run a script; the page reads at
// 360 and 1,920 px, with AA contrast, and a 64-hop story too.
func TestConsoleInABrowser(t *testing.T) {
	ctx := browser(t)
	store := vlogs.StartForTest(t)
	demo := demoWithStore(t, store)
	badGateway := ask(t, demo, "/api/v1/participant/offers/1003/quote")
	// An anonymous client names the 502's id as its own client's: a claim
	// the 502's lines do not confirm.
	forger, err := http.NewRequest(http.MethodDelete, demo+"/api/v1/participant/offers/1002", nil)
	require.NoError(t, err)
	forger.Header.Set("X-Request-Id", badGateway)
	resp, err := http.DefaultClient.Do(forger)
	require.NoError(t, err)
	resp.Body.Close()

	now := time.Now()
	var shipper *vlogs.Shipper
	hostileID := newID()
	hops, hopIDs := chain64(now)
	logs := filepath.Join(t.TempDir(), "other.log")
	require.NoError(t, os.WriteFile(logs, []byte(hops), 0o600))
	hostileShipped := newID()
	shipper, err = vlogs.NewShipper(store.URL, time.Hour)
	require.NoError(t, err)
	_, err = shipper.Write([]byte(hostileLines(hostileShipped, now)))
	require.NoError(t, err)
	require.NoError(t, shipper.Close(context.Background()))
	require.NoError(t, os.WriteFile(logs, []byte(hops+hostileLines(hostileID, now)), 0o600))

	const token = "console-test-token-0123456789"
	c, err := newConsole(consoleConfig{token: token, store: store.URL, logs: []string{logs}}) // the retention: the store's
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)

	// The demo's lines are in the store once its shipper has sent them.
	require.Eventually(t, func() bool {
		_ = store.Flush()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/story/"+badGateway, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st docStory
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil && len(st.Order) == 2 && len(st.Claims) == 1
	}, 15*time.Second, 100*time.Millisecond, "the 502's two requests and the forged claim in the store")

	var dialogs []string
	var mu sync.Mutex
	chromedp.ListenTarget(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, d.Message)
			mu.Unlock()
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(true)) }()
		}
	})
	shots := os.Getenv("TRACEID_SCREENSHOTS") // a folder: make screenshots writes docs/console-*.png
	shoot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if shots == "" {
				return nil
			}
			var png []byte
			shot := chromedp.FullScreenshot(&png, 100) // quality 100: a PNG
			if strings.HasPrefix(name, "64-hops") {
				shot = chromedp.CaptureScreenshot(&png) // the first screen: the whole page is 10,000 px high
			}
			if err := shot.Do(ctx); err != nil {
				return err
			}
			if name == "home-1920" {
				return nil // docs/console.md shows the home page at 360 px only
			}
			return os.WriteFile(filepath.Join(shots, "console-"+name+".png"), png, 0o644)
		})
	}

	// Log in through the form.
	var loginTitle string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#token`),
		chromedp.Text(`h1`, &loginTitle),
		shoot("login"),
		chromedp.SendKeys(`#token`, token),
		chromedp.Submit(`#token`),
		chromedp.WaitVisible(`#paste`),
	))
	assert.Equal(t, "Log in", loginTitle)
	checkLayout(t, ctx, shoot, "home")
	require.NoError(t, chromedp.Run(ctx, chromedp.EmulateViewport(1920, 1080)))

	// Paste a ticket, a sentence with the id and the URL, and send it
	// from the keyboard: Tab to the button, Enter.
	ticket := "Hello, our integration got a 502 from https://api.360x.example/api/v1/participant/offers/1003/quote?x=1 this morning, error id " + badGateway + ". Thanks"
	var verdictText, agreement, location, summaryText, claims, focused string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SendKeys(`#paste`, ticket),
		chromedp.KeyEvent("\t"),
		chromedp.Evaluate(`document.activeElement.textContent`, &focused),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`.verdict`),
		chromedp.Text(`.verdict`, &verdictText),
		chromedp.Text(`.agreement`, &agreement),
		chromedp.Location(&location),
		chromedp.Value(`#summary`, &summaryText),
		chromedp.Text(`.claims`, &claims),
	))
	assert.Equal(t, "Find the story", focused)
	assert.Contains(t, claims, "UNCONFIRMED")
	assert.Contains(t, claims, "DELETE /api/v1/participant/offers/1002: names "+badGateway+" as its client")
	assert.Contains(t, location, "/story/"+badGateway)
	assert.Contains(t, verdictText, "The client got 502 Bad Gateway from offers on GET /api/v1/participant/offers/1003/quote")
	assert.Contains(t, verdictText, `Root cause: the pricing service answered 404 "Product discontinued has no price."`)
	assert.Contains(t, verdictText, "days left before its lines expire")
	assert.Contains(t, agreement, "The client says 502 on /api/v1/participant/offers/1003/quote; the log agrees.")
	assert.Contains(t, summaryText, badGateway)
	assert.NotContains(t, summaryText, "pricing", "no internal service or cause in the summary")

	// Expand a line with the keyboard: focus its summary, press Enter.
	var open bool
	var fields string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.EmulateViewport(1920, 1080),
		chromedp.Focus(`article.request.depth-1 details.line summary`),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`article.request.depth-1 details.line dl`),
		chromedp.Evaluate(`document.querySelector("article.request.depth-1 details.line").open`, &open),
		chromedp.Text(`article.request.depth-1 details.line dl`, &fields),
	))
	assert.True(t, open)
	assert.Contains(t, fields, "client_request_id")

	// The console's own script runs under its CSP: the copy button.
	var copied string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.WaitVisible(`#copy`),
		chromedp.Click(`#copy`),
		chromedp.Poll(`document.getElementById("copy-status").textContent`, &copied, chromedp.WithPollingTimeout(5*time.Second)),
	))
	assert.NotEmpty(t, copied)
	assert.Contains(t, fields, badGateway)

	checkLayout(t, ctx, shoot, "story")

	// Follow a link: the pricing request in the timeline.
	var pricingVerdict string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.EmulateViewport(1920, 1080),
		chromedp.Click(`.lane:nth-of-type(2) a.rid`),
		chromedp.WaitVisible(`.verdict`),
		chromedp.Location(&location),
		chromedp.Text(`.verdict`, &pricingVerdict),
	))
	assert.NotContains(t, location, badGateway)
	assert.Contains(t, pricingVerdict, "offers' request "+badGateway+" got 404 Not Found from pricing on GET /prices/discontinued")

	// Hostile lines, from the file and from the store: text, never a script.
	for _, id := range []string{hostileID, hostileShipped} {
		var pwned, body string
		var handlers int
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Navigate(srv.URL+"/story/"+id),
			chromedp.WaitVisible(`.verdict`),
			chromedp.Click(`.expand-all`),
			chromedp.Evaluate(`String(window.__pwned)`, &pwned),
			chromedp.Evaluate(`document.body.innerText`, &body),
			chromedp.Evaluate(`Array.from(document.querySelectorAll("*")).filter(e => Array.from(e.attributes).some(a => a.name.startsWith("on") || /^\s*javascript:/i.test(a.value)) || ["IFRAME","IMG","B"].includes(e.tagName) || (e.tagName === "SCRIPT" && !e.src.endsWith("/assets/console.js")) || (e.tagName === "svg" && !e.classList.contains("bar"))).length`, &handlers),
			shoot("hostile"),
		))
		assert.Equal(t, "undefined", pwned, "a hostile line ran a script")
		assert.Zero(t, handlers, "a hostile line made an element or an attribute")
		assert.Contains(t, body, "<script>window.__pwned='service'</script>", "shown as text")
		assert.Contains(t, body, "<a href=\"javascript:window.__pwned='href'\">click</a>")
		assert.Contains(t, body, "caf\uFFFD", "broken UTF-8 shown as U+FFFD")
	}

	// 64 hops: every request has its row, at both widths.
	var rows int
	require.NoError(t, chromedp.Run(ctx,
		chromedp.EmulateViewport(1920, 1080),
		chromedp.Navigate(srv.URL+"/story/"+hopIDs[0]),
		chromedp.WaitVisible(`.verdict`),
		chromedp.Evaluate(`document.querySelectorAll(".timeline .row").length`, &rows),
		chromedp.Text(`.verdict`, &verdictText),
	))
	assert.Equal(t, 64, rows)
	assert.Contains(t, verdictText, "the stock service answered 503")
	checkLayout(t, ctx, shoot, "64-hops")

	mu.Lock()
	assert.Empty(t, dialogs, "no dialog opened")
	mu.Unlock()
}

// checkLayout checks the page at 360 and 1,920 px: nothing wider than the
// screen, and every text at the contrast WCAG AA asks for.
func checkLayout(t *testing.T, ctx context.Context, shoot func(string) chromedp.Action, name string) {
	t.Helper()
	for _, width := range []int64{360, 1920} {
		var scroll int64
		var worst struct {
			Ratio float64
			Text  string
		}
		require.NoError(t, chromedp.Run(ctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Evaluate(`document.documentElement.scrollWidth`, &scroll),
			chromedp.Evaluate(contrastJS, &worst),
			shoot(fmt.Sprintf("%s-%d", name, width)),
		))
		var wide []string
		if scroll > width {
			_ = chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible").map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).slice(0, 8)`, &wide))
		}
		assert.LessOrEqual(t, scroll, width, "%s at %d px: wider than the screen: %v", name, width, wide)
		assert.GreaterOrEqual(t, worst.Ratio, 4.5, "%s at %d px: contrast of %q", name, width, worst.Text)
	}
}

// contrastJS returns the lowest contrast ratio between a visible text and
// the background behind it, and that text.
const contrastJS = `(() => {
  const rgb = s => { const m = s.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  let worst = {Ratio: 21, Text: ""};
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !e || !e.getClientRects().length) continue;
    const s = getComputedStyle(e);
    if (s.visibility === "hidden" || s.display === "none") continue;
    const a = lum(rgb(s.color)), b = lum(bg(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst.Ratio) worst = {Ratio: ratio, Text: n.textContent.trim().slice(0, 60)};
  }
  return worst;
})()`
