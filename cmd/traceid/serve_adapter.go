package main

// The console's one point of contact with the story's internals: it builds
// a story with the command's own search (buildStory) and hands the console
// the JSON document that traceid -json prints. Everything else in
// serve*.go reads that document, the public contract, not the types
// behind it.

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
	retention time.Duration // how long the logs are kept; 0: the store's setting, read from it (else 30 days)
	wait      time.Duration // how long a store search waits for lines not searchable yet
	timeout   time.Duration // of each store query
	warn      io.Writer     // what the search cannot read, for the operator
}

// canonicalID returns s as the canonical id the logs hold, or an error
// saying what an id looks like.
func canonicalID(s string) (string, error) { return normalizeID(s) }

// document returns the JSON document of id's story at now, the one
// traceid -json prints, and whether any line has the id; errNoLog when
// no source could be read.
func (s storySearch) document(ctx context.Context, id string, now time.Time) ([]byte, bool, error) {
	warn := s.warn
	if warn == nil {
		warn = io.Discard
	}
	// One bound for the whole search, its waits for the store included:
	// a store that hangs costs a page that long, not a query's timeout per
	// try.
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	st, err := buildStory(ctx, id, storyOptions{Store: s.store, Files: fileSources(s.logs...), Retention: s.retention, Wait: s.wait, Now: now, Timeout: s.timeout}, warn)
	if err != nil {
		return nil, false, err
	}
	if len(st.Files) > 0 && len(st.Unreadable) == len(st.Files) {
		return nil, false, errNoLog
	}
	doc, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, false, err
	}
	return append(doc, '\n'), len(st.Order) > 0, nil
}

// retentionUsage is -retention's help.
const retentionUsage = "how long the logs are kept (default: the store's -retentionPeriod, read from it; without a store 720h)"

// waitUsage is -wait's help, and defaultWait its default.
const waitUsage = "with -store: how long a search waits for lines the store has not made searchable yet (an id not found, or younger than this)"

// hopLimit is how far a chain is followed, for the page to say where a
// story was cut.
const hopLimit = maxHops
