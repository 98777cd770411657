package middleware

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
)

// The log lines never carry the request body, the query string, the
// Authorization or Cookie headers, or any other header value but a sane
// client X-Request-Id: the fields below are all there is.

// log writes the lines of a request that has ended. Each request has one
// line: its error line (warn for a 4xx, error for a 5xx), its client-gone
// line (info, status 499), or, with the access log on, its access line
// (info); each carries the access fields. Errors that did not answer the
// request follow on info lines of their own.
func (t *tracker) log(o *outcome) {
	switch {
	case o.answer.err != nil && o.answer.clientGone:
		cause := error(o.answer.err)
		if o.answer.err.Cause != nil {
			cause = o.answer.err.Cause // what the handler returned
		}
		t.logClientGone(o, cause)
	case o.answer.err != nil:
		t.logError(o)
	case t.cfg.accessLog:
		t.logAccess(o)
	}
	for i := range o.asides {
		t.logAside(&o.asides[i])
	}
	for i, p := range o.goPanics {
		// A panic nobody answered with is the request's error line when it
		// has none; otherwise an info line beside it.
		t.logGoroutinePanic(p, i == 0 && o.answer.err == nil)
	}
}

// logError writes the request's error line. Its status is the one the
// client received: the envelope's, or a success status already on the wire
// when the error came too late ("committed"), or the error's own after a
// hijack.
func (t *tracker) logError(o *outcome) {
	rec := &o.answer
	status := rec.env.StatusCode
	committed := o.phase == committed
	if committed && o.status != 0 {
		status = o.status
	}
	level := levelFor(status)
	if rec.stack != nil || committed {
		level = zerolog.ErrorLevel
	}
	ev := t.cfg.logger.WithLevel(level)
	if ev == nil {
		return
	}
	t.requestFields(ev)
	if o.phase != hijacked {
		// After a hijack, what the client received is the handler's
		// business: no status is claimed ("hijacked": true says why).
		ev.Int("status", status)
	}
	errorFields(ev, rec)
	if committed {
		ev.Bool("committed", true)
	}
	t.accessFields(ev, o)
	ev.Msg(capped(rec.env.Message, capMessage))
}

// logClientGone writes the one info line of a request whose client went
// away: not a failure of the service, so no warn or error level, status 499.
func (t *tracker) logClientGone(o *outcome, cause error) {
	ev := t.cfg.logger.Info()
	if ev == nil {
		return
	}
	t.requestFields(ev).Int("status", apierror.StatusClientClosedRequest).
		Str("cause", capped(withoutQueries(errorText(cause), cause), capCause)).Bool("client_gone", true)
	t.accessFields(ev, o)
	ev.Msg(apierror.Title(apierror.StatusClientClosedRequest))
}

// logAccess writes the access line of a request that no error answered.
func (t *tracker) logAccess(o *outcome) {
	ev := t.cfg.logger.Info()
	if ev == nil {
		return
	}
	status := o.status
	if status == 0 && o.phase != hijacked {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	t.requestFields(ev).Int("status", status)
	t.accessFields(ev, o)
	ev.Msg("request")
}

func (t *tracker) accessFields(ev *zerolog.Event, o *outcome) {
	ev.Int64("bytes", o.bytes).Dur("duration", o.duration)
	if len(o.calls) > 0 {
		ev.Strs("calls", o.calls)
	}
	if len(o.callTokens) > 0 {
		ev.Strs("call_tokens", o.callTokens)
	}
	if o.phase == hijacked {
		ev.Bool("hijacked", true)
	}
	if o.abort || o.abortedBy {
		ev.Bool("aborted", true)
	}
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
// was complete. It is not an error line: the request has its one line.
func (t *tracker) logAside(rec *errorRecord) {
	ev := t.cfg.logger.Info()
	if ev == nil {
		return
	}
	t.requestFields(ev).Int("status", rec.err.StatusCode())
	errorFields(ev, rec)
	ev.Msg(capped(rec.aside, capMessage))
}

func (t *tracker) requestFields(ev *zerolog.Event) *zerolog.Event {
	ev.Str("id", t.id).Str("method", capped(t.orig.Method, capMethod)).Str("path", capped(t.path, capPath))
	if t.traceID != "" {
		ev.Str("trace_id", t.traceID).Str("span_id", t.spanID)
	}
	if t.clientID != "" {
		ev.Str("client_request_id", t.clientID)
	}
	if t.callTok != "" {
		ev.Str("call_token", t.callTok)
	}
	return ev
}

func errorFields(ev *zerolog.Event, rec *errorRecord) {
	e := rec.err
	if e.Code != "" {
		ev.Str("code", capped(string(e.Code), capCode))
	}
	if rec.env.Error != "" {
		ev.Str("detail", capped(rec.env.Error, capDetail))
	}
	if e.StatusCode() >= 500 {
		// What code put in a 5xx's title and detail is internal: logged,
		// never sent.
		if e.Message != "" && e.Message != rec.env.Message {
			ev.Str("internal_message", capped(withoutURLQueries(e.Message), capMessage))
		}
		if e.Detail != "" {
			ev.Str("internal_detail", capped(withoutURLQueries(e.Detail), capInternal))
		}
	}
	if e.Cause != nil {
		ev.Str("cause", capped(withoutQueries(errorText(e.Cause), e.Cause), capCause))
		if up := upstream(e.Cause); up != nil {
			ev.Str("upstream_id", capped(up.ID, capUpID)).Int("upstream_status", up.StatusCode).Str("upstream_path", capped(up.Path, capUpPath))
		}
	}
	if rec.foreign {
		ev.Bool("foreign", true)
	}
	if rec.stack != nil {
		ev.Bytes("stack", capped(rec.stack, capStack))
	} else if p, ok := errors.AsType[*PanicError](e); ok && p.Stack != nil {
		ev.Bytes("stack", capped(p.Stack, capStack))
	}
}

// withoutQueries returns text, the text of err, with the query of any URL
// that an *url.Error in err's chain names cut off: a handler may have put
// something of the client's (a token) in the query of a call it made, and
// queries are never logged.
func withoutQueries(text string, err error) string {
	for err != nil {
		ue, ok := errors.AsType[*url.Error](err)
		if !ok {
			break
		}
		if i := strings.IndexByte(ue.URL, '?'); i >= 0 {
			text = strings.ReplaceAll(text, ue.URL, ue.URL[:i])
		}
		err = ue.Err
	}
	return withoutURLQueries(text)
}

// withoutURLQueries cuts the query off every absolute URL in text: one a
// handler wrote into an error of its own (fmt.Errorf("calling %s", u)), a
// panic value or a foreign body holds as well.
func withoutURLQueries(text string) string {
	if !strings.Contains(text, "://") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "://")
		if i < 0 {
			break
		}
		end := i + 3
		for end < len(text) && !urlEnds(text[end]) {
			end++
		}
		u := text[:end]
		if q := strings.IndexByte(u[i:], '?'); q >= 0 {
			frag := ""
			if h := strings.IndexByte(u[i+q:], '#'); h >= 0 {
				frag = u[i+q+h:]
			}
			u = u[:i+q] + frag
		}
		b.WriteString(u)
		text = text[end:]
	}
	b.WriteString(text)
	return b.String()
}

// urlEnds reports whether c ends a URL written into a text.
func urlEnds(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '`':
		return true
	}
	return false
}

// isPanic reports whether err holds a recovered panic.
func isPanic(err error) bool {
	_, ok := errors.AsType[*PanicError](err)
	return ok
}

// upstream returns the envelope of the first error in err's chain that
// another 360X service answered, or nil.
func upstream(err error) *apierror.Envelope {
	for err != nil {
		if e, ok := errors.AsType[*apierror.Error](err); ok {
			if e.Received != nil {
				return e.Received
			}
			err = e.Cause
			continue
		}
		return nil
	}
	return nil
}

// goroutinePanic records a panic recovered by Go: part of the request's
// answer if the handler returns it, logged when the request ends otherwise,
// or at once when the request has ended already.
func (t *tracker) goroutinePanic(p *PanicError) {
	t.mu.Lock()
	if t.phase != done {
		t.goPanics = append(t.goPanics, p)
		t.mu.Unlock()
		return
	}
	first := !t.errorLine
	t.errorLine = true
	status, bytes := t.status, t.bytes.Load()
	t.mu.Unlock()
	t.logGoroutinePanic(p, first)
	if first && len(t.cfg.observers) > 0 {
		t.notify(t.goPanicEvent(p, status, bytes, t.cfg.now().Sub(t.start)))
	}
}

// logGoroutinePanic writes a panic that Go recovered and that did not
// answer the request: the request's error line when it has none (asError),
// an info line otherwise.
func (t *tracker) logGoroutinePanic(p *PanicError, asError bool) {
	ev := t.cfg.logger.Info()
	if asError {
		ev = t.cfg.logger.Error()
	}
	if ev == nil {
		return
	}
	t.requestFields(ev).Str("cause", capped(p.Error(), capCause)).Bytes("stack", capped(p.Stack, capStack)).Bool("goroutine", true).
		Msg("panic in a goroutine of the request")
}

// isConnGone reports whether err, from a write to the client, says the
// client is gone or too slow to read: a broken or reset connection, a closed
// one, or the write deadline passed. Decided by error type, not by message
// text.
func isConnGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded)
}
