package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/360x/errkit/internal/vlogs"
)

// storeSource is a VictoriaLogs server as a source: each pass of the
// search asks it, through LogsQL, for the lines that name the ids of the
// pass (as id, upstream_id or client_request_id) within the retention
// window, oldest first.
func storeSource(base string, retention time.Duration, timeout time.Duration) source {
	client := &http.Client{Timeout: timeout}
	return source{name: base, query: func(ids []string, fn func(n int64, raw []byte)) error {
		var n int64
		// A query holds at most idsPerQuery ids: the store limits a
		// query's length (16 KiB by default).
		for len(ids) > 0 {
			batch := ids[:min(len(ids), idsPerQuery)]
			ids = ids[len(batch):]
			err := vlogs.Query(context.Background(), client, base, storeQuery(batch, retention), func(raw []byte) {
				n++
				fn(n, normalize(raw))
			})
			if err != nil {
				return err
			}
		}
		return nil
	}}
}

// idsPerQuery is how many ids one LogsQL query names: three times 39
// bytes each, well within the store's 16 KiB.
const idsPerQuery = 100

// storeQuery is the LogsQL query for the lines that name one of ids.
func storeQuery(ids []string, retention time.Duration) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = strconv.Quote(id) // ids are UUIDs: nothing to escape, but quoted all the same
	}
	in := "in(" + strings.Join(quoted, ",") + ")"
	return "_time:" + strconv.FormatInt(int64(retention/time.Second), 10) + "s" +
		" (id:" + in + " OR upstream_id:" + in + " OR client_request_id:" + in + ")" +
		" | sort by (_time)"
}

// numeric are the fields the services log as numbers, which the store
// keeps as strings.
var numeric = map[string]bool{"status": true, "upstream_status": true, "bytes": true, "duration": true}

// booleans are the fields the services log as true or false.
var booleans = map[string]bool{"client_gone": true, "committed": true, "hijacked": true, "aborted": true, "foreign": true, "goroutine": true}

// normalize turns a line as the store returns it into the line as the
// service wrote it: _msg back to message, _time to time (in the services'
// layout), numbers back to numbers, the store's own fields gone.
func normalize(raw []byte) []byte {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if v, ok := m["_msg"]; ok {
		m["message"] = v
	}
	if v, ok := m["_time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			v = t.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		m["time"] = v
	}
	for k := range m {
		if strings.HasPrefix(k, "_") {
			delete(m, k)
		}
	}
	for k := range numeric {
		if s, ok := m[k].(string); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				m[k] = f
			}
		}
	}
	for k := range booleans {
		if s, ok := m[k].(string); ok {
			if b, err := strconv.ParseBool(s); err == nil {
				m[k] = b
			}
		}
	}
	if s, ok := m["calls"].(string); ok && strings.HasPrefix(s, "[") {
		var calls []any
		if json.Unmarshal([]byte(s), &calls) == nil {
			m["calls"] = calls
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}
