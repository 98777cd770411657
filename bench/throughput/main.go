// Command throughput measures the demo server under vegeta on loopback:
// requests per second and p99 latency on an error route (a 404 envelope,
// its error line and access line) against the same server's /healthz, in
// one run, and checks that the error route keeps at least 0.8 of the
// health route's rate. It builds the demo and installs vegeta with
// `go install` into a temporary directory; nothing is left behind.
//
//	go run ./throughput -duration 10s
package main

import (
	"encoding/json"
	"errors"
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
	duration := flag.Duration("duration", 10*time.Second, "length of each attack")
	workers := flag.Int("workers", 16, "vegeta's concurrent workers (attacks run at the maximum rate)")
	root := flag.String("root", "..", "the repository root")
	flag.Parse()
	if err := run(*root, *duration, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		os.Exit(1)
	}
}

func run(root string, duration time.Duration, workers int) error {
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

	addr, err := demoproc.FreeAddr()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(tmp, "demo.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	srv := exec.Command(demo, "-addr", addr, "-rate-limit", "1000000000/1s", "-log-level", "info")
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	base := "http://" + addr
	if err := demoproc.WaitReady(base + "/healthz"); err != nil {
		return err
	}

	targets := []struct{ name, target string }{
		{"GET /healthz (200)", "GET " + base + "/healthz"},
		// The same middleware in front, no handler work: what an error
		// costs over a success (the /api/v1 routes add authentication and
		// the rate limiter, which /healthz does not have).
		{"GET /no-such-route (404 envelope)", "GET " + base + "/no-such-route"},
	}
	reports := make([]report, len(targets))
	for i, t := range targets {
		r, err := attack(vegeta, t.target, duration, workers)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		reports[i] = r
	}

	out, _ := exec.Command("go", "version").Output()
	fmt.Printf("%s%d workers, %s per route, server and load generator on the same %d-core machine\n\n",
		out, workers, duration, runtime.NumCPU())
	fmt.Println("| route | requests | req/s | p50 | p99 | statuses |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, t := range targets {
		r := reports[i]
		fmt.Printf("| %s | %d | %.0f | %s | %s | %v |\n", t.name, r.Requests, r.Rate, r.Latencies.P50.Round(time.Microsecond), r.Latencies.P99.Round(time.Microsecond), r.Status)
	}
	ratio := reports[1].Rate / reports[0].Rate
	verdict := "met"
	if ratio < 0.8 {
		verdict = "MISSED"
	}
	fmt.Printf("\n%s: error route rate / health rate = %.2f (budget >= 0.80)\n", verdict, ratio)
	if reports[0].Status["200"] != reports[0].Requests || reports[1].Status["404"] != reports[1].Requests {
		return errors.New("unexpected statuses in the attacks")
	}
	if verdict != "met" {
		return errors.New("throughput budget missed")
	}
	return nil
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
