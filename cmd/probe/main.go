// Command probe grades a running 360X service against the error contract
// (docs/contract.md) from the outside, whatever the service is written in.
//
//	probe [-openapi FILE|URL] [-H 'Name: value']... [-json] [-junit FILE] [-log FILE | -store URL] BASEURL
//
// It provokes every error of the contract it can from the outside (an
// unknown path, with a query, unusual characters and a long segment; with
// an OpenAPI 3 document, a method each path does not allow, a wrong media
// type, a malformed body, a body of the wrong shape, a body that is too
// large, and missing or bad credentials on each secured operation), then
// grades each answer with named checks, each with a stable id. With -log or
// -store it also checks the support side: each id the probe received is on
// exactly one error line, with the status sent, and no line carries the
// probe's canaries (its query string, body, token and cookie).
//
// Exit status: 0 when every check passes, 1 when one fails, 2 for bad
// flags or a service that cannot be reached. See docs/probe.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"
)

// Exit statuses.
const (
	exitPass  = 0 // every check passed (or did not apply)
	exitFail  = 1 // at least one check failed
	exitUsage = 2 // bad flags, an unreadable document, a service that cannot be reached
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// headerFlags collects repeated -H 'Name: value' flags.
type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ", ") }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(strings.TrimSpace(name), " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("want 'Name: value', got %q", v)
	}
	switch http.CanonicalHeaderKey(strings.TrimSpace(name)) {
	case "Content-Length", "Transfer-Encoding", "Connection", "X-Request-Id":
		return fmt.Errorf("%s is the probe's to set", strings.TrimSpace(name))
	}
	*h = append(*h, v)
	return nil
}

// options are the probe's settings, from the flags.
type options struct {
	base        *url.URL
	openapi     string
	headers     headerFlags
	jsonOut     bool
	junit       string
	logFile     string
	store       string
	storeFilter string
	unsafe      bool
	rate        float64
	sample      int
	bodyLimit   int64
	burst       int
	timeout     time.Duration
	wait        time.Duration
	skew        time.Duration
	insecure    bool
	routes      routeFlags
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: probe [-openapi FILE|URL] [-H 'Name: value']... [-json] [-junit FILE] [-log FILE | -store URL] BASEURL")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.openapi, "openapi", "", "the service's OpenAPI 3 document (JSON or YAML), a file or an http(s) URL: enables the 405, 415, 400, 413 and 401 probes")
	fs.Var(&o.headers, "H", "a header sent with every request, e.g. -H 'Authorization: Bearer TOKEN' (repeatable); removed or replaced on the 401 probes")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.junit, "junit", "", "also write the report as JUnit XML to this file")
	fs.StringVar(&o.logFile, "log", "", "the service's log file (JSON lines): check the support side in it")
	fs.StringVar(&o.store, "store", "", "the VictoriaLogs server the service ships its log to, e.g. http://127.0.0.1:9428: check the support side there")
	fs.StringVar(&o.storeFilter, "store-filter", "", "a LogsQL filter that selects the service's lines in the store, e.g. 'service:offers'")
	fs.BoolVar(&o.unsafe, "unsafe", false, "also send requests a lax service might act on: a well-formed body of the wrong shape, and DELETE or POST as the disallowed method")
	fs.Float64Var(&o.rate, "rate", 10, "requests per second at most")
	fs.IntVar(&o.sample, "sample", 20, "identical requests sent to check that ids are unique")
	fs.Int64Var(&o.bodyLimit, "body-limit", 1<<20, "the service's request body limit in bytes: the 413 probe sends one byte more (0: no 413 probe)")
	fs.IntVar(&o.burst, "burst", 0, "send up to this many requests to the first GET operation until one is answered 429 (0: none)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit of each request")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "how long to wait for the service's lines to reach the log or the store")
	fs.BoolVar(&o.insecure, "insecure", false, "accept any TLS certificate (a staging service's own)")
	fs.Var(&o.routes, "route", "a route, when there is no document or in addition to it: 'METHODS PATH [auth] [json[=required,...]]', e.g. -route 'GET,POST /api/v1/offers auth json=product,price' (repeatable)")
	fs.DurationVar(&o.skew, "skew", 5*time.Minute, "the clock difference allowed between the probe and the service")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, errors.New("want exactly one BASEURL, e.g. http://127.0.0.1:8080")
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("BASEURL %q: want an http(s) URL without query, e.g. http://127.0.0.1:8080", fs.Arg(0))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	o.base = u
	switch {
	case o.logFile != "" && o.store != "":
		return nil, errors.New("-log and -store exclude each other")
	case o.storeFilter != "" && o.store == "":
		return nil, errors.New("-store-filter needs -store")
	case o.rate <= 0:
		return nil, errors.New("-rate must be positive")
	case o.sample < 2:
		return nil, errors.New("-sample must be 2 or more")
	case o.bodyLimit < 0, o.bodyLimit > 64<<20:
		return nil, errors.New("-body-limit must be from 0 to 64 MiB")
	case o.burst < 0:
		return nil, errors.New("-burst must be 0 or more")
	case o.timeout <= 0, o.wait < 0, o.skew < 0:
		return nil, errors.New("-timeout must be positive, -wait and -skew not negative")
	}
	if o.store != "" {
		if s, err := url.Parse(o.store); err != nil || (s.Scheme != "http" && s.Scheme != "https") || s.Host == "" {
			return nil, fmt.Errorf("-store %q: want the http(s) URL of a VictoriaLogs server", o.store)
		}
	}
	return o, nil
}

// run is the command: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		fmt.Fprintln(stderr, "probe: "+err.Error())
		return exitUsage
	}
	var api *spec
	if o.openapi != "" {
		if api, err = loadSpec(ctx, o.openapi); err != nil {
			fmt.Fprintln(stderr, "probe: -openapi: "+err.Error())
			return exitUsage
		}
	}
	api = o.routes.addTo(api)
	p := newProber(o, api)
	if api != nil && !p.hasCredentials() && slices.ContainsFunc(api.paths, pathItem.secured) {
		fmt.Fprintln(stderr, "probe: no credentials given with -H: the secured operations can only be probed for their 401s")
	}
	// The support side is read after the probe: a log or a store that
	// cannot be read stops the run before any request.
	if err := p.supportReadable(ctx); err != nil {
		fmt.Fprintln(stderr, "probe: "+err.Error())
		return exitUsage
	}
	if err := p.reachable(ctx); err != nil {
		fmt.Fprintf(stderr, "probe: %s cannot be reached: %v\n", o.base, err)
		return exitUsage
	}
	answers := p.probe(ctx)
	var support *supportSide
	if o.logFile != "" || o.store != "" {
		support, err = p.readSupport(ctx, answers)
		if err != nil {
			fmt.Fprintln(stderr, "probe: "+err.Error())
			return exitUsage
		}
	}
	rep := grade(p, answers, support)
	if o.jsonOut {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err == nil && o.junit != "" {
		err = rep.writeJUnitFile(o.junit)
	}
	if err != nil {
		fmt.Fprintln(stderr, "probe: "+err.Error())
		return exitUsage
	}
	if rep.Failed > 0 {
		return exitFail
	}
	return exitPass
}
