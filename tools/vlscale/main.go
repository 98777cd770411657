// Command vlscale is the scale benchmark of the log store (make bench, not
// make test): it starts VictoriaLogs as a cluster on loopback (storage
// nodes and a front node, from VICTORIALOGS_BIN), ships -lines log lines
// of five services with chained calls to the front node through
// vlogs.Shipper, and writes the same lines to one file per service. Then
// it reports the ingestion rate, the disk per million lines, and the time
// of traceid lookups of 3-hop stories from the store (-lookups of them),
// from the files, and of grep -F on the files. BENCHMARKS.md shows a run.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/internal/vlogs"
)

func main() {
	lines := flag.Int("lines", 20_000_000, "log lines to ship")
	storage := flag.Int("storage", 2, "storage nodes")
	lookups := flag.Int("lookups", 50, "traceid -store lookups of 3-hop stories")
	fileLookups := flag.Int("file-lookups", 5, "lookups from the files, with traceid and with grep")
	dir := flag.String("dir", "", "where the cluster's data and the files go (default: a new temporary directory, removed at the end)")
	traceid := flag.String("traceid", "", "the traceid binary (default: built from ./cmd/traceid)")
	flag.Parse()
	if err := run(*lines, *storage, *lookups, *fileLookups, *dir, *traceid); err != nil {
		fmt.Fprintln(os.Stderr, "vlscale:", err)
		os.Exit(1)
	}
}

var services = []string{"gateway", "offers", "pricing", "fx", "ledger"}

// chain is one external request: hops lines, service i calling i+1.
type chain struct{ ids []string }

func run(n, storage, lookups, fileLookups int, dir, traceid string) error {
	bin := vlogs.Binary()
	if bin == "" {
		return fmt.Errorf("no victoria-logs binary: make victorialogs, or set VICTORIALOGS_BIN")
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "vlscale-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if traceid == "" {
		traceid = filepath.Join(dir, "traceid")
		if out, err := exec.Command("go", "build", "-o", traceid, "./cmd/traceid").CombinedOutput(); err != nil {
			return fmt.Errorf("building traceid: %v: %s", err, out)
		}
	}
	// count_uniq over every id takes more than the default 30 s.
	c, err := vlogs.StartCluster(bin, filepath.Join(dir, "cluster"), storage, "-search.maxQueryDuration=10m")
	if err != nil {
		return err
	}
	defer c.Stop()
	fmt.Printf("cluster: %d storage nodes, front node %s; VictoriaLogs %s, %s\n", storage, c.Front.URL, vlogs.Module, vlogs.RetentionFlag)

	// One shipper and one file per service, as five services would.
	shippers := make([]*vlogs.Shipper, len(services))
	files := make([]*bufio.Writer, len(services))
	var paths []string
	for i, s := range services {
		// A long timeout: a loaded front node answering late makes the
		// Shipper send a batch again, and the store hold it twice.
		sh, err := vlogs.NewShipper(c.Front.URL, 250*time.Millisecond, vlogs.WithShipBuffer(256<<20), vlogs.WithShipTimeout(time.Minute))
		if err != nil {
			return err
		}
		shippers[i] = sh
		p := filepath.Join(dir, s+".log")
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		files[i] = bufio.NewWriterSize(f, 1<<20)
		paths = append(paths, p)
	}

	// The lines span the last 20 hours, in order; chains of 1 to 5 hops
	// (a quarter of them 3 hops), a line for each hop.
	rng := rand.New(rand.NewPCG(1, 2))
	span := 20 * time.Hour
	start := time.Now().Add(-span)
	var sample []chain
	written := 0
	var bytes int64
	t0 := time.Now()
	var line []byte
	for written < n {
		hops := 1 + rng.IntN(5)
		if rng.IntN(4) == 0 {
			hops = 3
		}
		hops = min(hops, n-written)
		at := start.Add(time.Duration(float64(span) * float64(written) / float64(n)))
		ch := chain{}
		for h := range hops {
			ch.ids = append(ch.ids, apierror.NewIDAt(at.Add(time.Duration(h)*time.Millisecond)))
		}
		for h := range hops {
			line = appendLine(line[:0], rng, ch.ids, h, at.Add(time.Duration(h)*time.Millisecond))
			_, _ = shippers[h].Write(line)
			_, _ = files[h].Write(line)
			bytes += int64(len(line))
		}
		written += hops
		// The generator is faster than the store: it waits while the
		// shippers hold more than 100,000 lines each, so that the rate
		// measured is the store's and no line is dropped.
		if written%4096 < hops {
			for slices.ContainsFunc(shippers, func(s *vlogs.Shipper) bool { return s.Stats().Pending > 100_000 }) {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if hops == 3 && len(sample) < lookups*20 && rng.IntN(50) == 0 {
			sample = append(sample, ch)
		}
	}
	for i := range services {
		if err := files[i].Flush(); err != nil {
			return err
		}
	}
	var lost int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range shippers {
		wg.Go(func() {
			_ = s.Close(context.Background())
			mu.Lock()
			lost += s.Stats().Lost()
			mu.Unlock()
		})
	}
	wg.Wait()
	shipped := time.Since(t0)
	// The front node passes lines on within about a second; count them.
	var inStore int64
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		_ = c.Flush()
		if inStore, err = count(c.Front.URL); err == nil && inStore >= int64(n)-lost {
			break
		}
	}
	ingested := time.Since(t0)
	distinct := "distinct ids not counted: "
	if d, err := countDistinct(c.Front.URL); err != nil {
		distinct += err.Error()
	} else {
		distinct = strconv.FormatInt(d, 10) + " distinct ids"
	}
	fmt.Printf("lines: %d (%.0f bytes a line, %.2f GB), %d chains sampled; lost to the store: %d; in the store: %d (%s)\n",
		n, float64(bytes)/float64(n), float64(bytes)/1e9, len(sample), lost, inStore, distinct)
	fmt.Printf("ingestion: shipped in %.1f s, searchable in %.1f s: %.0f lines/s (generation, files and shipping on the same machine)\n",
		shipped.Seconds(), ingested.Seconds(), float64(n)/ingested.Seconds())

	// Disk, once the nodes have written what they hold.
	c.Stop()
	var disk int64
	for _, s := range c.Storage {
		disk += du(s.Dir)
	}
	fmt.Printf("disk: %.1f MB on the storage nodes, %.1f MB per million lines (%.1f bytes a line, %.1fx smaller than the JSON)\n",
		float64(disk)/1e6, float64(disk)/1e6/(float64(n)/1e6), float64(disk)/float64(n), float64(bytes)/float64(disk))
	for _, s := range append([]*vlogs.Server{c.Front}, c.Storage...) {
		if err := s.Restart(); err != nil {
			return err
		}
	}

	// Lookups: the first id of a 3-hop chain, the one its client holds.
	// (From the middle id, this traceid's store query does not yet search
	// calls, so the caller is missing: issue 21, the story half.)
	rng.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	var storeTimes, fileTimes, grepTimes []time.Duration
	for i := 0; i < lookups && i < len(sample); i++ {
		d, err := timeCmd(traceid, "-json", "-store", c.Front.URL, sample[i].ids[0])
		if err != nil {
			return fmt.Errorf("traceid -store %s: %w", sample[i].ids[0], err)
		}
		storeTimes = append(storeTimes, d)
	}
	for i := 0; i < fileLookups && i < len(sample); i++ {
		d, err := timeCmd(traceid, append([]string{"-json", sample[i].ids[0]}, paths...)...)
		if err != nil {
			return fmt.Errorf("traceid on the files: %w", err)
		}
		fileTimes = append(fileTimes, d)
		d, err = timeCmd("grep", append([]string{"-F", "-c", sample[i].ids[0]}, paths...)...)
		if err != nil {
			return fmt.Errorf("grep: %w", err)
		}
		grepTimes = append(grepTimes, d)
	}
	report := func(what string, ds []time.Duration) {
		if len(ds) == 0 {
			return
		}
		slices.Sort(ds)
		fmt.Printf("%-40s %3d lookups: p50 %8.3f s, p99 %8.3f s, max %8.3f s\n", what, len(ds),
			ds[len(ds)/2].Seconds(), ds[(len(ds)*99)/100].Seconds(), ds[len(ds)-1].Seconds())
	}
	report("traceid -store (3-hop story)", storeTimes)
	report("traceid on the files (3-hop story)", fileTimes)
	report("grep -F -c on the files (one id)", grepTimes)
	return nil
}

// appendLine appends the line of hop h of the chain ids, as the
// middleware writes it: the caller lists the callee in calls, the callee
// names the caller as client_request_id.
func appendLine(b []byte, rng *rand.Rand, ids []string, h int, at time.Time) []byte {
	b = append(b, `{"level":"info","service":"`...)
	b = append(b, services[h]...)
	b = append(b, `","id":"`...)
	b = append(b, ids[h]...)
	b = append(b, `","method":"GET","path":"/api/v1/`...)
	b = append(b, services[h]...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(rng.IntN(100000)), 10)
	b = append(b, `","trace_id":"`...)
	b = fmt.Appendf(b, "%016x%016x", rng.Uint64(), rng.Uint64())
	b = append(b, `","span_id":"`...)
	b = fmt.Appendf(b, "%016x", rng.Uint64())
	if h > 0 {
		b = append(b, `","client_request_id":"`...)
		b = append(b, ids[h-1]...)
	}
	b = append(b, `","status":200,"bytes":`...)
	b = strconv.AppendInt(b, int64(200+rng.IntN(4000)), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendFloat(b, float64(rng.IntN(50000))/1000, 'f', 3, 64)
	if h+1 < len(ids) {
		b = append(b, `,"calls":["`...)
		b = append(b, ids[h+1]...)
		b = append(b, `"]`...)
	}
	b = append(b, `,"time":"`...)
	b = apierror.AppendTimestamp(b, at)
	b = append(b, `","message":"request"}`+"\n"...)
	return b
}

func count(base string) (int64, error) {
	var got map[string]string
	err := vlogs.Query(context.Background(), http.DefaultClient, base, `_time:30d | stats count() as n`, func(raw []byte) {
		_ = json.Unmarshal(raw, &got)
	})
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(got["n"], 10, 64)
}

func countDistinct(base string) (int64, error) {
	var got map[string]string
	err := vlogs.Query(context.Background(), http.DefaultClient, base, `_time:30d | stats count_uniq(id) as n`, func(raw []byte) {
		_ = json.Unmarshal(raw, &got)
	})
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(got["n"], 10, 64)
}

func du(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// timeCmd runs a command and returns how long it took; for traceid
// -json, it checks that the story has the 3 requests of the chain.
func timeCmd(name string, args ...string) (time.Duration, error) {
	start := time.Now()
	out, err := exec.Command(name, args...).Output()
	d := time.Since(start)
	if name == "grep" {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("%v: %s", err, out)
	}
	var story struct {
		Order []string `json:"order"`
	}
	if err := json.Unmarshal(out, &story); err != nil || len(story.Order) != 3 {
		return d, fmt.Errorf("want a story of 3 requests, got %d (%v): %.300s", len(story.Order), err, out)
	}
	return d, nil
}
