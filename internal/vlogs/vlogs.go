// Package vlogs talks to VictoriaLogs, the log store 360X services ship
// their JSON lines to: a Shipper that sends a service's lines in batches
// (the demo's -vlogs-url), and Query, which runs a LogsQL query (traceid's
// -store). It is internal: its callers are this module's commands.
package vlogs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// insertParams are the query parameters of /insert/jsonline for the lines
// the kit writes: their "time" is the timestamp, "message" the message, and
// each service is a stream.
const insertParams = "_stream_fields=service&_time_field=time&_msg_field=message"

// Shipper is an io.Writer that sends the JSON lines written to it to a
// VictoriaLogs server, in batches: when 256 KiB are waiting, every flush
// interval, and on Close. It is meant to sit behind logsink, whose single
// goroutine writes to it: a server that is slow or down then costs log
// lines, counted there (a failed batch is a write error), never answers.
type Shipper struct {
	url    string
	client *http.Client

	mu      sync.Mutex
	buf     bytes.Buffer
	lastErr error
	stop    chan struct{}
	done    chan struct{}
}

// maxBatch is how many bytes wait before a batch is sent.
const maxBatch = 256 << 10

// NewShipper returns a Shipper for the VictoriaLogs server at base (for
// example http://127.0.0.1:9428), sending what is waiting every interval.
func NewShipper(base string, interval time.Duration) (*Shipper, error) {
	u, err := parseBase(base)
	if err != nil {
		return nil, fmt.Errorf("vlogs: %w", err)
	}
	s := &Shipper{
		url:    u.JoinPath("/insert/jsonline").String() + "?" + insertParams,
		client: &http.Client{Timeout: 10 * time.Second},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go s.loop(interval)
	return s, nil
}

// Write queues p, one or more whole lines, and sends the batch when it is
// large enough. It returns the error of the last batch that failed, once,
// so that the writer in front counts the loss.
func (s *Shipper) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if s.buf.Len() >= maxBatch {
		s.flushLocked()
	}
	if err := s.lastErr; err != nil {
		s.lastErr = nil
		return len(p), err
	}
	return len(p), nil
}

func (s *Shipper) loop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.mu.Lock()
			s.flushLocked()
			s.mu.Unlock()
		case <-s.stop:
			return
		}
	}
}

// flushLocked sends what is waiting.
func (s *Shipper) flushLocked() {
	if s.buf.Len() == 0 {
		return
	}
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(s.buf.Bytes()))
	if err == nil {
		req.Header.Set("Content-Type", "application/stream+json")
		var resp *http.Response
		resp, err = s.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("vlogs: the server answered %s", resp.Status)
			}
		}
	}
	s.buf.Reset()
	if err != nil {
		s.lastErr = err
	}
}

// Close sends what is waiting and stops, or gives up when ctx is done: a
// store that does not answer cannot hold up a shutdown.
func (s *Shipper) Close(ctx context.Context) error {
	close(s.stop)
	flushed := make(chan error, 1)
	go func() {
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		s.flushLocked()
		err := s.lastErr
		s.lastErr = nil
		flushed <- err
	}()
	select {
	case err := <-flushed:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseBase returns base, the URL of a VictoriaLogs server, parsed.
func parseBase(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL of a VictoriaLogs server", base)
	}
	return u, nil
}

// Query runs query (LogsQL) on the VictoriaLogs server at base and calls
// fn with each line of the result, a JSON object, in the server's order.
func Query(ctx context.Context, client *http.Client, base, query string, fn func(line []byte)) error {
	u, err := parseBase(base)
	if err != nil {
		return err
	}
	form := url.Values{"query": {query}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.JoinPath("/select/logsql/query").String(), bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("the store answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			fn(sc.Bytes())
		}
	}
	return sc.Err()
}
