package middleware

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/360x/errkit/apierror"
)

// phase is where a request is in its life. Every event (a status or body
// written, an error reported, a hijack, the end of the handler) moves it
// along one row of this table, under the tracker's lock; the I/O the event
// needs happens after the lock is released.
//
//	phase      status ≥400 foreign  the envelope   other status/body  error reported          hijack    handler returns
//	open       → held               —              → committed        → answering             → hijacked render nothing
//	held       keep body            —              keep body          aside (a panic: answers) → hijacked render the held error
//	answering  → held (it answers)  → answered     → committed (lost) aside                   → hijacked render it directly
//	answered   ignored              ignored        body passes        aside                   → hijacked —
//	committed  ignored              ignored        body passes¹       answers, abort²         → hijacked abort²
//	hijacked   ignored              ignored        ErrHijacked        answers if none         —          —
//	done       (net/http's)                                           aside, logged at once
//
// ¹ dropped once an error is recorded: the connection is aborted anyway.
// ² the connection is aborted when the handler returns, so that the client
// cannot take a truncated body for a whole one; not when the client is
// already gone.
//
// "aside" means logged on an info line, not as the request's error line:
// each request has exactly one line (its error line, its client-gone line
// or its access line), plus an info line for each error that did not answer.
type phase uint8

const (
	open      phase = iota // nothing sent, no error decided
	held                   // a foreign error status was written; its body is kept
	answering              // an envelope is on its way through the writer chain
	answered               // the envelope's status is on the wire
	committed              // a non-error status is on the wire
	hijacked               // the handler took the connection
	done                   // the middleware has returned
)

var phaseNames = [...]string{"open", "held", "answering", "answered", "committed", "hijacked", "done"}

func (p phase) String() string { return phaseNames[p] }

// tracker is the per-request state of Errors and the http.ResponseWriter
// the handlers below it write to (through one of the capability views of
// wrap.go). It sees every status and byte, so it knows whether an envelope
// can still be written, holds back foreign error responses, and makes sure
// that each request is logged once.
//
// The mutex guards the fields below it and is never held across I/O: not
// across a write to the client, not across a log line. Several goroutines
// may use one tracker: a handler behind http.TimeoutHandler runs in its own
// goroutine, and goroutines started with Go report panics.
type tracker struct {
	cfg  *config
	w    http.ResponseWriter
	req  *http.Request // what the handlers get: the request with t in its context
	orig *http.Request // as the outermost Errors received it, never handed on
	// seen is the request as the innermost handler that told the tracker
	// saw it (HandlerFunc, WriteError), with what the middleware in
	// between put in its context; observers get it.
	seen     atomic.Pointer[http.Request]
	id       string
	idHeader [1]string
	path     string // apierror.RequestPath(req)
	clientID string
	callTok  string // the caller's call token (CallTokenHeader), when valid
	start    time.Time
	traceID  string // of the OpenTelemetry span in the request's context, if any
	spanID   string

	// rctx is the context of req: it holds t and the request's zerolog
	// logger, which is made the first time zerolog.Ctx asks for it.
	rctx       requestContext
	loggerOnce sync.Once
	logger     *zerolog.Logger

	mu       sync.Mutex
	phase    phase
	status   int          // status on the wire; 0 while none
	bytes    atomic.Int64 // body bytes passed to the client (not guarded by mu)
	writeErr error        // first error writing to the client
	readErr  error        // first error reading the request body, but io.EOF
	bodyRead bool         // the request has no body, or it was read to its end

	// A foreign error response held back: its status and the start of its
	// body.
	foreign     int
	foreignBody []byte

	answer     *errorRecord // the error that answers the request, if any
	asides     []errorRecord
	goPanics   []*PanicError
	calls      []string // ids of the answers of the services the request called
	callTokens []string // tokens of the calls the request made (StartCall)
	abort      bool     // end the connection broken when the handler returns
	abortedBy  bool     // the handler panicked with http.ErrAbortHandler
	errorLine  bool     // the request's line was an error line (for late panics)
}

type trackerKey struct{}

// requestContext is the context the handlers' request carries: the one
// Errors received, plus the tracker and the request's zerolog logger. It
// lives inside the tracker, so a request costs no allocation for it, and
// the logger (a copy of the configured one with the request's id and
// trace) is made only when a handler asks zerolog.Ctx for it: most
// requests never do.
type requestContext struct {
	context.Context
	t *tracker
}

// Value returns the tracker for trackerKey, the request's logger for
// zerolog's key, and what the parent context holds for any other key.
func (c *requestContext) Value(key any) any {
	switch key {
	case trackerKey{}:
		return c.t
	case c.t.cfg.zerologKey:
		if c.t.cfg.logger.GetLevel() == zerolog.Disabled {
			// As zerolog's WithContext: a disabled logger hides one
			// already in the context, and is not put in one that has
			// none (zerolog.Ctx then gives DefaultContextLogger).
			if outer := c.Context.Value(key); outer == nil {
				return nil
			}
		}
		return c.t.contextLogger()
	}
	return c.Context.Value(key)
}

// String names the context as the context package names its own: the
// parent's name, then what this one adds.
func (c *requestContext) String() string {
	return contextName(c.Context) + ".WithValue(middleware request " + c.t.id + ")"
}

func contextName(ctx context.Context) string {
	if s, ok := ctx.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", ctx)
}

// contextLogger returns the request's zerolog logger: the one already in
// the request's context when Errors ran (hlog's, with its fields) or else
// the configured one, with the request's id (and trace, and the service
// of WithService) on every line.
func (t *tracker) contextLogger() *zerolog.Logger {
	t.loggerOnce.Do(func() {
		base := &t.cfg.logger
		if outer, ok := t.rctx.Context.Value(t.cfg.zerologKey).(*zerolog.Logger); ok && outer != nil &&
			outer.GetLevel() != zerolog.Disabled && t.cfg.logger.GetLevel() != zerolog.Disabled {
			// (A disabled logger hides an outer one, as zerolog's
			// WithContext does.)
			base = outer
			if t.cfg.service != "" {
				l := outer.With().Str("service", t.cfg.service).Logger()
				base = &l
			}
		}
		lc := base.With().Str("id", t.id)
		if t.traceID != "" {
			lc = lc.Str("trace_id", t.traceID).Str("span_id", t.spanID)
		}
		l := lc.Logger()
		t.logger = &l
	})
	return t.logger
}

// zerologKey returns the key zerolog.Ctx looks a logger up by. zerolog
// keeps its key type unexported; asking zerolog.Ctx to look in a context
// that notes the key it is asked for is how a middleware can answer for
// it without storing a logger in every request's context.
func zerologKey() any {
	p := keyProbe{Context: context.Background()}
	zerolog.Ctx(&p)
	return p.key
}

type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}

func newTracker(cfg *config, w http.ResponseWriter, r *http.Request) *tracker {
	start := cfg.now()
	t := &tracker{cfg: cfg, w: w, orig: r, start: start, id: cfg.idAt(start), path: apierror.RequestPath(r)}
	t.rctx = requestContext{Context: r.Context(), t: t}
	if v := r.Header["X-Request-Id"]; len(v) > 0 {
		t.clientID, _ = SanitizeRequestID(v[0])
	}
	if v := r.Header[CallTokenHeader]; len(v) > 0 && validCallToken(v[0]) {
		t.callTok = v[0]
	}
	t.idHeader[0] = t.id
	w.Header()["X-Request-Id"] = t.idHeader[:] // no allocation: the array is t's
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		// otelhttp (or any OpenTelemetry instrumentation) in front: the
		// trace beside the 360X id, on every line.
		t.traceID, t.spanID = sc.TraceID().String(), sc.SpanID().String()
	}
	t.req = r.WithContext(&t.rctx)
	if r.Body != nil && r.Body != http.NoBody {
		t.req.Body = &body{ReadCloser: r.Body, t: t}
	} else {
		t.bodyRead = true
	}
	return t
}

// body is the request body as handlers read it: it records the first read
// error, so that an error a handler returns because of it is answered by
// the rule for it (a timeout is a 408, a broken connection a client that
// went away), not as the handler's 400 with a socket address in it.
type body struct {
	io.ReadCloser
	t *tracker
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.t.mu.Lock()
		if err == io.EOF { //nolint:errorlint // io.EOF is returned unwrapped, per io.Reader
			b.t.bodyRead = true
		} else if b.t.readErr == nil {
			b.t.readErr = err
		}
		b.t.mu.Unlock()
	}
	return n, err
}

// trackerFrom returns the tracker of the request whose context is ctx, or
// nil outside Errors.
func trackerFrom(ctx context.Context) *tracker {
	if c, ok := ctx.(*requestContext); ok {
		return c.t // the request's own context, without a lookup
	}
	t, _ := ctx.Value(trackerKey{}).(*tracker)
	return t
}

// saw records r as the request the handlers saw, for observers.
func (t *tracker) saw(r *http.Request) {
	if r != t.req {
		t.seen.Store(r)
	}
}

// handlersRequest is the request the handlers saw.
func (t *tracker) handlersRequest() *http.Request {
	if r := t.seen.Load(); r != nil {
		return r
	}
	return t.req
}

// Header returns the header map of the underlying writer.
func (t *tracker) Header() http.Header { return t.w.Header() }

// Unwrap returns the underlying writer, for http.ResponseController's
// deadlines and full duplex.
func (t *tracker) Unwrap() http.ResponseWriter { return t.w }

// WriteHeader sends code, unless it is an error status written by code that
// does not use apierror: that is held back and becomes an envelope when the
// handler returns. Calls after the response started are ignored.
func (t *tracker) WriteHeader(code int) {
	t.mu.Lock()
	send := t.headerLocked(code)
	t.mu.Unlock()
	if send {
		t.w.WriteHeader(code)
	}
}

// headerLocked moves the phase for a status written by the handler chain
// and reports whether it must be passed on.
func (t *tracker) headerLocked(code int) bool {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational (103 Early Hints): the header goes out as it
		// stands, and the final response's follows.
		send := t.phase == open || t.phase == answering
		if send {
			t.idHeaderLocked()
		}
		return send
	}
	switch t.phase {
	case open:
		if code >= 400 {
			t.holdLocked(code)
			return false
		}
		t.commitLocked(code)
		return true
	case answering:
		if t.isEnvelopeLocked(code) {
			t.phase, t.status = answered, code
			if !t.bodyRead && t.orig.ProtoMajor == 1 {
				// The body is not read (a 401 before it was looked at):
				// the connection closes after the envelope, so that
				// net/http sends the envelope at once, neither reading
				// the rest of the body first nor waiting for one a
				// client holds back for "100 Continue" (which it does
				// when something in front wrapped the body). The
				// envelope is flushed before the line and observers.
				t.w.Header().Set("Connection", "close")
			}
			return true
		}
		if code >= 400 {
			// The envelope never came through (a writer in between was
			// already done, as http.TimeoutHandler is after its timeout);
			// this error answers instead.
			lost := *t.answer
			lost.aside = "error not sent: a later error reached the client first"
			t.asides = append(t.asides, lost)
			t.answer = nil
			t.holdLocked(code)
			return false
		}
		// A writer in between had started a success: the envelope is lost
		// inside its body, which must not reach the client whole.
		t.commitLocked(code)
		t.abort = true
		return true
	}
	return false
}

// commitLocked records a non-error status going out, with the request's
// id as its X-Request-Id whatever the handler set there.
func (t *tracker) commitLocked(code int) {
	t.phase, t.status = committed, code
	t.idHeaderLocked()
}

// idHeaderLocked makes the request's id the X-Request-Id of the response
// about to start, whatever a handler did to the header.
func (t *tracker) idHeaderLocked() {
	h := t.w.Header()
	if v := h["X-Request-Id"]; len(v) != 1 || v[0] != t.id {
		// A handler replaced it, deleted it, or wrote into the slice
		// Errors set.
		t.idHeader[0] = t.id
		h["X-Request-Id"] = t.idHeader[:]
	}
}

// envelope is the envelope of e for this request: the renderer's, with the
// request's id and the path the client sent, whatever a handler did to the
// request on its way.
func (t *tracker) envelope(e *apierror.Error) apierror.Envelope {
	return t.cfg.renderer.EnvelopeWith(t.id, t.path, e)
}

// clientGone reports whether the client has gone: net/http canceled the
// request's context because the connection closed (or the HTTP/2 stream
// was reset).
//
// A context canceled with a cause of its own (a server that cancels its
// BaseContext when its shutdown grace runs out) is not the client's doing.
func (t *tracker) clientGone() bool {
	ctx := t.rctx.Context
	return ctx.Err() == context.Canceled && context.Cause(ctx) == context.Canceled //nolint:errorlint // the sentinel itself, as net/http cancels
}

func (t *tracker) holdLocked(code int) {
	t.phase, t.foreign, t.foreignBody = held, code, nil
}

// isEnvelopeLocked reports whether a status written while an envelope is on
// its way is that envelope.
func (t *tracker) isEnvelopeLocked(code int) bool {
	ct := t.w.Header()["Content-Type"]
	return code == t.answer.env.StatusCode && len(ct) == 1 && ct[0] == apierror.ContentType
}

// bodyLocked moves the phase for body bytes (or a flush) and says what to do
// with them: pass them on, keep them (a held foreign body), drop them, or
// refuse them with an error.
func (t *tracker) bodyLocked() (action bodyAction, err error) {
	if t.phase == open || t.phase == answering {
		t.headerLocked(http.StatusOK) // what net/http sends for a body without a status
	}
	switch t.phase {
	case held:
		return keepBody, nil
	case committed:
		if t.answer != nil {
			return dropBody, nil
		}
	case hijacked:
		return dropBody, http.ErrHijacked
	}
	return passBody, nil
}

type bodyAction uint8

const (
	passBody bodyAction = iota
	keepBody
	dropBody
)

// Write sends p, starting the response with 200 if needed. The body of a
// held-back foreign error is kept up to the configured limit.
func (t *tracker) Write(p []byte) (int, error) {
	t.mu.Lock()
	action, err := t.bodyLocked()
	if action == keepBody {
		t.keepForeignLocked(p)
	}
	t.mu.Unlock()
	if action != passBody {
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	n, err := t.w.Write(p)
	t.wrote(int64(n), err)
	return n, err
}

// WriteString is Write for a string, without a copy when the underlying
// writer has WriteString.
func (t *tracker) WriteString(s string) (int, error) {
	t.mu.Lock()
	action, err := t.bodyLocked()
	if action == keepBody {
		t.keepForeignLocked([]byte(s))
	}
	t.mu.Unlock()
	if action != passBody {
		if err != nil {
			return 0, err
		}
		return len(s), nil
	}
	n, err := io.WriteString(t.w, s)
	t.wrote(int64(n), err)
	return n, err
}

// wrote records n bytes passed to the client and the first write error.
func (t *tracker) wrote(n int64, err error) {
	t.bytes.Add(n) // no lock for the common case: every write of every response
	if err != nil {
		t.mu.Lock()
		if t.writeErr == nil {
			t.writeErr = err
		}
		t.mu.Unlock()
	}
}

func (t *tracker) keepForeignLocked(p []byte) {
	if room := t.cfg.maxForeign - len(t.foreignBody); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		t.foreignBody = append(t.foreignBody, p...)
	}
}

// readFrom copies src to the response through the underlying writer's
// ReadFrom (sendfile for files). Only the views whose writer has ReadFrom
// offer it.
func (t *tracker) readFrom(src io.Reader) (int64, error) {
	t.mu.Lock()
	action, err := t.bodyLocked()
	t.mu.Unlock()
	switch action {
	case keepBody:
		return io.Copy(foreignSink{t}, src)
	case dropBody:
		if err != nil {
			return 0, err
		}
		return io.Copy(io.Discard, src)
	}
	n, err := t.w.(io.ReaderFrom).ReadFrom(src)
	t.wrote(n, err)
	return n, err
}

// foreignSink is where readFrom copies a held-back body.
type foreignSink struct{ t *tracker }

// Write keeps what fits of p and reports all of it written.
func (s foreignSink) Write(p []byte) (int, error) {
	s.t.mu.Lock()
	s.t.keepForeignLocked(p)
	s.t.mu.Unlock()
	return len(p), nil
}

// flush sends what is buffered to the client, starting the response with
// 200 if needed. It does nothing while a foreign error is held back.
func (t *tracker) flush() error {
	t.mu.Lock()
	action, err := t.bodyLocked()
	t.mu.Unlock()
	if action != passBody {
		return err
	}
	return http.NewResponseController(t.w).Flush()
}

// hijack takes over the connection and records that it did: after a
// hijack, no error path writes anything.
func (t *tracker) hijack() (net.Conn, *bufio.ReadWriter, error) {
	t.mu.Lock()
	if t.phase == done || t.phase == hijacked {
		t.mu.Unlock()
		return nil, nil, http.ErrHijacked
	}
	t.mu.Unlock()
	conn, rw, err := http.NewResponseController(t.w).Hijack()
	if err == nil {
		t.mu.Lock()
		t.phase = hijacked
		t.mu.Unlock()
	}
	return conn, rw, err
}

// push initiates an HTTP/2 server push through the underlying writer.
func (t *tracker) push(target string, opts *http.PushOptions) error {
	return t.w.(http.Pusher).Push(target, opts)
}
