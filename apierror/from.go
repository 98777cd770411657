package apierror

import (
	"context"
	"errors"
	"net/http"
)

// From converts any error to the *Error this service answers with:
//
//   - nil gives nil, and so does a nil *Error (a handler that returned a
//     typed nil meant no error); a nil *Error wrapped in another error is
//     a 500 around that error;
//   - an error another 360X service answered ([ReadResponse]: its Received
//     is set), returned as it is or wrapped, is that service's answer, not
//     this one's: it gives this service's 502 Bad Gateway around err, so
//     the log names the upstream's id, status and path. An upstream 503
//     that says when to retry (Retry-After) gives a 503 with that
//     Retry-After instead. To pass an upstream error on deliberately, with
//     its status, use [Forward];
//   - an *Error of this service anywhere in the chain (errors.As) is
//     returned as it is;
//   - context.DeadlineExceeded, and http.ErrHandlerTimeout (a write after
//     http.TimeoutHandler gave up), give a 504 around err;
//   - an *http.MaxBytesError (from http.MaxBytesReader) gives a 413 naming
//     the limit;
//   - context.Canceled gives 499 Client Closed Request around err. It
//     means the client went away: nobody will read the response, and it
//     is not a failure of the service. (Package middleware checks that the
//     client really is gone; a cancellation of the service's own making is
//     answered as a 500.)
//   - anything else gives a 500 Generic Error with err as its cause.
//
// The order matters only for chains holding more than one of these: the
// outermost *Error wins over the rest, a deadline over a cancellation.
//
// From is for code that needs the *Error's fields (a status for a metric,
// a test); a handler returns its error as it is, and the middleware calls
// From. Its result is a nil *Error for a nil err: keep it in a variable of
// type *Error, not error, where err may be nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		switch {
		case e == nil && err == error(e):
			return nil
		case e == nil:
			return Internal(err)
		case e.Received == nil:
			return e
		}
		return fromUpstream(e, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, http.ErrHandlerTimeout) {
		return GatewayTimeout(err)
	}
	if mb, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return PayloadTooLarge(mb.Limit).WithCause(err)
	}
	if errors.Is(err, context.Canceled) {
		e := New(StatusClientClosedRequest, "")
		e.Cause = err
		return e
	}
	return Internal(err)
}

// fromUpstream is From for up, an error another service answered, found in
// err's chain.
func fromUpstream(up *Error, err error) *Error {
	if up.Status == http.StatusServiceUnavailable {
		if ra := up.Header.Get("Retry-After"); ra != "" {
			e := ServiceUnavailable(err)
			e.Header = http.Header{"Retry-After": {ra}}
			return e
		}
	}
	return BadGateway(err)
}

// Forward returns the error another 360X service answered (found in err's
// chain, as [ReadResponse] returns it) as this service's own answer, with
// the upstream's status, title and, for a 4xx, its detail; the upstream's
// Retry-After and Allow are kept, and the renderer applies the per-status
// headers again (a forwarded 401 gets this service's WWW-Authenticate
// challenge). err stays the cause, so the error line still names the
// upstream's id. Use it only where the upstream's answer is the right
// answer for this service's client (a 404 for a resource the upstream
// owns, a 400 about a field the client sent on); by default ([From]) an
// upstream error is a 502.
//
// The upstream error is found through the whole chain, also inside an
// *Error of this service that wraps it (the 502 that apiclient.Failure
// builds around an upstream's envelope), so
//
//	err = apierror.Forward(apiclient.Failure("pricing", resp, err))
//
// answers an upstream 404 with a 404.
//
// Forward returns nil for a nil err (a nil error, never a typed nil), and
// [From](err) when err holds no upstream error. The error it returns is
// always an *Error.
func Forward(err error) error {
	if err == nil {
		return nil
	}
	up := upstreamError(err)
	if up == nil {
		if e := From(err); e != nil {
			return e
		}
		return nil // a typed nil *Error: no error
	}
	e := New(up.Status, up.Detail)
	if up.Status < 500 {
		e.Message = up.Message
		e.Code = up.Code
		e.Attributes = up.Attributes
	}
	e.Cause = err
	for _, k := range [...]string{"Retry-After", "Allow"} {
		if v := up.Header.Values(k); len(v) > 0 {
			if e.Header == nil {
				e.Header = make(http.Header, 2)
			}
			e.Header[k] = append([]string(nil), v...)
		}
	}
	return e
}

// upstreamError returns the first *Error in err's chain (depth first, as
// errors.As walks it) that another service answered (its Received is set),
// or nil.
func upstreamError(err error) *Error {
	for err != nil {
		if e, ok := err.(*Error); ok && e != nil && e.Received != nil { //nolint:errorlint // the chain is walked here
			return e
		}
		switch u := err.(type) { //nolint:errorlint // the chain is walked here
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if e := upstreamError(inner); e != nil {
					return e
				}
			}
			return nil
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return nil
		}
	}
	return nil
}
