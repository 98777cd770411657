package main

import (
	"encoding/json"
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
		for _, m := range statusPattern.FindAllString(urlPattern.ReplaceAllString(rest, " "), -1) {
			if n, _ := strconv.Atoi(m); n >= 400 && n <= 599 || n >= 200 && n <= 299 {
				p.Says.Status = n
				break
			}
		}
	}
	return p
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
