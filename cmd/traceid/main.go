// Command traceid tells support the story of one request from the id a
// client pasted into a ticket: its error line, its access line, and the
// requests it made to other 360X services and the one that made it
// (followed through confirmed links: the call token the caller sent and
// the callee logged; see docs/traceid.md), across every log given and a
// VictoriaLogs store, as text or as a versioned JSON document.
//
//	traceid [-json] [-store URL] [-wait 5s] [-retention 720h] ID [LOG ...]
//
// With no LOG and no -store, or "-", it reads standard input (spooled to a
// temporary file, since following a chain reads the logs more than once).
// It reads the logs in blocks, with every core (several files at once, a
// large file in 16 MiB parts), and parses only the lines that name an id
// or call token it follows: memory does not grow with the logs. Empty
// lines are skipped; any other line is counted as not JSON, and skipped,
// when it does not start with {, is longer than 1 MiB, or names the id and
// does not parse. With -store, an id not found yet (or younger than -wait)
// is searched again for up to -wait, and the answer says it waited. For a
// UUIDv7 id it says when the id was issued and whether that is older than
// the log retention: -retention when given, else the store's own
// -retentionPeriod, read from it, else 30 days.
//
// Exit status: 0 when lines were found; 1 when none mention the id; 2 for
// a malformed id, bad flags, or no readable log.
//
//	TRACEID_TOKEN=... traceid serve [-listen 127.0.0.1:8090] [-store URL] [-retention 720h] [-wait 5s] [LOG ...]
//
// serves the same stories as a web console for support staff, behind a
// token (serve.go, docs/console.md).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve" {
		return serveCommand(args[1:], os.Getenv, stderr) // serve.go
	}
	fs := flag.NewFlagSet("traceid", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the story as JSON (docs/traceid.md describes the document)")
	retention := fs.Duration("retention", defaultRetention, "how long the logs are kept; when not given: the store's -retentionPeriod, read from it, or else this default")
	nowFlag := fs.String("now", "", "the current time, RFC 3339 (default: the clock), for reproducible output")
	store := fs.String("store", "", "base URL of a VictoriaLogs server to search (LogsQL over HTTP), instead of or beside LOG files")
	wait := fs.Duration("wait", defaultWait, "with -store: how long to wait for lines the store has not made searchable yet (an id not found, or younger than this)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: traceid [-json] [-retention 720h] [-store URL] [-wait 5s] ID [LOG ...]   (no LOG and no -store, or \"-\": standard input)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return 2
	}
	id, err := normalizeID(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "traceid:", err)
		return 2
	}
	o := storyOptions{Store: *store, Wait: *wait}
	if *nowFlag != "" {
		if o.Now, err = time.Parse(time.RFC3339, *nowFlag); err != nil {
			fmt.Fprintf(stderr, "traceid: invalid value %q for flag -now: %v\n", *nowFlag, err)
			return 2
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "retention" {
			o.Retention = *retention // given: it wins, and a store that disagrees is named
		}
	})
	if *retention <= 0 {
		fmt.Fprintf(stderr, "traceid: invalid value %s for flag -retention: want a duration above 0\n", *retention)
		return 2
	}
	if *wait < 0 {
		fmt.Fprintf(stderr, "traceid: invalid value %s for flag -wait: want 0 or more\n", *wait)
		return 2
	}

	paths := fs.Args()[1:]
	if *store == "" && len(paths) == 0 {
		paths = []string{"-"}
	}
	seen := map[string]bool{} // a log named twice is read once
	for _, p := range paths {
		if seen[filepath.Clean(p)] {
			continue
		}
		seen[filepath.Clean(p)] = true
		if p != "-" {
			o.Files = append(o.Files, fileSource(p))
			continue
		}
		spool, err := spoolStdin(stdin)
		if err != nil {
			fmt.Fprintln(stderr, "traceid: reading standard input:", err)
			return 2
		}
		defer os.Remove(spool)
		s := fileSource(spool)
		s.name = "(stdin)"
		o.Files = append(o.Files, s)
	}

	st, err := buildStory(context.Background(), id, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "traceid:", err)
		return 2
	}
	if len(st.Unreadable) == len(st.Files) {
		fmt.Fprintln(stderr, "traceid: no log could be read")
		return 2
	}
	for _, name := range st.NotJSON {
		fmt.Fprintf(stderr, "traceid: no line of %s is JSON: traceid reads the services' JSON lines, not a console-format log (-log-format console)\n", name)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	} else {
		printStory(stdout, st)
	}
	if len(st.Order) == 0 {
		if !*asJSON {
			msg := fmt.Sprintf("traceid: no log line has id %s", id)
			if st.WaitedMS > 0 {
				msg += fmt.Sprintf(" (waited %s for the store to make new lines searchable)", waitedText(st.WaitedMS))
			}
			fmt.Fprintln(stderr, msg)
		}
		return 1
	}
	return 0
}

// spoolStdin copies standard input to a temporary file and returns its
// path.
func spoolStdin(r io.Reader) (string, error) {
	f, err := os.CreateTemp("", "traceid-stdin")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
