package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// source is one log to search: a file, standard input spooled to a
// temporary file so it can be read more than once, or a log store that is
// asked for the lines of the ids (query).
type source struct {
	name string
	open func() (io.ReadCloser, error)
	// query calls fn with each line that names one of needles (request
	// ids and call tokens) in a field the story follows (linkFields),
	// with where a person finds the line in the store.
	query func(needles []string, fn func(where string, raw []byte)) error
}

func fileSource(path string) source {
	return source{name: path, open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// line is one log line that belongs to the story.
type line struct {
	File   string `json:"file"`           // the log file, or the store's URL
	Number int64  `json:"line,omitempty"` // its line number in the file; 0 from a store
	// Location is where a person finds the line: "path:line" for a file;
	// for a store, a LogsQL query (its stream and _time) to paste into
	// the store's UI.
	Location string          `json:"location"`
	Fields   json.RawMessage `json:"fields"`
	fields   map[string]any
}

func (l *line) str(key string) string {
	s, _ := l.fields[key].(string)
	return s
}

// strs returns the strings of the array field key (a log store may keep
// the array as its JSON text).
func (l *line) strs(key string) []string {
	v := l.fields[key]
	if s, ok := v.(string); ok && strings.HasPrefix(s, "[") {
		var a []any
		if json.Unmarshal([]byte(s), &a) == nil {
			v = a
		}
	}
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

// callees returns the ids the line names as services its request called:
// upstream_id and the entries of calls.
func (l *line) callees() []string {
	out := l.strs("calls")
	if up := l.str("upstream_id"); up != "" {
		out = append(out, strings.ToLower(up))
	}
	return out
}

// isCallToken reports whether s has the form of a call token
// (middleware.StartCall): 32 lower-case hex characters.
func isCallToken(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (l *line) num(key string) (int64, bool) {
	switch v := l.fields[key].(type) {
	case float64:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string: // a log store may keep every value as a string
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// request is everything the logs say about one request id.
type request struct {
	ID       string   `json:"id"`
	Service  string   `json:"service,omitempty"`
	Method   string   `json:"method,omitempty"`
	Path     string   `json:"path,omitempty"`
	TraceID  string   `json:"trace_id,omitempty"` // the OpenTelemetry trace it was part of
	Lines    []*line  `json:"lines"`
	Calls    []string `json:"calls,omitempty"`     // ids of the requests it made to other services
	CalledBy string   `json:"called_by,omitempty"` // id of the request that made it, confirmed by that request's log
	// ClaimedBy is the client_request_id the request arrived with: what its
	// client claims to be. It is a link only when CalledBy confirms it.
	ClaimedBy string `json:"claimed_by,omitempty"`
	// Unreached are the call tokens of calls it made that no line
	// searched received: the call reached no 360X service (refused, a
	// wrong address), or the called service's log was not searched.
	Unreached []string `json:"unreached_calls,omitempty"`
}

// claim is a request outside the story that names a request of the story
// (as its client, or as a request it called) without the other side's
// lines confirming it: unconfirmed, not followed.
type claim struct {
	ID       string `json:"id"`
	ClientID string `json:"client_request_id"` // the request of the story it names
	Method   string `json:"method,omitempty"`
	Path     string `json:"path,omitempty"`
	File     string `json:"file"`
	Line     int64  `json:"line,omitempty"`
	Location string `json:"location"`
	Reason   string `json:"reason"` // why it is not followed, for a person
}

// storyVersion is the version of the story's JSON document
// (docs/traceid.md): it changes when a field is removed or changes its
// meaning, not when one is added.
const storyVersion = 1

// story is the result of a search, and the JSON document of traceid
// -json (docs/traceid.md describes each field).
type story struct {
	Version     int        `json:"version"`
	ID          string     `json:"id"`
	Issued      *time.Time `json:"issued,omitempty"`
	AgeDays     float64    `json:"age_days,omitempty"`
	Retention   string     `json:"retention"`
	InRetention *bool      `json:"within_retention,omitempty"`
	// RetentionFrom says where Retention comes from: "store" (read from
	// it, StoreRetention), "flag" (-retention) or "default" (30 days).
	RetentionFrom  string `json:"retention_from"`
	StoreRetention string `json:"store_retention,omitempty"`
	// WaitedMS is how long the search waited for lines the store had not
	// made searchable yet (-wait).
	WaitedMS     int64               `json:"waited_ms,omitempty"`
	Warnings     []string            `json:"warnings,omitempty"` // what the reader must know, such as a retention that disagrees with the store's
	Requests     map[string]*request `json:"requests"`
	Order        []string            `json:"order"` // request ids, callers before the services they called
	LinesScanned int64               `json:"lines_scanned"`
	BadLines     int64               `json:"bad_lines"`
	Files        []string            `json:"files"`
	Unreadable   []string            `json:"unreadable,omitempty"`
	Claims       []claim             `json:"unconfirmed_claims,omitempty"`
	Truncated    bool                `json:"truncated,omitempty"` // the chain goes on beyond maxHops
	NotJSON      []string            `json:"not_json,omitempty"`  // sources with no JSON line at all
}

// claim notes, once per request, that the request of l claims client as
// its client.
func (st *story) claim(client, id string, l *line, reason string) {
	for _, c := range st.Claims {
		if c.ID == id {
			return
		}
	}
	st.Claims = append(st.Claims, claim{ID: id, ClientID: client, Method: l.str("method"), Path: l.str("path"),
		File: l.File, Line: l.Number, Location: l.Location, Reason: fmt.Sprintf(reason, client)})
}

// The reasons a claim is not followed, each completed with the id of the
// request of the story that the claim names.
const (
	reasonClientOnly = "names %s as its client (client_request_id), whose lines do not name it"
	reasonAnswerOnly = "came back as the answer's id to a call of %s, but did not receive that call's token: an upstream may have answered with another request's id"
	reasonNamedOnly  = "came back as the answer's id to a call of %s, but does not name it as its client"
	reasonCallerOnly = "names %s as a request it called, whose lines do not name it as their client"
	reasonSharedTok  = "received a call token of %s that another request received too: the token was passed on, so neither is confirmed"
)

// isID reports whether s is a UUID in the canonical 36-character form the
// services log ids in.
func isID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// normalizeID returns id in canonical lower-case form, or an error saying
// what a 360X error id looks like.
func normalizeID(id string) (string, error) {
	u, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return "", fmt.Errorf("%q is not a 360X error id: want a UUID such as 93aa74d5-8caf-473f-af2f-42cf806ddfdc", id)
	}
	return u.String(), nil
}

// issuedAt returns when a UUIDv7 was made, from its time prefix.
func issuedAt(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	sec, nsec := u.Time().UnixTime()
	return time.Unix(sec, nsec).UTC(), true
}

// maxLine is the longest log line read; a longer one is counted as bad.
const maxLine = 1 << 20

// maxHops bounds how far a chain of calls is followed; a story cut there
// says so.
const maxHops = 64

// window is the time a search covers: lines older than now - retention
// are not read, from files as from a store.
type window struct {
	now       time.Time
	retention time.Duration
}

// trace finds every line of id and of the requests chained to it through
// confirmed links, reading each source once per hop of the chain (files
// with every core: scanFiles): memory depends on the lines found, not on
// the size of the logs.
//
// A link from a caller to the request it called is confirmed by both
// sides' lines:
//
//   - by call token: the caller's line lists a token in call_tokens, and
//     the callee's lines carry it as call_token and name the caller as
//     client_request_id. The token is random, made by the caller and seen
//     only by the two services, so no third party can claim it; this
//     holds for a call that got no answer (a timeout, a reset). A token
//     that more than one request received was passed on by one of them:
//     it confirms nothing;
//   - for a caller whose lines list no call token (a service on an older
//     kit): its line names the callee (upstream_id, or calls: the ids of
//     the answers it received), the callee names the caller
//     (client_request_id), and the callee received no call token.
//
// A caller that sends call tokens is linked by them only: an answer's
// X-Request-Id is what the upstream said, and a lying upstream can answer
// with the id of a request it made itself under the caller's id. A
// client_request_id alone is what a client claims, which anyone can send.
// Neither is followed; such requests are listed as unconfirmed claims.
func trace(id string, sources []source, w window, warn io.Writer) *story {
	return traceWith(defaultScanConfig(), id, sources, w, warn)
}

// linkFields are the fields of a line that the story follows: a file's
// line and a store's line are read for these, and the store is searched
// in each of them (storeQuery). Any other field that happens to hold an
// id links nothing.
var linkFields = []string{"id", "client_request_id", "upstream_id", "calls", "call_token", "call_tokens"}

// traceWith is trace with the files scanned as cfg says.
func traceWith(cfg scanConfig, id string, sources []source, w window, warn io.Writer) *story {
	st := &story{Version: storyVersion, ID: id, Requests: map[string]*request{}, Order: []string{}}
	for _, s := range sources {
		st.Files = append(st.Files, s.name)
	}
	oldest := w.now.Add(-w.retention)
	known := map[string]bool{id: true}    // request ids searched for
	tokens := map[string]bool{}           // call tokens searched for
	names := map[string]map[string]bool{} // caller -> the callees its lines name
	sent := map[string]map[string]bool{}  // caller -> the call tokens its lines list
	received := map[string]string{}       // request -> the call token it received
	claimed := map[string]string{}        // request -> its client_request_id
	frontier := []string{id}
	unreadable := map[string]bool{}
	collected := map[string]bool{} // the lines already in the story
	perSource := map[string]*[2]int64{}
	pass := 0
	for ; len(frontier) > 0 && pass < maxHops; pass++ {
		needles := make([][]byte, len(frontier))
		for i, f := range frontier {
			needles[i] = []byte(f)
		}
		var next []string
		discover := func(other string) {
			if other != "" && isID(other) && !known[other] {
				known[other] = true
				next = append(next, other)
			}
		}
		discoverToken := func(tok string) {
			if isCallToken(tok) && !tokens[tok] {
				tokens[tok] = true
				next = append(next, tok)
			}
		}
		// handle adds a line of src that names an id or token of the
		// pass to the story.
		handle := func(src source, n int64, where string, raw []byte) {
			if !containsAny(raw, needles) {
				return
			}
			l := &line{File: src.name, Number: n, Location: where, Fields: append(json.RawMessage(nil), raw...)}
			if json.Unmarshal(raw, &l.fields) != nil {
				return
			}
			if at, err := time.Parse(time.RFC3339Nano, l.str("time")); err == nil && at.Before(oldest) {
				return // outside the retention window
			}
			lineID := strings.ToLower(l.str("id"))
			caller := strings.ToLower(l.str("client_request_id"))
			callees := l.callees()
			tokensSent := l.strs("call_tokens")
			tokenReceived := l.str("call_token")
			if !known[lineID] {
				// It names a request of the story as one it called, or
				// shares a call token with one: a caller or a callee,
				// if the other side confirms.
				for _, c := range callees {
					if known[c] {
						discover(lineID)
					}
				}
				for _, tok := range tokensSent {
					if tokens[tok] {
						discover(lineID)
					}
				}
				if tokens[tokenReceived] {
					discover(lineID)
				}
			}
			if !known[lineID] {
				if known[caller] && isID(lineID) {
					st.claim(caller, lineID, l, reasonClientOnly)
				}
				return
			}
			key := src.name + ":" + strconv.FormatInt(n, 10)
			if src.query != nil {
				// A store answers each pass anew: a line is known by
				// what it holds, not by where it came in the answer.
				key = src.name + ":" + string(raw)
			}
			if collected[key] {
				return
			}
			collected[key] = true
			r := st.request(lineID)
			r.Lines = append(r.Lines, l)
			for _, c := range callees {
				discover(c)
				if names[lineID] == nil {
					names[lineID] = map[string]bool{}
				}
				names[lineID][c] = true
			}
			for _, tok := range tokensSent {
				if !isCallToken(tok) {
					continue
				}
				discoverToken(tok)
				if sent[lineID] == nil {
					sent[lineID] = map[string]bool{}
				}
				sent[lineID][tok] = true
			}
			if isCallToken(tokenReceived) {
				discoverToken(tokenReceived)
				received[lineID] = tokenReceived
			}
			if caller != "" && isID(caller) {
				r.ClaimedBy = caller
				claimed[lineID] = caller
			}
		}
		fail := func(src source, err error) {
			unreadable[src.name] = true
			st.Unreadable = append(st.Unreadable, src.name)
			if c := perSource[src.name]; c != nil && c[0] > 0 {
				fmt.Fprintf(warn, "traceid: could not read %s (its lines before the error are used): %v\n", src.name, err)
			} else {
				fmt.Fprintf(warn, "traceid: could not read %s: %v\n", src.name, err)
			}
		}
		countOf := func(src source) *[2]int64 { // lines scanned, bad lines
			if perSource[src.name] == nil {
				perSource[src.name] = &[2]int64{}
			}
			return perSource[src.name]
		}

		// The sources in their order: a store is asked in its turn, a
		// run of files is scanned at once.
		for i := 0; i < len(sources); {
			if src := sources[i]; src.query != nil {
				i++
				if unreadable[src.name] {
					continue
				}
				c := countOf(src)
				err := src.query(frontier, func(where string, raw []byte) {
					st.LinesScanned++
					c[0]++
					if !json.Valid(raw) {
						st.BadLines++
						c[1]++
						return
					}
					handle(src, 0, where, raw)
				})
				if err != nil {
					fail(src, err)
				}
				continue
			}
			var files []source
			for ; i < len(sources) && sources[i].query == nil; i++ {
				if !unreadable[sources[i].name] {
					files = append(files, sources[i])
				}
			}
			found := func(f int, m match) {
				if pass == 0 && !json.Valid(m.raw) { // it starts with { and names the id, yet is not JSON
					st.BadLines++
					countOf(files[f])[1]++
					return
				}
				handle(files[f], m.n, files[f].name+":"+strconv.FormatInt(m.n, 10), m.raw)
			}
			done := func(f int, seen counts, err error) {
				c := countOf(files[f])
				c[0] += seen.scanned
				c[1] += seen.bad
				st.LinesScanned += seen.scanned
				st.BadLines += seen.bad
				if err != nil {
					fail(files[f], err)
				}
			}
			scanFiles(files, needles, pass == 0, cfg, found, done)
		}
		frontier = next
	}
	st.Truncated = len(frontier) > 0
	for _, name := range st.Files {
		if c := perSource[name]; c != nil && c[0] > 0 && c[0] == c[1] {
			st.NotJSON = append(st.NotJSON, name)
		}
	}
	l := links{names: names, sent: sent, received: received, claimed: claimed}
	l.confirm(st)
	st.prune(l)
	l.unreached(st)
	st.order()
	return st
}

// links is what the lines of a search say about calls between requests.
type links struct {
	names    map[string]map[string]bool // caller -> the callees its lines name
	sent     map[string]map[string]bool // caller -> the call tokens its lines list
	received map[string]string          // request -> the call token it received
	claimed  map[string]string          // request -> its client_request_id
	shared   map[string]bool            // requests that received a token another one received too
}

// confirm links the requests whose lines confirm each other (see trace).
func (l *links) confirm(st *story) {
	owners := map[string][]string{} // call token -> the requests that received it
	for rid, tok := range l.received {
		owners[tok] = append(owners[tok], rid)
	}
	l.shared = map[string]bool{}
	for _, o := range owners {
		if len(o) > 1 {
			for _, rid := range o {
				l.shared[rid] = true
			}
		}
	}
	for caller, toks := range l.sent {
		for tok := range toks {
			if o := owners[tok]; len(o) == 1 && l.claimed[o[0]] == caller {
				st.link(caller, o[0])
			}
		}
	}
	for caller, callees := range l.names {
		if len(l.sent[caller]) > 0 {
			continue // a caller that sends call tokens is linked by them only
		}
		for callee := range callees {
			if l.claimed[callee] == caller && l.received[callee] == "" {
				st.link(caller, callee)
			}
		}
	}
}

// unreached notes, on each request of the story, the tokens of its calls
// that no line received.
func (l *links) unreached(st *story) {
	got := map[string]bool{}
	for _, tok := range l.received {
		got[tok] = true
	}
	for id, r := range st.Requests {
		for tok := range l.sent[id] {
			if !got[tok] {
				r.Unreached = append(r.Unreached, tok)
			}
		}
		sort.Strings(r.Unreached)
	}
}

// prune keeps in the story the requests reachable from its id through
// confirmed links, and lists the others that touched it as unconfirmed
// claims, each with the reason.
func (st *story) prune(l links) {
	reach := map[string]bool{st.ID: true}
	queue := []string{st.ID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		r := st.Requests[id]
		if r == nil {
			continue
		}
		near := append([]string{r.CalledBy}, r.Calls...)
		for _, o := range near {
			if o != "" && !reach[o] {
				reach[o] = true
				queue = append(queue, o)
			}
		}
	}
	// The requests of the story, in a stable order, so that the same
	// lines give the same claims.
	var inStory, outside []string
	for id, r := range st.Requests {
		if reach[id] {
			inStory = append(inStory, id)
		} else if len(r.Lines) > 0 {
			outside = append(outside, id)
		}
	}
	sort.Strings(inStory)
	sort.Strings(outside)
	// namedBy is the request of the story whose lines name id as a
	// request it called (its answer's id, or a call token id received).
	namedBy := func(id string) string {
		for _, caller := range inStory {
			if l.names[caller][id] || (l.received[id] != "" && l.sent[caller][l.received[id]]) {
				return caller
			}
		}
		return ""
	}
	// callee is the request of the story that id's lines name as one it
	// called.
	callee := func(id string) string {
		for _, c := range inStory {
			if l.names[id][c] || (l.received[c] != "" && l.sent[id][l.received[c]]) {
				return c
			}
		}
		return ""
	}
	for _, id := range outside {
		claimed := l.claimed[id]
		if !reach[claimed] {
			claimed = ""
		}
		var client, reason string
		switch by := namedBy(id); {
		case l.shared[id] && (by != "" || claimed != ""):
			client, reason = cmp.Or(by, claimed), reasonSharedTok
		case by != "" && by == claimed:
			client, reason = by, reasonAnswerOnly
		case by != "":
			client, reason = by, reasonNamedOnly
		case claimed != "":
			client, reason = claimed, reasonClientOnly
		default:
			if c := callee(id); c != "" {
				client, reason = c, reasonCallerOnly
			}
		}
		if client != "" {
			st.claim(client, id, st.Requests[id].Lines[0], reason)
		}
	}
	for id := range st.Requests {
		if !reach[id] {
			delete(st.Requests, id)
		}
	}
	for _, r := range st.Requests {
		keep := r.Calls[:0]
		for _, c := range r.Calls {
			if reach[c] {
				keep = append(keep, c)
			}
		}
		r.Calls = keep
		if !reach[r.CalledBy] {
			r.CalledBy = ""
		}
	}
}

func (st *story) request(id string) *request {
	r := st.Requests[id]
	if r == nil {
		r = &request{ID: id}
		st.Requests[id] = r
	}
	return r
}

// link records that the request caller called the request called.
func (st *story) link(caller, called string) {
	c := st.request(caller)
	for _, x := range c.Calls {
		if x == called {
			return
		}
	}
	c.Calls = append(c.Calls, called)
	st.request(called).CalledBy = caller
}

// order drops requests with no lines (ids seen only as a reference, such
// as a client's own id) from the links, fills each request's service,
// method and path, and orders the requests from the outermost caller down.
func (st *story) order() {
	for _, r := range st.Requests {
		sortLines(r.Lines)
		for _, l := range r.Lines {
			if r.Service == "" {
				r.Service = l.str("service")
			}
			if r.Method == "" {
				r.Method, r.Path = l.str("method"), l.str("path")
			}
			if r.TraceID == "" {
				r.TraceID = l.str("trace_id")
			}
		}
	}
	// A claim seen before its request was confirmed into the story is no
	// longer an outsider's.
	kept := st.Claims[:0]
	for _, c := range st.Claims {
		if r := st.Requests[c.ID]; r == nil || len(r.Lines) == 0 {
			kept = append(kept, c)
		}
	}
	st.Claims = kept
	// The calls of each request in the order they were made: by the time
	// of the callee's first line, then by id, so that the same lines give
	// the same story.
	first := func(id string) string {
		if r := st.Requests[id]; r != nil && len(r.Lines) > 0 {
			return r.Lines[0].str("time")
		}
		return ""
	}
	for _, r := range st.Requests {
		sort.Slice(r.Calls, func(i, j int) bool {
			a, b := r.Calls[i], r.Calls[j]
			if ta, tb := first(a), first(b); ta != tb {
				return earlier(ta, tb)
			}
			return a < b
		})
	}
	root := st.ID
	seen := map[string]bool{}
	for {
		r := st.Requests[root]
		if r == nil || r.CalledBy == "" || seen[r.CalledBy] || st.Requests[r.CalledBy] == nil || len(st.Requests[r.CalledBy].Lines) == 0 {
			break
		}
		seen[root] = true
		root = r.CalledBy
	}
	var walk func(id string)
	visited := map[string]bool{}
	walk = func(id string) {
		if visited[id] {
			return
		}
		visited[id] = true
		if r := st.Requests[id]; r != nil && len(r.Lines) > 0 {
			st.Order = append(st.Order, id)
			for _, c := range r.Calls {
				walk(c)
			}
		}
	}
	walk(root)
	for id, r := range st.Requests { // anything not reached from the root
		if len(r.Lines) > 0 && !visited[id] {
			walk(id)
		}
	}
}

func containsAny(b []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(b, n) {
			return true
		}
	}
	return false
}

// sortLines orders a request's lines the same way from any source: by
// time; at the same millisecond the request's own line (the one with the
// access fields, written when it ended) after the handler's lines, then
// by their bytes. A store has no order of its own for lines of the same
// millisecond, and a file's order would then make the two stories
// differ. (Only lines of the same millisecond are ever marshaled here.)
func sortLines(lines []*line) {
	sort.SliceStable(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if ta, tb := a.str("time"), b.str("time"); ta != tb {
			return earlier(ta, tb)
		}
		_, fa := a.fields["duration"]
		_, fb := b.fields["duration"]
		if fa != fb {
			return fb
		}
		ca, _ := json.Marshal(a.fields) // the same bytes from a file and from a store
		cb, _ := json.Marshal(b.fields)
		return bytes.Compare(ca, cb) < 0
	})
}

// earlier reports whether the time a is before b (RFC 3339; a time that
// does not parse sorts as text).
func earlier(a, b string) bool {
	ta, ea := time.Parse(time.RFC3339Nano, a)
	tb, eb := time.Parse(time.RFC3339Nano, b)
	if ea != nil || eb != nil {
		return a < b
	}
	return ta.Before(tb)
}
