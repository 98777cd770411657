package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// Results of a check.
const (
	resultPass = "pass"
	resultFail = "fail"
	// resultSkip: nothing the probe received was one the check judges
	// (no 429 was provoked, no -log was given, …).
	resultSkip = "skip"
)

// report is the outcome of a run, as -json prints it.
type report struct {
	Target   string `json:"target"`
	Requests int    `json:"requests"`
	Support  string `json:"support,omitempty"` // the log or store read, if any
	// Run marks every path the probe invented (/probe-RUN…); Canaries
	// are the values no log line may carry. Both find the probe's
	// requests in a service's log and dashboards.
	Run      string        `json:"run"`
	Canaries canaries      `json:"canaries"`
	Passed   int           `json:"passed"`
	Failed   int           `json:"failed"`
	Skipped  int           `json:"skipped"`
	Checks   []checkResult `json:"checks"`
}

// checkResult is one check's outcome.
type checkResult struct {
	ID       string          `json:"id"`
	Title    string          `json:"title"`
	Rule     string          `json:"rule"`
	Result   string          `json:"result"`
	Judged   int             `json:"judged"` // answers (or lines, or ids) judged
	Failures []failureReport `json:"failures,omitempty"`
	// Omitted counts the failures beyond the ones listed.
	Omitted int `json:"omitted,omitempty"`
	// Skip says, for a skipped check, what would make it apply.
	Skip string `json:"skip,omitempty"`
}

// failureReport is one failure, with the request and the answer (or the
// log line) behind it, shortened.
type failureReport struct {
	Probe string `json:"probe,omitempty"`
	// ID is the id the answer carried: traceid ID tells its story.
	ID      string `json:"id,omitempty"`
	Request string `json:"request,omitempty"`
	Answer  string `json:"answer,omitempty"`
	LogLine string `json:"logLine,omitempty"`
	Problem string `json:"problem"`
}

// maxFailures is how many failures of one check the report lists.
const maxFailures = 20

// grade runs every check on the answers.
func grade(p *prober, answers []*answer, support *supportSide) *report {
	g := &grader{p: p, answers: answers, env: map[*answer]envelope{}, support: support}
	rep := &report{Target: p.o.base.String(), Requests: len(answers), Run: p.run, Canaries: p.can}
	if support != nil {
		rep.Support = support.source
	}
	for _, c := range checks {
		r := checkResult{ID: c.ID, Title: c.Title, Rule: c.Rule}
		var fails []failure
		switch {
		case c.support && support == nil:
		case c.each != nil:
			for _, a := range answers {
				applies, problem := c.each(g, a)
				if !applies {
					continue
				}
				r.Judged++
				if problem != "" {
					fails = append(fails, failure{answer: a, problem: problem})
				}
			}
		default:
			r.Judged, fails = c.all(g)
		}
		switch {
		case len(fails) > 0:
			r.Result = resultFail
			rep.Failed++
		case r.Judged == 0:
			r.Result = resultSkip
			r.Skip = c.Skip
			if r.Skip == "" {
				r.Skip = "nothing the probe received is judged by this check"
			}
			rep.Skipped++
		default:
			r.Result = resultPass
			rep.Passed++
		}
		for i, f := range fails {
			if i == maxFailures {
				r.Omitted = len(fails) - i
				break
			}
			r.Failures = append(r.Failures, p.describe(f))
		}
		rep.Checks = append(rep.Checks, r)
	}
	return rep
}

// describe renders a failure for the report.
func (p *prober) describe(f failure) failureReport {
	fr := failureReport{Problem: printable(f.problem)}
	if f.line != "" {
		fr.LogLine = printable(shorten(f.line, 600))
	}
	a := f.answer
	if a == nil {
		return fr
	}
	fr.Probe = a.req.probe
	if id, ok := parseEnvelope(a).str("id"); ok {
		fr.ID = printable(shorten(id, 60))
	} else if v := a.header.Get("X-Request-Id"); v != "" {
		fr.ID = printable(shorten(v, 60))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", a.req.method, shorten(a.req.target, 200))
	for _, h := range []string{"Content-Type", "Authorization"} {
		if v := a.req.header.Get(h); v != "" {
			if h == "Authorization" && !strings.Contains(v, p.can.Token) {
				v = "(given with -H)"
			}
			fmt.Fprintf(&b, "\n%s: %s", h, v)
		}
	}
	if len(a.req.body) > 0 {
		fmt.Fprintf(&b, "\n(body of %d bytes: %s)", len(a.req.body), shorten(string(a.req.body), 60))
	}
	fr.Request = printable(b.String())
	if a.err != nil {
		fr.Answer = "no answer: " + a.err.Error()
		return fr
	}
	b.Reset()
	fmt.Fprintf(&b, "%d %s", a.status, a.reason)
	names := make([]string, 0, len(a.header))
	for k := range a.header {
		if k != "Date" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range a.header[k] {
			fmt.Fprintf(&b, "\n%s: %s", k, shorten(v, 200))
		}
	}
	if len(a.body) > 0 {
		fmt.Fprintf(&b, "\n\n%s", strings.TrimRight(shorten(string(a.body), 500), "\n"))
	}
	if a.trailing > 0 {
		fmt.Fprintf(&b, "\n(and %d bytes after the answer)", a.trailing)
	}
	fr.Answer = printable(b.String())
	return fr
}

// printable returns s with what a terminal or a CI page would act on
// escaped: control characters but the newline as \u00XX, bytes that are
// not UTF-8 as \xXX. A service's answer cannot move the cursor or recolour
// the report.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\n':
			b.WriteByte('\n')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeText prints the table of checks, then each failure with its
// request, answer and rule.
func (r *report) writeText(w io.Writer) error {
	fmt.Fprintf(w, "360X conformance probe of %s: %d requests", r.Target, r.Requests)
	if r.Support != "" {
		fmt.Fprintf(w, ", log read from %s", r.Support)
	}
	fmt.Fprintf(w, "\nrun %s (paths /probe-%s…); canaries: query %s, body %s, token %s, cookie %s\n", r.Run, r.Run, r.Canaries.Query, r.Canaries.Body, r.Canaries.Token, r.Canaries.Cookie)
	fmt.Fprintf(w, "%d checks: %d pass, %d fail, %d skip\n\n", len(r.Checks), r.Passed, r.Failed, r.Skipped)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tCHECK\tJUDGED\tMEANING")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", strings.ToUpper(c.Result), c.ID, c.Judged, c.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Checks {
		if c.Result == resultSkip {
			fmt.Fprintf(w, "\nSKIP %s: %s", c.ID, c.Skip)
		}
	}
	if r.Skipped > 0 {
		fmt.Fprintln(w)
	}
	for _, c := range r.Checks {
		if c.Result != resultFail {
			continue
		}
		fmt.Fprintf(w, "\nFAIL %s: %s\n  rule: %s\n", c.ID, c.Title, c.Rule)
		for i, f := range c.Failures {
			if i == 3 {
				fmt.Fprintf(w, "  … and %d more (-json lists %d)\n", len(c.Failures)-i+c.Omitted, len(c.Failures))
				break
			}
			fmt.Fprintf(w, "\n  problem: %s\n", f.Problem)
			if f.Probe != "" {
				fmt.Fprintf(w, "  probe:   %s\n", f.Probe)
			}
			if f.ID != "" {
				fmt.Fprintf(w, "  id:      %s\n", f.ID)
			}
			if f.Request != "" {
				fmt.Fprintf(w, "  > %s\n", strings.ReplaceAll(f.Request, "\n", "\n  > "))
			}
			if f.Answer != "" {
				fmt.Fprintf(w, "  < %s\n", strings.ReplaceAll(f.Answer, "\n", "\n  < "))
			}
			if f.LogLine != "" {
				fmt.Fprintf(w, "  log: %s\n", f.LogLine)
			}
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// JUnit XML, the subset every CI reads.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func (r *report) writeJUnit(w io.Writer) error {
	s := junitSuite{Name: "360x-probe " + r.Target, Tests: len(r.Checks), Failures: r.Failed, Skipped: r.Skipped}
	for _, c := range r.Checks {
		// The target in the class name: a report merged across a fleet
		// keeps each service's history of a check apart.
		tc := junitCase{Name: c.ID, Classname: "probe." + r.Target}
		switch c.Result {
		case resultFail:
			var b strings.Builder
			fmt.Fprintf(&b, "%s\nrule: %s\n", c.Title, c.Rule)
			for _, f := range c.Failures {
				fmt.Fprintf(&b, "\nproblem: %s\n", f.Problem)
				for _, part := range []string{f.Request, f.Answer, f.LogLine} {
					if part != "" {
						fmt.Fprintf(&b, "%s\n", part)
					}
				}
			}
			tc.Failure = &junitFailure{Message: c.Failures[0].Problem, Text: b.String()}
		case resultSkip:
			tc.Skipped = &junitSkipped{Message: c.Skip}
		}
		s.Cases = append(s.Cases, tc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func (r *report) writeJUnitFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("-junit: %w", err)
	}
	if err := r.writeJUnit(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("-junit: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("-junit: %w", err)
	}
	return nil
}
