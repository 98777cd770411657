// Command offers-demo is a small 360X participant-offers service that shows
// every error of the 360X error contract, and the log line behind each.
//
// It serves the offers API on -addr (default 127.0.0.1:8080) with bearer
// tokens, a per-token rate limit, and a quote route that calls a pricing
// service it starts itself on another loopback port. See docs/demo.md for the
// walkthrough; run with -help for the flags.
package main

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/internal/vlogs"
	"github.com/360x/errkit/logsink"
	"github.com/360x/errkit/middleware"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		exitOnConfigError(err)
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	if err := run(cfg, os.Stdout, os.Stderr, signals); err != nil {
		fmt.Fprintln(os.Stderr, "offers-demo: "+err.Error())
		os.Exit(1)
	}
}

// Exit codes of the demo, as docs/demo.md states them.
const (
	exitOK     = 0 // stopped by SIGINT or SIGTERM, whatever was in flight
	exitFailed = 1 // could not start (the address is taken, …)
	exitConfig = 2 // a bad flag or environment variable
	// A second signal during the shutdown exits at once with 128 + the
	// signal's number, as a shell reports a process killed by it: 130 for
	// SIGINT, 143 for SIGTERM.
)

// errorsByStatus counts the error responses by the status the client
// received, for the debug endpoint; countError is the observer that does it.
var errorsByStatus = expvar.NewMap("errors_by_status")

func countError(ev middleware.ErrorEvent) { errorsByStatus.Add(strconv.Itoa(ev.Status), 1) }

// logSinkStats is the log's counts for the debug endpoint.
var logSinkStats atomic.Pointer[logsink.Writer]

// shipperStats is the store's counts for the debug endpoint, with -vlogs-url.
var shipperStats atomic.Pointer[vlogs.Shipper]

// run serves until the first signal on signals, then shuts down within
// cfg.shutdown: in-flight requests get the grace to finish, then every
// connection is closed. A second signal exits at once.
func run(cfg *config, stdout, stderr io.Writer, signals <-chan os.Signal) error {
	// The log goes through a bounded buffer: a destination that blocks,
	// slows down or fails costs log lines (counted, reported), never an
	// answer. Formatting for a terminal happens behind the buffer, off the
	// requests' path.
	var dst io.Writer = stdout
	if cfg.logFormat == "console" {
		// Colours only for a person at a terminal, not in a file or a pipe.
		dst = zerolog.ConsoleWriter{Out: stdout, TimeFormat: "15:04:05.000", NoColor: !isTerminal(stdout)}
	}
	sink := logsink.New(dst, logsink.WithMode(cfg.logFull), logsink.WithBuffer(cfg.logBuffer), logsink.WithErrorReport(stderr))
	lines := destinations{sink}
	var shipper *vlogs.Shipper
	if cfg.vlogsURL != "" {
		// The JSON lines also go to the log store, a destination of its
		// own beside stdout, not behind it: its own buffer, retries and
		// counts, so that a store that is slow, hung or down costs lines
		// to the store (counted, reported at exit), never a line of
		// stdout nor an answer.
		var err error
		shipper, err = vlogs.NewShipper(cfg.vlogsURL, 250*time.Millisecond, vlogs.WithShipBuffer(cfg.vlogsBuffer))
		if err != nil {
			return fmt.Errorf("-vlogs-url: %w", err)
		}
		lines = append(lines, shipper)
		shipperStats.Store(shipper)
	}
	logSinkStats.Store(sink)
	// Millisecond timestamps in UTC, like the envelope's, so support can
	// line a log line up with what a client received; a hook, not
	// zerolog's process-wide TimeFieldFormat.
	base := zerolog.New(lines).Level(cfg.logLevel).Hook(logsink.Timestamp(nil))
	logger := base.With().Str("service", "offers").Logger()

	// A closed stdout (a log collector that died) must cost log lines,
	// not the process: without this, Go exits on SIGPIPE for fd 1 and 2.
	signal.Ignore(syscall.SIGPIPE)

	// OpenTelemetry: otelhttp in front of both services starts a span per
	// request (continuing the caller's trace from traceparent); the error
	// kit logs its trace and span ids beside the 360X id, and apiclient
	// sends the trace on. The spans are recorded and dropped: the demo has
	// no collector to export them to.
	tp := sdktrace.NewTracerProvider()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	defer func() { _ = tp.Shutdown(context.Background()) }()

	pricingURL := cfg.pricingURL
	var pricing *http.Server
	if pricingURL == "" {
		u, srv, err := startPricing(base) // the middleware adds "service": "pricing"
		if err != nil {
			return fmt.Errorf("starting the pricing service: %w", err)
		}
		pricing, pricingURL = srv, u
	}

	a := &app{
		store:        newStore(time.Now().UTC()),
		tokens:       cfg.tokens,
		pricingURL:   pricingURL,
		fxURL:        cfg.fxURL,
		quoteTimeout: cfg.quoteTimeout,
		// No client timeout: each call's limit is -quote-timeout, set on
		// its context, whatever its value.
		client:  &http.Client{Transport: &apiclient.Transport{}},
		now:     time.Now,
		observe: countError,
	}
	// The requests' contexts descend from baseCtx: when the grace runs out,
	// it is canceled with errShutdown before the connections close, so
	// the requests cut off are the server's doing, not their clients'.
	baseCtx, cancelBase := context.WithCancelCause(context.Background())
	defer cancelBase(nil)
	srv := &http.Server{
		Handler:           otelhttp.NewHandler(a.routes(base, cfg.rateLimit), "offers"),
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ReadHeaderTimeout: cfg.readHeader,
		// Each limit follows from the flags, so that no flag is cut short
		// by a limit of its own: a body gets 15 s after the headers' time,
		// an answer 30 s after the quote's.
		ReadTimeout:    cfg.readHeader + 15*time.Second,
		WriteTimeout:   cfg.quoteTimeout + 30*time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		if pricing != nil {
			_ = pricing.Close()
		}
		return fmt.Errorf("listening on %s: %w", cfg.addr, err)
	}
	if cfg.debugAddr != "" {
		stopDebug, err := serveDebug(cfg.debugAddr, logger, stderr)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopDebug()
	}

	printBanner(stderr, cfg, ln.Addr().String())
	logger.Info().Str("addr", ln.Addr().String()).Str("pricing_url", pricingURL).
		Str("rate_limit", cfg.rateLimit.String()).Str("log_full", cfg.logFull.String()).Msg("listening")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var sig os.Signal
	select {
	case err := <-errc:
		return err
	case sig = <-signals:
	}
	go func() {
		s := <-signals
		fmt.Fprintf(stderr, "offers-demo: second signal (%v): exiting now\n", s)
		os.Exit(128 + int(s.(syscall.Signal)))
	}()

	// One deadline for everything: the grace, then Close. The shutdown
	// runs on its own, so that nothing it waits for (a log destination
	// that blocks, in Block mode) can hold the exit past the deadline.
	deadline := time.Now().Add(cfg.shutdown)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		shutdown(srv, pricing, deadline, cancelBase, logger, sig)
		<-errc // http.ErrServerClosed
		logger.Info().Msg("stopped")
	}()
	select {
	case <-stopped:
	case <-time.After(time.Until(deadline) + 250*time.Millisecond):
		fmt.Fprintln(stderr, "offers-demo: the shutdown did not finish within the grace; exiting")
	}

	// The lines still buffered get what is left of the grace, and at
	// least a quarter of a second; a log destination that does not take
	// them cannot hold the exit up longer.
	flushBy := deadline
	if least := time.Now().Add(250 * time.Millisecond); flushBy.Before(least) {
		flushBy = least
	}
	flushCtx, cancelFlush := context.WithDeadline(context.Background(), flushBy)
	defer cancelFlush()
	// Both destinations get the same time, at once: a stuck stdout costs
	// the store nothing, nor the other way round. The store gets at least
	// a second, for a retry or two.
	var closing sync.WaitGroup
	closing.Go(func() { _ = sink.Close(flushCtx) })
	if shipper != nil {
		closing.Go(func() {
			ctx, cancel := context.WithDeadline(context.Background(), later(flushBy, time.Now().Add(time.Second)))
			defer cancel()
			if err := shipper.Close(ctx); err != nil {
				fmt.Fprintln(stderr, "offers-demo: "+err.Error())
			}
		})
	}
	closing.Wait()
	st := sink.Stats()
	fmt.Fprintf(stderr, "offers-demo: log lines: %d written, %d delivered, %d lost (%d dropped, %d refused by the destination, %d not flushed)\n",
		st.Written, st.Delivered, st.Written-st.Delivered, st.Dropped, st.Failed, st.Written-st.Delivered-st.Lost())
	if shipper != nil {
		ss := shipper.Stats()
		fmt.Fprintf(stderr, "offers-demo: log lines to the store: %d written, %d delivered, %d lost (%d dropped, %d rejected, %d abandoned at exit); %d requests, %d retries\n",
			ss.Written, ss.Delivered, ss.Lost(), ss.Dropped, ss.Rejected, ss.Abandoned, ss.Attempts, ss.Retries)
	}
	return nil
}

// destinations hands each log line to every destination of the log. Each
// copies the line into a buffer of its own and returns at once (a
// logsink.Writer, a vlogs.Shipper), so that none waits for another, and
// none fails.
type destinations []io.Writer

func (d destinations) Write(p []byte) (int, error) {
	for _, w := range d {
		_, _ = w.Write(p)
	}
	return len(p), nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// errShutdown is the cause of the requests' contexts when the grace ran out.
var errShutdown = errors.New("the server shut down: the grace ran out")

// shutdown stops srv, then pricing (srv's requests may call it), within
// deadline: the grace for requests in flight, then their contexts are
// canceled with errShutdown and the connections closed.
func shutdown(srv, pricing *http.Server, deadline time.Time, cancelBase context.CancelCauseFunc, logger zerolog.Logger, sig os.Signal) {
	logger.Info().Str("signal", sig.String()).Dur("grace", time.Until(deadline).Round(time.Millisecond)).Msg("shutting down")
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	servers := []*http.Server{srv}
	if pricing != nil {
		servers = append(servers, pricing)
	}
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			// The grace ran out: the requests still in flight are cut off.
			// That is the shutdown working as configured, not a failure.
			cancelBase(errShutdown)
			_ = s.Close()
			logger.Warn().Err(err).Msg("grace ran out; open connections closed")
		}
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printBanner tells a person at a terminal how to use the demo. The tokens
// are printed only when they are the documented defaults.
func printBanner(w io.Writer, cfg *config, addr string) {
	fmt.Fprintf(w, "offers-demo listening on http://%s\n", addr)
	if cfg.defaultToken {
		fmt.Fprintln(w, "demo tokens (defaults; set -tokens or OFFERS_TOKENS): alice-token (participant alice), bob-token (participant bob)")
	} else {
		participants := make([]string, 0, len(cfg.tokens))
		for _, p := range cfg.tokens {
			participants = append(participants, p)
		}
		sort.Strings(participants)
		fmt.Fprintf(w, "tokens configured for participants: %v\n", participants)
	}
	fmt.Fprintf(w, "try: curl -i -H 'Authorization: Bearer alice-token' http://%s/api/v1/participant/offers/1001\n", addr)
}

// serveDebug serves expvar (with goroutine count) and pprof on a loopback
// address of its own, for load tests.
func serveDebug(addr string, logger zerolog.Logger, stderr io.Writer) (func(), error) {
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stderr, "debug endpoints on http://%s/debug/vars\n", ln.Addr())
	logger.Info().Str("addr", ln.Addr().String()).Msg("debug endpoints listening")
	return func() { _ = srv.Close() }, nil
}

func init() {
	expvar.Publish("log_lines", expvar.Func(func() any {
		w := logSinkStats.Load()
		if w == nil {
			return nil
		}
		st := w.Stats()
		return map[string]int64{"written": st.Written, "delivered": st.Delivered, "dropped": st.Dropped, "failed": st.Failed, "lost": st.Lost()}
	}))
	expvar.Publish("store_lines", expvar.Func(func() any {
		s := shipperStats.Load()
		if s == nil {
			return nil
		}
		st := s.Stats()
		return map[string]int64{"written": st.Written, "delivered": st.Delivered, "dropped": st.Dropped, "rejected": st.Rejected, "abandoned": st.Abandoned, "pending": st.Pending, "lost": st.Lost()}
	}))
	expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	expvar.Publish("rss_bytes", expvar.Func(func() any { return rssBytes() }))
}

// rssBytes returns the process's resident set size from /proc (Linux), or
// 0 where that is not available.
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(data), &size, &resident); err != nil {
		return 0
	}
	return resident * int64(os.Getpagesize())
}
