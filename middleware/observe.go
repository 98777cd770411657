package middleware

import (
	"net/http"
	"time"

	"github.com/360x/errkit/apierror"
)

// ErrorEvent is what an observer ([WithObserver]) learns about one error
// response, once it has been sent and logged.
type ErrorEvent struct {
	// Request is the request as the handler that answered saw it, with
	// what middleware inside Errors put in its context (an authenticated
	// participant, chi's route), when that handler is a HandlerFunc or
	// Handle or called WriteError; otherwise the request as Errors handed
	// it on. ID(Request.Context()) is its id. Read it during the call:
	// chi's route context is reused once the request ends.
	Request *http.Request
	// Err is the error that answered the request.
	Err *apierror.Error
	// Envelope is the envelope sent, or the one that would have been sent
	// when the response could not carry it (Committed, Hijacked,
	// ClientGone).
	Envelope apierror.Envelope
	// Status is the status the client received: the envelope's, the
	// success status already on the wire when Committed, 499 when
	// ClientGone, 0 when Hijacked (what the client received is the
	// handler's business then).
	Status int
	// Committed: the error came after a success status had been sent; the
	// response was aborted.
	Committed bool
	// Hijacked: the handler had taken the connection; nothing was written.
	Hijacked bool
	// ClientGone: the client went away before the answer; nobody received
	// it, and it is not a failure of the service.
	ClientGone bool
	// Panic: a panic (of the handler, or of a goroutine started with Go)
	// answered the request.
	Panic bool
	// Foreign: the error was written by code that does not use apierror
	// (a router's 404, http.Error, a rate limiter).
	Foreign bool
	// Bytes is the number of body bytes sent; Duration the time from the
	// request's start to the end of its handler.
	Bytes    int64
	Duration time.Duration
}

// WithObserver adds fn, which is called exactly once for every request
// whose log line is an error line or a client-gone line (an error
// response; a client that went away; a panic in a goroutine started with
// Go that answered nothing), once the response is with the client (an
// envelope is flushed, whole, first, also when the request body is
// unread: the connection then closes after it) and the line is logged: metrics,
// alerting, an error tracker. Observers are called in the order given, on
// the request's goroutine before the handler returns: the client has its
// answer, but the connection is not reused until they return, so they
// should be quick (count, queue; not call out). A goroutine's panic after
// the request ended is observed when it happens.
//
// A panic in fn is recovered and logged on an error-level line of its own
// ("error observer panicked", with the request's id as observed_id, so
// that the request still has exactly one line with its id as "id"); it
// never reaches the client. WithObserver(nil) panics when Errors is built.
func WithObserver(fn func(ErrorEvent)) Option {
	return func(c *config) {
		if fn == nil {
			panic("middleware: WithObserver(nil)")
		}
		c.observers = append(c.observers, fn)
	}
}

// observe calls the observers for a request whose line is an error line or
// a client-gone line: exactly once per such request.
func (t *tracker) observe(o *outcome) {
	if len(t.cfg.observers) == 0 {
		return
	}
	switch {
	case o.answer.err != nil:
		t.notify(t.event(o, &o.answer))
	case len(o.goPanics) > 0:
		// A panic in a goroutine nobody answered with: the request's error
		// line, after a response the client received whole.
		t.notify(t.goPanicEvent(o.goPanics[0], o.status, o.bytes, o.duration))
	}
}

// event is the ErrorEvent of rec, the error of a request that ended as o
// says.
func (t *tracker) event(o *outcome, rec *errorRecord) ErrorEvent {
	ev := ErrorEvent{
		Request:    t.handlersRequest(),
		Err:        rec.err,
		Envelope:   rec.env,
		Status:     rec.env.StatusCode,
		Committed:  o.phase == committed,
		Hijacked:   o.phase == hijacked,
		ClientGone: rec.clientGone,
		Panic:      rec.stack != nil || isPanic(rec.err),
		Foreign:    rec.foreign,
		Bytes:      o.bytes,
		Duration:   o.duration,
	}
	switch {
	case ev.ClientGone:
		ev.Status = apierror.StatusClientClosedRequest
	case ev.Hijacked:
		ev.Status = 0
	case ev.Committed && o.status != 0:
		ev.Status = o.status
	}
	return ev
}

// goPanicEvent is the ErrorEvent of a goroutine's panic that did not
// answer the request: the client received status (0: the default 200).
func (t *tracker) goPanicEvent(p *PanicError, status int, bytes int64, d time.Duration) ErrorEvent {
	if status == 0 {
		status = http.StatusOK
	}
	e := apierror.Internal(p)
	return ErrorEvent{Request: t.handlersRequest(), Err: e, Envelope: t.envelope(e), Status: status,
		Committed: true, Panic: true, Bytes: bytes, Duration: d}
}

// notify calls each observer with ev.
func (t *tracker) notify(ev ErrorEvent) {
	for _, fn := range t.cfg.observers {
		t.callObserver(fn, ev)
	}
}

func (t *tracker) callObserver(fn func(ErrorEvent), ev ErrorEvent) {
	defer func() {
		if v := recover(); v != nil {
			if l := t.cfg.logger.Error(); l != nil {
				// Not under "id": the request has its one line already.
				l.Str("observed_id", t.id).Str("method", t.orig.Method).Str("path", t.path)
				if t.traceID != "" {
					l.Str("trace_id", t.traceID).Str("span_id", t.spanID)
				}
				l.Str("cause", (&PanicError{Value: v}).Error()).Bytes("stack", callerStack(2)).
					Msg("error observer panicked")
			}
		}
	}()
	fn(ev)
}
