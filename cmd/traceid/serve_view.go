package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The story as the JSON document (traceid -json) has it: the console reads
// the document, not the search's own types.
type docStory struct {
	Version      int                    `json:"version"`
	ID           string                 `json:"id"`
	Issued       *time.Time             `json:"issued"`
	AgeDays      float64                `json:"age_days"`
	Retention    string                 `json:"retention"`
	InRetention  *bool                  `json:"within_retention"`
	Requests     map[string]*docRequest `json:"requests"`
	Order        []string               `json:"order"`
	LinesScanned int64                  `json:"lines_scanned"`
	BadLines     int64                  `json:"bad_lines"`
	Files        []string               `json:"files"`
	Unreadable   []string               `json:"unreadable"`
	Claims       []docClaim             `json:"unconfirmed_claims"`
	Truncated    bool                   `json:"truncated"`
	Warnings     []string               `json:"warnings"`  // what the reader must know, such as a retention that disagrees with the store's
	WaitedMS     int64                  `json:"waited_ms"` // how long the search waited for lines not searchable yet
}

type docRequest struct {
	ID        string    `json:"id"`
	Service   string    `json:"service"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	TraceID   string    `json:"trace_id"`
	Lines     []docLine `json:"lines"`
	Calls     []string  `json:"calls"`
	CalledBy  string    `json:"called_by"`
	ClaimedBy string    `json:"claimed_by"`
	Unreached []string  `json:"unreached_calls"` // tokens of calls that reached no logged service
}

type docLine struct {
	File     string          `json:"file"`
	Number   int64           `json:"line"`
	Location string          `json:"location"` // where a person finds the line, when the document says
	Fields   json.RawMessage `json:"fields"`
}

// where is where a person finds the line.
func (l docLine) where() string {
	switch {
	case l.Location != "":
		return clean(l.Location)
	case l.Number > 0:
		return clean(l.File) + ":" + strconv.FormatInt(l.Number, 10)
	}
	return clean(l.File)
}

type docClaim struct {
	ID       string `json:"id"`
	ClientID string `json:"client_request_id"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	File     string `json:"file"`
	Line     int64  `json:"line"`
	Location string `json:"location"`
	Reason   string `json:"reason"` // why it is not followed, when the document says
}

// claimView is an unconfirmed claim on the page.
type claimView struct {
	ID, ClientID, Method, Path, Where, Reason string
}

// field is one field of a log line, in the line's order, its value as
// text: a string as it is, anything else as its JSON.
type field struct {
	Key, Value string
}

// orderedFields returns the fields of a JSON object in their order. Every
// key and value is made valid UTF-8: a log line holds what clients sent.
func orderedFields(raw json.RawMessage) []field {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []field{{Key: "(line)", Value: clean(string(raw))}}
	}
	var out []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			break
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = append(out, field{clean(key), clean(s)})
		} else {
			out = append(out, field{clean(key), clean(string(v))})
		}
	}
	return out
}

// clean makes s valid UTF-8, with each invalid byte shown as U+FFFD.
func clean(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// lineView is one log line on the page.
type lineView struct {
	Time, Level, Message, Kind, Where string
	Status                            int
	Error                             bool
	Fields                            []field
}

// requestView is one request of the chain on the page.
type requestView struct {
	ID, Service, Method, Path, TraceID string
	CalledBy, ClaimedBy                string // ClaimedBy only when it differs from CalledBy: unconfirmed
	Depth                              int
	Status                             int
	Message, Detail, Cause             string
	UpstreamStatus                     int
	UpstreamPath                       string
	ClientGone                         bool
	Error                              bool
	Start, End                         time.Time
	Duration                           float64 // ms; 0 when unknown
	Timed                              bool
	Lines                              []lineView
	Calls                              []string
	Unreached                          int // calls that reached no service whose log was searched
	Bar                                bar
}

// UnreachedText says how many of the request's calls reached no service
// whose log was searched.
func (r *requestView) UnreachedText() string {
	return plural(r.Unreached, "call", "calls") + " reached no service whose log was searched"
}

// bar is a request's place on the timeline, in thousandths of its width.
type bar struct {
	X, W int
}

// lane is one service on the timeline.
type lane struct {
	Service  string
	Requests []*requestView
}

// storyView is everything the story page shows.
type storyView struct {
	ID          string
	Found       bool
	Verdict     []string
	Agreement   string // what the paste claims against the log; "" when it claims nothing
	AgreeOK     bool
	Retention   string
	Expired     bool
	Requests    []*requestView
	Lanes       []lane
	Span        string // the timeline's length, "501.2 ms"
	TraceIDs    []string
	Claims      []claimView
	Warnings    []string
	Truncated   bool
	HopLimit    int
	Summary     string
	Scanned     string
	Unreadable  []string
	AlsoInPaste []string
}

// newStoryView reads the document of a story into what the page shows;
// says is what the paste claimed, if anything.
func newStoryView(doc []byte, says claimed, now time.Time) (*storyView, error) {
	var st docStory
	if err := json.Unmarshal(doc, &st); err != nil {
		return nil, fmt.Errorf("reading the story's document: %w", err)
	}
	v := &storyView{ID: st.ID, Found: len(st.Order) > 0, Truncated: st.Truncated, HopLimit: hopLimit}
	for _, c := range st.Claims {
		where := docLine{File: c.File, Number: c.Line, Location: c.Location}.where()
		v.Claims = append(v.Claims, claimView{ID: c.ID, ClientID: c.ClientID, Method: clean(c.Method), Path: clean(c.Path), Where: where, Reason: clean(c.Reason)})
	}
	for _, w := range st.Warnings {
		v.Warnings = append(v.Warnings, clean(w))
	}
	for _, u := range st.Unreadable {
		v.Unreadable = append(v.Unreadable, clean(u))
	}
	depth := map[string]int{}
	byID := map[string]*requestView{}
	for _, id := range st.Order {
		r := st.Requests[id]
		if r == nil {
			continue
		}
		rv := newRequestView(r)
		if r.CalledBy != "" {
			rv.Depth = depth[r.CalledBy] + 1
		}
		depth[id] = rv.Depth
		byID[id] = rv
		v.Requests = append(v.Requests, rv)
	}
	v.timeline()
	seenTrace := map[string]bool{}
	for _, r := range v.Requests {
		if r.TraceID != "" && !seenTrace[r.TraceID] {
			seenTrace[r.TraceID] = true
			v.TraceIDs = append(v.TraceIDs, r.TraceID)
		}
	}
	v.Retention, v.Expired = retentionText(&st, now)
	subject := byID[st.ID]
	v.Verdict = verdict(subject, byID, &st, v.Expired, now)
	v.Agreement, v.AgreeOK = agreement(says, subject)
	if subject != nil {
		// The ticket is about what the client got: the outermost request
		// of the chain, whichever id of it was pasted.
		client := outermost(subject, byID)
		v.Summary = summary(client.ID, client)
	} else {
		v.Summary = summary(st.ID, nil)
	}
	v.Scanned = fmt.Sprintf("%s in %s", plural(int(st.LinesScanned), "line", "lines"), plural(len(st.Files)-len(st.Unreadable), "log", "logs"))
	if st.BadLines > 0 {
		v.Scanned += fmt.Sprintf("; %s not JSON", plural(int(st.BadLines), "line was", "lines were"))
	}
	if st.WaitedMS > 0 {
		v.Scanned += fmt.Sprintf("; waited %s for lines the store had not made searchable yet", ms(float64(st.WaitedMS)))
	}
	return v, nil
}

func newRequestView(r *docRequest) *requestView {
	rv := &requestView{ID: r.ID, Service: clean(r.Service), Method: clean(r.Method), Path: clean(r.Path), TraceID: clean(r.TraceID),
		CalledBy: r.CalledBy, Calls: r.Calls, Unreached: len(r.Unreached)}
	if r.ClaimedBy != "" && r.ClaimedBy != r.CalledBy {
		rv.ClaimedBy = r.ClaimedBy
	}
	if rv.Service == "" {
		rv.Service = "(no service)"
	}
	for _, l := range r.Lines {
		lv := lineView{Fields: orderedFields(l.Fields), Where: l.where()}
		var m map[string]any
		_ = json.Unmarshal(l.Fields, &m)
		str := func(k string) string { s, _ := m[k].(string); return clean(s) }
		lv.Time, lv.Level, lv.Message = str("time"), str("level"), str("message")
		status, hasStatus := number(m["status"])
		lv.Status = int(status)
		lv.Error = lv.Level == "error" || lv.Level == "warn" || lv.Status >= 400
		switch {
		case lv.Message == "request":
			lv.Kind = "access"
		case lv.Error:
			lv.Kind = "error"
		default:
			lv.Kind = "line"
		}
		rv.Lines = append(rv.Lines, lv)
		if !hasStatus {
			continue
		}
		// The line that gives the answer: the error line over the
		// access line, which says only "request".
		if rv.Status == 0 || lv.Message != "request" {
			rv.Status = lv.Status
			if lv.Message != "request" {
				rv.Message = lv.Message
			}
			if d := str("detail"); d != "" {
				rv.Detail = d
			}
			if c := str("cause"); c != "" {
				rv.Cause = c
			}
			if us, ok := number(m["upstream_status"]); ok {
				rv.UpstreamStatus, rv.UpstreamPath = int(us), str("upstream_path")
			}
			if g, _ := m["client_gone"].(bool); g {
				rv.ClientGone = true
			}
			if d, ok := number(m["duration"]); ok {
				if end, err := time.Parse(time.RFC3339Nano, str("time")); err == nil {
					rv.Duration, rv.End, rv.Timed = d, end, true
					rv.Start = end.Add(-time.Duration(d * float64(time.Millisecond)))
				}
			}
		}
	}
	rv.Error = rv.Status >= 400
	return rv
}

// number returns v as a number, from a JSON number or a string holding
// one.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// timeline gives each timed request its bar, to one scale, and groups the
// requests into one lane per service, in the order they first appear.
func (v *storyView) timeline() {
	// The services log the time to the millisecond and the duration to
	// the microsecond: a call's start, its end less its duration, can land
	// outside its caller's. Each call is kept inside its caller, callers
	// first.
	byID := map[string]*requestView{}
	for _, r := range v.Requests {
		byID[r.ID] = r
		p := byID[r.CalledBy]
		if !r.Timed || p == nil || !p.Timed {
			continue
		}
		d := r.End.Sub(r.Start)
		if d > p.End.Sub(p.Start) {
			d = p.End.Sub(p.Start)
		}
		if r.Start.Before(p.Start) {
			r.Start = p.Start
		}
		if r.Start.Add(d).After(p.End) {
			r.Start = p.End.Add(-d)
		}
		r.End = r.Start.Add(d)
	}
	var t0, t1 time.Time
	for _, r := range v.Requests {
		if !r.Timed {
			continue
		}
		if t0.IsZero() || r.Start.Before(t0) {
			t0 = r.Start
		}
		if t1.IsZero() || r.End.After(t1) {
			t1 = r.End
		}
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Microsecond
	}
	v.Span = ms(float64(span) / float64(time.Millisecond))
	index := map[string]int{}
	for _, r := range v.Requests {
		if r.Timed {
			x := float64(r.Start.Sub(t0)) / float64(span) * 1000
			w := float64(r.End.Sub(r.Start)) / float64(span) * 1000
			r.Bar = bar{X: int(math.Floor(x)), W: max(int(math.Round(w)), 4)}
			if r.Bar.X+r.Bar.W > 1000 {
				r.Bar.X = 1000 - r.Bar.W
			}
		}
		i, ok := index[r.Service]
		if !ok {
			i = len(v.Lanes)
			index[r.Service] = i
			v.Lanes = append(v.Lanes, lane{Service: r.Service})
		}
		v.Lanes[i].Requests = append(v.Lanes[i].Requests, r)
	}
}

// ms is a duration in milliseconds for a person: 0.048 ms, 1.1 ms, 501 ms.
func ms(d float64) string {
	switch {
	case d < 1:
		return strconv.FormatFloat(d, 'f', 3, 64) + " ms"
	case d < 100:
		return strconv.FormatFloat(d, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(d, 'f', 0, 64) + " ms"
}

// retentionText says how long the request's lines are kept, and whether
// they are past it.
func retentionText(st *docStory, now time.Time) (string, bool) {
	ret, err := time.ParseDuration(st.Retention)
	if err != nil {
		return "The logs are kept " + st.Retention + ".", false
	}
	keep := fmt.Sprintf("%.0f days", ret.Hours()/24)
	if st.Issued == nil {
		return "The id is not a UUIDv7: its age cannot be told from it. The logs are kept " + keep + ".", false
	}
	if st.Issued.After(now.Add(futureSlack)) {
		return fmt.Sprintf("The id is dated %s, in the future: no 360X service with a right clock made it, so it may be forged or mistyped. The logs are kept %s.",
			st.Issued.UTC().Format("2006-01-02 15:04 UTC"), keep), false
	}
	expires := st.Issued.Add(ret)
	left := expires.Sub(now).Hours() / 24
	if left <= 0 {
		return fmt.Sprintf("Issued %s; the logs are kept %s, so its lines expired %.1f days ago (%s): they may be gone.",
			st.Issued.UTC().Format("2006-01-02 15:04 UTC"), keep, -left, expires.UTC().Format("2006-01-02")), true
	}
	return fmt.Sprintf("%.1f days left before its lines expire (%s): issued %s, the logs are kept %s.",
		left, expires.UTC().Format("2006-01-02 15:04 UTC"), st.Issued.UTC().Format("2006-01-02 15:04:05 UTC"), keep), false
}

// answer is how a request's answer reads: "502 Bad Gateway".
func (r *requestView) answer() string {
	if r.Message == "" {
		return strconv.Itoa(r.Status)
	}
	return strconv.Itoa(r.Status) + " " + r.Message
}

// verdict is what the client got and why, in a sentence or two, for
// support staff (internal causes included).
func verdict(subject *requestView, byID map[string]*requestView, st *docStory, expired bool, now time.Time) []string {
	if subject == nil {
		s := "No log line has this id."
		switch {
		case expired:
			s += " It is older than the log retention: its lines are gone."
		case st.Issued != nil && now.Sub(*st.Issued) < time.Minute:
			s += " It was issued under a minute ago: its lines may not be searchable yet; try again in a few seconds."
		default:
			s += " The id may be mistyped, from another environment, or not a 360X id."
		}
		return []string{s}
	}
	if subject.Status == 0 {
		return []string{fmt.Sprintf("No line of %s gives the answer's status: the request may still have been running, or its last line was lost.", subject.Service)}
	}
	who := "The client"
	if c := byID[subject.CalledBy]; c != nil {
		who = possessive(c.Service) + " request " + c.ID // the id is a call's: its client is a service of the story
	}
	got := fmt.Sprintf("%s got %s from %s on %s %s", who, subject.answer(), subject.Service, subject.Method, subject.Path)
	if subject.Timed {
		got += ", after " + ms(subject.Duration)
	}
	got += "."
	if subject.Status < 400 {
		failed := 0
		for _, r := range byID {
			if r.Status >= 400 {
				failed++
			}
		}
		if failed > 0 {
			return []string{got, fmt.Sprintf("The request succeeded, though %s it made failed: see the timeline.", plural(failed, "request", "requests"))}
		}
		return []string{got, "The request succeeded: nothing failed."}
	}
	// Down the confirmed calls to the deepest request that failed.
	leaf, caller := subject, (*requestView)(nil)
	for {
		var next *requestView
		for _, c := range leaf.Calls {
			if r := byID[c]; r != nil && r.Status >= 400 {
				next = r
			}
		}
		if next == nil {
			break
		}
		caller, leaf = leaf, next
	}
	root := outermost(subject, byID) // whose start the times count from
	if leaf == subject {
		switch {
		case subject.Cause != "":
			cause := fmt.Sprintf("Root cause, in %s log: %s.", possessive(subject.Service), strings.TrimSuffix(subject.Cause, "."))
			if subject.Unreached > 0 {
				cause += fmt.Sprintf(" %s reached no service whose log was searched.", plural(subject.Unreached, "call it made", "calls it made"))
			}
			return []string{got, cause}
		case subject.Status < 500 && root != subject:
			d := subject.Detail
			if d == "" {
				d = subject.Message
			}
			return []string{got, fmt.Sprintf("%s refused %s call: %q.", subject.Service, possessive(byID[subject.CalledBy].Service), d), internal(subject, root)}
		case subject.Status < 500:
			d := subject.Detail
			if d == "" {
				d = subject.Message
			}
			return []string{got, fmt.Sprintf("%s refused the request as it was sent: %q. Nothing failed on 360X's side.", subject.Service, d)}
		}
		return []string{got, fmt.Sprintf("%s log gives no cause.", possessive(subject.Service))}
	}
	in := ""
	if leaf.Timed && root.Timed {
		in = ", " + ms(float64(leaf.End.Sub(root.Start))/float64(time.Millisecond)) + " in"
	}
	var cause string
	switch {
	case leaf.ClientGone || leaf.Status == 499:
		cause = fmt.Sprintf("Root cause: the %s service did not answer %s call within %s%s; %s gave up.", leaf.Service, possessive(caller.Service), ms(leaf.Duration), in, caller.Service)
	default:
		d := leaf.Detail
		if d == "" {
			d = leaf.Message
		}
		cause = fmt.Sprintf("Root cause: the %s service answered %d %q to %s call%s.", leaf.Service, leaf.Status, d, possessive(caller.Service), in)
		if leaf.Cause != "" {
			cause += fmt.Sprintf(" Its log gives the cause: %s.", strings.TrimSuffix(leaf.Cause, "."))
		}
	}
	if root != subject {
		return []string{got, cause, internal(subject, root)}
	}
	return []string{got, cause}
}

// outermost is the first request of r's confirmed chain of callers: the
// client's own.
func outermost(r *requestView, byID map[string]*requestView) *requestView {
	for seen := map[string]bool{}; byID[r.CalledBy] != nil && !seen[r.ID]; {
		seen[r.ID] = true
		r = byID[r.CalledBy]
	}
	return r
}

// internal says that the id is of a call between 360X services, and what
// the client whose request it served got.
func internal(subject, root *requestView) string {
	s := fmt.Sprintf("This id is of a call between 360X services, made while answering the client's request %s (%s %s)", root.ID, root.Method, root.Path)
	if root.Status == 0 {
		return s + ", whose answer no line gives."
	}
	return s + fmt.Sprintf(", which got %s: that is what the client saw.", root.answer())
}

// samePath reports whether two paths are one, escaped or not: the logs
// hold the escaped path, a client may paste either.
func samePath(a, b string) bool {
	if ua, err := url.PathUnescape(a); err == nil {
		a = ua
	}
	if ub, err := url.PathUnescape(b); err == nil {
		b = ub
	}
	return a == b
}

// possessive is "offers'" or "pricing's".
func possessive(name string) string {
	if strings.HasSuffix(name, "s") {
		return name + "'"
	}
	return name + "'s"
}

// agreement compares what the paste claims (status, path) with the log.
func agreement(says claimed, subject *requestView) (string, bool) {
	if says.Status == 0 && says.Path == "" {
		return "", true
	}
	var claim []string
	if says.Status != 0 {
		claim = append(claim, strconv.Itoa(says.Status))
	}
	if says.Path != "" {
		claim = append(claim, "on "+says.Path)
	}
	s := "The client says " + strings.Join(claim, " ") + "; "
	if subject == nil || subject.Status == 0 {
		return s + "the log has no answer for this id to compare: check the id in the ticket.", false
	}
	statusOK := says.Status == 0 || says.Status == subject.Status
	pathOK := says.Path == "" || samePath(says.Path, subject.Path)
	switch {
	case statusOK && pathOK:
		return s + "the log agrees.", true
	case !pathOK && !statusOK:
		return s + fmt.Sprintf("the log shows this id answered %d on another path, %s: the id or the envelope may be mistyped.", subject.Status, subject.Path), false
	case !pathOK:
		return s + fmt.Sprintf("the log shows this id answered %d on another path, %s: the id may belong to another request.", subject.Status, subject.Path), false
	}
	return s + fmt.Sprintf("the log shows this id answered %d, not %d, on %s: the envelope may have been retyped.", subject.Status, says.Status, subject.Path), false
}

// summary is the text support may copy into the ticket: what the client
// may be told, and nothing of the services' internal causes.
func summary(id string, subject *requestView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "360X request id: %s\n", id)
	if subject == nil || subject.Status == 0 {
		b.WriteString("We found no record of an answer with this id. Please check the id, or send the whole error response you received.\n")
		return b.String()
	}
	if subject.Timed {
		fmt.Fprintf(&b, "Received: %s\n", subject.Start.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	fmt.Fprintf(&b, "Request: %s %s\n", subject.Method, subject.Path)
	fmt.Fprintf(&b, "Answer: %s\n", subject.answer())
	if subject.Detail != "" {
		fmt.Fprintf(&b, "What the answer said: %s\n", subject.Detail)
	}
	switch {
	case subject.Status >= 500:
		b.WriteString("Our logs confirm this answer. The failure was on 360X's side, not in your request; we are looking into it.\n")
	case subject.Status >= 400:
		b.WriteString("Our logs confirm this answer. The request was refused as it was sent; the message above says what to change.\n")
	default:
		b.WriteString("Our logs show this request succeeded.\n")
	}
	return b.String()
}
