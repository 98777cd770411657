package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/360x/errkit/internal/vlogs"
)

// storyOptions says where [buildStory] looks for a story, and how.
type storyOptions struct {
	// Store is the base URL of a VictoriaLogs server to search; "" for
	// none.
	Store string
	// Files are the logs to read beside the store (fileSource).
	Files []source
	// Retention is how long the logs are kept: lines older are not read,
	// and the verdict on the id's age is against it. 0 means the store's
	// own setting, read from it, or else defaultRetention. A value given
	// that differs from the store's is used, with a warning.
	Retention time.Duration
	// Wait bounds how long a search of the store waits for lines it has
	// not made searchable yet: an id not found, or issued less than Wait
	// ago, is searched again until it is found and Wait old, or Wait has
	// passed. 0: no waiting.
	Wait time.Duration
	// Now is the time the verdict on the id's age is made at; zero:
	// time.Now().
	Now time.Time
	// Timeout bounds each request to the store; 0: 30 s.
	Timeout time.Duration
}

// defaultWait is -wait's default: the demo's shipper sends every 250 ms
// and VictoriaLogs makes a line searchable about a second after it
// arrives (RELIABILITY.md, "The story"); 5 s leaves room for a retried
// batch.
const defaultWait = 5 * time.Second

// buildStory finds the story of id (normalized first) in the store and
// files of o: the function behind traceid and its JSON document (the
// console's GET /api/story/{id} serves the same). warn receives what
// traceid prints to standard error (io.Discard to drop it); the same
// warnings about the retention are in the story's Warnings. The error is
// for a malformed id only: a story with no request has an empty Order,
// and one whose every source failed lists them all in Unreadable.
func buildStory(ctx context.Context, id string, o storyOptions, warn io.Writer) (*story, error) {
	id, err := normalizeID(id)
	if err != nil {
		return nil, err
	}
	// The search is tried again while it waits for the store: a warning
	// is said once, not once a try.
	warn = &onceWriter{w: warn, said: map[string]bool{}}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	var warnings []string
	retention, from, storeSetting := o.Retention, "flag", ""
	if o.Store != "" {
		r, err := vlogs.ReadRetention(ctx, &http.Client{Timeout: o.Timeout}, o.Store)
		switch {
		case err != nil && retention == 0:
			retention, from = defaultRetention, "default"
			warnings = append(warnings, fmt.Sprintf("could not read the retention of the store at %s (%v): taking it to be %s; say -retention if it differs", o.Store, err, defaultRetention))
		case err != nil:
			warnings = append(warnings, fmt.Sprintf("could not read the retention of the store at %s (%v): taking -retention %s", o.Store, err, retention))
		case retention == 0:
			retention, from, storeSetting = r.Period, "store", r.Flag
		default:
			storeSetting = r.Flag
			if r.Period != retention {
				warnings = append(warnings, fmt.Sprintf("-retention %s differs from the store's %s (%s): the search and the verdict use -retention", retention, r.Flag, r.Period))
			}
		}
	} else if retention == 0 {
		retention, from = defaultRetention, "default"
	}
	for _, w := range warnings {
		fmt.Fprintln(warn, "traceid:", w)
	}

	var sources []source
	if o.Store != "" {
		sources = append(sources, storeSourceCtx(ctx, o.Store, retention, o.Timeout))
	}
	sources = append(sources, o.Files...)
	w := window{now: now, retention: retention}
	issued, isV7 := issuedAt(id)

	start := time.Now()
	deadline := start.Add(o.Wait)
	st := trace(id, sources, w, warn)
	paused := false
	for o.Store != "" && o.Wait > 0 && ctx.Err() == nil {
		found := len(st.Order) > 0
		// A young id's story may still miss lines on their way to the
		// store: it is told once the id is Wait old.
		young := isV7 && time.Since(issued) < o.Wait
		if found && !young {
			break
		}
		if !time.Now().Before(deadline) {
			break
		}
		pause := 250 * time.Millisecond
		if found {
			pause = time.Until(issued.Add(o.Wait))
		}
		pause = min(pause, time.Until(deadline))
		paused = true
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		st = trace(id, sources, w, warn)
		if found {
			break // searched again once the id was Wait old
		}
	}
	if paused {
		st.WaitedMS = max(time.Since(start).Milliseconds(), 1)
	}
	if len(st.Order) == 0 && o.Store != "" && isV7 {
		// No line has the id: was a service's log losing lines then?
		warnings = append(warnings, lossesAround(ctx, &http.Client{Timeout: o.Timeout}, o.Store, issued, now)...)
	}

	st.Retention = retention.String()
	st.RetentionFrom = from
	st.StoreRetention = storeSetting
	st.Warnings = warnings
	if isV7 {
		st.Issued = &issued
		st.AgeDays = now.Sub(issued).Hours() / 24
		if issued.After(now.Add(futureSlack)) {
			// Whether its lines are kept cannot be told: within_retention
			// is left out.
			st.Warnings = append(st.Warnings, "the id is dated "+issued.UTC().Format("2006-01-02 15:04:05 UTC")+
				", in the future: no 360X service with a right clock made it (a forged or mistyped id, or a clock far off)")
		} else {
			in := now.Sub(issued) <= retention
			st.InRetention = &in
		}
	}
	return st, nil
}

// futureSlack is how far in the future an id's time may be before the
// story says it cannot be one a service made (clocks differ a little).
const futureSlack = time.Minute

// fileSources are the log files at paths as sources, for storyOptions.Files.
func fileSources(paths ...string) []source {
	out := make([]source, len(paths))
	for i, p := range paths {
		out[i] = fileSource(p)
	}
	return out
}

// onceWriter passes each distinct line written to it on once; it may be
// written to from several goroutines.
type onceWriter struct {
	mu   sync.Mutex
	w    io.Writer
	said map[string]bool
}

func (o *onceWriter) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.said[string(p)] {
		return len(p), nil
	}
	o.said[string(p)] = true
	return o.w.Write(p)
}
