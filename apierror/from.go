package apierror

import (
	"context"
	"errors"
	"net/http"
)

// From converts any error to an *Error, for rendering:
//
//   - nil gives nil;
//   - an *Error anywhere in the chain (errors.As) is returned as it is;
//   - context.DeadlineExceeded gives a 504 around err;
//   - an *http.MaxBytesError (from http.MaxBytesReader) gives a 413 naming
//     the limit;
//   - context.Canceled gives 499 Client Closed Request around err. It means
//     the client went away: nobody will read the response, and it is not a
//     failure of the service, so it must not count or alert as a 500. The
//     status says so in the logs and metrics;
//   - anything else gives a 500 Generic Error with err as its cause.
//
// The order matters only for chains holding more than one of these: an
// *Error wins over the rest, a deadline over a cancellation.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
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
