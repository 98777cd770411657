package middleware

import (
	"errors"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
)

// errorRecord is one error of a request: what will be or was rendered, and
// what the log line needs beyond it.
type errorRecord struct {
	err     *apierror.Error
	env     apierror.Envelope // as rendered; zero until then
	stack   []byte            // of a recovered panic
	foreign bool              // built from a response written without apierror
}

// WriteError answers r with err as a 360X envelope: err goes through
// apierror.From and the middleware's renderer, and is logged once under the
// request's id when the request ends.
//
// Behind [Errors] it is safe on every path: if an error was already sent for
// this request, err is logged at info level and nothing more is written; if
// the response has already started (a 200 is half sent), nothing is written,
// err is logged with "committed": true and the connection is aborted when the
// handler returns, so the client sees a broken response, not a clean one.
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
			ev.Str("id", env.ID).Str("method", r.Method).Str("path", r.URL.Path).Int("status", env.StatusCode)
			errorFields(ev, &rec)
			ev.Msg(env.Message)
		}
		return
	}
	t.report(w, r, errorRecord{err: e})
}

// standalone renders for WriteError calls that have no middleware in front;
// it has no state to change.
var standalone = apierror.NewRenderer()

// report renders rec through w unless the request is past that point, and
// records it for the log.
func (t *tracker) report(w http.ResponseWriter, r *http.Request, rec errorRecord) {
	t.mu.Lock()
	decided := t.pending != nil || t.foreign != 0 // an error answers already
	sent := t.status != 0 || t.hijacked           // the client has a response
	switch {
	case t.done:
		t.mu.Unlock()
		t.logAside(&rec, "error reported after the response was completed")
		return
	case decided && (sent || rec.stack == nil):
		t.mu.Unlock()
		t.logAside(&rec, "error not sent: an earlier error answers the request")
		return
	case sent && !t.hijacked && clientWentAway(rec.err):
		// The client closed the connection mid-response: not a failure of
		// the service, and there is nothing left to abort.
		t.mu.Unlock()
		t.logClientGone(rec.err)
		return
	case sent:
		// Nothing can be written: the connection belongs to someone else,
		// or a success status is already on the wire.
		t.logErrorLocked(&rec)
		t.abort = !t.hijacked
		t.mu.Unlock()
		return
	case decided:
		// A panic outranks an error that has not reached the client yet;
		// that error is logged aside, not lost.
		prev := t.pending
		if t.foreign != 0 {
			prev = &errorRecord{err: t.foreignError(), foreign: true}
			t.foreign, t.foreignBody = 0, nil
		}
		t.mu.Unlock()
		t.logAside(prev, "error not sent: a panic answers the request")
		t.mu.Lock()
	}
	p := t.keep(rec)
	t.pending = p
	t.expecting = true
	t.mu.Unlock()

	env := t.cfg.renderer.Write(w, r, p.err)

	t.mu.Lock()
	p.env = env
	t.mu.Unlock()
}

// recovered handles a panic of the handler chain.
func (t *tracker) recovered(v any, stack []byte) {
	t.report(t, t.req, errorRecord{err: apierror.Internal(&PanicError{Value: v}), stack: stack})
}

// aborted notes that the handler panicked with http.ErrAbortHandler.
func (t *tracker) aborted() {
	t.mu.Lock()
	t.abortedByHandler = true
	t.mu.Unlock()
}

// finish ends the request: a held-back foreign error becomes its envelope,
// the error line and the access line are logged, and a response that was
// cut short is aborted.
func (t *tracker) finish() {
	t.mu.Lock()
	if !t.hijacked && t.status == 0 {
		switch {
		case t.foreign != 0:
			rec := t.keep(errorRecord{err: t.foreignError(), foreign: true})
			if prev := t.pending; prev != nil {
				t.mu.Unlock()
				t.logAside(prev, "error not sent: the response had already been decided")
				t.mu.Lock()
			}
			t.foreign, t.foreignBody = 0, nil
			t.renderLocked(rec)
		case t.pending != nil:
			// The envelope was rendered into a writer that never passed it
			// on; the client must still get it.
			t.renderLocked(t.pending)
		}
	}
	if t.pending != nil && !t.errLogged {
		t.logErrorLocked(t.pending)
	}
	t.done = true
	var unlogged []*PanicError
	for _, p := range t.goPanics {
		if t.pending == nil || !errors.Is(t.pending.err, p) {
			unlogged = append(unlogged, p)
		}
	}
	t.goPanics = nil
	// What the lines below need, read in this one critical section.
	final := outcome{status: t.status, bytes: t.bytes, hijacked: t.hijacked,
		aborted: t.abort || t.abortedByHandler, writeErr: t.writeErr}
	abort := t.abort
	t.mu.Unlock()

	for _, p := range unlogged {
		t.logGoroutinePanic(p)
	}
	if final.writeErr != nil && isClientGone(final.writeErr) {
		t.logClientGone(final.writeErr)
	}
	if t.cfg.accessLog {
		t.logAccess(final)
	}
	if abort {
		// The response started before the error: end it broken, so the
		// client cannot take a truncated body for a whole one.
		panic(http.ErrAbortHandler)
	}
}

// keep returns rec stored in t: in place for the request's first error,
// which spares an allocation on the common path. Called with the lock held.
func (t *tracker) keep(rec errorRecord) *errorRecord {
	if !t.firstUsed {
		t.firstUsed = true
		t.first = rec
		return &t.first
	}
	return &rec
}

// renderLocked writes rec's envelope through the tracker itself; the lock is
// released while the renderer runs, since the writes come back to t.
func (t *tracker) renderLocked(rec *errorRecord) {
	t.pending = rec
	t.expecting = true
	t.mu.Unlock()
	env := t.cfg.renderer.Write(t, t.req, rec.err)
	t.mu.Lock()
	rec.env = env
}
