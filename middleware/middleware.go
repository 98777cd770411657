// Package middleware makes every error of an HTTP service leave in the 360X
// envelope, logged once under its id.
//
// Mount [Errors] first on the router. It gives each request an id, recovers
// panics, turns the error responses of code that does not use apierror
// (the router's 404/405, http.Error, http.TimeoutHandler, rate limiters)
// into envelopes, and logs one line per request with zerolog: an error
// response's error line, a client-gone line, or (with [WithAccessLog]) a
// success's access line (or with log/slog: [WithSlog], [Slog]). Handlers
// that return errors use [HandlerFunc] or,
// for chi's r.Get and r.Post, [Handle]; chi routers use [NotFound] and
// [MethodNotAllowed]. [WithObserver] sees every error; the request's
// context holds a zerolog logger with its id (zerolog.Ctx), and [ID] reads
// the id.
//
// Every envelope is written by the one apierror.Renderer the middleware was
// built with.
package middleware

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
)

// config is what Errors is built with; it is read-only once built, so one
// middleware serves any number of concurrent requests and two instances in a
// process share nothing.
type config struct {
	logger     zerolog.Logger
	ownLogger  bool         // WithLogger's or WithSlog's, not the default
	slog       slog.Handler // WithSlog's; the logger writes to it
	service    string       // WithService's
	now        func() time.Time
	newID      func() string          // WithIDGenerator's, or nil
	newToken   func() string          // WithCallTokenGenerator's, or nil
	idAt       func(time.Time) string // the request's id, from its start time
	zerologKey any                    // the key zerolog.Ctx looks a logger up by
	badIDOnce  sync.Once              // reports the first id of newID that is not a UUID
	accessLog  bool
	maxForeign int
	observers  []func(ErrorEvent)
	renderer   *apierror.Renderer
	routeIndex sync.Map // chi.Routes -> *chi.Mux, see AllowedMethods
}

// Option configures [Errors]. An option given a nil function or a
// negative number panics when Errors is called: a bad configuration is a
// programming error, caught when the middleware is built rather than
// ignored.
type Option func(*config)

// WithLogger sets the zerolog logger that error and access lines go to. The
// default is NewLogger(os.Stderr), so that no error is lost by a service
// that forgot to say where its logs go. A logger made with zerolog's
// With().Timestamp() writes times in zerolog's process-wide format
// (seconds by default): [NewLogger] writes milliseconds without it.
func WithLogger(l zerolog.Logger) Option {
	return func(c *config) { c.logger, c.ownLogger, c.slog = l, true, nil }
}

// WithService names the service: every line the middleware writes, and
// the request's logger, carry "service": name, so that lines of several
// services in one store tell whose they are. Errors panics on an empty
// name.
func WithService(name string) Option {
	return func(c *config) {
		if name == "" {
			panic("middleware: WithService(\"\")")
		}
		c.service = name
	}
}

// NewLogger returns the zerolog logger the middleware writes to by
// default, over w: JSON lines whose "time" is UTC with milliseconds, the
// envelope's timestamp layout (2026-11-25T09:30:00.000Z), without a
// change of zerolog's process-wide settings.
//
//	middleware.Errors(middleware.WithLogger(middleware.NewLogger(os.Stdout)))
func NewLogger(w io.Writer) zerolog.Logger { return newLogger(w, time.Now) }

func newLogger(w io.Writer, now func() time.Time) zerolog.Logger {
	return zerolog.New(w).Hook(zerolog.HookFunc(func(e *zerolog.Event, _ zerolog.Level, _ string) {
		var buf [len(apierror.TimestampLayout)]byte
		e.Bytes(zerolog.TimestampFieldName, apierror.AppendTimestamp(buf[:0], now()))
	}))
}

// WithClock sets the clock for envelope timestamps, durations and the
// time inside request ids (UUIDv7), so that all three agree. The default
// is time.Now. Errors panics on nil.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			panic("middleware: WithClock(nil)")
		}
		c.now = now
	}
}

// WithIDGenerator sets the source of request ids. The default is
// apierror.NewIDAt (UUIDv7) at the time the request arrived (the clock of
// [WithClock]), which spares a reading of the clock. It is called once per
// request and must be safe for concurrent use. An id it returns that is
// not a UUID in canonical form (apierror.ValidID) is not used: the request
// gets a UUIDv7 instead, and the first such id is reported on an error
// line, since the contract allows nothing else in the envelope and in
// X-Request-Id. Errors panics on nil.
func WithIDGenerator(newID func() string) Option {
	return func(c *config) {
		if newID == nil {
			panic("middleware: WithIDGenerator(nil)")
		}
		c.newID = newID
	}
}

// WithAccessLog turns on one info line per request ("request", with method,
// path, status, bytes, duration and id). Off by default. On every line,
// duration is the time from the request's arrival to the end of its
// handler in milliseconds, a decimal number (0.098965 is 99 µs).
func WithAccessLog(on bool) Option { return func(c *config) { c.accessLog = on } }

// WithForeignBodyLimit sets how many bytes of a foreign error body (one
// written without apierror, for example by http.Error) are kept: as the
// detail of a short 4xx, in the log for a 5xx. The default is 1 KiB; 0
// keeps none. Errors panics on a negative n.
func WithForeignBodyLimit(n int) Option {
	return func(c *config) {
		if n < 0 {
			panic("middleware: WithForeignBodyLimit(" + strconv.Itoa(n) + ")")
		}
		c.maxForeign = n
	}
}

func newConfig(opts []Option) *config {
	c := &config{now: time.Now, maxForeign: 1 << 10, zerologKey: zerologKey()}
	if c.zerologKey == nil {
		// zerolog.Ctx no longer looks its logger up with ctx.Value: the
		// request's logger could not be handed to handlers.
		panic("middleware: cannot find zerolog's context key; this zerolog version is not supported")
	}
	for _, o := range opts {
		o(c)
	}
	switch {
	case c.slog != nil:
		c.logger = zerolog.New(slogWriter{h: c.slog, now: c.now})
	case !c.ownLogger:
		c.logger = newLogger(os.Stderr, c.now) // times from WithClock's clock
	}
	if c.service != "" {
		c.logger = c.logger.With().Str("service", c.service).Logger()
	}
	if c.newID != nil {
		c.idAt = c.checkedID
	} else {
		c.idAt = apierror.NewIDAt
	}
	// The renderer is only given envelopes with the request's id
	// (EnvelopeWith), so its own id generator is never used.
	c.renderer = apierror.NewRenderer(apierror.WithClock(c.now))
	return c
}

// Errors returns the middleware that makes every error response of next a
// 360X envelope. For each request it:
//
//   - generates the id (an incoming X-Request-Id is never used as the id; a
//     sane one is logged as client_request_id, a valid [CallTokenHeader] as
//     call_token), stores it in the context
//     ([ID] reads it) and sends it as X-Request-Id on every response;
//   - recovers panics: a 500 envelope and one error line with the panic
//     value and the stack. http.ErrAbortHandler is passed on, not logged as
//     a failure. After the response has started, nothing more is written:
//     the panic is logged and the connection aborted, so the client cannot
//     take the truncated response for a success;
//   - turns a status of 400 or more written by code that does not use
//     apierror into the envelope for that status (the original body goes to
//     the log for a 5xx; a short plain-text 4xx body becomes the detail);
//   - logs one line per request: the error line of an error response (warn
//     for 4xx, error for 5xx), an info line with status 499 when the client
//     went away, or the access line of a success when the access log is on.
//
// Mount it first, so that it sees what every other middleware writes. It is
// idempotent: mounted again further down the same request's chain (a group,
// a sub-router from another package), the inner instance only recovers
// panics, with their stack, into the outer one's request, so there is still
// one id, one envelope and one error line; the outermost instance's options
// apply.
func Errors(opts ...Option) func(http.Handler) http.Handler {
	cfg := newConfig(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if t := trackerFrom(r.Context()); t != nil {
				defer t.recoverPanic(w)
				next.ServeHTTP(w, r)
				return
			}
			t := newTracker(cfg, w, r)
			defer t.finish()
			defer t.recoverPanic(t)
			next.ServeHTTP(t.view(), t.req)
		})
	}
}

// recoverPanic, deferred, reports a panic of the handler chain to t,
// rendered through w; http.ErrAbortHandler is passed on.
func (t *tracker) recoverPanic(w http.ResponseWriter) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared as net/http does
		t.aborted()
		panic(v)
	}
	t.recovered(w, v, callerStack(2))
}

// checkedID returns the id of WithIDGenerator's function for a request
// that started at start, or a UUIDv7 when that is not a UUID in canonical
// form; the first such id is logged.
func (c *config) checkedID(start time.Time) string {
	id, ok := apierror.CanonicalID(c.newID())
	if ok {
		return id
	}
	c.badIDOnce.Do(func() {
		c.logger.Error().Str("rejected_id", id).
			Msg("WithIDGenerator returned an id that is not a UUID in canonical form; requests get UUIDv7 ids instead (reported once)")
	})
	return apierror.NewIDAt(start)
}
