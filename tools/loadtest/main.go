// Command loadtest runs the demo server under vegeta on loopback with a mix
// of successes, every 4xx of the contract, panics, upstream failures,
// oversized bodies and slow clients, then reconciles what the clients
// received with what the server logged:
//
//   - error responses that are not valid envelopes (must be 0);
//   - ids received that are not in exactly one error line (must be 0);
//   - error lines whose id no client received (must be 0, apart from
//     requests whose client gave up, counted separately);
//   - goroutines and heap after the run against before it.
//
// It exits non-zero on any breach. It builds the demo and vegeta (pinned as
// a tool in go.mod) into a temporary directory. `make loadtest` runs it for
// 30 s; `make test` runs a 5 s version.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/360x/errkit/apierrortest"
	"github.com/360x/errkit/internal/demoproc"
)

type options struct {
	duration     time.Duration
	rate         int
	slowClients  int
	maxGoroutine int
	maxHeapMiB   float64
	root         string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "length of the attack")
	flag.IntVar(&o.rate, "rate", 240, "requests per second")
	flag.IntVar(&o.slowClients, "slow-clients", 8, "clients that send their headers a byte at a time")
	flag.IntVar(&o.maxGoroutine, "max-goroutine-growth", 10, "goroutines allowed after the run over before it")
	flag.Float64Var(&o.maxHeapMiB, "max-heap-growth", 32, "MiB of live heap allowed after the run over before it")
	flag.StringVar(&o.root, "root", ".", "the repository root")
	flag.Parse()
	checks, breaches, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	}
	fmt.Printf("loadtest: %d passed, %d failed\n", checks-breaches, breaches)
	if breaches > 0 {
		os.Exit(1)
	}
}

// target is one request of the mix and the status it must get.
type target struct {
	method, path, token, contentType, body string
	status                                 []int // any of these
}

// mix returns the attack's targets. Alice's requests are spread over
// tokens that stay under the rate limit; carol's one token exceeds it.
func mix(bigBody string) []target {
	const offers = "/api/v1/participant/offers"
	json := "application/json"
	ts := []target{
		{method: "GET", path: "/healthz", status: []int{200}},
		{method: "GET", path: offers, status: []int{200}},
		{method: "GET", path: offers + "/1001", status: []int{200}},
		// 507 once the demo's store holds its 1,000 offers.
		{method: "POST", path: offers, contentType: json, body: `{"product":"bolt","price":1.5,"currency":"EUR","quantity":3}`, status: []int{201, 507}},
		{method: "GET", path: offers + "/1001/quote", status: []int{200}},
		{method: "GET", path: offers, token: "-", status: []int{401}},
		{method: "DELETE", path: offers + "/1002", status: []int{403}},
		{method: "GET", path: offers + "/9999", status: []int{404}},
		{method: "HEAD", path: offers + "/9999", status: []int{404}},
		{method: "GET", path: "/no-such-route", status: []int{404}},
		{method: "PUT", path: offers, status: []int{405}},
		{method: "POST", path: offers, contentType: "text/plain", body: "hello", status: []int{415}},
		{method: "POST", path: offers, contentType: json, body: `{"price":`, status: []int{400}},
		{method: "POST", path: offers, contentType: json, body: `{"product":"x","price":0,"currency":"JPY"}`, status: []int{400}},
		{method: "POST", path: offers, contentType: json, body: bigBody, status: []int{413}},
		{method: "GET", path: "/api/v1/debug/panic", status: []int{500}},
		{method: "GET", path: offers + "/1003/quote", status: []int{502}},
		{method: "GET", path: offers + "/1001/quote?currency=USD", status: []int{503}},
		{method: "GET", path: offers + "/1004/quote", status: []int{504}},
	}
	for range 8 {
		ts = append(ts, target{method: "GET", path: offers, token: "carol-token", status: []int{200, 429}})
	}
	for i := range ts {
		if ts[i].token == "" {
			ts[i].token = fmt.Sprintf("alice-%d", i)
		}
		// A query parameter no route reads tells the targets apart in
		// vegeta's results (and is never logged).
		sep := "?"
		if strings.Contains(ts[i].path, "?") {
			sep = "&"
		}
		ts[i].path += fmt.Sprintf("%st=%d", sep, i)
	}
	return ts
}

func run(o options) (checks, breaches int, err error) {
	tmp, err := os.MkdirTemp("", "loadtest")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(tmp)

	demo, err := demoproc.Build(o.root, tmp)
	if err != nil {
		return 0, 0, err
	}
	vegeta, err := demoproc.BuildVegeta(o.root, tmp)
	if err != nil {
		return 0, 0, err
	}

	bigBody := `{"product":"` + strings.Repeat("a", 2<<20) + `"}`
	targets := mix(bigBody)
	// Each alice token gets rate/len(targets); the limit is four times
	// that; carol's eight targets together get twice the limit.
	perTarget := max(1, o.rate/len(targets))
	limit := 4 * perTarget
	var tokens []string
	for _, t := range targets {
		if strings.HasPrefix(t.token, "alice-") && !slices.Contains(tokens, t.token+"=alice") {
			tokens = append(tokens, t.token+"=alice")
		}
	}
	tokens = append(tokens, "bob-token=bob", "carol-token=carol")

	addr, err := demoproc.FreeAddr()
	if err != nil {
		return 0, 0, err
	}
	debugAddr, err := demoproc.FreeAddr()
	if err != nil {
		return 0, 0, err
	}
	logPath := filepath.Join(tmp, "demo.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, 0, err
	}
	var stderr bytes.Buffer
	srv := exec.Command(demo, "-addr", addr, "-debug-addr", debugAddr,
		"-tokens", strings.Join(tokens, ","), "-rate-limit", fmt.Sprintf("%d/1s", limit),
		"-read-header-timeout", "1s")
	srv.Stdout, srv.Stderr = logFile, &stderr
	if err := srv.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = srv.Process.Kill() }()
	base := "http://" + addr
	if err := demoproc.WaitReady(base + "/healthz"); err != nil {
		return 0, 0, fmt.Errorf("%w; stderr: %s", err, stderr.String())
	}
	before, err := readVars("http://" + debugAddr)
	if err != nil {
		return 0, 0, err
	}

	targetFile, err := writeTargets(tmp, base, targets, bigBody)
	if err != nil {
		return 0, 0, err
	}
	results := filepath.Join(tmp, "results.bin")

	var slow slowReport
	var wg sync.WaitGroup
	wg.Go(func() { slow = slowClients(addr, o.slowClients, 3*time.Second) })
	attack := exec.Command(vegeta, "attack", "-targets", targetFile, "-rate", fmt.Sprintf("%d/1s", o.rate),
		"-duration", o.duration.String(), "-timeout", "10s", "-output", results)
	if out, err := attack.CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("vegeta attack: %v: %s", err, out)
	}
	wg.Wait()

	time.Sleep(time.Second) // let idle connections close
	after, err := readVars("http://" + debugAddr)
	if err != nil {
		return 0, 0, err
	}
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, 0, err
	}
	if err := srv.Wait(); err != nil {
		return 0, 0, fmt.Errorf("demo exit: %v; stderr: %s", err, stderr.String())
	}
	_ = logFile.Close()

	encoded, err := exec.Command(vegeta, "encode", "-to", "json", results).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("vegeta encode: %w", err)
	}
	logData, err := os.ReadFile(logPath)
	if err != nil {
		return 0, 0, err
	}
	rep, err := reconcile(encoded, logData, targets, base)
	if err != nil {
		return 0, 0, err
	}
	rep.slow = slow
	rep.before, rep.after = before, after
	breaches = rep.print(o)
	return rep.checks, breaches, nil
}

func writeTargets(dir, base string, targets []target, bigBody string) (string, error) {
	var b strings.Builder
	for i, t := range targets {
		fmt.Fprintf(&b, "%s %s%s\n", t.method, base, t.path)
		if t.token != "-" {
			fmt.Fprintf(&b, "Authorization: Bearer %s\n", t.token)
		}
		fmt.Fprintf(&b, "X-Request-Id: loadtest-%d\n", i)
		if t.contentType != "" {
			fmt.Fprintf(&b, "Content-Type: %s\n", t.contentType)
		}
		if t.body != "" {
			bodyFile := filepath.Join(dir, fmt.Sprintf("body-%d", i))
			if err := os.WriteFile(bodyFile, []byte(t.body), 0o600); err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "@%s\n", bodyFile)
		}
		b.WriteString("\n")
	}
	path := filepath.Join(dir, "targets.txt")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// result is one line of `vegeta encode -to json`.
type result struct {
	Code    int                 `json:"code"`
	Error   string              `json:"error"`
	Body    []byte              `json:"body"`
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers"`
}

type report struct {
	requests, noResponse, wrongStatus, badEnvelopes int
	unseen                                          []int // statuses of the mix never received
	checks                                          int
	idsMissing, idsDuplicated, unmatchedLines       int
	statuses                                        map[int]int
	slow                                            slowReport
	before, after                                   vars
	examples                                        []string
}

func reconcile(encoded, logData []byte, targets []target, base string) (*report, error) {
	rep := &report{statuses: map[int]int{}}
	want := map[string][]int{}
	for _, t := range targets {
		want[t.method+" "+base+t.path] = t.status
	}
	received := map[string]int{} // id -> status
	sc := bufio.NewScanner(bytes.NewReader(encoded))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("vegeta result: %w", err)
		}
		rep.requests++
		if r.Code == 0 {
			rep.noResponse++
			continue
		}
		rep.statuses[r.Code]++
		if !slices.Contains(want[r.Method+" "+r.URL], r.Code) {
			rep.wrongStatus++
			rep.example("wrong status %d for %s %s", r.Code, r.Method, r.URL)
		}
		h := http.Header(r.Headers)
		id := h.Get("X-Request-Id")
		received[id] = r.Code
		if r.Code < 400 {
			continue
		}
		req, _ := http.NewRequest(r.Method, r.URL, nil)
		resp := &http.Response{StatusCode: r.Code, Header: h, Request: req}
		if _, problems := apierrortest.Check(resp, r.Body, r.Code); len(problems) > 0 {
			rep.badEnvelopes++
			rep.example("not an envelope: %s %s → %d: %s", r.Method, r.URL, r.Code, problems[0])
		}
	}
	errorLines := map[string]int{}
	ls := bufio.NewScanner(bytes.NewReader(logData))
	ls.Buffer(make([]byte, 1<<20), 16<<20)
	for ls.Scan() {
		var l map[string]any
		if err := json.Unmarshal(ls.Bytes(), &l); err != nil {
			rep.example("log line is not JSON: %.200s", ls.Text())
			rep.badEnvelopes++
			continue
		}
		if l["service"] != "offers" || (l["level"] != "warn" && l["level"] != "error") {
			continue
		}
		id, _ := l["id"].(string)
		errorLines[id]++
	}
	for _, t := range targets {
		for _, st := range t.status {
			if st == http.StatusInsufficientStorage {
				continue // only once the store is full, which a short run may not reach
			}
			if rep.statuses[st] == 0 && !slices.Contains(rep.unseen, st) {
				rep.unseen = append(rep.unseen, st)
			}
		}
	}
	for id, status := range received {
		n := errorLines[id]
		switch {
		case status >= 400 && n == 0:
			rep.idsMissing++
			rep.example("id %s (status %d) is in no error line", id, status)
		case status >= 400 && n > 1:
			rep.idsDuplicated++
			rep.example("id %s is in %d error lines", id, n)
		case status < 400 && n > 0:
			rep.idsDuplicated++
			rep.example("id %s (status %d) has an error line", id, status)
		}
	}
	for id := range errorLines {
		if _, ok := received[id]; !ok {
			rep.unmatchedLines++
		}
	}
	return rep, nil
}

func (r *report) example(format string, args ...any) {
	if len(r.examples) < 10 {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

// print writes the report and returns the number of breaches.
func (r *report) print(o options) int {
	codes := make([]int, 0, len(r.statuses))
	for c := range r.statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var mixLine []string
	for _, c := range codes {
		mixLine = append(mixLine, fmt.Sprintf("%d×%d", c, r.statuses[c]))
	}
	breaches := 0
	row := func(name string, got, limit int) {
		r.checks++
		verdict := "ok"
		if got > limit {
			verdict = "BREACH"
			breaches++
		}
		fmt.Printf("| %-62s | %8d | %-6s |\n", name, got, verdict)
	}
	fmt.Printf("load: %s at %d req/s, %d slow clients\n", o.duration, o.rate, o.slowClients)
	fmt.Printf("requests: %d (no response: %d); statuses: %s\n\n", r.requests, r.noResponse, strings.Join(mixLine, " "))
	fmt.Printf("| %-62s | %8s | %-6s |\n|%s|%s|%s|\n", "check", "count", "result", strings.Repeat("-", 64), strings.Repeat("-", 10), strings.Repeat("-", 8))
	row("responses with an unexpected status", r.wrongStatus, 0)
	row(fmt.Sprintf("statuses of the mix never received %v", r.unseen), len(r.unseen), 0)
	row("error responses that are not valid envelopes", r.badEnvelopes, 0)
	row("ids received in no error line (status >= 400)", r.idsMissing, 0)
	row("ids in more than one error line, or successes with one", r.idsDuplicated, 0)
	row("error lines no client received (allowed: requests without response)", r.unmatchedLines, r.noResponse)
	row("slow clients not ended by the server", r.slow.started-r.slow.ended, 0)
	g := r.after.Goroutines - r.before.Goroutines
	row(fmt.Sprintf("goroutine growth (%d before, %d after; allowed %d)", r.before.Goroutines, r.after.Goroutines, o.maxGoroutine), max(0, g), o.maxGoroutine)
	heap := float64(int64(r.after.HeapInuse)-int64(r.before.HeapInuse)) / (1 << 20)
	r.checks++
	verdict := "ok"
	if heap > o.maxHeapMiB {
		verdict = "BREACH"
		breaches++
	}
	fmt.Printf("| %-62s | %8.1f | %-6s |\n", fmt.Sprintf("live heap growth in MiB (%.1f before, %.1f after)", float64(r.before.HeapInuse)/(1<<20), float64(r.after.HeapInuse)/(1<<20)), heap, verdict)
	fmt.Printf("\nRSS: %.1f MiB before, %.1f MiB after\n", float64(r.before.RSS)/(1<<20), float64(r.after.RSS)/(1<<20))
	for _, e := range r.examples {
		fmt.Println("  e.g.", e)
	}
	return breaches
}

// vars is what the demo's /debug/vars tells about itself.
type vars struct {
	Goroutines int
	HeapInuse  uint64
	RSS        uint64
}

func readVars(base string) (vars, error) {
	// A heap profile with gc=1 runs a collection first, so the heap
	// figure is live memory, not garbage waiting.
	if resp, err := http.Get(base + "/debug/pprof/heap?gc=1"); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/debug/vars")
	if err != nil {
		return vars{}, err
	}
	defer resp.Body.Close()
	var v struct {
		Goroutines int    `json:"goroutines"`
		RSS        uint64 `json:"rss_bytes"`
		Memstats   struct {
			HeapInuse uint64 `json:"HeapInuse"`
		} `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return vars{}, fmt.Errorf("/debug/vars: %w", err)
	}
	return vars{Goroutines: v.Goroutines, HeapInuse: v.Memstats.HeapInuse, RSS: v.RSS}, nil
}

type slowReport struct{ started, ended int }

// slowClients opens n connections that send a request line and headers a
// byte every 200 ms, and counts those the server ends within limit plus
// the read-header timeout.
func slowClients(addr string, n int, limit time.Duration) slowReport {
	var mu sync.Mutex
	var rep slowReport
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer conn.Close()
			mu.Lock()
			rep.started++
			mu.Unlock()
			req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 200) + "\r\n\r\n"
			deadline := time.Now().Add(limit + 2*time.Second)
			for i := 0; i < len(req) && time.Now().Before(deadline); i++ {
				if _, err := conn.Write([]byte{req[i]}); err != nil {
					mu.Lock()
					rep.ended++
					mu.Unlock()
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			// Headers sent in full or out of time: the server must have
			// closed the connection by now.
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := io.ReadAll(conn); err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
				mu.Lock()
				rep.ended++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return rep
}
