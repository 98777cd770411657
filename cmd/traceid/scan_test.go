package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refScan is the line-by-line scan traceid had before scanFiles, kept as
// the reference scanFiles is checked against: it reads a line at a time
// and gives the lines that start with { and contain a needle, and counts
// as scanFiles does (a line is long when more than maxLine bytes come
// before its \n; a bad line is long or does not start with {).
func refScan(rd io.Reader, needles [][]byte, count bool, maxLine int) ([]match, counts) {
	r := bufio.NewReaderSize(rd, 16)
	var c counts
	var found []match
	var long bool
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !long {
				buf = append(buf, chunk...)
				if len(buf) > maxLine {
					long, buf = true, buf[:0]
				}
			}
			continue
		case err != nil && !errors.Is(err, io.EOF):
			panic(err)
		}
		if len(chunk) > 0 || len(buf) > 0 || long {
			c.lines++
			full := append(buf, chunk...)
			if long || len(bytes.TrimSuffix(full, []byte("\n"))) > maxLine {
				if count {
					c.scanned++
					c.bad++
				}
			} else if raw := bytes.TrimRight(full, "\r\n"); len(raw) > 0 {
				if count {
					c.scanned++
					if raw[0] != '{' {
						c.bad++
					}
				}
				if raw[0] == '{' && containsAny(raw, needles) {
					found = append(found, match{n: c.lines, raw: bytes.Clone(raw)})
				}
			}
			long, buf = false, buf[:0]
		}
		if err != nil {
			return found, c
		}
	}
}

// scanned is what scanFiles gave for one source.
type scanned struct {
	Matches []match
	Counts  counts
	Err     error
}

func scanAll(t testing.TB, sources []source, needles [][]byte, count bool, cfg scanConfig) []scanned {
	out := make([]scanned, len(sources))
	doneOnce := make([]bool, len(sources))
	last := -1
	scanFiles(sources, needles, count, cfg, func(src int, m match) {
		require.GreaterOrEqual(t, src, last, "sources in order")
		last = src
		require.False(t, doneOnce[src], "a line after its source was done")
		out[src].Matches = append(out[src].Matches, m)
	}, func(src int, c counts, err error) {
		require.False(t, doneOnce[src], "done once")
		doneOnce[src] = true
		out[src].Counts, out[src].Err = c, err
	})
	for i := range sources {
		require.True(t, doneOnce[i], "done for every source")
	}
	return out
}

// randomLog is a log with lines of every kind: JSON lines with one of
// needles, with another id that shares their start or their end, lines
// that are not JSON (one naming a needle), empty lines, \r\n line ends,
// lines about maxLine long and longer, and maybe no final line end.
func randomLog(rng *rand.Rand, needles []string, maxLine int) []byte {
	var b bytes.Buffer
	for range rng.IntN(60) {
		var l string
		switch rng.IntN(10) {
		case 0:
			l = ""
		case 1:
			l = strings.Repeat("\r", rng.IntN(3))
		case 2:
			l = "not json " + needles[rng.IntN(len(needles))]
		case 3:
			l = strings.Repeat("x", maxLine-2+rng.IntN(5))
		case 4:
			l = `{"id":"` + needles[rng.IntN(len(needles))] + `","pad":"` + strings.Repeat("p", rng.IntN(maxLine)) + `"}`
		case 5: // the end of a needle after another start, and the reverse
			n := needles[rng.IntN(len(needles))]
			l = `{"a":"01a21433-0000-7000-8000-` + n[24:] + `","b":"` + n[:24] + `ffffffffffff"}`
		case 6:
			l = `{"id":"` + needles[rng.IntN(len(needles))] + `"` + strings.Repeat(" ", maxLine) + `}` // too long
		default:
			l = fmt.Sprintf(`{"id":"01a21433-216f-72a2-95b6-%012x","n":%d}`, rng.Int64N(1<<40), rng.IntN(1000))
		}
		if len(l) > 0 && rng.IntN(8) == 0 {
			l = " " + l // not starting with {
		}
		b.WriteString(l)
		if rng.IntN(4) == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	out := b.Bytes()
	if len(out) > 0 && rng.IntN(3) == 0 {
		out = out[:len(out)-1] // no final line end
	}
	return out
}

var testNeedles = []string{"01a21433-216f-72a2-95b6-c1f59791269d", "01a21433-216f-7000-8000-000000000001", "93aa74d5-8caf-473f-af2f-42cf806ddfdc"}

func needleBytes(ids []string) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = []byte(id)
	}
	return out
}

// checkScan scans logs, as files and as streams read a little at a
// time, and compares with refScan.
func checkScan(t *testing.T, logs [][]byte, needles [][]byte, count bool, cfg scanConfig) {
	t.Helper()
	dir := t.TempDir()
	var sources []source
	var want []scanned
	for i, log := range logs {
		path := filepath.Join(dir, fmt.Sprintf("%d.log", i))
		require.NoError(t, os.WriteFile(path, log, 0o600))
		sources = append(sources, fileSource(path), source{name: "stream", open: func() (io.ReadCloser, error) {
			return io.NopCloser(iotest.HalfReader(bytes.NewReader(log))), nil
		}})
		m, c := refScan(bytes.NewReader(log), needles, count, cfg.maxLine)
		want = append(want, scanned{m, c, nil}, scanned{m, c, nil})
	}
	got := scanAll(t, sources, needles, count, cfg)
	for i := range want {
		assert.Equal(t, want[i], got[i], "log %d (%+v): %q", i/2, cfg, logs[i/2])
	}
}

// TestScanMatchesReference compares scanFiles with the line-by-line scan
// on random logs, with blocks and parts small enough that lines, needles
// and long lines cross their edges.
func TestScanMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		maxLine := 40 + rng.IntN(100)
		cfg := scanConfig{workers: 1 + rng.IntN(4), block: 1 + rng.IntN(64), span: 1 + rng.Int64N(300), maxLine: maxLine}
		logs := make([][]byte, 1+rng.IntN(3))
		for j := range logs {
			logs[j] = randomLog(rng, testNeedles[:1+rng.IntN(len(testNeedles))], maxLine)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkScan(t, logs, needleBytes(testNeedles[:1+i%len(testNeedles)]), i%2 == 0, cfg)
		})
	}
}

// TestScanEdges: the cases by name.
func TestScanEdges(t *testing.T) {
	id := testNeedles[0]
	obj := `{"id":"` + id + `"}`
	tests := []struct {
		name string
		log  string
	}{
		{"empty", ""},
		{"only line ends", "\n\r\n\n"},
		{"no final line end", "x\n" + obj},
		{"crlf", obj + "\r\n\r\n" + obj + "\r\n"},
		{"cr at the start of a line", "\r" + obj + "\n\r\r\n"},
		{"not json but names the id", "id=" + id + "\n"},
		{"the end of the id only", `{"id":"01a21433-0000-7000-8000-c1f59791269d"}` + "\n"},
		{"the id twice in a line", `{"id":"` + id + `","upstream_id":"` + id + `"}` + "\n"},
		{"a line of exactly maxLine", `{"id":"` + id + `","p":"` + strings.Repeat("p", 64-len(obj)-7) + `"}` + "\n"},
		{"a line one over maxLine", `{"id":"` + id + `","p":"` + strings.Repeat("p", 65-len(obj)-7) + `"}` + "\n" + obj + "\n"},
		{"a long last line", strings.Repeat("x", 100)},
		{"a long line first", strings.Repeat("x", 100) + "\n" + obj + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, block := range []int{1, 3, 37, 1000} {
				for _, span := range []int64{1, 2, 36, 1 << 20} {
					checkScan(t, [][]byte{[]byte(tt.log)}, needleBytes(testNeedles[:1]), true, scanConfig{workers: 2, block: block, span: span, maxLine: 64})
				}
			}
		})
	}
}

// TestScanDefaultSizes: the sizes traceid runs with, on a log of a few
// parts with a needle across the edge of a part and of a block.
func TestScanDefaultSizes(t *testing.T) {
	cfg := defaultScanConfig()
	cfg.workers = 3
	id := testNeedles[0]
	var b bytes.Buffer
	filler := `{"id":"01a21433-216f-72a2-95b6-000000000000","message":"` + strings.Repeat("f", 150) + `"}` + "\n"
	for _, at := range []int{cfg.block - 10, int(cfg.span) - 20, 2*int(cfg.span) + 3} {
		for b.Len() < at {
			b.WriteString(filler)
		}
		b.Truncate(at)
		b.WriteString("\n" + `{"id":"` + id + `"}` + "\n")
	}
	b.WriteString(strings.Repeat("y", maxLine+1) + "\n" + `{"id":"` + id + `"}`)
	checkScan(t, [][]byte{b.Bytes()}, needleBytes(testNeedles[:1]), true, cfg)
}

// FuzzScan compares scanFiles with the line-by-line scan on any log, in
// blocks and parts of any size.
func FuzzScan(f *testing.F) {
	id := testNeedles[0]
	f.Add([]byte(`{"id":"`+id+`"}`+"\nnot json\n\r\n{}"), uint8(3), uint8(10), uint8(2), uint8(40))
	f.Add([]byte("x\n\n"+id+"\n{"+id), uint8(1), uint8(1), uint8(3), uint8(36))
	f.Add([]byte(`{"a":"01a21433-0000-7000-8000-c1f59791269d"}`+"\r\n"+strings.Repeat("z", 70)+"\n{\""+id+"\"}"), uint8(7), uint8(50), uint8(1), uint8(60))
	f.Fuzz(func(t *testing.T, log []byte, block, span, workers, maxLine uint8) {
		cfg := scanConfig{workers: 1 + int(workers%4), block: 1 + int(block), span: 1 + int64(span), maxLine: 1 + int(maxLine)}
		checkScan(t, [][]byte{log}, needleBytes(testNeedles[:2]), true, cfg)
	})
}

// TestStorySameWithAnyWorkers: the story of a chain across several logs,
// with forged claims and other requests between its lines, is the same
// whether one worker scans the logs in large parts or many in tiny ones.
func TestStorySameWithAnyWorkers(t *testing.T) {
	now := time.Now()
	rng := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	logs := make([][]string, 3)
	add := func(line string) {
		i := rng.IntN(len(logs))
		logs[i] = append(logs[i], line)
		for range rng.IntN(5) {
			logs[i] = append(logs[i], logLine("other", newID(), "", nil, "", now))
		}
		if rng.IntN(3) == 0 {
			logs[i] = append(logs[i], "not json\n", "\n")
		}
	}
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = newID()
	}
	for i, id := range ids {
		var client, callee string
		if i > 0 {
			client = ids[i-1]
		}
		if i+1 < len(ids) {
			callee = ids[i+1]
		}
		add(logLine(fmt.Sprint("svc", i), id, client, nil, callee, now))
		add(logLine(fmt.Sprint("svc", i), id, client, []string{callee}, "", now))
		add(logLine("forger", newID(), id, nil, "", now)) // a claim, unconfirmed
	}
	var sources []source
	for i, lines := range logs {
		path := filepath.Join(dir, fmt.Sprintf("svc%d.log", i))
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600))
		sources = append(sources, fileSource(path))
	}
	w := window{now: now, retention: time.Hour}
	storyJSON := func(cfg scanConfig) string {
		st := traceWith(cfg, ids[2], sources, w, io.Discard)
		b, err := json.Marshal(st)
		require.NoError(t, err)
		return string(b)
	}
	one := storyJSON(scanConfig{workers: 1, block: 1 << 16, span: 1 << 30, maxLine: maxLine})
	require.Contains(t, one, ids[0])
	require.Contains(t, one, ids[len(ids)-1])
	for _, cfg := range []scanConfig{
		{workers: 8, block: 7, span: 50, maxLine: maxLine},
		{workers: 3, block: 300, span: 1000, maxLine: maxLine},
		defaultScanConfig(),
	} {
		assert.JSONEq(t, one, storyJSON(cfg), "%+v", cfg)
	}
}

// TestScanBufferBounded: a worker's buffer is two blocks, and grows for a
// line near maxLine to no more than about 1.6 MiB, however long the lines.
func TestScanBufferBounded(t *testing.T) {
	cfg := defaultScanConfig()
	s := &scanner{cfg: cfg, needles: needleBytes(testNeedles[:1]), count: true}
	short := []byte(strings.Repeat(`{"id":"01a21433-216f-72a2-95b6-000000000000"}`+"\n", 20000))
	s.scan(&part{r: bytes.NewReader(short), to: math.MaxInt64})
	assert.Equal(t, 2*cfg.block, cap(s.buf), "lines of 46 bytes")
	var long bytes.Buffer
	for _, n := range []int{maxLine, maxLine - 1, maxLine + 1, 3 * maxLine, maxLine / 2} {
		long.WriteString(`{"id":"` + testNeedles[0] + `","p":"` + strings.Repeat("p", n) + "\"}\n")
	}
	res := s.scan(&part{r: bytes.NewReader(long.Bytes()), to: math.MaxInt64})
	assert.EqualValues(t, 5, res.lines)
	assert.EqualValues(t, 4, res.bad, "the lines over maxLine")
	assert.Len(t, res.matches, 1)
	assert.LessOrEqual(t, cap(s.buf), 1700<<10)
	t.Logf("buffer: %.2f MiB", float64(cap(s.buf))/(1<<20))
}
