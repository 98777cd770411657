package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// claimed is what a paste says about the request besides its id: the
// status and path the client reports, 0 and "" when it does not say.
type claimed struct {
	Status int
	Path   string
}

// pasted is what the console reads out of a paste.
type pasted struct {
	ID     string   // the id to look up; "" when the paste holds none
	Others []string // other ids the paste names, for the page to offer
	Says   claimed
}

var (
	uuidPattern   = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	statusPattern = regexp.MustCompile(`\b[1-5][0-9]{2}\b`)
	urlPattern    = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>]+`)
	pathPattern   = regexp.MustCompile(`(?:^|[\s"'(=:])(/[A-Za-z0-9._~!$&()*+,;=:@%/-]+)`)
)

// maxPaste is the most of a paste the console reads.
const maxPaste = 64 << 10

// parsePaste finds the id in what a ticket holds: a bare id, the envelope
// the client received (whole, or retyped into a sentence), or a sentence
// that names an id and a URL. The envelope's own id wins over the other
// ids it names; elsewhere the first id does. The status and path come from
// the envelope's statusCode and path, or else from the first three-digit
// status and the first URL or path of the text.
func parsePaste(text string) pasted {
	if len(text) > maxPaste {
		text = text[:maxPaste]
	}
	var p pasted
	if env, ok := envelopeIn(text); ok {
		if id, err := canonicalID(env.ID); err == nil {
			p.ID = id
		}
		if env.StatusCode >= 100 && env.StatusCode <= 599 {
			p.Says.Status = env.StatusCode
		}
		p.Says.Path = pathOf(env.Path)
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range uuidPattern.FindAllString(text, -1) {
		id, err := canonicalID(m)
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if p.ID == "" && len(ids) > 0 {
		p.ID = ids[0]
	}
	for _, id := range ids {
		if id != p.ID {
			p.Others = append(p.Others, id)
		}
	}
	// The rest is read from the text without its ids, whose digits
	// would pass for statuses.
	rest := uuidPattern.ReplaceAllString(text, " ")
	if p.Says.Path == "" {
		if u := urlPattern.FindString(rest); u != "" {
			p.Says.Path = pathOf(u)
		} else if m := pathPattern.FindStringSubmatch(rest); m != nil {
			p.Says.Path = pathOf(m[1])
		}
	}
	if p.Says.Status == 0 {
		p.Says.Status = statusIn(urlPattern.ReplaceAllString(rest, " "))
	}
	return p
}

// statusWords are what stands before a status in a ticket's sentence
// ("returned 502", "failed with 404", "HTTP 503", "status code: 429").
var statusWords = regexp.MustCompile(`(?i)(status|code|returned|returns|answered|answers|got|get|gave|with|http(/[0-9.]+)?|error|response|responded)\W{0,3}$`)

// statusIn is the status a sentence reports: of the numbers that can be
// one (2xx, 4xx, 5xx, not a port: host:443), the one a status word stands
// before or whose reason phrase follows ("502 Bad Gateway"), else the only
// one; 0 when it cannot tell (an order of 500 units and a 404 are two).
func statusIn(text string) int {
	var all, named []int
	for _, m := range statusPattern.FindAllStringIndex(text, -1) {
		n, _ := strconv.Atoi(text[m[0]:m[1]])
		port := m[0] > 1 && text[m[0]-1] == ':' && isAlnum(text[m[0]-2]) // host:443
		if !(n >= 400 && n <= 599 || n >= 200 && n <= 299) || port {
			continue
		}
		all = append(all, n)
		before := text[max(0, m[0]-24):m[0]]
		after := strings.TrimSpace(text[m[1]:min(len(text), m[1]+40)])
		if reason := http.StatusText(n); statusWords.MatchString(before) || reason != "" && strings.HasPrefix(strings.ToLower(after), strings.ToLower(reason)) {
			named = append(named, n)
		}
	}
	switch {
	case len(named) > 0:
		return named[0]
	case len(all) == 1:
		return all[0]
	}
	return 0
}

// envelope is the part of a 360X error envelope the console reads.
type envelope struct {
	ID         string `json:"id"`
	StatusCode int    `json:"statusCode"`
	Path       string `json:"path"`
}

// envelopeIn returns the first JSON object in text that has an id, as an
// envelope.
func envelopeIn(text string) (envelope, bool) {
	for i := strings.IndexByte(text, '{'); i >= 0; {
		dec := json.NewDecoder(strings.NewReader(text[i:]))
		var env envelope
		if dec.Decode(&env) == nil && env.ID != "" {
			return env, true
		}
		j := strings.IndexByte(text[i+1:], '{')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return envelope{}, false
}

// pathOf is the path of a URL or path, without its query: what the logs
// record.
func pathOf(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".,;:!?)\"'")
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		return clean(s)
	}
	if u.Path == "" && u.Host != "" {
		return "/"
	}
	return clean(u.Path)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
