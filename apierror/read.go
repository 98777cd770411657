package apierror

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// MaxEnvelopeSize is the most bytes [ReadResponse] reads from a body. A real
// envelope is a few hundred bytes; anything larger is not one.
const MaxEnvelopeSize = 64 << 10

// ErrNotEnvelope is matched (errors.Is) by the error [ReadResponse] returns
// when a response is not a 360X error envelope.
var ErrNotEnvelope = errors.New("not a 360X error envelope")

// ResponseError is the error [ReadResponse] returns for a response that is
// not a 360X error envelope: HTML from a proxy, an empty or truncated body,
// JSON of another shape, a success status. It keeps the HTTP status, so a
// caller can still map it (a 503 from a load balancer is still a 503).
type ResponseError struct {
	StatusCode  int    // the response's HTTP status
	ContentType string // the response's Content-Type, possibly empty
	Reason      string // why the body is not an envelope
	Err         error  // the underlying read or decode error, if any
}

// Error describes the response and why it is not an envelope.
func (e *ResponseError) Error() string {
	if e == nil {
		return "apierror: nil *ResponseError"
	}
	s := fmt.Sprintf("apierror: response with status %d is not a 360X error envelope: %s", e.StatusCode, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ResponseError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// Is reports whether target is [ErrNotEnvelope].
func (e *ResponseError) Is(target error) bool { return target == ErrNotEnvelope }

// ReadResponse returns the *Error that resp, an error response from another
// 360X service, describes: Status, Message and Detail from the envelope, and
// the whole envelope (the other service's id, timestamp and path) in
// [Error.Received]. statusCode may be a number or a string; unknown members
// are ignored.
//
// It reads at most [MaxEnvelopeSize] bytes of resp.Body and does not close
// it. When resp is not an error envelope (a status below 400, a body that is
// empty, too large, truncated or not of the envelope's shape, a HEAD
// response) it returns a *[ResponseError] carrying the HTTP status, which
// matches [ErrNotEnvelope].
//
// The headers that matter to a caller (Retry-After, WWW-Authenticate,
// Allow) are kept in the returned *Error's Header. Its Cause is nil: the
// upstream's detail is its own client-facing text.
//
// Returned by a handler, as it is or wrapped, such an error becomes this
// service's 502 Bad Gateway ([From]); [Forward] passes it on deliberately.
func ReadResponse(resp *http.Response) (*Error, error) {
	ct := resp.Header.Get("Content-Type")
	fail := func(reason string, err error) (*Error, error) {
		return nil, &ResponseError{StatusCode: resp.StatusCode, ContentType: ct, Reason: reason, Err: err}
	}
	if resp.StatusCode < 400 || resp.StatusCode > 599 {
		return fail("status is not an error status", nil)
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		return fail("empty body", nil)
	}
	if mt, _, err := mime.ParseMediaType(ct); ct != "" && (err != nil || (mt != "application/json" && mt != "application/problem+json")) {
		return fail("content type is not JSON", nil)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxEnvelopeSize+1))
	if err != nil {
		return fail("reading the body", err)
	}
	if len(data) > MaxEnvelopeSize {
		return fail(fmt.Sprintf("body exceeds %d bytes", MaxEnvelopeSize), nil)
	}
	e, err := parse(data, resp.StatusCode, ct)
	if err != nil {
		return nil, err
	}
	for _, k := range keptHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			if e.Header == nil {
				e.Header = make(http.Header, len(keptHeaders))
			}
			e.Header[k] = append([]string(nil), v...)
		}
	}
	return e, nil
}

// keptHeaders are the headers of an upstream error response that matter to
// the caller, kept in the *Error that [ReadResponse] returns.
var keptHeaders = [...]string{"Retry-After", "Www-Authenticate", "Allow"}

// ParseEnvelope returns the *Error that data, the body of a 360X error
// response, describes, as [ReadResponse] does for a response; status is the
// HTTP status it came with, 0 when unknown. It reads data whole: bound it
// before calling.
func ParseEnvelope(data []byte, status int) (*Error, error) {
	return parse(data, status, "")
}

func parse(data []byte, status int, ct string) (*Error, error) {
	fail := func(reason string, err error) (*Error, error) {
		return nil, &ResponseError{StatusCode: status, ContentType: ct, Reason: reason, Err: err}
	}
	if len(data) == 0 {
		return fail("empty body", nil)
	}
	var env Envelope
	if err := env.UnmarshalJSON(data); err != nil {
		return fail("body is not an envelope", err)
	}
	if !validStatus(env.StatusCode) {
		return fail(fmt.Sprintf("envelope statusCode %d is not an error status", env.StatusCode), nil)
	}
	if status != 0 && env.StatusCode != status {
		// The HTTP status is what was received; a body that says
		// otherwise is not a trustworthy envelope.
		return fail(fmt.Sprintf("envelope statusCode %d differs from the HTTP status %d", env.StatusCode, status), nil)
	}
	return &Error{
		Status:   env.StatusCode,
		Message:  env.Message,
		Detail:   env.Error,
		Received: &env,
	}, nil
}
