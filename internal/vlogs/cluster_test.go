package vlogs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/vlogs"
)

// count runs `_time:1h | stats count()` on base.
func count(base string) (int64, error) {
	var got map[string]string
	err := vlogs.Query(context.Background(), http.DefaultClient, base, `_time:1h | stats count() as n`, func(raw []byte) {
		_ = json.Unmarshal(raw, &got)
	})
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(got["n"], 10, 64)
}

// shipServices ships n lines from five services to base, from seq on.
func shipServices(t *testing.T, base string, seq, n int) {
	t.Helper()
	s, err := vlogs.NewShipper(base, 100*time.Millisecond, vlogs.WithShipBackoff(50*time.Millisecond, 300*time.Millisecond))
	require.NoError(t, err)
	for i := seq; i < seq+n; i++ {
		_, _ = fmt.Fprintf(s, `{"level":"info","service":"svc-%d","seq":%d,"time":%q,"message":"line"}`+"\n",
			i%5, i, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	require.NoError(t, s.Close(context.Background()), "the front node took every line")
}

// eventuallyCount waits until base counts want lines (the front node
// passes lines on to the storage nodes within about a second).
func eventuallyCount(t *testing.T, c *vlogs.Cluster, base string, want int64) {
	t.Helper()
	var got int64
	var err error
	require.Eventually(t, func() bool {
		_ = c.Flush()
		got, err = count(base)
		return err == nil && got == want
	}, 10*time.Second, 100*time.Millisecond, "want %d lines, got %d (%v)", want, got, err)
}

// TestClusterOnLoopback: two storage nodes and a front node from the one
// binary. The lines of five services shipped to the front node are spread
// over both storage nodes, each keeping 30 days, and counted whole from
// the front. A storage node stopped: a query at the front node fails, and
// names the node; a front node that allows partial answers gives the
// lines of the node that is up, with a 200 and nothing to say that the
// answer is partial; new lines go to the node that is up. Once the node
// is back, the whole count is there again.
func TestClusterOnLoopback(t *testing.T) {
	c := vlogs.StartClusterForTest(t, 2)
	partial, err := vlogs.Start(vlogs.BinaryForTest(t), t.TempDir(), "-storageNode="+c.Storage[0].Addr+","+c.Storage[1].Addr, "-search.allowPartialResponse")
	require.NoError(t, err)
	t.Cleanup(partial.Stop)
	for _, s := range c.Storage {
		r, err := vlogs.ReadRetention(context.Background(), http.DefaultClient, s.URL)
		got := r.Period
		require.NoError(t, err)
		assert.Equal(t, vlogs.Retention, got, "storage node %s", s.Addr)
	}

	shipServices(t, c.Front.URL, 0, 2000)
	eventuallyCount(t, c, c.Front.URL, 2000)
	n1, err := count(c.Storage[0].URL)
	require.NoError(t, err)
	n2, err := count(c.Storage[1].URL)
	require.NoError(t, err)
	t.Logf("storage node 1 holds %d lines, node 2 %d", n1, n2)
	assert.Positive(t, n1)
	assert.Positive(t, n2)
	assert.EqualValues(t, 2000, n1+n2)

	c.Storage[1].Stop()
	_, err = count(c.Front.URL)
	require.Error(t, err, "no silent half answer")
	assert.Contains(t, err.Error(), c.Storage[1].Addr, "the error names the node")
	got, err := count(partial.URL)
	require.NoError(t, err)
	assert.Equal(t, n1, got, "a partial answer: the lines of the node that is up")

	shipServices(t, c.Front.URL, 2000, 1000)
	eventuallyCount(t, c, partial.URL, n1+1000)

	require.NoError(t, c.Storage[1].Restart())
	eventuallyCount(t, c, c.Front.URL, 3000)
}
