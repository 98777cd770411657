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
)

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
