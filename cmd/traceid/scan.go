package main

// The search of log files. Each file, or each span of a large file, is a
// part that one of a few workers scans a block at a time: it counts the
// lines (for the line numbers) and looks for the needles, and cuts out
// only the lines that name one. The calling goroutine gets those lines
// in the order of the sources and of their lines, whatever the number of
// workers, so the story does not depend on it.

import (
	"bytes"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
)

// scanConfig sizes a scan. The tests make the sizes small, to put lines
// and needles across the edges of blocks and parts.
type scanConfig struct {
	workers int   // parts scanned at once
	block   int   // bytes read at a time
	span    int64 // bytes of a file in one part
	maxLine int   // the longest line read; a longer one is skipped and counted bad
}

func defaultScanConfig() scanConfig {
	return scanConfig{workers: runtime.GOMAXPROCS(0), block: 256 << 10, span: 16 << 20, maxLine: maxLine}
}

// match is a line that names a needle.
type match struct {
	n   int64  // line number, from 1
	raw []byte // the line without its line end (\n, \r\n)
}

// counts are what the scan of a source, or of a part of it, saw.
type counts struct {
	lines   int64 // every line, empty ones too: for the line numbers
	scanned int64 // the lines that are not empty (when counting)
	bad     int64 // of those, the ones longer than maxLine or not starting with { (when counting)
}

func (c *counts) add(o counts) {
	c.lines += o.lines
	c.scanned += o.scanned
	c.bad += o.bad
}

// part is a piece of a source for a worker: the lines of a file that
// start in [from, to), or a whole stream (from 0, to the end).
type part struct {
	src      int
	r        io.Reader // the stream, or the file from max(from-1, 0) on
	from, to int64
	last     bool      // the source's last part
	close    io.Closer // the source, closed after its last part
	done     chan partResult
}

type partResult struct {
	counts
	matches []match // line numbers within the part
	err     error
}

// scanFiles scans sources (each read through open) for the lines that
// contain one of needles, with cfg.workers workers. In the calling
// goroutine, it calls found for each such line and done once for each
// source, in the order of sources and of their lines. With count, the
// counts given to done include the lines scanned and the bad lines.
//
// Memory does not depend on the size of the logs: a buffer per worker
// (two blocks; room for a block and the longest line while in one), and
// at most workers+2 parts in flight (their open files, the lines they
// found).
func scanFiles(sources []source, needles [][]byte, count bool, cfg scanConfig, found func(src int, m match), done func(src int, c counts, err error)) {
	cfg.workers, cfg.block = max(cfg.workers, 1), max(cfg.block, 1)
	queue := make(chan *part, cfg.workers) // in the order of the sources and of their parts
	work := make(chan *part)
	go func() {
		defer close(work)
		defer close(queue)
		for i, src := range sources {
			parts, err := split(i, src, cfg.span)
			if err != nil {
				p := &part{src: i, last: true, done: make(chan partResult, 1)}
				p.done <- partResult{err: err}
				queue <- p
				continue
			}
			for _, p := range parts {
				queue <- p
				work <- p
			}
		}
	}()
	for range cfg.workers {
		go func() {
			s := &scanner{cfg: cfg, needles: needles, count: count}
			for p := range work {
				p.done <- s.scan(p)
			}
		}()
	}

	var total counts // of the source being handed on
	failed := false  // its parts after a failure are not handed on
	for p := range queue {
		res := <-p.done
		if !failed {
			for _, m := range res.matches {
				m.n += total.lines
				found(p.src, m)
			}
			total.add(res.counts)
			if res.err != nil {
				failed = true
				done(p.src, total, res.err)
			}
		}
		if p.last {
			if p.close != nil {
				p.close.Close()
			}
			if !failed {
				done(p.src, total, nil)
			}
			total, failed = counts{}, false
		}
	}
}

// split opens src and cuts it into parts: a regular file into spans of
// span bytes, anything else is one part.
func split(i int, src source, span int64) ([]*part, error) {
	rc, err := src.open()
	if err != nil {
		return nil, err
	}
	whole := []*part{{src: i, r: rc, to: math.MaxInt64, last: true, close: rc, done: make(chan partResult, 1)}}
	f, ok := rc.(*os.File)
	if !ok {
		return whole, nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return whole, nil
	}
	var parts []*part
	for from := int64(0); ; from += span {
		at := max(from-1, 0) // from-1: to tell whether a line starts at from
		p := &part{src: i, r: io.NewSectionReader(f, at, math.MaxInt64-at), from: from, to: from + span, done: make(chan partResult, 1)}
		parts = append(parts, p)
		if p.to >= fi.Size() {
			p.to = math.MaxInt64 // the last part reads on to the end, should the file have grown
			p.last, p.close = true, f
			return parts, nil
		}
	}
}

// keyLen is how much of the end of a needle is searched for: the random
// end of an id, where a UUIDv7's start is shared by every id of the same
// moment.
const keyLen = 12

var newline = []byte{'\n'}

// scanner is a worker's: its buffer and the part it is scanning.
type scanner struct {
	cfg     scanConfig
	needles [][]byte
	count   bool
	buf     []byte
	starts  []int // of the lines of a chunk that name a needle
	res     partResult
}

// scan scans the lines of p: those that start in [p.from, p.to).
func (s *scanner) scan(p *part) partResult {
	s.res = partResult{}
	if len(s.buf) < 2*s.cfg.block {
		s.buf = make([]byte, 2*s.cfg.block)
	}
	base := max(p.from-1, 0) // the offset of s.buf[0] in the source
	head, tail := 0, 0       // s.buf[head:tail] is read and not yet scanned
	skip := p.from > 0       // in the line before from: the previous part's
	long := false            // in a line longer than maxLine: skipped
	for {
		// Move what is left of a line to the front, and read a block after it.
		base += int64(head)
		tail = copy(s.buf, s.buf[head:tail])
		head = 0
		if len(s.buf) < tail+s.cfg.block { // for a long line
			s.buf = slices.Grow(s.buf[:tail], s.cfg.block)
			s.buf = s.buf[:cap(s.buf)]
		}
		n, err := p.r.Read(s.buf[tail : tail+s.cfg.block])
		tail += n
		eof := err == io.EOF
		if err != nil && !eof {
			s.res.err = err
			return s.res
		}

		if skip || long {
			i := bytes.IndexByte(s.buf[head:tail], '\n')
			if i < 0 && !eof {
				head = tail
				continue
			}
			if long {
				s.longLine()
			}
			skip, long = false, false
			if i < 0 { // the end
				return s.res
			}
			head += i + 1
		}
		if base+int64(head) >= p.to {
			return s.res // the next line is the next part's
		}

		// The whole lines, up to the first that starts at p.to or later.
		lines := s.buf[head : head+bytes.LastIndexByte(s.buf[head:tail], '\n')+1]
		if base+int64(head+len(lines)) > p.to {
			k := int(p.to - 1 - base - int64(head)) // from here on, a newline ends the part's last line
			lines = lines[:k+bytes.IndexByte(lines[k:], '\n')+1]
		}
		s.lines(lines)
		head += len(lines)
		if base+int64(head) >= p.to {
			return s.res
		}

		// What is left is the start of a line.
		if tail-head > s.cfg.maxLine {
			long, head = true, tail
		}
		if eof {
			if long {
				s.longLine()
			} else if tail > head { // a last line with no line end: give it one
				s.lines(append(s.buf[head:tail], '\n'))
			}
			return s.res
		}
	}
}

// longLine notes a line longer than maxLine: skipped, and bad.
func (s *scanner) longLine() {
	s.res.lines++
	if s.count {
		s.res.scanned++
		s.res.bad++
	}
}

// lines scans whole lines, each with its \n.
func (s *scanner) lines(chunk []byte) {
	if len(chunk) == 0 {
		return
	}
	if len(chunk) > s.cfg.maxLine+1 { // a line may be too long: one at a time
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i > s.cfg.maxLine {
				s.longLine()
			} else {
				s.lines(chunk[:i+1])
			}
			chunk = chunk[i+1:]
		}
		return
	}
	first := s.res.lines // the lines before chunk
	n := int64(bytes.Count(chunk, newline))
	s.res.lines += n
	if s.count {
		empty, object := lineStarts(chunk)
		s.res.scanned += n - empty
		s.res.bad += n - empty - object
	}
	s.find(chunk, first)
}

// lineStarts counts the lines of chunk that are empty (nothing but \r
// before their \n) and those that start with {: one look at the start of
// each line.
func lineStarts(chunk []byte) (empty, object int64) {
	for i := 0; i < len(chunk); i += bytes.IndexByte(chunk[i:], '\n') + 1 {
		switch chunk[i] {
		case '{':
			object++
		case '\n', '\r':
			if emptyLine(chunk[i:]) {
				empty++
			}
		}
	}
	return empty, object
}

// emptyLine reports whether the first line of chunk is nothing but \r
// before its \n.
func emptyLine(chunk []byte) bool {
	return bytes.TrimLeft(chunk, "\r")[0] == '\n'
}

// find hands on the lines of chunk that name a needle and start with {
// (the others are not JSON). first is the number of lines before chunk.
func (s *scanner) find(chunk []byte, first int64) {
	s.starts = s.starts[:0]
	for _, needle := range s.needles {
		key := needle[max(0, len(needle)-keyLen):]
		before := len(needle) - len(key)
		for at := 0; ; {
			i := bytes.Index(chunk[at:], key)
			if i < 0 {
				break
			}
			start := at + i - before // where the needle would start
			if start < 0 || !bytes.Equal(chunk[start:start+len(needle)], needle) {
				at += i + 1
				continue
			}
			s.starts = append(s.starts, bytes.LastIndexByte(chunk[:start], '\n')+1)
			at = start + bytes.IndexByte(chunk[start:], '\n') + 1 // the next line
		}
	}
	if len(s.starts) == 0 {
		return
	}
	slices.Sort(s.starts)
	n, prev := first, 0
	for _, start := range slices.Compact(s.starts) {
		n += int64(bytes.Count(chunk[prev:start], newline))
		prev = start
		raw := chunk[start : start+bytes.IndexByte(chunk[start:], '\n')]
		raw = bytes.TrimRight(raw, "\r")
		if len(raw) > 0 && raw[0] == '{' {
			s.res.matches = append(s.res.matches, match{n: n + 1, raw: bytes.Clone(raw)})
		}
	}
}
