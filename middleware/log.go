package middleware

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
)

// The log lines never carry the request body, the query string, the
// Authorization or Cookie headers, or any other header value but a sane
// client X-Request-Id: the fields below are all there is.

// logErrorLocked writes the request's one error line: warn for a 4xx, error
// for a 5xx. The status is the one the client received.
func (t *tracker) logErrorLocked(rec *errorRecord) {
	t.errLogged = true
	e := rec.err
	status := rec.env.StatusCode
	if status == 0 {
		status = e.StatusCode()
	}
	// After a hijack there is no HTTP status on the wire: the error's own
	// status is logged, with "hijacked". After a success status was sent,
	// that status is what the client received.
	committed := !t.hijacked && t.status != 0 && t.status != status
	if committed {
		status = t.status
	}
	level := levelFor(status)
	if rec.stack != nil || committed {
		level = zerolog.ErrorLevel
	}
	ev := t.cfg.logger.WithLevel(level)
	if ev == nil {
		return
	}
	t.requestFields(ev).Int("status", status)
	errorFields(ev, rec)
	if committed {
		ev.Bool("committed", true)
	}
	if t.hijacked {
		ev.Bool("hijacked", true)
	}
	msg := rec.env.Message
	if msg == "" {
		msg = apierror.Title(e.StatusCode())
	}
	ev.Msg(msg)
}

// levelFor is the level of an error line for status: warn for a 4xx,
// error for a 5xx.
func levelFor(status int) zerolog.Level {
	if status >= 500 {
		return zerolog.ErrorLevel
	}
	return zerolog.WarnLevel
}

// logAside writes, at info level, an error that did not become the
// request's answer: reported after another error, or after the response
// was complete. It is not an error line: the request has one already.
func (t *tracker) logAside(rec *errorRecord, msg string) {
	ev := t.cfg.logger.Info()
	if ev == nil {
		return
	}
	t.requestFields(ev).Int("status", rec.err.StatusCode())
	errorFields(ev, rec)
	ev.Msg(msg)
}

func (t *tracker) requestFields(ev *zerolog.Event) *zerolog.Event {
	ev.Str("id", t.id).Str("method", t.req.Method).Str("path", t.req.URL.Path)
	if t.clientID != "" {
		ev.Str("client_request_id", t.clientID)
	}
	return ev
}

func errorFields(ev *zerolog.Event, rec *errorRecord) {
	e := rec.err
	if e.Code != "" {
		ev.Str("code", string(e.Code))
	}
	if rec.env.Error != "" {
		ev.Str("detail", rec.env.Error)
	}
	if e.StatusCode() >= 500 && e.Detail != "" {
		ev.Str("internal_detail", e.Detail)
	}
	if e.Cause != nil {
		ev.Str("cause", errorText(e.Cause))
		if up, ok := errors.AsType[*apierror.Error](e.Cause); ok && up.Received != nil {
			ev.Str("upstream_id", up.Received.ID).
				Int("upstream_status", up.Received.StatusCode).
				Str("upstream_path", up.Received.Path)
		}
	}
	if rec.foreign {
		ev.Bool("foreign", true)
	}
	if rec.stack != nil {
		ev.Bytes("stack", rec.stack)
	} else if p, ok := errors.AsType[*PanicError](e); ok && p.Stack != nil {
		ev.Bytes("stack", p.Stack)
	}
}

// logClientGone writes, once per request, an info line saying that the
// client went away while the response was being written: not a failure of
// the service, so no stack and no error level.
func (t *tracker) logClientGone(err error) {
	t.mu.Lock()
	already := t.clientGone
	t.clientGone = true
	t.mu.Unlock()
	if already {
		return
	}
	if ev := t.cfg.logger.Info(); ev != nil {
		t.requestFields(ev).Str("cause", errorText(err)).Bool("client_gone", true).
			Msg("client connection broken while writing the response")
	}
}

// logGoroutinePanic writes a panic that Go recovered and that did not
// become the request's answer.
func (t *tracker) logGoroutinePanic(p *PanicError) {
	if ev := t.cfg.logger.Error(); ev != nil {
		t.requestFields(ev).Str("cause", p.Error()).Bytes("stack", p.Stack).Bool("goroutine", true).
			Msg("panic in a goroutine of the request")
	}
}

// clientWentAway reports whether err says the client is gone: a broken
// connection or a canceled request context.
func clientWentAway(err error) bool {
	return isClientGone(err) || errors.Is(err, context.Canceled)
}

// isClientGone reports whether err says the peer closed the connection, by
// error type, not by message text.
func isClientGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrHandlerTimeout)
}

// outcome is how a request ended, for its access line.
type outcome struct {
	status   int
	bytes    int64
	hijacked bool
	aborted  bool
	writeErr error
}

// logAccess writes the access line.
func (t *tracker) logAccess(o outcome) {
	ev := t.cfg.logger.Info()
	if ev == nil {
		return
	}
	status := o.status
	if status == 0 && !o.hijacked {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	t.requestFields(ev).Int("status", status).Int64("bytes", o.bytes).
		Dur("duration", t.cfg.now().Sub(t.start))
	if o.hijacked {
		ev.Bool("hijacked", true)
	}
	if o.aborted {
		ev.Bool("aborted", true)
	}
	ev.Msg("request")
}
