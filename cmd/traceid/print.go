package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// printStory writes the story as text for a person.
func printStory(w io.Writer, st *story) {
	fmt.Fprintf(w, "Request %s\n", st.ID)
	from := "the default: say -retention if the logs are kept longer or shorter"
	switch st.RetentionFrom {
	case "store":
		from = "the store's " + st.StoreRetention
	case "flag":
		from = "-retention"
		if st.StoreRetention != "" {
			from += "; the store says " + st.StoreRetention
		}
	}
	switch {
	case st.Issued == nil:
		fmt.Fprintln(w, "  not a UUIDv7: when it was issued cannot be told from the id")
	case st.InRetention == nil:
		fmt.Fprintf(w, "  dated %s, in the future: whether its lines are kept cannot be told (%s log retention, %s)\n", st.Issued.Format("2006-01-02 15:04:05.000 UTC"), days(st.Retention), from)
	case *st.InRetention:
		fmt.Fprintf(w, "  issued %s (%.1f days ago): within the %s log retention (%s)\n", st.Issued.Format("2006-01-02 15:04:05.000 UTC"), st.AgeDays, days(st.Retention), from)
	default:
		fmt.Fprintf(w, "  issued %s (%.1f days ago): OLDER than the %s log retention (%s), its lines may be gone\n", st.Issued.Format("2006-01-02 15:04:05.000 UTC"), st.AgeDays, days(st.Retention), from)
	}
	for _, warning := range st.Warnings {
		fmt.Fprintf(w, "  note: %s\n", warning)
	}
	if st.WaitedMS > 0 {
		fmt.Fprintf(w, "  waited %s for the store to make the newest lines searchable (-wait)\n", waitedText(st.WaitedMS))
	}
	fmt.Fprintln(w)
	depth := map[string]int{}
	for _, id := range st.Order {
		r := st.Requests[id]
		d := 0
		if r.CalledBy != "" {
			d = depth[r.CalledBy] + 1
		}
		depth[id] = d
		indent := strings.Repeat("    ", d)
		what := "request"
		if d > 0 {
			what = "called by " + r.CalledBy + ":"
		}
		service := r.Service
		if service == "" {
			service = "service not named in its lines"
		}
		fmt.Fprintf(w, "%s[%s] %s %s %s %s\n", indent, service, what, id, r.Method, r.Path)
		if r.TraceID != "" {
			fmt.Fprintf(w, "%s  trace %s\n", indent, r.TraceID)
		}
		if r.ClaimedBy != "" && r.ClaimedBy != r.CalledBy {
			fmt.Fprintf(w, "%s  claimed by its client as %s, unconfirmed\n", indent, r.ClaimedBy)
		}
		for _, l := range r.Lines {
			printLine(w, indent+"  ", l)
		}
		if n := len(r.Unreached); n > 0 {
			fmt.Fprintf(w, "%s  %s made that no line searched received (call_token %s): refused or misaddressed, or the called service's log was not searched\n",
				indent, plural(n, "call it", "calls it"), strings.Join(r.Unreached, ", "))
		}
		fmt.Fprintln(w)
	}
	if len(st.Claims) > 0 {
		fmt.Fprintf(w, "Not followed: %s a request of this story (as its client, or as a service it called) without the other side's lines confirming it:\n", plural(len(st.Claims), "request names", "requests name"))
		for _, c := range st.Claims {
			fmt.Fprintf(w, "  %s %s %s %s   (%s)\n", c.ID, c.Method, c.Path, c.Reason, c.Location)
		}
		fmt.Fprintln(w)
	}
	if st.Truncated {
		fmt.Fprintf(w, "The chain goes on beyond %d hops; the requests further away were not followed.\n\n", maxHops)
	}
	fmt.Fprintf(w, "Scanned %s in %s", plural(int(st.LinesScanned), "line", "lines"), plural(len(st.Files)-len(st.Unreadable), "log", "logs"))
	if st.BadLines > 0 {
		fmt.Fprintf(w, "; %s not JSON and skipped", plural(int(st.BadLines), "line was", "lines were"))
	}
	if len(st.Unreadable) > 0 {
		fmt.Fprintf(w, "; could not read %s", strings.Join(st.Unreadable, ", "))
	}
	fmt.Fprintln(w, ".")
}

func printLine(w io.Writer, indent string, l *line) {
	level, msg := l.str("level"), l.str("message")
	status, _ := l.num("status")
	ts := l.str("time")
	kind := "line"
	switch {
	case msg == "request":
		kind = "access"
	case level == "warn" || level == "error":
		kind = "ERROR"
	}
	st := "  -"
	if status != 0 {
		st = strconv.Itoa(int(status))
	}
	where := l.Location
	if l.Number == 0 {
		where = l.File + " " + where // a store: its URL, then the query that finds the line
	}
	fmt.Fprintf(w, "%s%-6s %s %-5s %s %s   (%s)\n", indent, kind, ts, level, st, msg, where)
	for _, k := range []string{"code", "detail", "internal_detail", "cause", "client_request_id", "span_id", "committed", "hijacked", "bytes", "duration"} {
		if v, ok := l.fields[k]; ok {
			fmt.Fprintf(w, "%s    %s: %v\n", indent, k, v)
		}
	}
	if up := l.str("upstream_id"); up != "" {
		st, _ := l.num("upstream_status")
		fmt.Fprintf(w, "%s    upstream: %s answered %d for %s\n", indent, up, st, l.str("upstream_path"))
	}
	if stack := l.str("stack"); stack != "" {
		fmt.Fprintf(w, "%s    stack:\n", indent)
		for _, s := range strings.Split(strings.TrimRight(stack, "\n"), "\n") {
			fmt.Fprintf(w, "%s      %s\n", indent, s)
		}
	}
}

func days(retention string) string {
	d, err := time.ParseDuration(retention)
	if err != nil || d%(24*time.Hour) != 0 {
		return retention
	}
	return fmt.Sprintf("%d-day", d/(24*time.Hour))
}

// plural is n and one or many, as n calls for.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// waitedText is a wait in milliseconds as a person reads it: "1.3 s".
func waitedText(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + " s"
}
