// Package logsink is the writer between a service's zerolog logger and the
// destination of its log (stdout, a file, a pipe to a collector). A
// destination that blocks, slows down or fails then costs log lines,
// counted exactly and reported, and never an answer to a client.
//
//	sink := logsink.New(os.Stdout, logsink.WithErrorReport(os.Stderr))
//	defer sink.Close(shutdownCtx)
//	logger := zerolog.New(sink).With().Timestamp().Logger()
//
// In the default mode, [Drop], a line is handed to a bounded buffer that a
// single goroutine writes to the destination (zerolog's diode, a lock-free
// ring), so writing a line never waits. When the destination cannot keep
// up, the oldest lines that were not written yet are overwritten: they are
// counted, and a line saying how many were lost is written as soon as the
// destination takes lines again. In [Block] mode nothing is dropped: each
// line is written before the call returns, so a destination that stops
// reading stops every request that logs. Which loss is worse, of log lines
// or of answers, is the service's choice; 360X services choose Drop.
package logsink

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog/diode"
)

// Mode says what a write does when the destination cannot keep up.
type Mode uint8

const (
	// Drop never waits: lines that do not fit in the buffer are dropped
	// and counted. The default.
	Drop Mode = iota
	// Block waits for the destination: nothing is dropped, and a stuck
	// destination holds up every caller.
	Block
)

// String returns "drop" or "block".
func (m Mode) String() string {
	if m == Block {
		return "block"
	}
	return "drop"
}

// DefaultBuffer is the number of lines the Drop mode's buffer holds.
const DefaultBuffer = 8192

// pollInterval is how often the Drop mode's writing goroutine looks for
// lines when it has found none: the most a line waits in a quiet service.
const pollInterval = 10 * time.Millisecond

// Option configures a [Writer].
type Option func(*Writer)

// WithMode sets the mode; the default is [Drop].
func WithMode(m Mode) Option { return func(w *Writer) { w.mode = m } }

// WithBuffer sets how many lines the Drop mode's buffer holds; the default
// is [DefaultBuffer]. New panics on a value below 1.
func WithBuffer(lines int) Option { return func(w *Writer) { w.size = lines } }

// WithErrorReport sets where the destination's first write failure is
// reported, once (typically os.Stderr); by default failures are only
// counted. Use a writer that is not the destination.
func WithErrorReport(r io.Writer) Option { return func(w *Writer) { w.report = r } }

// Stats counts lines. Written = Delivered + Dropped + Failed + the lines
// still on their way; after [Writer.Close] has returned nil, none are on
// their way.
type Stats struct {
	Written   int64 // lines handed to the Writer
	Delivered int64 // lines the destination took whole
	Dropped   int64 // lines overwritten in the buffer before they could be written
	Failed    int64 // lines the destination refused (a write error or a short write)
}

// Lost returns the lines known to be lost: dropped or refused.
func (s Stats) Lost() int64 { return s.Dropped + s.Failed }

// Writer is the io.Writer a zerolog logger writes to. Its Write never fails
// and, in Drop mode, never waits. It is safe for concurrent use; each Write
// must be one whole line, as zerolog writes them.
type Writer struct {
	mode   Mode
	size   int
	report io.Writer

	dst     counting
	ring    diode.Writer // Drop mode
	mu      sync.Mutex   // Block mode: one line at a time
	written atomic.Int64
	closed  chan struct{}
	once    sync.Once
}

// New returns a Writer for dst. Lines it writes itself (the count of
// dropped lines) are JSON lines, as zerolog's.
func New(dst io.Writer, opts ...Option) *Writer {
	w := &Writer{size: DefaultBuffer, closed: make(chan struct{})}
	for _, o := range opts {
		o(w)
	}
	if w.size < 1 {
		panic("logsink: WithBuffer needs at least 1 line, got " + strconv.Itoa(w.size))
	}
	if w.mode != Drop && w.mode != Block {
		panic("logsink: unknown Mode " + strconv.Itoa(int(w.mode)))
	}
	w.dst = counting{w: dst, report: w.report}
	if w.mode == Drop {
		// Polled, not woken: the ring's waiter can miss a wake-up and
		// keep a line until the next one arrives.
		w.ring = diode.NewWriter(&w.dst, w.size, pollInterval, w.dropped)
	}
	return w
}

// Write hands p, one log line, on to the destination and reports it
// written.
func (w *Writer) Write(p []byte) (int, error) {
	w.written.Add(1)
	if w.mode == Drop {
		return w.ring.Write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.dst.Write(p)
	return len(p), nil
}

// dropped is the ring's alert: called from the writing goroutine when it
// finds that missed lines were overwritten, that is, when the destination
// takes lines again. The count goes to the destination at once.
func (w *Writer) dropped(missed int) {
	total := w.dst.dropped.Add(int64(missed))
	line := fmt.Appendf(nil, `{"level":"warn","dropped":%d,"dropped_total":%d,"time":%q,"message":"log lines dropped: the log's destination did not keep up"}`+"\n",
		missed, total, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	_, _ = w.dst.write(line, false)
}

// Stats returns the counts so far.
func (w *Writer) Stats() Stats {
	return Stats{
		Written:   w.written.Load(),
		Delivered: w.dst.delivered.Load(),
		Dropped:   w.dst.dropped.Load(),
		Failed:    w.dst.failed.Load(),
	}
}

// Close writes the lines still in the buffer and returns nil, or gives up
// when ctx is done and returns ctx's error: a destination that blocks
// cannot hold up a shutdown. Lines written after Close, or still on their
// way when it gives up, are lost; the final count of lost lines is
// Stats().Written - Stats().Delivered. Close does not close the
// destination.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		go func() {
			if w.mode == Drop {
				_ = w.ring.Close()
			} else {
				w.mu.Lock() // waits for a write in progress
				w.mu.Unlock()
			}
			close(w.closed)
		}()
	})
	select {
	case <-w.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// counting is the destination with its counts. It is written by one
// goroutine at a time (the ring's, or under the Block mode's lock).
type counting struct {
	w         io.Writer
	report    io.Writer
	reported  atomic.Bool
	delivered atomic.Int64
	dropped   atomic.Int64
	failed    atomic.Int64
}

// Write writes one line of the logger's and counts it.
func (c *counting) Write(p []byte) (int, error) { return c.write(p, true) }

func (c *counting) write(p []byte, count bool) (int, error) {
	n, err := c.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if count {
			c.failed.Add(1)
		}
		if c.report != nil && c.reported.CompareAndSwap(false, true) {
			fmt.Fprintf(c.report, "log destination failed: %v; log lines are being lost (reported once)\n", err)
		}
		return len(p), nil // zerolog would print to stderr for every line
	}
	if count {
		c.delivered.Add(1)
	}
	return n, nil
}
