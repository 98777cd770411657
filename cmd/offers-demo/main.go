// Command offers-demo is a small 360X participant-offers service that shows
// every error of the 360X error contract, and the log line behind each.
//
// It serves the offers API on -addr (default 127.0.0.1:8080) with bearer
// tokens, a per-token rate limit, and a quote route that calls a pricing
// service it starts itself on another loopback port. See README.md for the
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
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apiclient"
	"github.com/360x/errkit/middleware"
)

func main() {
	// Millisecond timestamps in UTC, like the envelope's, so support can
	// line a log line up with what a client received.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		exitOnConfigError(err)
	}
	if err := run(cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "offers-demo: "+err.Error())
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM, then shuts down gracefully.
func run(cfg *config, stdout, stderr io.Writer) error {
	// A log sink that fails costs log lines (reported once on stderr),
	// never an answer to a client.
	var out io.Writer = middleware.NewFailSafeWriter(stdout, stderr)
	if cfg.logFormat == "console" {
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05.000"}
	}
	base := zerolog.New(out).Level(cfg.logLevel).With().Timestamp().Logger()
	logger := base.With().Str("service", "offers").Logger()

	// A closed stdout (a log collector that died) must cost log lines,
	// not the process: without this, Go exits on SIGPIPE for fd 1 and 2.
	signal.Ignore(syscall.SIGPIPE)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	pricingURL := cfg.pricingURL
	if pricingURL == "" {
		u, shutdown, err := startPricing(base.With().Str("service", "pricing").Logger())
		if err != nil {
			return fmt.Errorf("starting the pricing service: %w", err)
		}
		defer func() { _ = shutdown(context.Background()) }()
		pricingURL = u
	}

	a := &app{
		store:        newStore(time.Now().UTC()),
		tokens:       cfg.tokens,
		pricingURL:   pricingURL,
		fxURL:        cfg.fxURL,
		quoteTimeout: cfg.quoteTimeout,
		client:       &http.Client{Transport: &apiclient.Transport{}, Timeout: 10 * time.Second},
		now:          time.Now,
	}
	srv := &http.Server{
		Handler:           a.routes(logger, cfg.rateLimit),
		ReadHeaderTimeout: cfg.readHeader,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.addr, err)
	}
	if cfg.debugAddr != "" {
		stopDebug, err := serveDebug(cfg.debugAddr, logger)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopDebug()
	}

	printBanner(stderr, cfg, ln.Addr().String())
	logger.Info().Str("addr", ln.Addr().String()).Str("pricing_url", pricingURL).
		Str("rate_limit", cfg.rateLimit.String()).Msg("listening")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal kills the process the usual way
	logger.Info().Dur("grace", cfg.shutdown).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info().Msg("stopped")
	return nil
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
func serveDebug(addr string, logger zerolog.Logger) (func(), error) {
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
	logger.Info().Str("addr", ln.Addr().String()).Msg("debug endpoints listening")
	return func() { _ = srv.Close() }, nil
}

func init() {
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
