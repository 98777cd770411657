// Command budgets checks the performance budgets of BENCHMARKS.md against
// the output of one `make bench` run: `go test -bench` lines of several
// -count runs (the middleware benchmarks, the parallel ones at -cpu 1,2,
// traceid against grep) and the throughput tool's lines, which use the
// same format. Every budget is a ratio of medians taken from the same run,
// so a machine's speed cancels out. It prints one line per budget and exits
// 1 if any is missed or has no samples, so a regression fails the run
// rather than becoming a number to eyeball.
//
//	go run ./budgets out/bench.txt out/parallel.txt out/traceid.txt out/throughput.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: budgets FILE... (go test -bench output)")
		os.Exit(2)
	}
	res := results{}
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "budgets:", err)
			os.Exit(2)
		}
		err = res.read(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "budgets: %s: %v\n", name, err)
			os.Exit(2)
		}
	}
	if verdicts := check(res, os.Stdout); verdicts.missed > 0 {
		os.Exit(1)
	}
}

// results holds every sample of every metric: results[name][unit], where
// name is the benchmark's name without "Benchmark", with "@N" appended
// for -cpu N (a name without the suffix pools all of them).
type results map[string]map[string][]float64

// line matches "BenchmarkHappy/errkit-2  1000  1234 ns/op  56 B/op  7 allocs/op"
// and any other value-unit pairs after the iteration count. go test leaves
// the -N suffix out at GOMAXPROCS 1, so a benchmark whose own name ends in
// "-" and digits would be misread: no budgeted name does.
var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-(\d+))?\s+\d+\s+(.*)$`)

func (res results) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name, cpu := m[1], m[2]
		if cpu == "" {
			cpu = "1"
		}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return fmt.Errorf("%q: %w", sc.Text(), err)
			}
			for _, key := range []string{name, name + "@" + cpu} {
				if res[key] == nil {
					res[key] = map[string][]float64{}
				}
				res[key][fields[i+1]] = append(res[key][fields[i+1]], v)
			}
		}
	}
	return sc.Err()
}

// median returns the median of the samples of name's unit, and whether
// there were any.
func (res results) median(name, unit string) (float64, bool) {
	xs := res[name][unit]
	if len(xs) == 0 {
		return 0, false
	}
	return medianOf(xs), true
}

// medianOf returns the median of xs, which must not be empty.
func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// max returns the largest sample of name's unit, or -1 if there is none.
func (res results) max(name, unit string) float64 {
	if xs := res[name][unit]; len(xs) > 0 {
		return slices.Max(xs)
	}
	return -1
}

// cpus returns the largest -cpu value name was run with.
func (res results) cpus(name string) int {
	most := 0
	for key := range res {
		if n, ok := strings.CutPrefix(key, name+"@"); ok {
			if c, err := strconv.Atoi(n); err == nil && c > most {
				most = c
			}
		}
	}
	return most
}

type tally struct{ met, missed int }

// check prints a verdict per budget to w.
func check(res results, w io.Writer) tally {
	var t tally
	verdict := func(budget string, ok bool, format string, args ...any) {
		v := "met"
		if ok {
			t.met++
		} else {
			v = "MISSED"
			t.missed++
		}
		fmt.Fprintf(w, "%-7s %-64s %s\n", v, budget, fmt.Sprintf(format, args...))
	}
	// get returns the medians of the named samples, or reports the budget
	// missed for lack of them.
	get := func(budget, unit string, names ...string) ([]float64, bool) {
		out := make([]float64, len(names))
		for i, n := range names {
			v, ok := res.median(n, unit)
			if !ok {
				verdict(budget, false, "no %s samples for %s", unit, n)
				return nil, false
			}
			out[i] = v
		}
		return out, true
	}

	const happy = "happy: (errkit - bare) <= 0.5 x (chi's stack - bare)"
	if ns, ok := get(happy, "ns/op", "Happy/bare", "Happy/errkit", "Happy/chi"); ok {
		bare, kit, chi := ns[0], ns[1], ns[2]
		verdict(happy, kit-bare <= 0.5*(chi-bare), "%.0f vs %.0f ns over the bare router's %.0f: %.2f x",
			kit-bare, chi-bare, bare, (kit-bare)/(chi-bare))
	}
	const happyAllocs = "happy: allocs <= the bare router's + 5"
	if a, ok := get(happyAllocs, "allocs/op", "Happy/bare", "Happy/errkit"); ok {
		verdict(happyAllocs, a[1] <= a[0]+5, "%.0f vs %.0f allocs: %+.0f", a[1], a[0], a[1]-a[0])
	}
	const errPath = "error: (errkit - floor) <= 0.5 x (naive - floor)"
	if ns, ok := get(errPath, "ns/op", "Error/floor", "Error/errkit", "Error/naive"); ok {
		floor, kit, naive := ns[0], ns[1], ns[2]
		verdict(errPath, kit-floor <= 0.5*(naive-floor), "%.0f vs %.0f ns over the floor's %.0f: %.2f x",
			kit-floor, naive-floor, floor, (kit-floor)/(naive-floor))
	}
	// Not budgets: how far the least any code can do for the same answer
	// and line (Happy/minimum, Error/minimum) is from the same yardsticks.
	info := func(what, base, this, peer string) {
		b, okB := res.median(base, "ns/op")
		x, okX := res.median(this, "ns/op")
		p, okP := res.median(peer, "ns/op")
		if okB && okX && okP {
			fmt.Fprintf(w, "%-7s %-64s %.0f vs %.0f ns: %.2f x\n", "info", what, x-b, p-b, (x-b)/(p-b))
		}
	}
	info("happy: the access line alone, no middleware (Happy/minimum)", "Happy/bare", "Happy/minimum", "Happy/chi")
	info("error: the contract's answer and line alone (Error/minimum)", "Error/floor", "Error/minimum", "Error/naive")

	const errAllocs = "error: allocs <= the naive writer's"
	if a, ok := get(errAllocs, "allocs/op", "Error/errkit", "Error/naive"); ok {
		verdict(errAllocs, a[0] <= a[1], "%.0f vs %.0f allocs", a[0], a[1])
	}
	const panicPath = "panic: errkit <= 0.33 x chi's Recoverer (stack logged)"
	if ns, ok := get(panicPath, "ns/op", "Panic/errkit", "Panic/chi"); ok {
		verdict(panicPath, ns[0] <= 0.33*ns[1], "%.0f vs %.0f ns: %.2f x", ns[0], ns[1], ns[0]/ns[1])
	}
	if bare, ok := get("parallel: the bare router's -cpu 2 / -cpu 1", "ns/op", "Parallel/bare@1", "Parallel/bare@2"); ok {
		base := bare[1] / bare[0]
		for _, p := range []string{"happy", "error"} {
			budget := "parallel/" + p + ": -cpu 2 / -cpu 1 <= the bare router's + 0.05"
			if ns, ok := get(budget, "ns/op", "Parallel/"+p+"@1", "Parallel/"+p+"@2"); ok {
				r := ns[1] / ns[0]
				verdict(budget, r <= base+0.05, "%.2f vs %.2f (%.0f ns at -cpu 2, %.0f at -cpu 1)", r, base, ns[1], ns[0])
			}
		}
	}
	// Not a budget: the same ratios taken round by round (the -cpu 1 and
	// -cpu 2 runs of one round are seconds apart), then their median. On a
	// shared machine whose second core comes and goes, this says more than
	// the ratio of medians above.
	var paired []string
	for _, p := range []string{"bare", "happy", "error"} {
		one, two := res["Parallel/"+p+"@1"]["ns/op"], res["Parallel/"+p+"@2"]["ns/op"]
		if len(one) == 0 || len(one) != len(two) {
			paired = nil
			break
		}
		ratios := make([]float64, len(one))
		for i := range one {
			ratios[i] = two[i] / one[i]
		}
		paired = append(paired, fmt.Sprintf("%s %.2f", p, medianOf(ratios)))
	}
	if paired != nil {
		fmt.Fprintf(w, "%-7s %-64s %s\n", "info", "parallel: median of the per-round -cpu 2 / -cpu 1 ratios", strings.Join(paired, ", "))
	}

	const tid = "traceid: 1 GB log <= 2 x grep -F -c"
	if ns, ok := get(tid, "ns/op", "TraceID/grep", "TraceID/traceid"); ok {
		verdict(tid, ns[1] <= 2*ns[0], "%.0f vs %.0f ms: %.2f x", ns[1]/1e6, ns[0]/1e6, ns[1]/ns[0])
	}
	// A peak is a peak: the largest of all runs, not their median.
	const heap = "traceid: peak heap <= 16 MiB (the largest of all runs)"
	if one, several := res.max("TraceID/traceid", "peak-heap-MiB"), res.max("TraceID/traceid-files", "peak-heap-MiB"); one < 0 || several < 0 {
		verdict(heap, false, "no peak-heap-MiB samples for TraceID/traceid and TraceID/traceid-files")
	} else {
		verdict(heap, max(one, several) <= 16, "%.1f MiB for one file, %.1f MiB for several", one, several)
	}
	const cores = "traceid: several files use every core (>= 0.8 x GOMAXPROCS)"
	n := max(res.cpus("TraceID/traceid-files"), 1)
	if c, ok := get(cores, "cores", "TraceID/traceid-files@"+strconv.Itoa(n)); ok {
		verdict(cores, c[0] >= 0.8*float64(n), "%.2f cores busy of %d", c[0], n)
	}
	const tput = "throughput: the error route >= 0.9 x /healthz"
	if rate, ok := get(tput, "req/s", "Throughput/healthz", "Throughput/error"); ok {
		verdict(tput, rate[1] >= 0.9*rate[0], "%.0f vs %.0f req/s: %.2f x", rate[1], rate[0], rate[1]/rate[0])
	}
	// The same at the server level: the demo against the least net/http
	// server giving the same answers and lines (bench/throughput/minimal).
	for _, route := range []string{"error", "healthz"} {
		budget := "server/" + route + ": the demo's time per request <= 1.15 x the minimal server's"
		if ns, ok := get(budget, "ns/op", "Throughput/"+route, "Throughput/minimal-"+route); ok {
			verdict(budget, ns[0] <= 1.15*ns[1], "%.0f vs %.0f ns: %.2f x", ns[0], ns[1], ns[0]/ns[1])
		}
	}
	// jsonbody: Decode (which also reads the request's body) against
	// json.Unmarshal of the same bytes into the same model.
	for _, body := range []string{"flat", "nested1000", "array"} {
		budget := "jsonbody/" + body + ": Decode <= 2 x json.Unmarshal"
		if ns, ok := get(budget, "ns/op", "Decode/"+body+"/kit", "Decode/"+body+"/encoding-json"); ok {
			verdict(budget, ns[0] <= 2*ns[1], "%.0f vs %.0f ns: %.2f x", ns[0], ns[1], ns[0]/ns[1])
		}
	}
	const bad = "jsonbody/bad (1 MiB, all bad): Decode <= 4 x json.Unmarshal"
	if ns, ok := get(bad, "ns/op", "Decode/bad/kit", "Decode/bad/encoding-json"); ok {
		verdict(bad, ns[0] <= 4*ns[1], "%.1f vs %.1f ms: %.2f x", ns[0]/1e6, ns[1]/1e6, ns[0]/ns[1])
	}
	const badMem = "jsonbody/bad: bytes allocated <= 4 x json.Unmarshal's"
	if b, ok := get(badMem, "B/op", "Decode/bad/kit", "Decode/bad/encoding-json"); ok {
		verdict(badMem, b[0] <= 4*b[1], "%.1f vs %.1f MiB: %.2f x", b[0]/(1<<20), b[1]/(1<<20), b[0]/b[1])
	}
	// Linear: the time per KB at 64 KiB and at 1 MiB within 1.5 x, or
	// within 1.1 x of encoding/json's own ratio in the same run: on a body
	// that is all bad attributes, encoding/json itself (an error value per
	// attribute, and the collector's work with them) slows per KB as the
	// body grows, and Decode cannot be more linear than the decoder it
	// lets decide.
	for _, body := range []string{"array", "bad"} {
		budget := "jsonbody/" + body + ": time per KB at 64 KiB and 1 MiB within 1.5 x"
		if v, ok := get(budget, "MB/s", "Decode/"+body+"64k/kit", "Decode/"+body+"/kit", "Decode/"+body+"64k/encoding-json", "Decode/"+body+"/encoding-json"); ok {
			r, rj := max(v[0], v[1])/min(v[0], v[1]), max(v[2], v[3])/min(v[2], v[3])
			verdict(budget, r <= 1.5 || r <= 1.1*rj, "%.1f MB/s at 64 KiB, %.1f at 1 MiB: %.2f x (encoding/json's own: %.2f x)", v[0], v[1], r, rj)
		}
	}
	fmt.Fprintf(w, "\n%d budgets met, %d missed\n", t.met, t.missed)
	return t
}
