// Command budgets reads `go test -bench` output (several -count runs) and
// checks the benchmark budgets of BENCHMARKS.md against the medians, all
// from the same run. It prints one line per budget and exits 1 if any is
// missed, so a regression is visible, not a number to eyeball.
//
//	go test -bench . -count 10 > bench.txt && go run ./budgets bench.txt
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// line matches "BenchmarkHappy/errkit-2  1000  1234 ns/op  56 B/op  7 allocs/op".
var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-(\d+))?\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.]+ B/op\s+([\d.]+) allocs/op)?`)

type sample struct{ ns, allocs []float64 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: budgets bench.txt")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "budgets:", err)
		os.Exit(2)
	}
	defer f.Close()
	samples := map[string]*sample{} // key: name, or name@cpu
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := strings.TrimPrefix(m[1], "Benchmark")
		cpu := m[2]
		if cpu == "" {
			cpu = "1"
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		allocs, _ := strconv.ParseFloat(m[4], 64)
		for _, key := range []string{name, name + "@" + cpu} {
			s := samples[key]
			if s == nil {
				s = &sample{}
				samples[key] = s
			}
			s.ns = append(s.ns, ns)
			s.allocs = append(s.allocs, allocs)
		}
	}
	get := func(key string) (ns, allocs float64, ok bool) {
		s := samples[key]
		if s == nil {
			return 0, 0, false
		}
		return median(s.ns), median(s.allocs), true
	}
	failed := false
	check := func(budget string, met bool, format string, args ...any) {
		verdict := "met"
		if !met {
			verdict, failed = "MISSED", true
		}
		fmt.Printf("%-7s %-60s %s\n", verdict, budget, fmt.Sprintf(format, args...))
	}
	missing := func(names ...string) bool {
		for _, n := range names {
			if _, _, ok := get(n); !ok {
				fmt.Printf("skip    (no samples for %s)\n", n)
				return true
			}
		}
		return false
	}

	if !missing("Happy/bare", "Happy/errkit", "Happy/chi", "Happy/hlog") {
		bare, bareA, _ := get("Happy/bare")
		this, thisA, _ := get("Happy/errkit")
		chi, _, _ := get("Happy/chi")
		hlog, _, _ := get("Happy/hlog")
		check("happy: errkit <= 0.5 x chi's stack", this <= 0.5*chi, "%.0f ns vs %.0f ns: %.2f x", this, chi, this/chi)
		check("happy: errkit < hlog's stack", this < hlog, "%.0f ns vs %.0f ns: %.2f x", this, hlog, this/hlog)
		check("happy: <= 5 allocs over the bare router", thisA-bareA <= 5, "%.0f - %.0f = %.0f allocs (bare router %.0f ns)", thisA, bareA, thisA-bareA, bare)
	}
	if !missing("Error/floor", "Error/errkit", "Error/naive") {
		floor, _, _ := get("Error/floor")
		this, thisA, _ := get("Error/errkit")
		naive, naiveA, _ := get("Error/naive")
		check("error: (errkit - floor) <= 0.5 x (naive - floor)", this-floor <= 0.5*(naive-floor),
			"%.0f ns vs %.0f ns over the floor: %.2f x", this-floor, naive-floor, (this-floor)/(naive-floor))
		check("error: allocs <= the naive writer's", thisA <= naiveA, "%.0f vs %.0f allocs", thisA, naiveA)
	}
	if !missing("Panic/errkit", "Panic/chi") {
		this, _, _ := get("Panic/errkit")
		chi, _, _ := get("Panic/chi")
		check("panic: errkit <= 0.5 x chi's Recoverer", this <= 0.5*chi, "%.0f ns vs %.0f ns: %.2f x", this, chi, this/chi)
	}
	if _, _, ok := get("Parallel/bare@1"); ok {
		one, _, _ := get("Parallel/bare@1")
		two, _, _ := get("Parallel/bare@2")
		fmt.Printf("%-7s %-60s %.0f ns vs %.0f ns: %.2f x\n", "info", "parallel/bare (no middleware): -cpu 2 / -cpu 1", two, one, two/one)
	}
	for _, p := range []string{"Parallel/happy", "Parallel/error"} {
		if missing(p+"@1", p+"@2") {
			continue
		}
		one, _, _ := get(p + "@1")
		two, _, _ := get(p + "@2")
		check(strings.ToLower(p)+": -cpu 2 <= 0.75 x -cpu 1", two <= 0.75*one, "%.0f ns vs %.0f ns: %.2f x", two, one, two/one)
	}
	if failed {
		os.Exit(1)
	}
}
