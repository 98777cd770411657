package middleware

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/360x/errkit/apierror"
)

// tracker is the per-request state of Errors and the http.ResponseWriter the
// handlers below it write to. It sees every status and byte, so it knows
// whether the response has started (and an envelope can still be written),
// intercepts foreign error responses, and makes sure that exactly one error
// line is logged per request.
//
// The mutex guards everything below it: a handler behind
// http.TimeoutHandler runs in its own goroutine and may report an error
// while the serving goroutine writes the timeout response.
type tracker struct {
	cfg       *config
	w         http.ResponseWriter
	req       *http.Request
	id        string
	idHeader  [1]string
	start     time.Time
	first     errorRecord // the first error, stored in place
	firstUsed bool

	mu        sync.Mutex
	status    int   // status sent to the client; 0 while nothing is sent
	bytes     int64 // body bytes sent to the client
	hijacked  bool
	done      bool  // the middleware has returned
	writeErr  error // first error writing to the client
	expecting bool  // an envelope is on its way through the writer chain

	// A foreign error response held back: its status and the start of its
	// body, turned into an envelope when the handler returns.
	foreign     int
	foreignBody []byte

	// The error of this request that is logged as its error line.
	errLogged bool
	pending   *errorRecord

	abort            bool // end the connection broken when the handler returns
	abortedByHandler bool // the handler panicked with http.ErrAbortHandler
	clientID         string
	goPanics         []*PanicError // recovered by Go, not yet logged
	clientGone       bool          // logged that the client went away
}

func newTracker(cfg *config, w http.ResponseWriter, r *http.Request) *tracker {
	t := &tracker{cfg: cfg, w: w, start: cfg.now()}
	if cfg.defaultIDs {
		t.id = apierror.NewIDAt(t.start) // one clock read for both
	} else {
		t.id = cfg.newID()
	}
	if v, ok := r.Header["X-Request-Id"]; ok && len(v) > 0 {
		t.clientID, _ = SanitizeRequestID(v[0])
	}
	t.idHeader[0] = t.id
	w.Header()["X-Request-Id"] = t.idHeader[:] // no allocation: the slice is t's
	return t
}

// context returns parent with t in it: one context value that is both the
// middleware's state and apierror's id carrier.
func (t *tracker) context(parent context.Context) context.Context {
	return apierror.WithIDCarrier(parent, t)
}

// RequestID returns the request's id; it makes t an apierror.IDCarrier.
func (t *tracker) RequestID() string { return t.id }

func trackerFrom(ctx context.Context) *tracker {
	t, _ := apierror.IDCarrierFromContext(ctx).(*tracker)
	return t
}

// Header returns the header map of the underlying writer.
func (t *tracker) Header() http.Header { return t.w.Header() }

// WriteHeader sends code, unless it is an error status written by code that
// does not use apierror: that is held back and becomes an envelope when the
// handler returns. A second call after the response started is ignored.
func (t *tracker) WriteHeader(code int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writeHeaderLocked(code)
}

func (t *tracker) writeHeaderLocked(code int) {
	if t.hijacked || t.status != 0 || t.foreign != 0 {
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		t.w.WriteHeader(code) // informational: more headers follow
		return
	}
	if code >= 400 && !t.isEnvelope() {
		t.foreign = code
		return
	}
	t.expecting = false
	t.status = code
	t.w.WriteHeader(code)
}

// isEnvelope reports whether the response being started is the envelope
// this request's error path rendered, as opposed to a foreign error.
func (t *tracker) isEnvelope() bool {
	if !t.expecting {
		return false
	}
	ct := t.w.Header()["Content-Type"]
	return len(ct) == 1 && ct[0] == apierror.ContentType
}

// startBodyLocked prepares a body write or a flush: it starts the response
// with 200 if nothing was sent yet, and reports whether the bytes are held
// back (the body of a foreign error) or refused (after a hijack).
func (t *tracker) startBodyLocked() (held bool, err error) {
	if t.hijacked {
		return false, http.ErrHijacked
	}
	if t.status == 0 {
		t.writeHeaderLocked(http.StatusOK)
	}
	return t.foreign != 0, nil
}

// Write sends p, starting the response with 200 if needed. The body of a
// held-back foreign error is kept up to the configured limit and dropped
// beyond it.
func (t *tracker) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if held, err := t.startBodyLocked(); err != nil || held {
		if held {
			t.keepForeign(p)
			return len(p), nil
		}
		return 0, err
	}
	n, err := t.w.Write(p)
	t.wrote(n, err)
	return n, err
}

// WriteString is Write for a string, without a copy when the underlying
// writer has WriteString.
func (t *tracker) WriteString(s string) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if held, err := t.startBodyLocked(); err != nil || held {
		if held {
			t.keepForeign([]byte(s))
			return len(s), nil
		}
		return 0, err
	}
	n, err := io.WriteString(t.w, s)
	t.wrote(n, err)
	return n, err
}

// ReadFrom copies src to the response, through the underlying writer's
// ReadFrom (sendfile for files) when it has one.
func (t *tracker) ReadFrom(src io.Reader) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if held, err := t.startBodyLocked(); err != nil || held {
		if held {
			return io.Copy(foreignSink{t}, src)
		}
		return 0, err
	}
	var n int64
	var err error
	if rf, ok := t.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{t.w}, src)
	}
	t.bytes += n
	if err != nil && t.writeErr == nil && isClientGone(err) {
		t.writeErr = err
	}
	return n, err
}

func (t *tracker) wrote(n int, err error) {
	t.bytes += int64(n)
	if err != nil && t.writeErr == nil {
		t.writeErr = err
	}
}

func (t *tracker) keepForeign(p []byte) {
	if room := t.cfg.maxForeign - len(t.foreignBody); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		t.foreignBody = append(t.foreignBody, p...)
	}
}

// foreignSink is where ReadFrom copies a held-back body; called with the
// lock held.
type foreignSink struct{ t *tracker }

// Write keeps what fits of p and reports all of it written.
func (s foreignSink) Write(p []byte) (int, error) { s.t.keepForeign(p); return len(p), nil }

// writerOnly hides ReadFrom from io.Copy, so that it cannot loop back.
type writerOnly struct{ io.Writer }

// Flush sends what is buffered to the client, starting the response with 200
// if needed. It does nothing while a foreign error is held back.
func (t *tracker) Flush() { _ = t.FlushError() }

// FlushError is Flush that reports the underlying writer's error; it is what
// http.ResponseController.Flush calls.
func (t *tracker) FlushError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if held, err := t.startBodyLocked(); err != nil || held {
		return err // nil while a foreign error is held back
	}
	return http.NewResponseController(t.w).Flush()
}

// Hijack takes over the connection, if the underlying writer allows it, and
// records that it did: after a hijack, no error path writes anything.
func (t *tracker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	conn, rw, err := http.NewResponseController(t.w).Hijack()
	if err == nil {
		t.hijacked = true
	}
	return conn, rw, err
}

// Unwrap returns the underlying writer, for http.ResponseController's
// deadlines and full duplex.
func (t *tracker) Unwrap() http.ResponseWriter { return t.w }
