//go:build unix

package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTraceID searches a 1 GB log in the page cache for an id on
// its second-to-last line: with grep -F -c (the yardstick), with
// traceid, and with traceid on the same lines cut into 4 files. The
// traceid runs report the peak heap growth and the cores in use (CPU
// time of the process over wall time).
//
//	go test -run='^$' -bench=TraceID -benchtime=1x -count=5 ./cmd/traceid
//
// The logs are written once per process, in $TRACEID_BENCH_DIR when set
// (and kept there for the next run) or in a temporary directory.
func BenchmarkTraceID(b *testing.B) {
	const id = "01a21433-216f-72a2-95b6-c1f59791269d"
	whole, parts := benchLogs(b, id)
	b.Run("grep", func(b *testing.B) {
		for b.Loop() {
			out, err := exec.Command("grep", "-F", "-c", id, whole).Output()
			if err != nil || strings.TrimSpace(string(out)) == "0" {
				b.Fatalf("grep did not find the id: %v %s", err, out)
			}
		}
	})
	b.Run("traceid", func(b *testing.B) { benchTraceID(b, id, whole) })
	b.Run("traceid-files", func(b *testing.B) { benchTraceID(b, id, parts...) })
}

// benchTraceID runs traceid on logs as the command does.
func benchTraceID(b *testing.B, id string, logs ...string) {
	args := append([]string{"-retention", "876000h", id}, logs...)
	for b.Loop() {
		var code int
		var cores float64
		growth := peakHeapGrowth(func() {
			cpu, start := cpuTime(b), time.Now()
			code = run(args, nil, io.Discard, io.Discard)
			cores = (cpuTime(b) - cpu).Seconds() / time.Since(start).Seconds()
		})
		if code != 0 {
			b.Fatal("traceid did not find the id")
		}
		b.ReportMetric(float64(growth)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(cores, "cores")
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var bench struct {
	once  sync.Once
	dir   string // removed by TestMain when temporary
	temp  bool
	whole string
	parts []string
	err   error
}

// benchLogs returns a 1 GB log of 5 million generated lines (1 in 1000
// not JSON, id on the second-to-last) and the same lines in 4 files,
// read once so that they are in the page cache.
func benchLogs(b *testing.B, id string) (whole string, parts []string) {
	bench.once.Do(func() {
		bench.dir = os.Getenv("TRACEID_BENCH_DIR")
		if bench.dir == "" {
			bench.dir, bench.err = os.MkdirTemp("", "traceid-bench")
			bench.temp = true
		} else {
			bench.err = os.MkdirAll(bench.dir, 0o755) // the first run on a machine makes it
		}
		if bench.err == nil {
			bench.whole, bench.parts, bench.err = writeBenchLogs(bench.dir, id)
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	for _, p := range append([]string{bench.whole}, bench.parts...) {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	return bench.whole, bench.parts
}

// writeBenchLogs writes the logs into dir, unless they are there.
func writeBenchLogs(dir, id string) (whole string, parts []string, err error) {
	const lines = 5_000_000
	whole = filepath.Join(dir, "traceid-1gb.log")
	for i := range 4 {
		parts = append(parts, filepath.Join(dir, "traceid-1gb."+string(rune('a'+i))+".log"))
	}
	if _, err := os.Stat(parts[len(parts)-1]); err == nil {
		return whole, parts, nil // written by an earlier run
	}
	if err := writeFile(whole, &generated{lines: lines, at: lines - 1, id: id}); err != nil {
		return "", nil, err
	}
	fi, err := os.Stat(whole)
	if err != nil {
		return "", nil, err
	}
	// The same lines in 4 files of about a quarter each.
	f, err := os.Open(whole)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for i, p := range parts {
		lr := &lineLimitedReader{r: r, n: fi.Size() / 4}
		if i == len(parts)-1 {
			lr.n = fi.Size()
		}
		if err := writeFile(p, lr); err != nil {
			return "", nil, err
		}
	}
	return whole, parts, nil
}

// writeFile writes r to path whole or not at all (through a temporary
// file renamed at the end), so that a run interrupted while writing does
// not leave a log that a later run would take for a complete one.
func writeFile(path string, r io.Reader) error {
	tmp := path + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil { // no write-back while the benchmark runs
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lineLimitedReader reads whole lines from r until n bytes or more were
// read.
type lineLimitedReader struct {
	r *bufio.Reader
	n int64
}

func (l *lineLimitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	line, err := l.r.ReadSlice('\n')
	if len(line) > len(p) {
		panic("a line longer than the copy buffer") // io.Copy's is 32 KiB, the lines 200 bytes
	}
	l.n -= int64(copy(p, line))
	if err != nil && len(line) > 0 {
		err = nil
	}
	return len(line), err
}

// TestMain removes the benchmark's logs when they were temporary.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.temp {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}
