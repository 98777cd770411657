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
	"testing"
	"time"

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

// TestBlockModeWaitsAndLosesNothing: the other side of the trade-off.
func TestBlockModeWaitsAndLosesNothing(t *testing.T) {
	sink := blockingSink{release: make(chan struct{})}
	w := logsink.New(sink, logsink.WithMode(logsink.Block))
	done := make(chan struct{})
	go func() { _, _ = w.Write(line(1)); close(done) }()
	select {
	case <-done:
		t.Fatal("a Block-mode write returned while the sink was blocked")
	case <-time.After(50 * time.Millisecond):
	}
	close(sink.release)
	<-done
	require.NoError(t, w.Close(context.Background()))
	assert.Equal(t, logsink.Stats{Written: 1, Delivered: 1}, w.Stats())
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
