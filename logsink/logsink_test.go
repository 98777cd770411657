package logsink_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/logsink"
)

// blockingSink never returns from Write until released.
type blockingSink struct{ release chan struct{} }

func (b blockingSink) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

// slowSink takes bytes at rate bytes per second, and keeps them.
type slowSink struct {
	rate int
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (s *slowSink) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(len(p)) * time.Second / time.Duration(s.rate))
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *slowSink) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "%s", sc.Text())
		out = append(out, m)
	}
	return out
}

type failingSink struct{}

func (failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func line(i int) []byte {
	return fmt.Appendf(nil, `{"level":"warn","id":"%06d","message":"Not Found","pad":"%s"}`+"\n", i, strings.Repeat("x", 150))
}

// TestDropNeverWaitsOnABlockedSink: a destination that never returns
// costs lines, not time, and the count of lost lines is exact.
func TestDropNeverWaitsOnABlockedSink(t *testing.T) {
	sink := blockingSink{release: make(chan struct{})}
	defer close(sink.release)
	w := logsink.New(sink, logsink.WithBuffer(64))
	const n = 20000
	start := time.Now()
	for i := range n {
		_, err := w.Write(line(i))
		require.NoError(t, err)
	}
	assert.Less(t, time.Since(start), 2*time.Second, "%d writes to a blocked sink", n)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, w.Close(ctx), context.DeadlineExceeded, "Close gives up on a blocked sink")
	st := w.Stats()
	assert.EqualValues(t, n, st.Written)
	assert.Zero(t, st.Delivered)
	assert.EqualValues(t, n, st.Written-st.Delivered, "every line lost, and counted")
}

// TestDropOnASlowSinkCountsExactly: at 50 KB/s, lines are dropped; every
// line is delivered or counted as dropped, and the destination is told how
// many, in a line of its own, once it keeps up again.
func TestDropOnASlowSinkCountsExactly(t *testing.T) {
	sink := &slowSink{rate: 50 << 10}
	w := logsink.New(sink, logsink.WithBuffer(32))
	const n = 2000
	for i := range n {
		_, _ = w.Write(line(i))
	}
	require.NoError(t, w.Close(context.Background()))
	st := w.Stats()
	assert.EqualValues(t, n, st.Written)
	assert.Positive(t, st.Dropped)
	assert.Zero(t, st.Failed)
	assert.Equal(t, st.Written, st.Delivered+st.Dropped, "nothing unaccounted for")

	var got, reported int64
	for _, l := range sink.lines(t) {
		if d, ok := l["dropped"]; ok {
			reported += int64(d.(float64))
			continue
		}
		got++
	}
	assert.Equal(t, st.Delivered, got, "lines the sink has")
	assert.Equal(t, st.Dropped, reported, "the notices add up to the count")
}

// TestFailingSinkIsCountedAndReportedOnce: write errors cost lines, are
// reported once, and never reach the logger.
func TestFailingSinkIsCountedAndReportedOnce(t *testing.T) {
	for _, mode := range []logsink.Mode{logsink.Drop, logsink.Block} {
		var report bytes.Buffer
		w := logsink.New(failingSink{}, logsink.WithMode(mode), logsink.WithErrorReport(&report))
		for i := range 100 {
			n, err := w.Write(line(i))
			require.NoError(t, err)
			require.Equal(t, len(line(i)), n)
		}
		require.NoError(t, w.Close(context.Background()))
		st := w.Stats()
		assert.EqualValues(t, 100, st.Failed, "mode %d", mode)
		assert.EqualValues(t, 100, st.Lost())
		assert.Equal(t, 1, strings.Count(report.String(), "\n"), "reported once: %q", report.String())
		assert.Contains(t, report.String(), "disk full")
	}
}

// TestBlockModeWaitsAndLosesNothing: the other side of the trade-off: once
// the buffer is full, a write waits for the destination.
func TestBlockModeWaitsAndLosesNothing(t *testing.T) {
	sink := blockingSink{release: make(chan struct{})}
	w := logsink.New(sink, logsink.WithMode(logsink.Block), logsink.WithBuffer(1))
	_, _ = w.Write(line(1))
	time.Sleep(20 * time.Millisecond) // taken by the writing goroutine, which blocks
	_, _ = w.Write(line(2))           // fills the buffer
	done := make(chan struct{})
	go func() { _, _ = w.Write(line(3)); close(done) }()
	select {
	case <-done:
		t.Fatal("a Block-mode write returned while the buffer was full")
	case <-time.After(50 * time.Millisecond):
	}
	close(sink.release)
	<-done
	require.NoError(t, w.Close(context.Background()))
	assert.Equal(t, logsink.Stats{Written: 3, Delivered: 3}, w.Stats())
}

func TestBadConfigurationPanics(t *testing.T) {
	assert.Panics(t, func() { logsink.New(io.Discard, logsink.WithBuffer(0)) })
	assert.Panics(t, func() { logsink.New(io.Discard, logsink.WithMode(7)) })
}

// TestQuietServiceLineIsNotHeldBack: a single line reaches the destination
// promptly, without waiting for the next one.
func TestQuietServiceLineIsNotHeldBack(t *testing.T) {
	sink := &slowSink{rate: 1 << 30}
	w := logsink.New(sink)
	_, _ = w.Write(line(1))
	assert.Eventually(t, func() bool { return len(sink.lines(t)) == 1 }, time.Second, 5*time.Millisecond)
	require.NoError(t, w.Close(context.Background()))
}

// panickySink panics on every other line.
type panickySink struct{ n atomic.Int64 }

func (p *panickySink) Write(b []byte) (int, error) {
	if p.n.Add(1)%2 == 0 {
		panic("collector client bug")
	}
	return len(b), nil
}

// TestPanickingDestinationCostsLinesOnly: a destination that panics is a
// failing one; the process lives on, in both modes.
func TestPanickingDestinationCostsLinesOnly(t *testing.T) {
	for _, mode := range []logsink.Mode{logsink.Drop, logsink.Block} {
		var report bytes.Buffer
		w := logsink.New(&panickySink{}, logsink.WithMode(mode), logsink.WithErrorReport(&report))
		for i := range 100 {
			_, _ = w.Write(line(i))
		}
		require.NoError(t, w.Close(context.Background()))
		st := w.Stats()
		assert.EqualValues(t, 50, st.Failed, "mode %v", mode)
		assert.EqualValues(t, 50, st.Delivered)
		assert.Contains(t, report.String(), "panicked")
	}
}

// stallingSink takes n lines, then blocks until released. The writer's
// notices of dropped lines pass and are not counted: they are not lines
// (and under load they come between the first ones).
type stallingSink struct {
	n       atomic.Int64
	after   int64
	release chan struct{}
}

func (s *stallingSink) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"message":"log lines dropped`)) {
		return len(p), nil
	}
	if s.n.Add(1) > s.after {
		<-s.release
	}
	return len(p), nil
}

// TestDropsAreCountedWhileTheDestinationIsStalled: the count is right
// during the outage, not only once the destination recovers.
func TestDropsAreCountedWhileTheDestinationIsStalled(t *testing.T) {
	sink := &stallingSink{after: 50, release: make(chan struct{})}
	defer close(sink.release)
	w := logsink.New(sink, logsink.WithBuffer(1000))
	for i := range 20000 {
		_, _ = w.Write(line(i))
	}
	require.Eventually(t, func() bool { return w.Stats().Delivered == 50 }, 2*time.Second, time.Millisecond, "the destination took its 50 lines")
	st := w.Stats()
	assert.EqualValues(t, 20000, st.Written)
	assert.LessOrEqual(t, st.Pending, int64(1001), "the buffer and the line being written")
	assert.Equal(t, st.Written, st.Delivered+st.Dropped+st.Failed+st.Pending)
	assert.GreaterOrEqual(t, st.Dropped, int64(20000-50-1001))
}

// TestCountsAreExactWithConcurrentWriters: after Close, every line is
// delivered, dropped or failed, exactly once; nothing goes to stderr.
func TestCountsAreExactWithConcurrentWriters(t *testing.T) {
	sink := &slowSink{rate: 20 << 20}
	w := logsink.New(sink, logsink.WithBuffer(64))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range 5000 {
				_, _ = w.Write(line(i))
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close(context.Background()))
	st := w.Stats()
	assert.EqualValues(t, 16*5000, st.Written)
	assert.Zero(t, st.Pending)
	assert.Equal(t, st.Written, st.Delivered+st.Dropped+st.Failed)
	var got int64
	for _, l := range sink.lines(t) {
		if _, notice := l["dropped"]; !notice {
			got++
		}
	}
	assert.Equal(t, st.Delivered, got)

	_, _ = w.Write(line(0))
	assert.EqualValues(t, st.Dropped+1, w.Stats().Dropped, "a line after Close is dropped, not delivered")
}

func TestTimestamp(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 25, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	logger := zerolog.New(&buf).Hook(logsink.Timestamp(func() time.Time { return at }))
	logger.Info().Msg("hello")
	assert.JSONEq(t, `{"level":"info","time":"2026-11-25T08:30:00.123Z","message":"hello"}`, buf.String())
	assert.Equal(t, time.RFC3339, zerolog.TimeFieldFormat, "zerolog's global is untouched")
}
