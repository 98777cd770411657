// Command throughput measures the demo server under vegeta on loopback:
// requests per second and latency on an error route (a 404 envelope and
// its error line) against the same server's /healthz (its access line),
// and both routes of ./throughput/minimal, the least net/http server giving
// the same answers and lines, in rounds that turn the order of the four
// around (ABBA), so that all see the same machine. It prints a table and
// one `go test -bench` style line per round (BenchmarkThroughput/healthz,
// /error, /minimal-healthz, /minimal-error, with ns/op and req/s), which
// bench/budgets reads. It builds the demo, the minimal server and vegeta
// (a tool of the module, pinned in go.mod) into a temporary directory;
// nothing is left behind.
//
//	go run ./throughput -duration 10s -rounds 10
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/360x/errkit/internal/demoproc"
)

type report struct {
	Throughput float64        `json:"throughput"`
	Rate       float64        `json:"rate"`
	Requests   int            `json:"requests"`
	Success    float64        `json:"success"`
	Status     map[string]int `json:"status_codes"`
	Latencies  struct {
		P50 time.Duration `json:"50th"`
		P99 time.Duration `json:"99th"`
	} `json:"latencies"`
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "time spent on each route, split into the rounds")
	rounds := flag.Int("rounds", 10, "rounds; each attacks every route in turn, the order alternating")
	workers := flag.Int("workers", 16, "vegeta's concurrent workers (attacks run at the maximum rate)")
	root := flag.String("root", "..", "the repository root")
	flag.Parse()
	if *rounds < 1 || *duration <= 0 || *workers < 1 {
		fmt.Fprintln(os.Stderr, "throughput: -rounds and -workers must be at least 1, -duration above 0")
		os.Exit(2)
	}
	if err := run(*root, *duration/time.Duration(*rounds), *rounds, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		os.Exit(1)
	}
}

func run(root string, duration time.Duration, rounds, workers int) error {
	tmp, err := os.MkdirTemp("", "throughput")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	demo, err := demoproc.Build(root, tmp)
	if err != nil {
		return err
	}
	vegeta, err := demoproc.BuildVegeta(root, tmp)
	if err != nil {
		return err
	}

	minimal := filepath.Join(tmp, "minimal")
	if out, err := exec.Command("go", "build", "-o", minimal, "./throughput/minimal").CombinedOutput(); err != nil {
		return fmt.Errorf("building the minimal server: %v: %s", err, out)
	}

	base, stop, err := start(tmp, "demo", demo, "-rate-limit", "1000000000/1s", "-log-level", "info")
	if err != nil {
		return err
	}
	defer stop()
	least, stopLeast, err := start(tmp, "minimal", minimal)
	if err != nil {
		return err
	}
	defer stopLeast()

	targets := []struct{ name, bench, target, status string }{
		{"GET /healthz (200)", "healthz", "GET " + base + "/healthz", "200"},
		// The same middleware in front, no handler work: what an error
		// costs over a success (the /api/v1 routes add authentication and
		// the rate limiter, which /healthz does not have).
		{"GET /no-such-route (404 envelope)", "error", "GET " + base + "/no-such-route", "404"},
		{"minimal: GET /healthz (200)", "minimal-healthz", "GET " + least + "/healthz", "200"},
		{"minimal: GET /no-such-route (404 envelope)", "minimal-error", "GET " + least + "/no-such-route", "404"},
	}
	reports := make([][]report, len(targets))
	for round := range rounds {
		// ABBA: every other round runs the routes in the other order, so
		// that a machine that slows down (or speeds up) over the run
		// weighs on all alike.
		order := []int{0, 1, 2, 3}
		if round%2 == 1 {
			order = []int{3, 2, 1, 0}
		}
		for _, i := range order {
			t := targets[i]
			r, err := attack(vegeta, t.target, duration, workers)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if r.Status[t.status] != r.Requests {
				return fmt.Errorf("%s: statuses %v, want only %s", t.name, r.Status, t.status)
			}
			reports[i] = append(reports[i], r)
		}
	}

	out, _ := exec.Command("go", "version").Output()
	fmt.Printf("%s%d workers, %d rounds of %s per route, server and load generator on the same %d-core machine\n\n",
		out, workers, rounds, duration, runtime.NumCPU())
	fmt.Println("| route | round | requests | req/s | p50 | p99 |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, t := range targets {
		for k, r := range reports[i] {
			fmt.Printf("| %s | %d | %d | %.0f | %s | %s |\n", t.name, k+1, r.Requests, r.Rate,
				r.Latencies.P50.Round(time.Microsecond), r.Latencies.P99.Round(time.Microsecond))
		}
	}
	fmt.Println()
	for i, t := range targets {
		for _, r := range reports[i] {
			fmt.Printf("BenchmarkThroughput/%s\t%d\t%.0f ns/op\t%.0f req/s\t%d p99-us\n",
				t.bench, r.Requests, 1e9/r.Rate, r.Rate, r.Latencies.P99.Microseconds())
		}
	}
	return nil
}

// start runs the server bin with args and -addr on a free port, its log
// in dir, until stop; it returns the server's base URL once it answers.
func start(dir, name, bin string, args ...string) (base string, stop func(), err error) {
	addr, err := demoproc.FreeAddr()
	if err != nil {
		return "", nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return "", nil, err
	}
	srv := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		logFile.Close()
		return "", nil, err
	}
	stop = func() { _ = srv.Process.Kill(); _ = srv.Wait(); logFile.Close() }
	base = "http://" + addr
	if err := demoproc.WaitReady(base + "/healthz"); err != nil {
		stop()
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	return base, stop, nil
}

func attack(vegeta, target string, duration time.Duration, workers int) (report, error) {
	cmd := fmt.Sprintf("%s attack -rate=0 -max-workers=%d -workers=%d -duration=%s | %s report -type=json",
		vegeta, workers, workers, duration, vegeta)
	c := exec.Command("bash", "-c", "set -o pipefail; "+cmd)
	c.Stdin = strings.NewReader(target + "\n")
	out, err := c.Output()
	if err != nil {
		return report{}, fmt.Errorf("vegeta: %w", err)
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		return report{}, fmt.Errorf("vegeta report: %w: %s", err, out)
	}
	return r, nil
}
