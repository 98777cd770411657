package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/vlogs"
	"github.com/360x/errkit/middleware"
)

var storeCounts = regexp.MustCompile(`log lines to the store: (\d+) written, (\d+) delivered, (\d+) lost`)

// storeReport returns what the demo reported, at exit, about the lines it
// shipped to the store.
func (p *piped) storeReport(t *testing.T) (written, delivered, lost int64) {
	t.Helper()
	m := storeCounts.FindStringSubmatch(p.stderr.String())
	require.NotNil(t, m, "the exit reports the store's counts: %s", p.stderr.String())
	written, _ = strconv.ParseInt(m[1], 10, 64)
	delivered, _ = strconv.ParseInt(m[2], 10, 64)
	lost, _ = strconv.ParseInt(m[3], 10, 64)
	return
}

// linesInStore returns how many lines the store holds.
func linesInStore(t *testing.T, srv *vlogs.Server) int64 {
	t.Helper()
	require.NoError(t, srv.Flush())
	var got map[string]string
	require.NoError(t, vlogs.Query(context.Background(), http.DefaultClient, srv.URL, `_time:1h | stats count() as n`, func(raw []byte) {
		require.NoError(t, json.Unmarshal(raw, &got))
	}))
	n, _ := strconv.ParseInt(got["n"], 10, 64)
	return n
}

// TestStoreFaultsCostNoLocalLine: the demo ships to a real VictoriaLogs
// behind a proxy that makes it hung, slow or failing for part of the run.
// Every request is answered at once, stdout has every line, and what the
// demo reports at exit is the truth: the store's lines plus the reported
// loss are the lines written.
func TestStoreFaultsCostNoLocalLine(t *testing.T) {
	cases := []struct {
		name  string
		fault vlogs.Fault
		delay time.Duration
		heals bool // the fault ends halfway
	}{
		{"hung, then well", vlogs.Hang, 0, true},
		{"hung to the end", vlogs.Hang, 0, false},
		{"500, then well", vlogs.Fail, 0, true},
		{"slow", vlogs.Slow, 300 * time.Millisecond, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := vlogs.StartForTest(t)
			proxy, err := vlogs.NewFaultProxy(store.URL)
			require.NoError(t, err)
			defer proxy.Close()
			proxy.Set(c.fault, c.delay)
			p := startPiped(t, "-vlogs-url", proxy.URL, "-shutdown-timeout", "1s", "-rate-limit", "100000/1m")
			var stdout []byte
			var reading sync.WaitGroup
			reading.Go(func() { stdout, _ = io.ReadAll(p.read) })

			client := &http.Client{Timeout: 5 * time.Second}
			const n = 200
			var slowest time.Duration
			for i := range n {
				if c.heals && i == n/2 {
					proxy.Set(vlogs.Pass, 0)
				}
				req, _ := http.NewRequest("GET", p.base+"/api/v1/participant/offers/9"+strconv.Itoa(i), nil)
				req.Header.Set("Authorization", "Bearer alice-token")
				start := time.Now()
				resp, err := client.Do(req)
				require.NoError(t, err, "request %d: the service keeps answering", i)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusNotFound, resp.StatusCode)
				slowest = max(slowest, time.Since(start))
				time.Sleep(5 * time.Millisecond)
			}
			assert.Less(t, slowest, 500*time.Millisecond, "no answer waits for the store")
			_, err = p.stop(t)
			require.NoError(t, err, "exit 0")
			reading.Wait()

			written, delivered, lost := p.counts(t)
			assert.Zero(t, lost, "stdout lost nothing")
			assert.Equal(t, written, delivered)
			assert.Equal(t, written, completeLines(t, stdout), "every line is on stdout")

			sw, sd, sl := p.storeReport(t)
			inStore := linesInStore(t, store)
			t.Logf("%s: stdout %d lines; store: %d written, %d delivered, %d lost; the store holds %d", c.name, written, sw, sd, sl, inStore)
			assert.EqualValues(t, written, sw, "the store was handed every line")
			assert.Equal(t, sd, inStore, "the store holds what the demo says it delivered")
			assert.Equal(t, sw, inStore+sl, "the store's lines plus the reported loss are the lines written")
			if c.heals {
				assert.Positive(t, sd)
			}
		})
	}
}

// TestStoreAbsentForTheWholeRun: nothing listens at -vlogs-url. The demo
// answers, keeps every stdout line, and reports every line as lost to the
// store (it used to report them delivered).
func TestStoreAbsentForTheWholeRun(t *testing.T) {
	addr, err := vlogs.FreeAddr()
	require.NoError(t, err)
	p := startPiped(t, "-vlogs-url", "http://"+addr, "-shutdown-timeout", "1s")
	var reading sync.WaitGroup
	reading.Go(func() { _, _ = io.Copy(io.Discard, p.read) })
	lat := errorRouteLatencies(t, 20, p)
	assert.Less(t, p99(lat[0]), 500*time.Millisecond)
	_, err = p.stop(t)
	require.NoError(t, err)
	reading.Wait()
	written, delivered, _ := p.counts(t)
	assert.Equal(t, written, delivered)
	sw, sd, sl := p.storeReport(t)
	t.Logf("stdout %d lines; store: %d written, %d delivered, %d lost", written, sw, sd, sl)
	assert.EqualValues(t, written, sw)
	assert.Zero(t, sd)
	assert.Equal(t, sw, sl, "every line is reported lost to the store")
	assert.Contains(t, p.stderr.String(), "connection refused", "the exit names the store's failure")
}

// TestQuotesPathReachesTheStore: a path of 65,000 '"' used to give a
// 390 KB line, which VictoriaLogs skipped while answering 200. Now the
// path is capped and marked as cut, the line stays within
// middleware.MaxLogLine, and support finds it in the store by its id.
func TestQuotesPathReachesTheStore(t *testing.T) {
	store := vlogs.StartForTest(t)
	d := startDemo(t, "-vlogs-url", store.URL)
	c, err := net.Dial("tcp", strings.TrimPrefix(d.base, "http://"))
	require.NoError(t, err)
	_, err = c.Write([]byte("GET /" + strings.Repeat(`"`, 65000) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice-token\r\nConnection: close\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	id := resp.Header.Get("X-Request-Id")
	require.NotEmpty(t, id)
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, d.cmd.Wait())

	for _, l := range strings.SplitAfter(d.stdout.String(), "\n") {
		assert.LessOrEqual(t, len(l), middleware.MaxLogLine)
	}
	assert.Regexp(t, `log lines to the store: \d+ written, \d+ delivered, 0 lost`, d.stderr.String())
	var found []map[string]any
	require.NoError(t, store.Flush())
	require.NoError(t, vlogs.Query(context.Background(), http.DefaultClient, store.URL, `_time:1h id:"`+id+`"`, func(raw []byte) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		found = append(found, m)
	}))
	require.Len(t, found, 1, "the line is in the store")
	assert.Contains(t, found[0]["path"], "…[cut from 65001 bytes]")
	assert.True(t, strings.HasPrefix(found[0]["path"].(string), `/""""`))
}

// TestShipsToTheCluster: the demo ships to the front node of a cluster of
// two storage nodes; support finds the 502 and the pricing call behind it
// through the front node, whichever node holds each line.
func TestShipsToTheCluster(t *testing.T) {
	c := vlogs.StartClusterForTest(t, 2)
	d := startDemo(t, "-vlogs-url", c.Front.URL)
	var ids []string
	for range 5 {
		resp, body := d.do(t, call{method: "GET", path: "/api/v1/participant/offers/1003/quote", token: "alice-token"})
		ids = append(ids, checkEnvelope(t, resp, body, http.StatusBadGateway))
	}
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, d.cmd.Wait(), "exit 0")
	assert.Regexp(t, `log lines to the store: (\d+) written, (\d+) delivered, 0 lost`, d.stderr.String())

	for _, id := range ids {
		var found []map[string]any
		query := `_time:1h (id:"` + id + `" OR client_request_id:"` + id + `")`
		require.Eventually(t, func() bool {
			found = nil
			_ = c.Flush()
			err := vlogs.Query(context.Background(), http.DefaultClient, c.Front.URL, query, func(raw []byte) {
				var m map[string]any
				if json.Unmarshal(raw, &m) == nil {
					found = append(found, m)
				}
			})
			return err == nil && len(found) >= 3
		}, 10*time.Second, 100*time.Millisecond)
		services := map[any]int{}
		for _, l := range found {
			services[l["service"]]++
		}
		assert.Equal(t, map[any]int{"offers": 2, "pricing": 1}, services, id)
	}
	var per []int64
	for _, s := range c.Storage {
		n := linesInStore(t, s)
		per = append(per, n)
	}
	t.Logf("lines per storage node: %v", per)
}
