package middleware

import "context"

// MaxClientRequestID is the longest incoming X-Request-Id that is logged.
const MaxClientRequestID = 128

// SanitizeRequestID returns s and true when s is fit to be logged as the
// client's own request id: 1 to 128 printable ASCII characters (0x20–0x7E).
// Anything else (too long, control characters, bytes above ASCII) gives ""
// and false: such a header is dropped, not repaired. The client's id is only
// ever logged, as client_request_id; it is never the error id.
func SanitizeRequestID(s string) (string, bool) {
	if len(s) == 0 || len(s) > MaxClientRequestID {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "", false
		}
	}
	return s, true
}

// ID returns the id that [Errors] gave the request whose context is ctx, or
// "" when the middleware is not mounted. It is the id of the envelope, of
// the X-Request-Id response header and of every log line of the request,
// and the one way to read it (in a handler: middleware.ID(r.Context())).
func ID(ctx context.Context) string {
	if t := trackerFrom(ctx); t != nil {
		return t.id
	}
	return ""
}

// RecordCall notes, on the request whose context is ctx, that a service it
// called answered with id (its X-Request-Id): the request's line lists it
// under "calls", so that support can follow the call from this request to
// the other service's lines, confirmed by both sides (package apiclient's
// Transport records every answer it gets). Outside Errors, or for an id
// that is not fit to log, it does nothing.
func RecordCall(ctx context.Context, id string) {
	t := trackerFrom(ctx)
	if t == nil {
		return
	}
	if _, ok := SanitizeRequestID(id); !ok {
		return
	}
	t.mu.Lock()
	if len(t.calls) < maxCalls {
		t.calls = append(t.calls, id)
	}
	t.mu.Unlock()
}

// maxCalls bounds the calls a request's line lists.
const maxCalls = 64
