package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// check is one rule of docs/contract.md, graded on the answers. Its ID is
// stable: CI configurations and docs/probe.md name checks by it.
type check struct {
	ID    string
	Title string // what passing means
	Rule  string // the contract's words, and where they are
	// each grades one answer; applies is false when the check says
	// nothing about it (then problem is ignored).
	each func(g *grader, a *answer) (applies bool, problem string)
	// all grades the answers together (when each is nil): how many it
	// judged and what failed.
	all func(g *grader) (judged int, fails []failure)
	// support: the check reads the service's log (-log or -store).
	support bool
	// Skip says what makes the check apply, for a report where it did not.
	Skip string
}

// failure is one way the service broke a check: on an answer, a log line,
// or both.
type failure struct {
	answer  *answer
	line    string // a log line, for the support checks
	problem string
}

// grader holds what the checks read.
type grader struct {
	p       *prober
	answers []*answer
	env     map[*answer]envelope
	support *supportSide
}

func (g *grader) envelope(a *answer) envelope {
	e, ok := g.env[a]
	if !ok {
		e = parseEnvelope(a)
		g.env[a] = e
	}
	return e
}

// members are the envelope's members in the contract's order.
var members = []string{"id", "timestamp", "statusCode", "message", "error", "path"}

var (
	canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	timestampRE   = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$`)
	digits        = regexp.MustCompile(`^[0-9]+$`)
)

// titles are the contract's messages per status; other statuses have
// their standard text.
var titles = map[int]string{
	400: "Validation Error",
	401: "Invalid Token",
	403: "Unauthorized Action",
	404: "Not Found",
	405: "Method Not Allowed",
	429: "Too Many Requests",
	500: "Generic Error",
	502: "Bad Gateway",
	503: "Connection Error",
	504: "There was a generic error",
}

func title(status int) string {
	if t, ok := titles[status]; ok {
		return t
	}
	return http.StatusText(status)
}

// internalText are the shapes of internal detail a 5xx must not send:
// stack frames of Go, Python, Java and JavaScript, Go's error shapes,
// file paths, SQL, panics and exceptions by name, the error text of
// common libraries (encoding/json, Redis, TLS, Node's system errors,
// gRPC), and an upstream's envelope quoted.
var internalText = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a Go stack frame", regexp.MustCompile(`goroutine \d+ \[|\.go:\d+|panic\(|runtime\.`)},
	{"a Python traceback", regexp.MustCompile(`Traceback \(most recent call last\)|File "[^"]+", line \d+`)},
	{"a Java or JavaScript stack frame", regexp.MustCompile(`\bat [\w$.<>\[\] ]+\(?[^\s()]*\.(java|js|mjs|cjs|ts|kt|scala):\d+(:\d+)?\)?`)},
	{"a Go error", regexp.MustCompile(`(?i)runtime error|nil pointer|invalid memory address|index out of range|context deadline exceeded|context canceled|connection refused|\bdial (tcp|udp|unix)\b|\bEOF\b|: no such host|i/o timeout`)},
	{"a file path", regexp.MustCompile(`(^|[\s"'(=])(/(home|usr|var|etc|opt|srv|app|tmp|root|go|src)/[^\s"]*|[A-Za-z]:\\\\[^\s"]+)|\w\.(go|py|js|ts|java|rb|php|cs):\d+`)},
	{"SQL", regexp.MustCompile(`\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.+\bSET\b|\bDELETE FROM\b|(?i)\bsqlstate\b|\bsql: |syntax error at or near|duplicate key value|\bpq: |\bORA-\d{5}\b|near "[^"]*": syntax error|(?i)error in your SQL syntax|\bERROR \d{4} \(\w{5}\)`)},
	{"a panic or an exception", regexp.MustCompile(`\bpanic: |\b(KeyError|TypeError|ValueError|AttributeError|IndexError|ReferenceError|RangeError|SyntaxError|NullPointerException|IllegalStateException|IllegalArgumentException)\b[:(]`)},
	{"a library's error", regexp.MustCompile(`\bjson: cannot unmarshal\b|\bjson: (invalid|unsupported)\b|\bredis: |\bx509: |\btls: |\bE(CONNREFUSED|CONNRESET|TIMEDOUT|ADDRINUSE|NOTFOUND|PIPE)\b|\bgrpc: |\brpc error: code = `)},
	{"an upstream's envelope", regexp.MustCompile(`\{\s*"(id|statusCode|timestamp)"\s*:`)},
}

// successHeaders describe a success body; an error answer carries none.
var successHeaders = []string{"Content-Encoding", "Content-Range", "Content-Disposition", "ETag", "Last-Modified", "Content-Language", "Content-Location"}

// checks are every check, in report order.
var checks = []check{
	{
		ID: "status.expected", Skip: "no request was answered", Title: "each provocation gets the status the contract gives it",
		Rule: "docs/contract.md: an unknown path is a 404, a method the path does not allow a 405, a wrong content type a 415, a body that is not JSON or of the wrong shape a 400, a body over the limit a 413, missing or bad credentials a 401 (decided before any validation)",
		each: func(g *grader, a *answer) (bool, string) {
			if a.req.want == nil {
				return false, ""
			}
			if a.err != nil {
				return true, "no answer: " + a.err.Error()
			}
			if !slices.Contains(a.req.want, a.status) {
				return true, fmt.Sprintf("status %d, want %s", a.status, statuses(a.req.want))
			}
			return true, ""
		},
	},
	{
		ID: "body.members", Title: "the body is one line of compact JSON: the six members, in order, each once",
		Rule: "docs/contract.md, The envelope: id, timestamp, statusCode, message, error, path, in this order, as compact JSON followed by one newline",
		each: func(g *grader, a *answer) (bool, string) {
			if !a.isError() || a.req.method == http.MethodHead {
				return false, ""
			}
			e := g.envelope(a)
			switch {
			case !utf8.Valid(a.body):
				return true, "the body is not valid UTF-8"
			case e.obj == nil:
				return true, "the body is not a JSON object"
			case !slices.Equal(e.keys, members):
				return true, fmt.Sprintf("members %v, want %v", e.keys, members)
			case !bytes.HasSuffix(a.body, []byte("}\n")) || bytes.Count(a.body, []byte("\n")) != 1:
				return true, "the body is not one line ending in a newline"
			}
			var c bytes.Buffer
			if json.Compact(&c, a.body) != nil || c.Len() != len(a.body)-1 {
				return true, "the body is not compact JSON"
			}
			return true, ""
		},
	},
	{
		ID: "body.types", Title: "each member has its type: strings, and statusCode a JSON number",
		Rule: "docs/contract.md, The envelope: statusCode is the HTTP status as a JSON number; id, timestamp, message, error and path are strings, message and error not empty",
		each: func(g *grader, a *answer) (bool, string) {
			e := g.envelope(a)
			if !a.isError() || e.obj == nil {
				return false, ""
			}
			var bad []string
			for _, m := range members {
				raw, ok := e.obj[m]
				if !ok {
					continue // body.members
				}
				if m == "statusCode" {
					if _, ok := e.number(m); !ok {
						bad = append(bad, fmt.Sprintf("statusCode is %.40s, want a JSON integer", raw))
					}
					continue
				}
				s, ok := e.str(m)
				switch {
				case !ok:
					bad = append(bad, fmt.Sprintf("%s is %.40s, want a string", m, raw))
				case s == "" && (m == "message" || m == "error"):
					bad = append(bad, m+" is empty")
				}
			}
			return true, strings.Join(bad, "; ")
		},
	},
	{
		ID: "id.format", Title: "the id is a UUID in lower-case canonical form",
		Rule: "docs/contract.md, The envelope: id is a UUID (RFC 9562) in lower-case canonical form",
		each: func(g *grader, a *answer) (bool, string) {
			id, ok := g.id(a)
			if !ok {
				return false, ""
			}
			if !canonicalUUID.MatchString(id) {
				return true, fmt.Sprintf("id %q is not a UUID in lower-case canonical form (RFC 9562 version and variant)", id)
			}
			return true, ""
		},
	},
	{
		ID: "id.v7", Title: "the id is a UUIDv7 whose time is when the answer was made",
		Rule: "docs/contract.md, The envelope: id is a UUID version 7, whose time prefix tells support when it was issued (and so whether the 30-day log still holds it)",
		each: func(g *grader, a *answer) (bool, string) {
			id, ok := g.id(a)
			if !ok {
				return false, ""
			}
			u, err := uuid.Parse(id)
			if err != nil {
				return false, "" // id.format
			}
			if u.Version() != 7 {
				return true, fmt.Sprintf("id %s is a version %d UUID: support cannot date it", id, u.Version())
			}
			sec, nsec := u.Time().UnixTime()
			t := time.Unix(sec, nsec)
			if lo, hi := a.sent.Add(-g.p.o.skew), a.received.Add(g.p.o.skew); t.Before(lo) || t.After(hi) {
				return true, fmt.Sprintf("id %s dates from %s, but the answer came at %s (-skew %s)", id, t.UTC().Format(time.RFC3339Nano), a.received.UTC().Format(time.RFC3339Nano), g.p.o.skew)
			}
			return true, ""
		},
	},
	{
		ID: "id.unique", Title: "every answer has an id of its own",
		Rule: "docs/contract.md, The envelope: one id per request",
		all: func(g *grader) (int, []failure) {
			seen := map[string]*answer{}
			n := 0
			var fails []failure
			for _, a := range g.answers {
				id, ok := g.id(a)
				if !ok {
					continue
				}
				n++
				if first, dup := seen[strings.ToLower(id)]; dup {
					fails = append(fails, failure{answer: a, problem: fmt.Sprintf("id %s was already the id of the answer to %s %s", id, first.req.method, shorten(first.req.target, 80))})
					continue
				}
				seen[strings.ToLower(id)] = a
			}
			return n, fails
		},
	},
	{
		ID: "id.not-client", Title: "the id is not the X-Request-Id the client sent",
		Rule: "docs/contract.md, The envelope: an X-Request-Id a client sends is never used as the id",
		each: func(g *grader, a *answer) (bool, string) {
			id, ok := g.id(a)
			if !ok {
				return false, ""
			}
			if strings.EqualFold(id, a.req.clientID) || strings.EqualFold(a.header.Get("X-Request-Id"), a.req.clientID) {
				return true, fmt.Sprintf("the answer's id is %s, the X-Request-Id the probe sent", a.req.clientID)
			}
			return true, ""
		},
	},
	{
		ID: "timestamp.format", Title: "the timestamp is UTC with exactly milliseconds and a Z, and is now",
		Rule: "docs/contract.md, The envelope: timestamp is when the error was produced, UTC, exactly milliseconds, a Z: 2006-01-02T15:04:05.000Z",
		each: func(g *grader, a *answer) (bool, string) {
			ts, ok := g.envelope(a).str("timestamp")
			if !a.isError() || !ok {
				return false, ""
			}
			t, err := time.Parse("2006-01-02T15:04:05.000Z", ts)
			if err != nil || !timestampRE.MatchString(ts) {
				return true, fmt.Sprintf("timestamp %q is not in the form 2006-01-02T15:04:05.000Z", ts)
			}
			if lo, hi := a.sent.Add(-g.p.o.skew).Truncate(time.Millisecond), a.received.Add(g.p.o.skew); t.Before(lo) || t.After(hi) {
				return true, fmt.Sprintf("timestamp %s is not when the answer came (%s, -skew %s)", ts, a.received.UTC().Format("2006-01-02T15:04:05.000Z"), g.p.o.skew)
			}
			return true, ""
		},
	},
	{
		ID: "status.code", Title: "statusCode is the HTTP status",
		Rule: "docs/contract.md, The envelope: statusCode is the HTTP status",
		each: func(g *grader, a *answer) (bool, string) {
			n, ok := g.envelope(a).number("statusCode")
			if !a.isError() || !ok {
				return false, ""
			}
			if n != a.status {
				return true, fmt.Sprintf("statusCode %d, HTTP status %d", n, a.status)
			}
			return true, ""
		},
	},
	{
		ID: "path.as-sent", Title: "path is the path the client sent, without the query",
		Rule: "docs/contract.md, The envelope: path is the path the client sent, without the query string, before any prefix was stripped or the path rewritten",
		each: func(g *grader, a *answer) (bool, string) {
			path, ok := g.envelope(a).str("path")
			if !a.isError() || !ok {
				return false, ""
			}
			if want := a.req.path(); path != want {
				return true, fmt.Sprintf("path %q, want %q", shorten(path, 120), shorten(want, 120))
			}
			return true, ""
		},
	},
	{
		ID: "message.table", Title: "message is the contract's title for the status",
		Rule: "docs/contract.md, Defaults per status: 400 Validation Error, 401 Invalid Token, 403 Unauthorized Action, 404 Not Found, 405 Method Not Allowed, 429 Too Many Requests, 500 Generic Error, 502 Bad Gateway, 503 Connection Error, 504 There was a generic error; others the status's standard text",
		each: func(g *grader, a *answer) (bool, string) {
			msg, ok := g.envelope(a).str("message")
			if !a.isError() || !ok {
				return false, ""
			}
			if want := title(a.status); msg != want {
				return true, fmt.Sprintf("message %q for a %d, want %q", shorten(msg, 80), a.status, want)
			}
			return true, ""
		},
	},
	{
		ID: "invalid-model.attributes", Skip: "no body of the wrong shape was sent: it needs -openapi with an operation whose JSON body has required attributes, and -unsafe", Title: "an invalid model's error names every offending attribute",
		Rule: "docs/contract.md, Validation: invalid_model is a 400 whose error names every offending attribute by its JSON path with the reason, e.g. \"price: must be greater than 0; currency: is required\"",
		each: func(g *grader, a *answer) (bool, string) {
			msg, ok := g.envelope(a).str("error")
			if len(a.req.required) == 0 || a.status != http.StatusBadRequest || !ok {
				return false, ""
			}
			var missing []string
			for _, attr := range a.req.required {
				if !regexp.MustCompile(`(^|[^\w.])` + regexp.QuoteMeta(attr) + `($|[^\w])`).MatchString(msg) {
					missing = append(missing, attr)
				}
			}
			if len(missing) > 0 {
				return true, fmt.Sprintf("error %q does not name the required attributes %s, all of which the body left out", shorten(msg, 160), strings.Join(missing, ", "))
			}
			return true, ""
		},
	},
	{
		ID: "error.5xx-internal", Skip: "no answer was a 5xx: with -openapi, the GET operations are sampled and any 5xx they give is judged", Title: "a 5xx sends no internal text",
		Rule: "docs/contract.md, The envelope: for a 5xx, error is a fixed sentence, never internal text (no cause, no panic value, no stack, no upstream body)",
		each: func(g *grader, a *answer) (bool, string) {
			if !a.isError() || a.status < 500 {
				return false, ""
			}
			e := g.envelope(a)
			// The members a client reads, or the whole body when it is
			// not an envelope.
			parts := [][2]string{{"the body", string(a.body)}}
			if e.obj != nil {
				m, _ := e.str("message")
				d, _ := e.str("error")
				parts = [][2]string{{"message", m}, {"error", d}}
			}
			for _, part := range parts {
				text := part[1]
				for _, it := range internalText {
					if loc := it.re.FindStringIndex(text); loc != nil {
						return true, fmt.Sprintf("%s holds %s: %q", part[0], it.what, shorten(text[max(0, loc[0]-20):min(len(text), loc[1]+20)], 100))
					}
				}
			}
			return true, ""
		},
	},
	{
		ID: "headers.contract", Title: "the contract's headers, and none describing a success body",
		Rule: "docs/contract.md, Headers: Content-Type: application/json; charset=utf-8, X-Content-Type-Options: nosniff, Cache-Control: no-store and X-Request-Id on every error answer; no Content-Encoding, Content-Range, Content-Disposition, ETag, Last-Modified, Content-Language or Content-Location",
		each: func(g *grader, a *answer) (bool, string) {
			if !a.isError() {
				return false, ""
			}
			var bad []string
			for _, kv := range [][2]string{
				{"Content-Type", "application/json; charset=utf-8"},
				{"X-Content-Type-Options", "nosniff"},
				{"Cache-Control", "no-store"},
			} {
				if v := a.header.Values(kv[0]); len(v) != 1 || v[0] != kv[1] {
					bad = append(bad, fmt.Sprintf("%s is %q, want %q", kv[0], strings.Join(v, ", "), kv[1]))
				}
			}
			if n := len(a.header.Values("X-Request-Id")); n != 1 {
				bad = append(bad, fmt.Sprintf("X-Request-Id appears %d times, want once", n))
			}
			for _, h := range successHeaders {
				if v := a.header.Values(h); len(v) > 0 {
					bad = append(bad, fmt.Sprintf("%s: %q describes a success body", h, strings.Join(v, ", ")))
				}
			}
			return true, strings.Join(bad, "; ")
		},
	},
	{
		ID: "headers.request-id", Title: "X-Request-Id is the body's id",
		Rule: "docs/contract.md, The envelope: the same value is the response's X-Request-Id header",
		each: func(g *grader, a *answer) (bool, string) {
			id, ok := g.envelope(a).str("id")
			if !a.isError() || !ok || len(a.header.Values("X-Request-Id")) != 1 {
				return false, ""
			}
			if h := a.header.Get("X-Request-Id"); h != id {
				return true, fmt.Sprintf("X-Request-Id %q, body id %q", shorten(h, 60), shorten(id, 60))
			}
			return true, ""
		},
	},
	{
		ID: "headers.www-authenticate", Skip: "no answer was a 401: it needs -openapi with secured operations", Title: "a 401 has a Bearer challenge",
		Rule: "docs/contract.md, Defaults per status: a 401 has WWW-Authenticate: Bearer error=\"invalid_token\" (RFC 6750), unless a more specific Bearer challenge is given",
		each: func(g *grader, a *answer) (bool, string) {
			if !a.isError() || a.status != http.StatusUnauthorized {
				return false, ""
			}
			for _, v := range a.header.Values("WWW-Authenticate") {
				for _, ch := range strings.Split(v, ",") {
					scheme, _, _ := strings.Cut(strings.TrimSpace(ch), " ")
					if strings.EqualFold(scheme, "Bearer") {
						return true, ""
					}
				}
			}
			return true, fmt.Sprintf("WWW-Authenticate is %q, want a Bearer challenge", strings.Join(a.header.Values("WWW-Authenticate"), ", "))
		},
	},
	{
		ID: "headers.allow", Skip: "no answer was a 405: it needs -openapi", Title: "a 405 has Allow with the path's methods",
		Rule: "docs/contract.md, Defaults per status: a 405 has Allow with the allowed methods",
		each: func(g *grader, a *answer) (bool, string) {
			if !a.isError() || a.status != http.StatusMethodNotAllowed {
				return false, ""
			}
			v := a.header.Values("Allow")
			if len(v) == 0 {
				return true, "no Allow header"
			}
			var listed []string
			for _, part := range strings.Split(strings.Join(v, ","), ",") {
				if m := strings.ToUpper(strings.TrimSpace(part)); m != "" {
					listed = append(listed, m)
				}
			}
			var missing []string
			for _, m := range a.req.allowed {
				if !slices.Contains(listed, m) {
					missing = append(missing, m)
				}
			}
			if len(missing) > 0 {
				return true, fmt.Sprintf("Allow is %q, but the document lists %s too", strings.Join(v, ", "), strings.Join(missing, ", "))
			}
			return true, ""
		},
	},
	{
		ID: "headers.retry-after", Skip: "no answer was a 429 or a 503: -burst N sends up to N requests to a GET operation to provoke a 429", Title: "a 429 (and a 503 that says so) has Retry-After in whole seconds",
		Rule: "docs/contract.md, Defaults per status: a 429 has Retry-After in whole seconds, always; a 503 when it is known",
		each: func(g *grader, a *answer) (bool, string) {
			if !a.isError() || (a.status != http.StatusTooManyRequests && a.status != http.StatusServiceUnavailable) {
				return false, ""
			}
			v := a.header.Values("Retry-After")
			if len(v) == 0 && a.status == http.StatusServiceUnavailable {
				return true, ""
			}
			if len(v) != 1 || !digits.MatchString(v[0]) {
				return true, fmt.Sprintf("Retry-After is %q, want one value in whole seconds", strings.Join(v, ", "))
			}
			return true, ""
		},
	},
	{
		ID: "head.no-body", Skip: "the HEAD request got no answer", Title: "a HEAD answer has no body",
		Rule: "docs/contract.md, Headers: a HEAD request gets the status and the headers, no body",
		each: func(g *grader, a *answer) (bool, string) {
			if a.req.method != http.MethodHead || a.err != nil {
				return false, ""
			}
			if n := len(a.body) + a.trailing; n > 0 {
				return true, fmt.Sprintf("%d bytes of body follow the headers", n)
			}
			return true, ""
		},
	},
	{
		ID: "log.error-line", Skip: "no line of the service was read: it needs -log FILE or -store URL (with -store-filter), holding the service's lines", Title: "each id the client received is on exactly one error line",
		Rule: "docs/contract.md, Logging: every id a client received is in the log exactly once as an error line (warn for a 4xx, error for a 5xx)", support: true,
		all: func(g *grader) (int, []failure) { return g.support.errorLines(g) },
	},
	{
		ID: "log.status-level", Skip: "no line of the service was read: it needs -log FILE or -store URL (with -store-filter), holding the service's lines", Title: "the error line has the status sent, at warn for a 4xx and error for a 5xx",
		Rule: "docs/contract.md, Logging: the line has the request's status; warn for a 4xx, error for a 5xx", support: true,
		all: func(g *grader) (int, []failure) { return g.support.statusLevel(g) },
	},
	{
		ID: "log.no-canary", Skip: "no line of the service was read: it needs -log FILE or -store URL (with -store-filter), holding the service's lines", Title: "no line carries the query string, body, token or cookie the probe sent",
		Rule: "docs/contract.md, Logging: never logged: the request body, the query string, Authorization, Cookie, or any token", support: true,
		all: func(g *grader) (int, []failure) { return g.support.canaryLines(g) },
	},
}

// id returns the id of an error answer: the body's when it is a string,
// else the X-Request-Id header's (HEAD).
func (g *grader) id(a *answer) (string, bool) {
	if !a.isError() {
		return "", false
	}
	if s, ok := g.envelope(a).str("id"); ok {
		return s, true
	}
	if a.req.method == http.MethodHead {
		if v := a.header.Values("X-Request-Id"); len(v) == 1 {
			return v[0], true
		}
	}
	return "", false
}

func statuses(list []int) string {
	s := make([]string, len(list))
	for i, n := range list {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " or ")
}

// shorten cuts s to n bytes (at a rune boundary), marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}
