package apierror

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ContentType is the Content-Type of every error response.
const ContentType = "application/json; charset=utf-8"

// DefaultChallenge is the WWW-Authenticate challenge of a 401 whose error
// and response carry no Bearer challenge of their own (RFC 6750).
const DefaultChallenge = `Bearer error="invalid_token"`

// DefaultRetryAfter is the Retry-After of a 429 whose error and response
// say nothing about when to retry (chi's Throttle, apierror.New(429, "")):
// one minute, the window of most rate limits.
const DefaultRetryAfter = time.Minute

// Renderer writes errors as 360X envelopes. It is the one place in the
// project that encodes an envelope and decides an error response's headers.
// Its clock and id source are set with options, so tests are deterministic
// without touching package state; a Renderer is safe for concurrent use.
type Renderer struct {
	now   func() time.Time
	newID func() string
}

// Option configures a [Renderer]. As every option of this module's
// packages, one given a nil function or a negative number panics when the
// renderer is built: a bad configuration is a programming error, caught at
// start-up rather than ignored.
type Option func(*Renderer)

// WithClock sets the clock that stamps the envelope's timestamp. The default
// is time.Now. NewRenderer panics on nil.
func WithClock(now func() time.Time) Option {
	return func(r *Renderer) {
		if now == nil {
			panic("apierror: WithClock(nil)")
		}
		r.now = now
	}
}

// WithIDGenerator sets the source of ids for requests whose context carries
// none (see [WithID]). The default is [NewID]. An id it returns in upper
// case is sent in lower case; one that is not a UUID ([ValidID]) is
// replaced by one from NewID: the contract allows nothing else in the
// envelope and the X-Request-Id header. NewRenderer panics on nil.
func WithIDGenerator(newID func() string) Option {
	return func(r *Renderer) {
		if newID == nil {
			panic("apierror: WithIDGenerator(nil)")
		}
		r.newID = newID
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

// Envelope returns the envelope that [Renderer.Write] would send for e in
// answer to req, without writing anything.
//
//   - id: the one in req's context ([WithID]), or a new one;
//   - timestamp: the renderer's clock;
//   - statusCode: e.StatusCode();
//   - message: for a 4xx, e.Message, or the status's [Title] when empty;
//     for a 5xx always the [Title], whatever e.Message holds;
//   - error: for a 4xx, e.Detail, or a default sentence for the status when
//     empty; for a 5xx always the fixed [PublicDetail];
//   - path: [RequestPath] of req.
//
// So no internal text reaches a client in a 5xx. A nil e is rendered as a
// 500.
func (r *Renderer) Envelope(req *http.Request, e *Error) Envelope {
	id, ok := CanonicalID(idFromContext(req.Context()))
	if !ok {
		if id, ok = CanonicalID(r.newID()); !ok {
			id = NewID()
		}
	}
	return r.EnvelopeWith(id, RequestPath(req), e)
}

// EnvelopeWith is [Renderer.Envelope] for a caller that knows the
// request's id and path already (package middleware keeps both from the
// start of the request).
func (r *Renderer) EnvelopeWith(id, path string, e *Error) Envelope {
	if e == nil {
		e = Internal(nil)
	}
	status := e.StatusCode()
	env := Envelope{
		ID:         id,
		Timestamp:  r.now(),
		StatusCode: status,
		Message:    e.Message,
		Error:      e.Detail,
		Path:       path,
	}
	if status >= 500 {
		env.Message, env.Error = Title(status), PublicDetail(status)
		return env
	}
	if env.Message == "" || status != e.Status {
		env.Message = Title(status)
	}
	if env.Error == "" {
		env.Error = defaultDetail(status)
	}
	return env
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Write sends e as the response to req and returns the envelope it sent, for
// logging: the envelope of [Renderer.Envelope], with the headers of
// [Renderer.WriteEnvelope].
//
// Write does not check whether a response has already started: that is the
// caller's decision (package middleware tracks it).
func (r *Renderer) Write(w http.ResponseWriter, req *http.Request, e *Error) Envelope {
	env := r.Envelope(req, e)
	r.WriteEnvelope(w, req, e, env)
	return env
}

// WriteEnvelope sends env, the envelope [Renderer.Envelope] built for e and
// req, as the response: the status, the headers (with the envelope's
// Content-Length), then the envelope as compact JSON and a newline; for a
// HEAD request, no body.
//
// The renderer owns an error response's headers, whatever was set on the
// response before and whatever e carries:
//
//   - the contract's headers are always set and cannot be overridden:
//     Content-Type (see [ContentType]), X-Content-Type-Options: nosniff,
//     Cache-Control: no-store, X-Request-Id (the envelope's id);
//   - headers that describe a success body are removed, so that the client
//     can read the envelope: Content-Encoding, Content-Length,
//     Content-Range, Content-Disposition, ETag, Last-Modified,
//     Content-Language, Content-Location;
//   - the headers in e.Header are added (copies: no value is shared with e
//     or between responses);
//   - per status: a 401 always has a Bearer WWW-Authenticate challenge
//     ([DefaultChallenge] unless a Bearer challenge was set); a 405 always
//     has Allow (empty when no method is allowed); a 429 always has
//     Retry-After in whole seconds (from e, from the response, or
//     [DefaultRetryAfter]); a 503 keeps a Retry-After from e or the
//     response. A Retry-After given as an HTTP date is turned into seconds,
//     and one that is neither is dropped.
func (r *Renderer) WriteEnvelope(w http.ResponseWriter, req *http.Request, e *Error, env Envelope) {
	h := w.Header()
	switch {
	case len(h) == 0, len(h) == 1 && h["X-Request-Id"] != nil:
		// Nothing, or just the middleware's id: the usual case.
	case len(h) < len(successHeaders):
		// Fewer lookups to walk the map than to look each success header
		// up.
		for k := range h {
			if isSuccessHeader(k) {
				delete(h, k)
			}
		}
	default:
		for _, k := range successHeaders {
			delete(h, k)
		}
	}
	if e != nil {
		for k, v := range e.Header {
			if k = http.CanonicalHeaderKey(k); !ownedHeader(k) {
				h[k] = append([]string(nil), v...)
			}
		}
	}
	bp := bufPool.Get().(*[]byte)
	buf := append(env.AppendJSON((*bp)[:0]), '\n')

	// One allocation for the values the renderer owns, each slice with
	// capacity 1 so that an append by later code cannot reach its
	// neighbour. The length lets a client have the whole envelope as soon
	// as it is flushed (a compressor in between replaces it, as it must).
	own := make([]string, 5)
	own[0], own[1], own[2], own[3] = ContentType, "nosniff", "no-store", env.ID
	own[4] = contentLength(len(buf))
	h["Content-Type"] = own[0:1:1]
	h["X-Content-Type-Options"] = own[1:2:2]
	h["Cache-Control"] = own[2:3:3]
	h["X-Request-Id"] = own[3:4:4]
	h["Content-Length"] = own[4:5:5]
	statusHeaders(h, env.StatusCode, r.now)
	w.WriteHeader(env.StatusCode)
	if req.Method != http.MethodHead {
		_, _ = w.Write(buf) // a failed write is the connection's fate; the caller sees it
	}
	if cap(buf) <= 4096 {
		*bp = buf
		bufPool.Put(bp)
	}
}

// successHeaders describe the success body a handler meant to send; they
// are removed from an error response (canonical forms).
var successHeaders = [...]string{
	"Content-Encoding", "Content-Length", "Content-Range", "Content-Disposition",
	"Etag", "Last-Modified", "Content-Language", "Content-Location",
}

// ownedHeader reports whether the renderer decides header k (canonical)
// alone: the contract's headers and the success-body headers.
func ownedHeader(k string) bool {
	switch k {
	case "Content-Type", "X-Content-Type-Options", "Cache-Control", "X-Request-Id":
		return true
	}
	return isSuccessHeader(k)
}

// isSuccessHeader reports whether k (canonical) is one of successHeaders.
func isSuccessHeader(k string) bool {
	for _, s := range successHeaders {
		if k == s {
			return true
		}
	}
	return false
}

// lengths holds the decimal form of every length an envelope usually has,
// so that its Content-Length costs no allocation. It is made when the
// first envelope is written, not when a program that imports the package
// starts, and never written after.
var lengths = sync.OnceValue(func() *[2048]string {
	var t [2048]string
	for n := range t {
		t[n] = strconv.Itoa(n)
	}
	return &t
})

// contentLength returns n in decimal.
func contentLength(n int) string {
	if t := lengths(); n < len(t) {
		return t[n]
	}
	return strconv.Itoa(n)
}
