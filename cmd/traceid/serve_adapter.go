package main

// The console's one point of contact with the story's internals: it builds
// a story with the command's own search and hands the console the JSON
// document that traceid -json prints. Everything else in serve*.go reads
// that document, the public contract, not the types behind it.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// errNoLog is the error of a search in which no log could be read.
var errNoLog = errors.New("no log could be read")

// storySearch is where the console looks for stories: a store, log files,
// or both, as for traceid -store URL ID LOG....
type storySearch struct {
	store     string
	logs      []string
	retention time.Duration // how long the logs are kept; 0: 30 days
	timeout   time.Duration // of each store query
	warn      io.Writer     // what the search cannot read, for the operator
}

// canonicalID returns s as the canonical id the logs hold, or an error
// saying what an id looks like.
func canonicalID(s string) (string, error) { return normalizeID(s) }

// document returns the JSON document of id's story at now, the one
// traceid -json prints, and whether any line has the id; errNoLog when
// no source could be read.
func (s storySearch) document(_ context.Context, id string, now time.Time) ([]byte, bool, error) {
	if s.retention == 0 {
		s.retention = 30 * 24 * time.Hour
	}
	var sources []source
	if s.store != "" {
		sources = append(sources, storeSource(s.store, s.retention, s.timeout))
	}
	for _, p := range s.logs {
		sources = append(sources, fileSource(p))
	}
	warn := s.warn
	if warn == nil {
		warn = io.Discard
	}
	st := trace(id, sources, window{now: now, retention: s.retention}, warn)
	st.Retention = s.retention.String()
	if t, ok := issuedAt(id); ok {
		st.Issued = &t
		st.AgeDays = now.Sub(t).Hours() / 24
		in := now.Sub(t) <= s.retention
		st.InRetention = &in
	}
	if len(sources) > 0 && len(st.Unreadable) == len(sources) {
		return nil, false, errNoLog
	}
	doc, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, false, err
	}
	return append(doc, '\n'), len(st.Order) > 0, nil
}

// retentionUsage is -retention's help.
const retentionUsage = "how long the logs are kept"

// hopLimit is how far a chain is followed, for the page to say where a
// story was cut.
const hopLimit = maxHops
