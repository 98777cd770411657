package vlogs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/vlogs"
)

// storeCount returns how many lines of service the store holds, and how
// many distinct seq values among them.
func storeCount(t *testing.T, srv *vlogs.Server, service string) (lines, distinct int64) {
	t.Helper()
	require.NoError(t, srv.Flush())
	q := `_time:1h service:` + service + ` !` + vlogs.LostLines + `:* | stats count() as n, count_uniq(seq) as u`
	var got map[string]string
	require.NoError(t, vlogs.Query(context.Background(), http.DefaultClient, srv.URL, q, func(raw []byte) {
		require.NoError(t, json.Unmarshal(raw, &got))
	}))
	n, _ := strconv.ParseInt(got["n"], 10, 64)
	u, _ := strconv.ParseInt(got["u"], 10, 64)
	return n, u
}

// lossMarked returns the lines the store's loss markers of service count.
func lossMarked(t *testing.T, srv *vlogs.Server, service string) int64 {
	t.Helper()
	require.NoError(t, srv.Flush())
	q := `_time:1h service:` + service + ` ` + vlogs.LostLines + `:* | stats sum(` + vlogs.LostLines + `) as n`
	var got map[string]string
	require.NoError(t, vlogs.Query(context.Background(), http.DefaultClient, srv.URL, q, func(raw []byte) {
		require.NoError(t, json.Unmarshal(raw, &got))
	}))
	n, _ := strconv.ParseFloat(got["n"], 64)
	return int64(n)
}

// load writes n lines of service to s, at rate lines a second, calling
// at(i) before line i (for faults at set points).
func load(s *vlogs.Shipper, service string, n, rate int, at func(i int)) {
	pad := strings.Repeat("p", 150)
	start := time.Now()
	for i := range n {
		if at != nil {
			at(i)
		}
		if due := start.Add(time.Duration(i) * time.Second / time.Duration(rate)); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		line := fmt.Appendf(nil, `{"level":"info","service":%q,"seq":%d,"time":%q,"message":"line","pad":%q}`+"\n",
			service, i, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), pad)
		_, _ = s.Write(line)
	}
}

// checkExact: every line written is in the store or counted as lost,
// exactly. Unless mayRepeat, none is there twice: a batch is sent twice
// only when the store took it and its answer was lost (a store stopped
// while answering, or answering after the timeout, which a loaded
// machine can make happen), so the tests where that cannot be ruled out
// say so.
func checkExact(t *testing.T, srv *vlogs.Server, service string, s *vlogs.Shipper, written int, mayRepeat bool) vlogs.ShipStats {
	t.Helper()
	st := s.Stats()
	n, u := storeCount(t, srv, service)
	t.Logf("%s: written %d, in the store %d (%d distinct), delivered %d, lost %d (dropped %d, rejected %d, abandoned %d), attempts %d, retries %d",
		service, st.Written, n, u, st.Delivered, st.Lost(), st.Dropped, st.Rejected, st.Abandoned, st.Attempts, st.Retries)
	assert.EqualValues(t, written, st.Written)
	assert.Zero(t, st.Pending, "nothing pending after Close")
	assert.Equal(t, st.Written, st.Delivered+st.Lost(), "counts add up")
	assert.Equal(t, st.Written, u+st.Lost(), "the store's lines plus the reported loss are the lines written")
	assert.Equal(t, st.Delivered, u, "the store holds every line delivered")
	if !mayRepeat {
		assert.Equal(t, u, n, "the store holds each line once")
	}
	return st
}

func fastShipper(t *testing.T, url string, opts ...vlogs.ShipOption) *vlogs.Shipper {
	t.Helper()
	s, err := vlogs.NewShipper(url, 100*time.Millisecond,
		append([]vlogs.ShipOption{vlogs.WithShipBackoff(50*time.Millisecond, 300*time.Millisecond), vlogs.WithShipTimeout(5 * time.Second)}, opts...)...)
	require.NoError(t, err)
	return s
}

func closeWithin(t *testing.T, s *vlogs.Shipper, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := s.Close(ctx)
	assert.Less(t, time.Since(start), d+time.Second, "Close keeps to its deadline")
	return err
}

// TestShipperStoreDownAtStart: nothing listens at the store's address for
// the first 1.5 s; the lines wait in the buffer, retried, and all reach
// the store once it is up.
func TestShipperStoreDownAtStart(t *testing.T) {
	t.Parallel()
	bin := vlogs.BinaryForTest(t)
	addr, err := vlogs.FreeAddr()
	require.NoError(t, err)
	s := fastShipper(t, "http://"+addr)
	var srv *vlogs.Server
	load(s, "downatstart", 4000, 2000, func(i int) {
		if i == 3000 {
			srv, err = vlogs.StartOn(bin, t.TempDir(), addr)
			require.NoError(t, err)
			t.Cleanup(srv.Stop)
		}
	})
	require.NoError(t, closeWithin(t, s, 10*time.Second))
	st := checkExact(t, srv, "downatstart", s, 4000, false)
	assert.Zero(t, st.Lost(), "the buffer held the outage")
	assert.Positive(t, st.Retries)
}

// TestShipperStoreNeverUp: the store is absent for the whole run; Close
// gives up at its deadline and every line is counted as lost.
func TestShipperStoreNeverUp(t *testing.T) {
	t.Parallel()
	addr, err := vlogs.FreeAddr()
	require.NoError(t, err)
	s := fastShipper(t, "http://"+addr)
	load(s, "neverup", 500, 5000, nil)
	err = closeWithin(t, s, 500*time.Millisecond)
	require.ErrorIs(t, err, vlogs.ErrLinesLost)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "connection refused", "names the store's failure")
	st := s.Stats()
	assert.EqualValues(t, 500, st.Abandoned)
	assert.EqualValues(t, 500, st.Lost())
	assert.Zero(t, st.Delivered)
	assert.Zero(t, st.Pending)
}

// TestShipperStoreKilledMidLoad: the store is stopped (SIGTERM) a third
// of the way in and started again, on the same data, 1.5 s later.
func TestShipperStoreKilledMidLoad(t *testing.T) {
	t.Parallel()
	srv := vlogs.StartForTest(t)
	s := fastShipper(t, srv.URL)
	load(s, "killed", 6000, 2000, func(i int) {
		switch i {
		case 2000:
			srv.Stop()
		case 5000:
			require.NoError(t, srv.Restart())
		}
	})
	require.NoError(t, closeWithin(t, s, 10*time.Second))
	st := checkExact(t, srv, "killed", s, 6000, true)
	assert.Positive(t, st.Retries)
}

// TestShipperSlowStore: every request waits 400 ms at the store, and the
// buffer holds 512 KiB: lines are dropped, counted, and the rest arrive.
func TestShipperSlowStore(t *testing.T) {
	t.Parallel()
	srv := vlogs.StartForTest(t)
	proxy, err := vlogs.NewFaultProxy(srv.URL)
	require.NoError(t, err)
	defer proxy.Close()
	proxy.Set(vlogs.Slow, 400*time.Millisecond)
	s := fastShipper(t, proxy.URL, vlogs.WithShipBuffer(512<<10))
	start := time.Now()
	load(s, "slow", 8000, 4000, nil)
	assert.Less(t, time.Since(start), 3*time.Second, "writes do not wait for the store")
	require.ErrorIs(t, closeWithin(t, s, 10*time.Second), vlogs.ErrLinesLost)
	st := checkExact(t, srv, "slow", s, 8000, false)
	assert.Positive(t, st.Dropped, "a 512 KiB buffer cannot hold 2 s of a slow store")
	assert.Equal(t, st.Dropped, lossMarked(t, srv, "slow"), "the store's own lines say how many of the service's lines it did not get")
}

// TestShipperHungStore: the store takes requests and never answers for
// 2.5 s; each request times out after 1 s, the batch is retried, and the
// lines after the buffer filled are counted as dropped.
func TestShipperHungStore(t *testing.T) {
	t.Parallel()
	srv := vlogs.StartForTest(t)
	proxy, err := vlogs.NewFaultProxy(srv.URL)
	require.NoError(t, err)
	defer proxy.Close()
	s := fastShipper(t, proxy.URL, vlogs.WithShipBuffer(512<<10), vlogs.WithShipTimeout(time.Second))
	load(s, "hung", 8000, 2000, func(i int) {
		switch i {
		case 1000:
			proxy.Set(vlogs.Hang, 0)
		case 6000:
			proxy.Set(vlogs.Pass, 0)
		}
	})
	require.ErrorIs(t, closeWithin(t, s, 10*time.Second), vlogs.ErrLinesLost)
	st := checkExact(t, srv, "hung", s, 8000, true)
	assert.Positive(t, st.Dropped)
	assert.Positive(t, st.Retries)
}

// TestShipperStoreAnswers500: the store answers 500 for 1.5 s; the batches
// are retried and, the buffer holding, all lines arrive.
func TestShipperStoreAnswers500(t *testing.T) {
	t.Parallel()
	srv := vlogs.StartForTest(t)
	proxy, err := vlogs.NewFaultProxy(srv.URL)
	require.NoError(t, err)
	defer proxy.Close()
	s := fastShipper(t, proxy.URL)
	load(s, "fail500", 6000, 2000, func(i int) {
		switch i {
		case 1000:
			proxy.Set(vlogs.Fail, 0)
		case 4000:
			proxy.Set(vlogs.Pass, 0)
		}
	})
	require.NoError(t, closeWithin(t, s, 10*time.Second))
	st := checkExact(t, srv, "fail500", s, 6000, false)
	assert.Zero(t, st.Lost())
	assert.Positive(t, st.Retries)
}

// TestShipperRejectsTooLongLines: a line the store would skip without a
// word is not sent, and counted as rejected.
func TestShipperRejectsTooLongLines(t *testing.T) {
	t.Parallel()
	srv := vlogs.StartForTest(t)
	s := fastShipper(t, srv.URL)
	long := `{"service":"toolong","seq":1,"message":"` + strings.Repeat("x", vlogs.MaxStoreLine) + `"}` + "\n"
	_, _ = s.Write([]byte(long))
	_, _ = s.Write([]byte(`{"service":"toolong","seq":2,"message":"short"}` + "\n"))
	require.ErrorIs(t, closeWithin(t, s, 5*time.Second), vlogs.ErrLinesLost)
	st := checkExact(t, srv, "toolong", s, 2, false)
	assert.EqualValues(t, 1, st.Rejected)
	assert.EqualValues(t, 1, lossMarked(t, srv, "toolong"), "the store is told of the line it did not get")
}
