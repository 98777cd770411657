package middleware

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
)

// errorRecord is one error of a request: what is or would have been
// rendered, and what its log line needs beyond it.
type errorRecord struct {
	err        *apierror.Error
	env        apierror.Envelope // as rendered, or as it would have been
	stack      []byte            // of a recovered panic
	foreign    bool              // built from a response written without apierror
	clientGone bool              // the client went away: an info line, status 499
	aside      string            // why it did not answer the request, for an aside line
}

// WriteError answers r with err as a 360X envelope: err goes through
// apierror.From and the middleware's renderer, and is logged once under the
// request's id when the request ends.
//
// Behind [Errors] it is safe on every path: if an error already answers
// this request, err is logged on an info line and nothing more is written;
// if the response has already started (a 200 is half sent), nothing is
// written, err is the request's error line with "committed": true and the
// connection is aborted when the handler returns, so the client sees a
// broken response, not a clean one. An error that says the client went
// away (the request's context canceled, a write to the client failed) is
// logged on one info line with status 499, never as a failure.
//
// Without [Errors] in front, it still writes the envelope, with a new id,
// and logs it to the zerolog logger of r's context (zerolog.Ctx), if any.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := apierror.From(err)
	if e == nil {
		e = apierror.Internal(nil)
	}
	t := trackerFrom(r.Context())
	if t == nil {
		env := standalone.Write(w, r, e)
		// No tracker, so no once-only guarantee; still, the error is not
		// lost if the request's context has a zerolog logger (hlog).
		rec := errorRecord{err: e, env: env}
		if ev := zerolog.Ctx(r.Context()).WithLevel(levelFor(env.StatusCode)); ev != nil {
			ev.Str("id", env.ID).Str("method", capped(r.Method, capMethod)).Str("path", capped(env.Path, capPath)).Int("status", env.StatusCode)
			errorFields(ev, &rec)
			ev.Msg(capped(env.Message, capMessage))
		}
		return
	}
	t.saw(r)
	t.report(w, errorRecord{err: e})
}

// standalone renders for WriteError calls that have no middleware in front;
// it has no state to change.
var standalone = apierror.NewRenderer()

// report makes rec the request's answer if nothing answers it yet, and
// renders it through w; otherwise it records rec as the table of [phase]
// says.
func (t *tracker) report(w http.ResponseWriter, rec errorRecord) {
	rec.err, rec.clientGone = t.classify(rec.err, rec.stack != nil)
	rec.env = t.envelope(rec.err)

	t.mu.Lock()
	switch t.phase {
	case open:
		// Rendered through the handler's writer, so that what sits in
		// between (a compressor) applies to the envelope too.
	case held:
		if rec.stack == nil {
			t.asideLocked(rec, "error not sent: an earlier error answers the request")
			t.mu.Unlock()
			return
		}
		// A panic outranks an error that has not reached the client. The
		// writer in between has seen the foreign status already, so the
		// envelope goes to the client directly.
		t.asides = append(t.asides, t.foreignRecordLocked("error not sent: a panic answers the request"))
		w = t
	case committed, hijacked:
		if t.answer != nil {
			t.asideLocked(rec, "error not sent: an earlier error answers the request")
		} else {
			t.answer = keep(rec)
			t.abort = t.phase == committed && !rec.clientGone
		}
		t.mu.Unlock()
		return
	case answering, answered:
		t.asideLocked(rec, "error not sent: an earlier error answers the request")
		t.mu.Unlock()
		return
	case done:
		t.mu.Unlock()
		rec.aside = "error reported after the response was completed"
		t.logAside(&rec)
		return
	}
	t.phase = answering
	t.answer = keep(rec)
	t.mu.Unlock()

	t.cfg.renderer.WriteEnvelope(w, t.orig, rec.err, rec.env)
}

// classify applies the client-gone rule to e: an error that says the client
// went away, or any error but a panic once it has, becomes a 499 around e
// (nobody receives it; a panic is a bug whoever waits for the answer); a
// 499 while the client is still there (a cancellation of the service's own
// making) is a 500.
func (t *tracker) classify(e *apierror.Error, panicked bool) (*apierror.Error, bool) {
	if rerr := t.readTimeout(e); rerr != nil {
		g := apierror.New(http.StatusRequestTimeout, "The request body was not received in time.")
		g.Cause = rerr
		return g, false
	}
	// Once the middleware has returned, net/http has canceled the
	// request's context itself: that says nothing of the client (a
	// handler behind http.TimeoutHandler returns after the timeout's
	// answer).
	t.mu.Lock()
	finished := t.phase == done
	t.mu.Unlock()
	if t.clientGoneErr(e) || (!panicked && !finished && t.clientGone()) {
		if e.Status == apierror.StatusClientClosedRequest {
			return e, true
		}
		return clientClosed(e), true
	}
	if e.Status == apierror.StatusClientClosedRequest {
		cause := e.Cause
		if cause == nil {
			cause = e
		}
		return apierror.Internal(cause), false
	}
	return e, false
}

// clientClosed is the 499 of a request whose client went away, around
// cause: what the handler returned, or what said the client had gone.
func clientClosed(cause error) *apierror.Error {
	e := apierror.New(apierror.StatusClientClosedRequest, "")
	e.Cause = cause
	return e
}

// clientGoneErr reports whether err says that the client went away: the
// request's context was canceled (the connection closed) and err is that
// cancellation or a broken connection; or err is (or wraps) the error a
// write to the client failed with.
func (t *tracker) clientGoneErr(err error) bool {
	t.mu.Lock()
	werr, rerr := t.writeErr, t.readErr
	t.mu.Unlock()
	if werr != nil && errors.Is(err, werr) {
		return true
	}
	if rerr != nil && errors.Is(err, rerr) && (isConnGone(rerr) || errors.Is(rerr, io.ErrUnexpectedEOF)) {
		return true // the client reset the connection or closed it mid-body
	}
	return t.clientGone() && (errors.Is(err, context.Canceled) || isConnGone(err))
}

// readTimeout returns the body's read error when err is (or wraps) a
// timeout reading the request body (the server's read deadline passed
// before the client sent it), or nil.
func (t *tracker) readTimeout(err error) error {
	t.mu.Lock()
	rerr := t.readErr
	t.mu.Unlock()
	if rerr == nil || !errors.Is(err, rerr) {
		return nil
	}
	var ne net.Error
	if errors.Is(rerr, os.ErrDeadlineExceeded) || (errors.As(rerr, &ne) && ne.Timeout()) {
		return rerr
	}
	return nil
}

func (t *tracker) asideLocked(rec errorRecord, why string) {
	rec.aside = why
	t.asides = append(t.asides, rec)
}

// keep returns rec stored for the tracker. (Kept beside the tracker,
// not in it: a tracker under 512 bytes is allocated without a header and
// costs every success less than an allocation costs the rare error.)
func keep(rec errorRecord) *errorRecord {
	kept := new(errorRecord)
	*kept = rec
	return kept
}

// recovered handles a panic of the handler chain; w is the writer of the
// Errors instance that recovered it.
func (t *tracker) recovered(w http.ResponseWriter, v any, stack []byte) {
	t.report(w, errorRecord{err: apierror.Internal(&PanicError{Value: v}), stack: stack})
}

// aborted notes that the handler panicked with http.ErrAbortHandler: the
// connection is being closed on purpose, and nothing more is written.
func (t *tracker) aborted() {
	t.mu.Lock()
	t.abortedBy = true
	t.mu.Unlock()
}

// finish ends the request: a held-back foreign error (or an envelope that
// never came through the writers in between) is sent, the request's lines
// are logged, outside the lock, and a response that was cut short is
// aborted.
func (t *tracker) finish() {
	t.mu.Lock()
	var render *errorRecord
	if !t.abortedBy {
		switch t.phase {
		case held:
			rec := t.foreignRecordLocked("")
			t.answer = keep(rec)
			render = t.answer
		case answering:
			render = t.answer
		case open:
			if len(t.goPanics) > 0 {
				// The handler dropped the error of a goroutine that
				// panicked, and wrote nothing: the panic answers.
				rec := errorRecord{err: apierror.Internal(t.goPanics[0])}
				rec.env = t.envelope(rec.err)
				t.answer = keep(rec)
				render = t.answer
			} else {
				// The handler wrote nothing: net/http sends a 200 with
				// the header as it stands once the handlers return.
				t.idHeaderLocked()
			}
		}
		if render != nil {
			t.phase = answering
		}
	}
	t.mu.Unlock()
	if render != nil {
		t.cfg.renderer.WriteEnvelope(t, t.orig, render.err, render.env)
	}

	t.mu.Lock()
	out := t.outcomeLocked()
	t.phase = done
	t.mu.Unlock()

	if out.flush {
		// The envelope goes to the client now, whole (it has its
		// Content-Length), before anything else is done for the request.
		flush(t.w)
	}
	t.log(&out)
	t.observe(&out)
	if out.abort {
		// The response started before the error: end it broken, so the
		// client cannot take a truncated body for a whole one. What is
		// buffered goes first, so that the client has the status the log
		// names.
		flush(t.w)
		panic(http.ErrAbortHandler)
	}
}

// flush sends what w has buffered: directly when w is a Flusher, through
// http.ResponseController's Unwrap chain otherwise.
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(w).Flush()
}

// outcome is how a request ended: everything its log lines need, copied
// out of the tracker so that they are written without the lock.
type outcome struct {
	phase      phase // the last phase before done
	status     int
	bytes      int64
	writeErr   error
	answer     errorRecord // err is nil when no error answered
	asides     []errorRecord
	goPanics   []*PanicError // not part of the answer
	abort      bool
	abortedBy  bool
	duration   time.Duration
	flush      bool     // send the envelope before the lines and the observers
	calls      []string // see RecordCall
	callTokens []string // see StartCall
}

func (t *tracker) outcomeLocked() outcome {
	o := outcome{phase: t.phase, status: t.status, bytes: t.bytes.Load(), writeErr: t.writeErr,
		asides: t.asides, abortedBy: t.abortedBy, duration: t.cfg.now().Sub(t.start), calls: t.calls, callTokens: t.callTokens}
	if t.answer != nil {
		o.answer = *t.answer
	}
	for _, p := range t.goPanics {
		if o.answer.err == nil || !errors.Is(o.answer.err, p) {
			o.goPanics = append(o.goPanics, p)
		}
	}
	gone := o.writeErr != nil && (isConnGone(o.writeErr) || t.clientGone())
	switch {
	case gone && o.answer.err != nil:
		o.answer.clientGone = true // the client never got the envelope
	case o.answer.err == nil && o.phase != hijacked && (gone || o.phase == open && t.clientGone()):
		// No error answered, and the client went away: mid-response, or
		// before anything was sent. The request's line is its 499.
		cause := o.writeErr
		if cause == nil {
			cause = context.Cause(t.rctx.Context)
		}
		e := clientClosed(cause)
		o.answer = errorRecord{err: e, env: t.envelope(e), clientGone: true}
	}
	if (o.answer.err != nil && !o.answer.clientGone) || len(o.goPanics) > 0 {
		t.errorLine = true // for a goroutine panic logged after the request
	}
	o.abort = t.abort && !o.answer.clientGone && !gone
	// Also while a request body is unread: the envelope then said
	// "Connection: close" (headerLocked), so net/http reads none of it.
	o.flush = o.phase == answered && o.answer.err != nil && !o.answer.clientGone
	return o
}
