package middleware

import (
	"net/http"
	"time"

	"github.com/360x/errkit/apierror"
)

// ErrorEvent is what an observer ([WithObserver]) learns about one error
// response, once it has been sent and logged.
type ErrorEvent struct {
	// Request is the request as the handlers saw it; ID(Request.Context())
	// is its id.
	Request *http.Request
	// Err is the error that answered the request.
	Err *apierror.Error
	// Envelope is the envelope sent, or the one that would have been sent
	// when the response could not carry it (Committed, Hijacked,
	// ClientGone).
	Envelope apierror.Envelope
	// Status is the status the client received: the envelope's, the
	// success status already on the wire when Committed, 499 when
	// ClientGone.
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

// WithObserver adds fn, which is called exactly once for every error
// response, after the response has been written and its line logged:
// metrics, alerting, an error tracker. Observers are called in the order
// given, on the request's goroutine before the handler returns, so they
// should be quick (count, queue; not call out).
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

// observe calls the observers with the request's error, if it had one.
func (t *tracker) observe(o *outcome) {
	if len(t.cfg.observers) == 0 || o.answer.err == nil {
		return
	}
	rec := &o.answer
	ev := ErrorEvent{
		Request:    t.req,
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
	case ev.Committed && o.status != 0:
		ev.Status = o.status
	}
	for _, fn := range t.cfg.observers {
		t.callObserver(fn, ev)
	}
}

func (t *tracker) callObserver(fn func(ErrorEvent), ev ErrorEvent) {
	defer func() {
		if v := recover(); v != nil {
			if l := t.cfg.logger.Error(); l != nil {
				l.Str("observed_id", t.id).Str("cause", (&PanicError{Value: v}).Error()).
					Bytes("stack", callerStack(2)).Msg("error observer panicked")
			}
		}
	}()
	fn(ev)
}
