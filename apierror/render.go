package apierror

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// ContentType is the Content-Type of every error response.
const ContentType = "application/json; charset=utf-8"

// Header values shared by every response: each is a one-element slice that
// is never appended to in place (its capacity is 1), so sharing is safe and
// spares an allocation per response.
var (
	contentTypeValue = []string{ContentType}
	nosniffValue     = []string{"nosniff"}
	noStoreValue     = []string{"no-store"}
)

// Renderer writes errors as 360X envelopes. It is the one place in the
// project that encodes an envelope. Its clock and id source are set with
// options, so tests are deterministic without touching package state; a
// Renderer is safe for concurrent use.
type Renderer struct {
	now   func() time.Time
	newID func() string
}

// Option configures a [Renderer].
type Option func(*Renderer)

// WithClock sets the clock that stamps the envelope's timestamp. The default
// is time.Now.
func WithClock(now func() time.Time) Option {
	return func(r *Renderer) {
		if now != nil {
			r.now = now
		}
	}
}

// WithIDGenerator sets the source of ids for requests whose context carries
// none (see [WithID]). The default is [NewID].
func WithIDGenerator(newID func() string) Option {
	return func(r *Renderer) {
		if newID != nil {
			r.newID = newID
		}
	}
}

// NewRenderer returns a Renderer with the given options.
func NewRenderer(opts ...Option) *Renderer {
	r := &Renderer{now: time.Now, newID: NewID}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Now returns the renderer's current time, for callers that stamp the same
// clock into logs.
func (r *Renderer) Now() time.Time { return r.now() }

// Envelope returns the envelope that [Renderer.Write] would send for e in
// answer to req, without writing anything.
//
// The id is the one in req's context ([WithID]) or a new one; the path is
// req.URL.Path without the query; the statusCode is e.StatusCode(); the
// message is e.Message, or the status's [Title] when empty or when e.Status
// is not an error status; the "error" member is e.Detail (a default sentence
// when empty) for a 4xx and always the fixed [PublicDetail] for a 5xx, so no
// internal text reaches a client. A nil e is rendered as a 500.
func (r *Renderer) Envelope(req *http.Request, e *Error) Envelope {
	if e == nil {
		e = Internal(nil)
	}
	status := e.StatusCode()
	env := Envelope{
		ID:         IDFromContext(req.Context()),
		Timestamp:  r.now(),
		StatusCode: status,
		Message:    e.Message,
		Error:      e.Detail,
		Path:       req.URL.Path,
	}
	if env.ID == "" {
		env.ID = r.newID()
	}
	if env.Message == "" || status != e.Status {
		env.Message = Title(status)
	}
	switch {
	case status >= 500:
		env.Error = PublicDetail(status)
	case env.Error == "":
		env.Error = defaultDetail(status)
	}
	return env
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Write sends e as the response to req: the status, the headers of the
// contract (Content-Type, X-Content-Type-Options: nosniff, Cache-Control:
// no-store, X-Request-Id) and those e carries, then the envelope as compact
// JSON and a newline; for a HEAD request, no body. It returns the envelope
// it sent, for logging. See [Renderer.Envelope] for how each member is
// chosen.
//
// Write does not check whether a response has already started: that is the
// caller's decision (package middleware tracks it).
func (r *Renderer) Write(w http.ResponseWriter, req *http.Request, e *Error) Envelope {
	env := r.Envelope(req, e)
	h := w.Header()
	h.Del("Content-Length")
	h["Content-Type"] = contentTypeValue
	h["X-Content-Type-Options"] = nosniffValue
	h["Cache-Control"] = noStoreValue
	if v := h["X-Request-Id"]; len(v) != 1 || v[0] != env.ID {
		h.Set("X-Request-Id", env.ID)
	}
	if e != nil {
		for k, v := range e.Header {
			// A copy: e may be a shared value, and later middleware may
			// append to the response's header.
			h[http.CanonicalHeaderKey(k)] = slices.Clone(v)
		}
	}
	w.WriteHeader(env.StatusCode)
	if req.Method == http.MethodHead {
		return env
	}
	bp := bufPool.Get().(*[]byte)
	buf := append(env.AppendJSON((*bp)[:0]), '\n')
	_, _ = w.Write(buf) // a failed write is the connection's fate; nothing to add
	if cap(buf) <= 4096 {
		*bp = buf
		bufPool.Put(bp)
	}
	return env
}
