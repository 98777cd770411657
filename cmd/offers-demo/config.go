package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/logsink"
)

// config is the demo's configuration: flags, each with an environment
// variable as fallback.
type config struct {
	addr         string
	logLevel     zerolog.Level
	logFormat    string
	logFull      logsink.Mode      // what logging does when the log's destination cannot keep up
	logBuffer    int               // lines the log's buffer holds
	vlogsURL     string            // a VictoriaLogs server the log is also shipped to, if any
	vlogsBuffer  int               // bytes of lines held for the store
	tokens       map[string]string // token -> participant
	rateLimit    rateLimit
	pricingURL   string // empty: start the embedded pricing service
	fxURL        string
	quoteTimeout time.Duration
	shutdown     time.Duration
	readHeader   time.Duration
	debugAddr    string
	defaultToken bool // the tokens are the documented defaults
}

type rateLimit struct {
	requests int
	window   time.Duration
}

func (r rateLimit) String() string { return strconv.Itoa(r.requests) + "/" + r.window.String() }

const defaultTokens = "alice-token=alice,bob-token=bob"

// parseConfig reads args and the environment. A bad value gives an error
// that names the flag (and the variable, when it came from there).
func parseConfig(args []string, getenv func(string) string) (*config, error) {
	fs := flag.NewFlagSet("offers-demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		addr         = fs.String("addr", "127.0.0.1:8080", "listen address (OFFERS_ADDR)")
		level        = fs.String("log-level", "info", "log level: debug, info, warn, error (OFFERS_LOG_LEVEL)")
		format       = fs.String("log-format", "json", "log format: json, or console for a terminal (OFFERS_LOG_FORMAT)")
		logFull      = fs.String("log-full", "drop", "when the log's destination cannot keep up: drop lines (counted) or block requests (OFFERS_LOG_FULL)")
		logBuffer    = fs.String("log-buffer", "8192", "lines the log's buffer holds, 1 or more (OFFERS_LOG_BUFFER)")
		vlogsURL     = fs.String("vlogs-url", "", "if set, also ship the log's JSON lines to this VictoriaLogs server, e.g. http://127.0.0.1:9428 (OFFERS_VLOGS_URL)")
		vlogsBuffer  = fs.String("vlogs-buffer", "32", "MiB of lines held for the store while it is slow or down, 1 or more (OFFERS_VLOGS_BUFFER)")
		tokens       = fs.String("tokens", defaultTokens, "bearer tokens as token=participant,... (OFFERS_TOKENS)")
		rate         = fs.String("rate-limit", "60/1m", "requests per window per token, as N/duration (OFFERS_RATE_LIMIT)")
		pricing      = fs.String("pricing-url", "", "pricing service base URL; empty starts the embedded one (OFFERS_PRICING_URL)")
		fx           = fs.String("fx-url", "http://127.0.0.1:1", "currency-conversion service base URL; the default has nothing listening (OFFERS_FX_URL)")
		quoteTimeout = fs.Duration("quote-timeout", 500*time.Millisecond, "time limit of a price quote's upstream calls (OFFERS_QUOTE_TIMEOUT)")
		shutdown     = fs.Duration("shutdown-timeout", 10*time.Second, "how long in-flight requests may finish on SIGINT/SIGTERM (OFFERS_SHUTDOWN_TIMEOUT)")
		readHeader   = fs.Duration("read-header-timeout", 5*time.Second, "how long a client may take to send its request headers (OFFERS_READ_HEADER_TIMEOUT)")
		debugAddr    = fs.String("debug-addr", "", "if set, serve /debug/vars and /debug/pprof on this loopback address (OFFERS_DEBUG_ADDR)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fmt.Fprintln(os.Stderr, "usage: offers-demo [flags]")
			fs.PrintDefaults()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// value returns the flag's value, or its variable's when the flag was
	// not given; where says which, for error messages.
	value := func(name, env, fromFlag string) (v, where string) {
		if !set[name] {
			if e := getenv(env); e != "" {
				return e, env + " (flag -" + name + ")"
			}
		}
		return fromFlag, "flag -" + name
	}
	bad := func(where, v string, err error) error {
		return fmt.Errorf("invalid value %q for %s: %v", v, where, err)
	}

	c := &config{}
	c.addr, _ = value("addr", "OFFERS_ADDR", *addr)

	v, where := value("log-level", "OFFERS_LOG_LEVEL", *level)
	lvl, err := zerolog.ParseLevel(v)
	if err != nil || v == "" || !slices.Contains([]zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel}, lvl) {
		return nil, bad(where, v, errors.New("want debug, info, warn or error"))
	}
	c.logLevel = lvl

	v, where = value("log-format", "OFFERS_LOG_FORMAT", *format)
	if v != "json" && v != "console" {
		return nil, bad(where, v, errors.New("want json or console"))
	}
	c.logFormat = v

	v, where = value("log-full", "OFFERS_LOG_FULL", *logFull)
	switch v {
	case "drop":
		c.logFull = logsink.Drop
	case "block":
		c.logFull = logsink.Block
	default:
		return nil, bad(where, v, errors.New("want drop or block"))
	}

	c.vlogsURL, _ = value("vlogs-url", "OFFERS_VLOGS_URL", *vlogsURL)
	v, where = value("vlogs-buffer", "OFFERS_VLOGS_BUFFER", *vlogsBuffer)
	mib, err := strconv.Atoi(v)
	if err != nil || mib < 1 || mib > 1<<14 {
		return nil, bad(where, v, errors.New("want a whole number of MiB, 1 to 16384"))
	}
	c.vlogsBuffer = mib << 20

	v, where = value("log-buffer", "OFFERS_LOG_BUFFER", *logBuffer)
	if c.logBuffer, err = strconv.Atoi(v); err != nil || c.logBuffer < 1 {
		return nil, bad(where, v, errors.New("want a whole number of lines, 1 or more"))
	}

	v, where = value("tokens", "OFFERS_TOKENS", *tokens)
	if c.tokens, err = parseTokens(v); err != nil {
		return nil, bad(where, v, err)
	}
	c.defaultToken = v == defaultTokens

	v, where = value("rate-limit", "OFFERS_RATE_LIMIT", *rate)
	if c.rateLimit, err = parseRateLimit(v); err != nil {
		return nil, bad(where, v, err)
	}

	c.pricingURL, _ = value("pricing-url", "OFFERS_PRICING_URL", *pricing)
	c.fxURL, _ = value("fx-url", "OFFERS_FX_URL", *fx)
	v, where = value("debug-addr", "OFFERS_DEBUG_ADDR", *debugAddr)
	if v != "" {
		host, _, err := net.SplitHostPort(v)
		if ip := net.ParseIP(host); err == nil && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			err = errors.New("must be a loopback address")
		}
		if err != nil {
			return nil, bad(where, v, err)
		}
	}
	c.debugAddr = v

	for _, d := range []struct {
		name, env string
		flag      time.Duration
		dst       *time.Duration
	}{
		{"quote-timeout", "OFFERS_QUOTE_TIMEOUT", *quoteTimeout, &c.quoteTimeout},
		{"shutdown-timeout", "OFFERS_SHUTDOWN_TIMEOUT", *shutdown, &c.shutdown},
		{"read-header-timeout", "OFFERS_READ_HEADER_TIMEOUT", *readHeader, &c.readHeader},
	} {
		v, where := value(d.name, d.env, d.flag.String())
		dur, err := time.ParseDuration(v)
		if err == nil && dur <= 0 {
			err = errors.New("must be positive")
		}
		if err != nil {
			return nil, bad(where, v, err)
		}
		*d.dst = dur
	}
	return c, nil
}

func parseTokens(s string) (map[string]string, error) {
	out := map[string]string{}
	for pair := range strings.SplitSeq(s, ",") {
		token, participant, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || token == "" || participant == "" {
			return nil, errors.New("want token=participant pairs separated by commas")
		}
		if _, dup := out[token]; dup {
			return nil, fmt.Errorf("token for %s given twice", participant)
		}
		out[token] = participant
	}
	return out, nil
}

func parseRateLimit(s string) (rateLimit, error) {
	n, w, ok := strings.Cut(s, "/")
	requests, err := strconv.Atoi(n)
	if !ok || err != nil || requests <= 0 {
		return rateLimit{}, errors.New("want N/duration with N > 0, for example 60/1m")
	}
	window, err := time.ParseDuration(w)
	if err != nil || window <= 0 {
		return rateLimit{}, errors.New("want N/duration with a positive duration, for example 60/1m")
	}
	return rateLimit{requests, window}, nil
}

// exitOnConfigError prints err as one line and exits with status 2.
func exitOnConfigError(err error) {
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "offers-demo: "+err.Error())
	os.Exit(2)
}
