package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/360x/errkit/internal/vlogs"
)

// storeSource is a VictoriaLogs server as a source: each pass of the
// search asks it, through LogsQL, for the lines that name the ids and
// call tokens of the pass in a field the story follows (linkFields),
// within the retention window, oldest first.
func storeSource(base string, retention time.Duration, timeout time.Duration) source {
	return storeSourceCtx(context.Background(), base, retention, timeout)
}

// storeSourceCtx is storeSource whose queries end with ctx.
func storeSourceCtx(ctx context.Context, base string, retention time.Duration, timeout time.Duration) source {
	client := &http.Client{Timeout: timeout}
	return source{name: base, query: func(needles []string, fn func(where string, raw []byte)) error {
		// A query holds at most idsPerQuery needles: the store limits a
		// query's length (16 KiB by default).
		for len(needles) > 0 {
			batch := needles[:min(len(needles), idsPerQuery)]
			needles = needles[len(batch):]
			err := vlogs.Query(ctx, client, base, storeQuery(batch, retention), func(raw []byte) {
				out, where := normalize(raw)
				fn(where, out)
			})
			if err != nil {
				return err
			}
		}
		return nil
	}}
}

// idsPerQuery is how many ids and tokens one LogsQL query names: each at
// most 39 bytes, in up to four fields, well within the store's 16 KiB.
const idsPerQuery = 50

// storeQuery is the LogsQL query for the lines that name one of needles
// (request ids and call tokens) in a field of linkFields: the ids as id,
// client_request_id or upstream_id, or among calls (kept by the store as
// the array's JSON text, searched for the phrase); the tokens as
// call_token, or among call_tokens.
func storeQuery(needles []string, retention time.Duration) string {
	var ids, toks []string
	for _, n := range needles {
		q := strconv.Quote(n) // ids and tokens: nothing to escape, but quoted all the same
		if isCallToken(n) {
			toks = append(toks, q)
		} else {
			ids = append(ids, q)
		}
	}
	var or []string
	if len(ids) > 0 {
		in, has := "in("+strings.Join(ids, ",")+")", "contains_any("+strings.Join(ids, ",")+")"
		or = append(or, "id:"+in, "client_request_id:"+in, "upstream_id:"+in, "calls:"+has)
	}
	if len(toks) > 0 {
		in, has := "in("+strings.Join(toks, ",")+")", "contains_any("+strings.Join(toks, ",")+")"
		or = append(or, "call_token:"+in, "call_tokens:"+has)
	}
	return "_time:" + strconv.FormatInt(int64(retention/time.Second), 10) + "s" +
		" (" + strings.Join(or, " OR ") + ")" +
		" | sort by (_time)"
}

// numeric are the fields the services log as numbers, which the store
// keeps as strings.
var numeric = map[string]bool{"status": true, "upstream_status": true, "bytes": true, "duration": true}

// booleans are the fields the services log as true or false.
var booleans = map[string]bool{"client_gone": true, "committed": true, "hijacked": true, "aborted": true, "foreign": true, "goroutine": true}

// normalize turns a line as the store returns it into the line as the
// service wrote it: _msg back to message, _time to time (in the services'
// layout), numbers back to numbers, arrays back to arrays, the store's
// own fields gone. where is a LogsQL query that finds the line in the
// store: its stream and its _time.
func normalize(raw []byte) (out []byte, where string) {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw, ""
	}
	stream, _ := m["_stream"].(string)
	if stream == "" {
		stream = "{}"
	}
	at, _ := m["_time"].(string)
	where = "_stream:" + stream + " _time:" + at
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
	for _, k := range []string{"calls", "call_tokens"} {
		if s, ok := m[k].(string); ok && strings.HasPrefix(s, "[") {
			var a []any
			if json.Unmarshal([]byte(s), &a) == nil {
				m[k] = a
			}
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return raw, where
	}
	return out, where
}

// maxLossNotes bounds the losses a story names.
const maxLossNotes = 8

// lossesAround are what the store's own loss lines (vlogs.LossMessage,
// which a vlogs.Shipper sends after lines of a service did not reach the
// store) say of the time at: for an id no line has, that its lines may be
// among those lost, and where else to look. A store that cannot say is a
// note of its own.
func lossesAround(ctx context.Context, client *http.Client, base string, at, now time.Time) []string {
	q := fmt.Sprintf(`_time:[%s, %s] %s:*`, at.Add(-time.Minute).UTC().Format(time.RFC3339),
		now.Add(time.Minute).UTC().Format(time.RFC3339), vlogs.LostLines)
	var notes []string
	err := vlogs.Query(ctx, client, base, q, func(raw []byte) {
		var m map[string]string
		if json.Unmarshal(raw, &m) != nil || len(notes) >= maxLossNotes {
			return
		}
		from, err1 := time.Parse(time.RFC3339Nano, m["lost_from"])
		to, err2 := time.Parse(time.RFC3339Nano, m["lost_to"])
		if err1 != nil || err2 != nil || at.Before(from.Add(-time.Second)) || at.After(to.Add(time.Second)) {
			return
		}
		svc := m["service"]
		if svc == "" {
			svc = "a service that does not name itself"
		}
		notes = append(notes, fmt.Sprintf("the store says %s lines of %s were lost on the way to it between %s and %s (%s); this id was issued at %s, within that time: its lines may be among them, so look in %s own log",
			m[vlogs.LostLines], svc, from.UTC().Format("15:04:05.000"), to.UTC().Format("15:04:05.000 UTC"), m["lost_reason"],
			at.UTC().Format("15:04:05.000"), possessive(svc)))
	})
	if err != nil {
		return []string{fmt.Sprintf("could not ask the store whether lines were lost around this id's time: %v", err)}
	}
	return notes
}
