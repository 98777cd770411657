package vlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// insertParams are the query parameters of /insert/jsonline for the lines
// the kit writes: their "time" is the timestamp, "message" the message, and
// each service is a stream.
const insertParams = "_stream_fields=service&_time_field=time&_msg_field=message"

// MaxStoreLine is the longest line VictoriaLogs takes by default
// (-insert.maxLineSizeBytes, 256 KiB): it skips a longer one without a
// word and answers 200. The Shipper never sends such a line; it counts it
// as rejected. (middleware caps every field a client controls, so that
// its lines stay far below this: see middleware.MaxLogLine.)
const MaxStoreLine = 256 << 10

// DefaultShipBuffer is how many bytes of lines a Shipper holds for the
// store, including the batch on its way: at 300 bytes a line, about
// 110,000 lines, or a minute and a half at 1,000 lines a second.
const DefaultShipBuffer = 32 << 20

// maxBatch is how many bytes a batch holds at most.
const maxBatch = 256 << 10

// Shipper is a log destination that sends JSON lines to a VictoriaLogs
// server, like any other destination of a service's log: it has its own
// bounded buffer and its own exact counts, and nothing it does waits for
// the store. Write only copies the line into the buffer (a lock held for
// a copy, never across a request); one goroutine sends the buffer in
// batches of up to 256 KiB, every flush interval or sooner when a batch is
// full, and retries a batch the store did not take (unreachable, a 5xx, a
// 429, no answer within the timeout) with backoff, for as long as the
// buffer holds. A store that is slow, hung, failing or absent therefore
// costs lines to the store, counted in [ShipStats], and never a line of
// another destination nor an answer.
//
// Put it beside the service's other destinations, not behind them: the
// demo writes each line to a logsink.Writer for stdout and to a Shipper.
//
// A batch whose answer was lost after the store had taken it (the store
// answered later than the timeout, or the connection broke after it wrote)
// is sent again: the store then holds those lines twice. Lines are never
// lost without being counted.
type Shipper struct {
	url     string
	client  *http.Client
	backoff [2]time.Duration // first and longest wait between attempts
	limit   int              // bytes the buffer holds
	tick    time.Duration

	mu       sync.Mutex
	queue    []*batch // full batches, then the one being filled
	free     []*batch
	held     int // bytes in queue and in flight
	closed   bool
	st       ShipStats
	lastErr  error
	losses   map[string]*loss // lines lost since the last marker, by service
	wake     chan struct{}    // a full batch is waiting, or Close began
	stop     chan struct{}    // closed when Close gives up: abandon what is left
	done     chan struct{}    // closed when the sending goroutine has ended
	stopOnce sync.Once
}

type batch struct {
	buf   []byte
	lines int64
}

// loss is a run of a service's lines that did not reach the store: the
// Shipper tells the store of it, in a line of that service's stream
// (LossMessage, with LostLines, lost_from, lost_to and lost_reason), with
// the first line it ships after them, so that support searching the store
// for an id of that time learns that its lines may be among them.
type loss struct {
	lines    int64
	from, to time.Time
	reasons  map[string]bool
}

// LossMessage is the message of the line a Shipper sends to the store in
// a service's stream after lines of it were lost on the way (dropped or
// rejected); LostLines names its count field.
const (
	LossMessage = "log lines lost on the way to the store"
	LostLines   = "lost_lines"
)

// noteLossLocked records that line was lost, for why.
func (s *Shipper) noteLossLocked(line []byte, why string) {
	svc := fieldOf(line, "service")
	if s.losses == nil {
		s.losses = map[string]*loss{}
	}
	l := s.losses[svc]
	now := time.Now()
	if l == nil {
		if len(s.losses) >= maxLossServices {
			return // counted all the same; the marker names the services it can
		}
		l = &loss{from: now, reasons: map[string]bool{}}
		s.losses[svc] = l
	}
	l.lines++
	l.to = now
	l.reasons[why] = true
}

// maxLossServices bounds the services a Shipper keeps losses for.
const maxLossServices = 64

// fieldOf is the value of the string field name of a JSON line, found
// without decoding it ("" when it has none, or an escaped one); at most
// 128 bytes of it.
func fieldOf(line []byte, name string) string {
	key := []byte(`"` + name + `":"`)
	i := bytes.Index(line, key)
	if i < 0 {
		return ""
	}
	v := line[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return ""
	}
	return string(v[:min(j, 128)])
}

// lossLinesLocked are the marker lines of the losses so far.
func (s *Shipper) lossLinesLocked() []byte {
	var out []byte
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	for svc, l := range s.losses {
		reasons := make([]string, 0, len(l.reasons))
		for r := range l.reasons {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		m := map[string]any{"time": now, "level": "warn", "message": LossMessage, LostLines: l.lines,
			"lost_from": l.from.UTC().Format(time.RFC3339Nano), "lost_to": l.to.UTC().Format(time.RFC3339Nano),
			"lost_reason": strings.Join(reasons, "; ")}
		if svc != "" {
			m["service"] = svc
		}
		b, _ := json.Marshal(m)
		out = append(append(out, b...), '\n')
	}
	return out
}

// ShipStats counts the lines handed to a Shipper. At any moment, Written
// = Delivered + Dropped + Rejected + Abandoned + Pending; after Close,
// Pending is 0.
type ShipStats struct {
	Written   int64 // lines handed to the Shipper
	Delivered int64 // lines in batches the store acknowledged (2xx)
	Dropped   int64 // lines refused because the buffer was full (the store down or slow for longer than it holds), or written after Close
	Rejected  int64 // lines the store refused for good (a 4xx other than 429), or longer than MaxStoreLine
	Abandoned int64 // lines still unsent when Close gave up
	Pending   int64 // lines in the buffer or on their way
	Attempts  int64 // requests sent to the store
	Retries   int64 // of those, batches sent again after a failure
}

// Lost returns the lines that will never reach the store:
// Dropped + Rejected + Abandoned.
func (s ShipStats) Lost() int64 { return s.Dropped + s.Rejected + s.Abandoned }

// ShipOption configures a [Shipper].
type ShipOption func(*Shipper)

// WithShipBuffer sets how many bytes of lines the Shipper holds; the
// default is [DefaultShipBuffer]. Values below [MaxStoreLine] are raised
// to it.
func WithShipBuffer(n int) ShipOption {
	return func(s *Shipper) { s.limit = max(n, MaxStoreLine) }
}

// WithShipTimeout sets how long a request to the store may take before it
// is given up and the batch retried; the default is 10 s.
func WithShipTimeout(d time.Duration) ShipOption {
	return func(s *Shipper) { s.client.Timeout = d }
}

// WithShipBackoff sets the first and the longest wait before a batch is
// sent again; the defaults are 100 ms and 5 s. Each wait doubles the last,
// with a random 20 % taken off.
func WithShipBackoff(first, longest time.Duration) ShipOption {
	return func(s *Shipper) { s.backoff = [2]time.Duration{first, max(first, longest)} }
}

// NewShipper returns a Shipper for the VictoriaLogs server at base (for
// example http://127.0.0.1:9428), sending what is waiting every interval.
func NewShipper(base string, interval time.Duration, opts ...ShipOption) (*Shipper, error) {
	u, err := parseBase(base)
	if err != nil {
		return nil, fmt.Errorf("vlogs: %w", err)
	}
	if interval <= 0 {
		return nil, fmt.Errorf("vlogs: a flush interval above 0 is needed, got %v", interval)
	}
	s := &Shipper{
		url:     u.JoinPath("/insert/jsonline").String() + "?" + insertParams,
		client:  &http.Client{Timeout: 10 * time.Second},
		backoff: [2]time.Duration{100 * time.Millisecond, 5 * time.Second},
		limit:   DefaultShipBuffer,
		tick:    interval,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	go s.run()
	return s, nil
}

// Write queues the lines in p (one or more, each ending in a newline; a
// last line without one is taken whole) and returns at once: it never
// waits for the store and never fails. A line that finds the buffer full,
// or comes after Close, is counted as dropped; one longer than
// MaxStoreLine as rejected.
func (s *Shipper) Write(p []byte) (int, error) {
	n := len(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i+1], p[i+1:]
		} else {
			p = nil
		}
		s.queueLocked(line)
	}
	return n, nil
}

func (s *Shipper) queueLocked(line []byte) {
	s.st.Written++
	size := len(line)
	if line[size-1] != '\n' {
		size++
	}
	switch {
	case s.closed:
		s.st.Dropped++
		return
	case size-1 > MaxStoreLine:
		s.st.Rejected++
		s.noteLossLocked(line, "a line longer than the store takes")
		return
	case s.held+size > s.limit:
		s.st.Dropped++
		s.noteLossLocked(line, "the buffer was full: the store was down or slow")
		return
	}
	if len(s.losses) > 0 {
		// The loss is told with the first line that goes after it (not
		// counted as a line written: it is the Shipper's own).
		// It may go past the buffer's limit: it is a few hundred bytes,
		// and without it the loss would go untold.
		if m := s.lossLinesLocked(); len(m) <= maxBatch {
			s.appendLocked(m, 0)
			s.losses = nil
		}
	}
	s.appendLocked(line, 1)
	s.st.Pending++
}

// appendLocked adds data, whole lines, to the batch being filled (or a
// new one), counting lines of them.
func (s *Shipper) appendLocked(data []byte, lines int64) {
	size := len(data)
	if data[size-1] != '\n' {
		size++
	}
	var b *batch
	if k := len(s.queue); k > 0 && len(s.queue[k-1].buf)+size <= maxBatch {
		b = s.queue[k-1]
	} else {
		if k := len(s.free); k > 0 {
			b, s.free = s.free[k-1], s.free[:k-1]
		} else {
			b = &batch{buf: make([]byte, 0, maxBatch)}
		}
		s.queue = append(s.queue, b)
		if len(s.queue) > 1 {
			s.signal()
		}
	}
	b.buf = append(b.buf, data...)
	if data[len(data)-1] != '\n' {
		b.buf = append(b.buf, '\n')
	}
	b.lines += lines
	s.held += size
}

func (s *Shipper) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counts so far.
func (s *Shipper) Stats() ShipStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// next takes the batch to send: the first full one, or, when flushing
// (every interval, or closing), the one being filled.
func (s *Shipper) next(flush bool) *batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 || (len(s.queue) == 1 && !flush && !s.closed) {
		return nil
	}
	b := s.queue[0]
	s.queue = s.queue[1:]
	return b
}

// settle counts the batch b, sent (or given up), and recycles it.
func (s *Shipper) settle(b *batch, count *int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*count += b.lines
	s.st.Pending -= b.lines
	s.held -= len(b.buf)
	b.buf, b.lines = b.buf[:0], 0
	if len(s.free) < 4 {
		s.free = append(s.free, b)
	}
}

// run is the sending goroutine.
func (s *Shipper) run() {
	defer close(s.done)
	t := time.NewTicker(s.tick)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stop; cancel() }()
	flush := false
	for {
		// A flush takes the batch being filled once; the lines written
		// while it is sent wait for the next full batch or interval.
		for b := s.next(flush); b != nil; b = s.next(false) {
			flush = false
			if !s.send(ctx, b) {
				s.abandon(b)
				return
			}
		}
		flush = false
		s.mu.Lock()
		closing := s.closed
		s.mu.Unlock()
		if closing {
			return
		}
		select {
		case <-t.C:
			flush = true
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

// send sends b until the store takes it or refuses it for good, waiting
// between attempts; false when the Shipper was stopped first.
func (s *Shipper) send(ctx context.Context, b *batch) bool {
	wait := s.backoff[0]
	for attempt := 0; ; attempt++ {
		retry, err := s.post(ctx, b.buf, attempt > 0)
		if err == nil {
			s.settle(b, &s.st.Delivered)
			return true
		}
		if ctx.Err() != nil {
			return false // Close gave up: the store's last failure stays the one to tell
		}
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		if !retry {
			s.settle(b, &s.st.Rejected)
			return true
		}
		jittered := wait - time.Duration(rand.Int64N(int64(wait)/5+1))
		select {
		case <-time.After(jittered):
		case <-ctx.Done():
			return false
		}
		wait = min(2*wait, s.backoff[1])
	}
}

// post sends one request; retry says whether a failure may pass.
func (s *Shipper) post(ctx context.Context, body []byte, again bool) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/stream+json")
	s.mu.Lock()
	s.st.Attempts++
	if again {
		s.st.Retries++
	}
	s.mu.Unlock()
	resp, err := s.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("vlogs: the store answered %s", resp.Status)
	}
	return false, fmt.Errorf("vlogs: the store refused a batch: %s", resp.Status)
}

// abandon counts b and every batch still queued as abandoned.
func (s *Shipper) abandon(b *batch) {
	s.settle(b, &s.st.Abandoned)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		b := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		s.settle(b, &s.st.Abandoned)
	}
}

// ErrLinesLost is wrapped by the error Close returns when lines did not
// reach the store; [Shipper.Stats] says how many and why.
var ErrLinesLost = errors.New("log lines did not reach the store")

// Close stops taking lines (later ones are counted as dropped), sends what
// is waiting, retrying as usual, and returns when all is sent, or when
// ctx is done: then what is left is abandoned and counted, so that a store
// that does not answer cannot hold up a shutdown. Either way, when it
// returns, Stats is final and Pending is 0. It returns nil when every line
// written reached the store, otherwise an error wrapping [ErrLinesLost]
// (with ctx's error if it gave up), which names the store's last failure.
// Calling it again returns the same counts.
func (s *Shipper) Close(ctx context.Context) error {
	s.mu.Lock()
	if len(s.losses) > 0 && !s.closed {
		// Lines lost with none after them: tell the store with the last
		// batch.
		if m := s.lossLinesLocked(); len(m) <= maxBatch {
			s.appendLocked(m, 0)
			s.losses = nil
		}
	}
	s.closed = true
	s.mu.Unlock()
	s.signal()
	var gaveUp error
	select {
	case <-s.done:
	case <-ctx.Done():
		gaveUp = ctx.Err()
		s.stopOnce.Do(func() { close(s.stop) })
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if lost := s.st.Lost(); lost > 0 {
		var cause string
		if s.lastErr != nil {
			cause = "; the store's last failure: " + s.lastErr.Error()
		}
		err := fmt.Errorf("vlogs: %d of %d %w (%d dropped, %d rejected, %d abandoned)%s",
			lost, s.st.Written, ErrLinesLost, s.st.Dropped, s.st.Rejected, s.st.Abandoned, cause)
		if gaveUp != nil {
			return errors.Join(err, gaveUp)
		}
		return err
	}
	return gaveUp
}
