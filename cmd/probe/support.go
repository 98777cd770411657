package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/360x/errkit/internal/vlogs"
)

// supportSide is what the service logged while the probe ran: from a log
// file (-log) or a VictoriaLogs store (-store).
type supportSide struct {
	source string // the file or the store, for the report
	lines  []logLine
	other  []string // the lines that are not JSON, for log.no-canary
}

// logLine is one JSON line of the service's log.
type logLine struct {
	raw    string
	id     string
	level  string // lower case
	status int    // 0 when the line has none
}

// errorLevel reports whether the line is an error line: warn or error.
func (l logLine) errorLevel() bool {
	return l.level == "warn" || l.level == "warning" || l.level == "error"
}

func parseLine(raw []byte) (logLine, bool) {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return logLine{}, false
	}
	l := logLine{raw: string(raw)}
	l.id, _ = m["id"].(string)
	for _, k := range []string{"level", "severity", "lvl"} {
		if s, ok := m[k].(string); ok {
			l.level = strings.ToLower(s)
			break
		}
	}
	switch v := m["status"].(type) {
	case float64:
		l.status = int(v)
	case string:
		l.status, _ = strconv.Atoi(v)
	}
	return l, true
}

// receivedIDs returns the ids of the error answers, each with how many
// answers carried it.
func receivedIDs(g *grader) (order []string, count map[string]int, first map[string]*answer) {
	count, first = map[string]int{}, map[string]*answer{}
	for _, a := range g.answers {
		id, ok := g.id(a)
		if !ok {
			continue
		}
		if count[id] == 0 {
			order = append(order, id)
			first[id] = a
		}
		count[id]++
	}
	return order, count, first
}

// readSupport waits until every id received is in the log or the store
// (up to -wait), then reads what is there.
func (p *prober) readSupport(ctx context.Context, answers []*answer) (*supportSide, error) {
	g := &grader{p: p, answers: answers, env: map[*answer]envelope{}}
	ids, _, _ := receivedIDs(g)
	deadline := time.Now().Add(p.o.wait)
	for {
		s, err := p.readLines(ctx)
		if err != nil {
			return nil, err
		}
		have := map[string]bool{}
		for _, l := range s.lines {
			have[l.id] = true
		}
		all := true
		for _, id := range ids {
			all = all && have[id]
		}
		if all || time.Now().After(deadline) || ctx.Err() != nil {
			return s, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// supportReadable reports why the -log file or the -store cannot be read,
// or nil (also when neither is given).
func (p *prober) supportReadable(ctx context.Context) error {
	switch {
	case p.o.logFile != "":
		f, err := os.Open(p.o.logFile)
		if err != nil {
			return fmt.Errorf("-log: %w", err)
		}
		return f.Close()
	case p.o.store != "":
		err := vlogs.Query(ctx, &http.Client{Timeout: 10 * time.Second}, p.o.store, "_time:1s | limit 1", func([]byte) {})
		if err != nil {
			return fmt.Errorf("-store: %w", err)
		}
	}
	return nil
}

func (p *prober) readLines(ctx context.Context) (*supportSide, error) {
	if p.o.logFile != "" {
		data, err := readFrom(p.o.logFile, p.logStart)
		if err != nil {
			return nil, fmt.Errorf("-log: %w", err)
		}
		s := &supportSide{source: p.o.logFile}
		for raw := range bytes.Lines(data) {
			raw = bytes.TrimSpace(raw)
			if l, ok := parseLine(raw); ok {
				s.lines = append(s.lines, l)
			} else if len(raw) > 0 {
				s.other = append(s.other, string(raw)) // searched for canaries too
			}
		}
		return s, nil
	}
	// Every line since the probe began (a minute more, for clocks), of
	// the service when -store-filter says which lines are its.
	since := int64(time.Since(p.started).Seconds()) + 60
	q := "_time:" + strconv.FormatInt(since, 10) + "s"
	if p.o.storeFilter != "" {
		q += " (" + p.o.storeFilter + ")"
	}
	s := &supportSide{source: p.o.store}
	err := vlogs.Query(ctx, &http.Client{Timeout: 30 * time.Second}, p.o.store, q, func(raw []byte) {
		if l, ok := parseLine(raw); ok {
			s.lines = append(s.lines, l)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("-store: %w", err)
	}
	return s, nil
}

// readFrom returns the file's bytes from offset on, or all of them when
// the file is now shorter (it was rotated or truncated).
func readFrom(path string, offset int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < offset {
		offset = 0
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// errorLines is log.error-line: an id that k answers carried (k > 1 is
// id.unique's failure) must be on k error lines.
func (s *supportSide) errorLines(g *grader) (int, []failure) {
	ids, count, first := receivedIDs(g)
	lines := map[string]int{}
	for _, l := range s.lines {
		if l.errorLevel() {
			lines[l.id]++
		}
	}
	var fails []failure
	for _, id := range ids {
		if n := lines[id]; n != count[id] {
			what := "on no error line"
			if n > 0 {
				what = fmt.Sprintf("on %d error lines", n)
			}
			if other := s.nonError(id); other != "" && n == 0 {
				what += "; its line is " + shorten(other, 300)
			}
			fails = append(fails, failure{answer: first[id], problem: fmt.Sprintf("id %s is %s in %s, want one", id, what, s.source)})
		}
	}
	return len(ids), fails
}

// nonError returns the first line with id that is not an error line.
func (s *supportSide) nonError(id string) string {
	for _, l := range s.lines {
		if l.id == id && !l.errorLevel() {
			return l.raw
		}
	}
	return ""
}

// statusLevel is log.status-level. An id that several answers carried
// (id.unique's failure) may have its lines in any order: a line is
// matched to an answer of its id with the line's status.
func (s *supportSide) statusLevel(g *grader) (int, []failure) {
	byID := map[string][]*answer{}
	for _, a := range g.answers {
		if id, ok := g.id(a); ok {
			byID[id] = append(byID[id], a)
		}
	}
	n := 0
	var fails []failure
	for _, l := range s.lines {
		cands, ok := byID[l.id]
		if !ok || !l.errorLevel() {
			continue
		}
		n++
		a := cands[0]
		for _, c := range cands {
			if c.status == l.status {
				a = c
				break
			}
		}
		want := "warn"
		if a.status >= 500 {
			want = "error"
		}
		level := l.level
		if level == "warning" {
			level = "warn"
		}
		switch {
		case l.status != a.status:
			fails = append(fails, failure{answer: a, line: l.raw, problem: fmt.Sprintf("the line's status is %d, the status sent %d", l.status, a.status)})
		case level != want:
			fails = append(fails, failure{answer: a, line: l.raw, problem: fmt.Sprintf("the line of a %d is at %s, want %s", a.status, l.level, want)})
		}
	}
	return n, fails
}

// canaryLines is log.no-canary: every line read is searched for every
// canary.
func (s *supportSide) canaryLines(g *grader) (int, []failure) {
	var fails []failure
	raws := make([]string, 0, len(s.lines)+len(s.other))
	for _, l := range s.lines {
		raws = append(raws, l.raw)
	}
	raws = append(raws, s.other...) // a line that is not JSON leaks all the same
	for _, raw := range raws {
		for _, c := range g.p.can.list() {
			if strings.Contains(raw, c[1]) {
				fails = append(fails, failure{line: raw, problem: fmt.Sprintf("the line carries the probe's %s (%s)", c[0], c[1])})
			}
		}
		for _, v := range g.p.userSecrets {
			// The report must not spread the secret: it is cut from the
			// line shown.
			if strings.Contains(raw, v) {
				fails = append(fails, failure{line: strings.ReplaceAll(raw, v, "[a credential given with -H]"), problem: "the line carries a credential given with -H"})
			}
		}
	}
	return len(raws), fails
}
