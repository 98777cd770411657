// Package logsink is the writer between a service's zerolog logger and the
// destination of its log (stdout, a file, a pipe to a collector). A
// destination that blocks, slows down, fails or panics then costs log
// lines, counted exactly and reported, and never an answer to a client.
//
//	sink := logsink.New(os.Stdout, logsink.WithErrorReport(os.Stderr))
//	defer sink.Close(shutdownCtx)
//	logger := zerolog.New(sink).With().Timestamp().Logger()
//
// A line is copied into a bounded buffer that a single goroutine writes to
// the destination, in order. What happens when the buffer is full is the
// service's choice, its [Mode]:
//
//   - [Drop] (the default) never waits: the line is dropped and counted,
//     and as soon as the destination takes lines again, a line of its own
//     says how many were lost ("dropped"). Answers never wait for the log.
//   - [Block] waits for room: nothing is dropped, and a destination that
//     stops reading stops, once the buffer is full, every request that
//     logs. Use it where a lost line is worse than a lost answer.
//
// 360X services choose Drop. BENCHMARKS.md says why this is a channel and
// not zerolog's diode.
package logsink

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says what a write does when the buffer is full.
type Mode uint8

const (
	// Drop never waits: a line that finds the buffer full is dropped and
	// counted. The default.
	Drop Mode = iota
	// Block waits for room in the buffer: nothing is dropped, and a stuck
	// destination holds up every caller once the buffer is full.
	Block
)

// String returns "drop" or "block".
func (m Mode) String() string {
	switch m {
	case Drop:
		return "drop"
	case Block:
		return "block"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// DefaultBuffer is the number of lines the buffer holds.
const DefaultBuffer = 8192

// Option configures a [Writer].
type Option func(*Writer)

// WithMode sets the mode; the default is [Drop]. New panics on an unknown
// mode.
func WithMode(m Mode) Option { return func(w *Writer) { w.mode = m } }

// WithBuffer sets how many lines the buffer holds; the default is
// [DefaultBuffer]. New panics on a value below 1.
func WithBuffer(lines int) Option { return func(w *Writer) { w.size = lines } }

// WithErrorReport sets where the destination's first failure (a write
// error, a short write, a panic) is reported, once (typically os.Stderr);
// by default failures are only counted. Use a writer that is not the
// destination. New panics on nil.
func WithErrorReport(r io.Writer) Option {
	return func(w *Writer) {
		if r == nil {
			panic("logsink: WithErrorReport(nil)")
		}
		w.report = r
	}
}

// Stats counts lines. Each line handed to the Writer is, at any moment,
// exactly one of: delivered, dropped, failed, or still on its way (in the
// buffer or being written), so Written = Delivered + Dropped + Failed +
// Pending.
type Stats struct {
	Written   int64 // lines handed to the Writer
	Delivered int64 // lines the destination took whole
	Dropped   int64 // lines refused for want of room (Drop mode), or handed over after Close
	Failed    int64 // lines the destination refused (a write error, a short write, a panic)
	Pending   int64 // lines in the buffer or being written
}

// Lost returns the lines known to be lost: dropped or failed. After Close
// has given up, the pending lines are lost too: Written - Delivered.
func (s Stats) Lost() int64 { return s.Dropped + s.Failed }

// Writer is the io.Writer a zerolog logger writes to. Its Write never fails
// and, in Drop mode, never waits. It is safe for concurrent use; each Write
// must be one whole line, as zerolog writes them.
type Writer struct {
	mode   Mode
	size   int
	report io.Writer
	dst    io.Writer

	lines  chan *[]byte
	closed chan struct{} // closed by Close: no more lines are taken
	// state is closedBit once Close has begun, plus the number of Writes
	// between their look at it and their hand-over of a line: the writing
	// goroutine ends only when, closed, none is left, so that no line is
	// put in the buffer after it has emptied it.
	state atomic.Int64
	done  chan struct{} // closed when the writing goroutine has finished
	once  sync.Once

	written, delivered, dropped, failed atomic.Int64
	reportedDrops                       int64 // the writing goroutine's: drops already told
	reported                            atomic.Bool
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// New returns a Writer for dst and starts its writing goroutine, which
// ends with [Writer.Close]. The lines it writes itself (how many were
// dropped) are JSON lines, as zerolog's.
func New(dst io.Writer, opts ...Option) *Writer {
	if dst == nil {
		panic("logsink: New(nil)")
	}
	w := &Writer{size: DefaultBuffer, dst: dst, closed: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(w)
	}
	if w.size < 1 {
		panic("logsink: WithBuffer needs at least 1 line, got " + strconv.Itoa(w.size))
	}
	if w.mode != Drop && w.mode != Block {
		panic("logsink: unknown " + w.mode.String())
	}
	w.lines = make(chan *[]byte, w.size)
	go w.run()
	return w
}

// Write hands a copy of p, one log line, to the writing goroutine and
// reports it written. In Drop mode it never waits; in Block mode it waits
// for room in the buffer, or for Close.
func (w *Writer) Write(p []byte) (int, error) {
	w.written.Add(1)
	if w.state.Add(1)&closedBit != 0 {
		w.state.Add(-1)
		w.dropped.Add(1)
		return len(p), nil
	}
	defer w.state.Add(-1)
	bp := bufPool.Get().(*[]byte)
	*bp = append((*bp)[:0], p...)
	if w.mode == Drop {
		select {
		case w.lines <- bp:
		default:
			w.dropped.Add(1)
			bufPool.Put(bp)
		}
		return len(p), nil
	}
	select {
	case w.lines <- bp:
	case <-w.closed:
		w.dropped.Add(1)
		bufPool.Put(bp)
	}
	return len(p), nil
}

// closedBit is set in Writer.state by Close.
const closedBit = 1 << 62

// run is the writing goroutine: it writes the lines in order until Close,
// then what is left in the buffer, including the lines of Writes that
// were under way when Close began.
func (w *Writer) run() {
	defer close(w.done)
	for {
		select {
		case bp := <-w.lines:
			w.deliver(bp)
		case <-w.closed:
			for {
				select {
				case bp := <-w.lines:
					w.deliver(bp)
				default:
					if w.state.Load() == closedBit {
						// No Write is under way and none will start: what
						// is in the buffer now is the last of it.
						for {
							select {
							case bp := <-w.lines:
								w.deliver(bp)
							default:
								return
							}
						}
					}
					runtime.Gosched()
				}
			}
		}
	}
}

// deliver writes one line and counts it, then tells the destination about
// lines dropped since it last did, now that it takes lines again.
func (w *Writer) deliver(bp *[]byte) {
	if w.write(*bp) {
		w.delivered.Add(1)
		if d := w.dropped.Load(); d > w.reportedDrops {
			notice := fmt.Appendf(nil, `{"level":"warn","dropped":%d,"dropped_total":%d,"time":%q,"message":"log lines dropped: the log's destination did not keep up"}`+"\n",
				d-w.reportedDrops, d, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
			if w.write(notice) {
				w.reportedDrops = d
			}
		}
	} else {
		w.failed.Add(1)
	}
	if cap(*bp) <= 64<<10 {
		bufPool.Put(bp)
	}
}

// write writes p to the destination and reports whether it took all of
// it. A destination that fails, writes short or panics is reported once.
func (w *Writer) write(p []byte) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			w.fail(fmt.Errorf("the destination panicked: %v", v))
			ok = false
		}
	}()
	n, err := w.dst.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.fail(err)
		return false
	}
	return true
}

func (w *Writer) fail(err error) {
	if w.report != nil && w.reported.CompareAndSwap(false, true) {
		fmt.Fprintf(w.report, "log destination failed: %v; log lines are being lost (reported once)\n", err)
	}
}

// Stats returns the counts so far.
func (w *Writer) Stats() Stats {
	// Read in the order that keeps each count no later than Written.
	delivered, failed, dropped := w.delivered.Load(), w.failed.Load(), w.dropped.Load()
	written := w.written.Load()
	return Stats{Written: written, Delivered: delivered, Dropped: dropped, Failed: failed,
		Pending: max(written-delivered-dropped-failed, 0)}
}

// Close stops taking lines (later writes are counted as dropped), writes
// the lines still in the buffer and returns nil, or gives up when ctx is
// done and returns ctx's error: a destination that blocks cannot hold up a
// shutdown. Then Stats().Written - Stats().Delivered is the number of
// lines lost; once Close has returned nil, Pending is 0 and that is
// Dropped + Failed. Close does not close the destination; calling it again
// waits again.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		w.state.Or(closedBit)
		close(w.closed)
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
