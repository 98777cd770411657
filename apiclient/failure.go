package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/360x/errkit/apierror"
)

// Failure returns the error this service answers with when a call to the
// service named service failed, or nil when it did not (resp is a success:
// a status below 400). Give it what http.Client.Do returned:
//
//	resp, err := client.Do(req)
//	if err = apiclient.Failure("pricing", resp, err); err != nil {
//		return err
//	}
//	defer resp.Body.Close()
//
// The result is a nil error on success (never a typed nil), so it can be
// assigned to err as above. On failure it is an *apierror.Error
// (apierror.From or errors.As reads its status), whose cause
// (logged, never sent) names service and what happened:
//
//   - an error envelope from the service: 502 Bad Gateway around the
//     *apierror.Error read from it, so the error line names the upstream's
//     id, status and path; an upstream 503 that says when to retry gives a
//     503 with its Retry-After (see apierror.From). To pass an upstream
//     4xx on to this service's client, return
//     apierror.Forward(apiclient.Failure(...)) instead;
//   - an error status without an envelope (a proxy's HTML page, an empty
//     body): 502 around the *apierror.ResponseError that says why; a 503
//     without one (a load balancer's) stays a 503, with its Retry-After;
//   - no answer in time (the request context's deadline, the client's
//     Timeout, a network timeout): 504;
//   - not reachable (connection refused or reset, a DNS failure, no route
//     to the host): 503;
//   - the request's context canceled: a 499 around err, which
//     middleware.Errors logs as a client that went away (when it did) or
//     answers as a 500 (when the service canceled the call itself);
//   - any other error of the call: 502.
//
// For an error status, Failure reads at most apierror.MaxEnvelopeSize
// bytes of resp.Body and closes it.
func Failure(service string, resp *http.Response, err error) error {
	if e := failure(service, resp, err); e != nil {
		return e
	}
	return nil
}

// failure is Failure with its *apierror.Error, nil on success.
func failure(service string, resp *http.Response, err error) *apierror.Error {
	if err != nil {
		return callError(service, err)
	}
	if resp == nil {
		return apierror.BadGateway(fmt.Errorf("%s: no response and no error", service))
	}
	if resp.StatusCode < 400 {
		return nil
	}
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	up, rerr := apierror.ReadResponse(resp)
	if rerr != nil {
		e := callError(service, fmt.Errorf("answered %d: %w", resp.StatusCode, rerr))
		if e.Status == http.StatusBadGateway && resp.StatusCode == http.StatusServiceUnavailable {
			// A 503 without an envelope (a load balancer's) is still a
			// service that is not there: a 503, with its Retry-After.
			e = apierror.ServiceUnavailable(e.Cause)
			if ra := resp.Header.Get("Retry-After"); ra != "" {
				e.Header = http.Header{"Retry-After": {ra}}
			}
		}
		// Otherwise not an envelope is a 502, unless reading it broke
		// off, which follows the rules of a failed call (a timeout is a
		// 504).
		return e
	}
	return apierror.From(fmt.Errorf("%s answered %d: %w", service, up.Status, up))
}

// callError maps the error of a call that got no (whole) response.
func callError(service string, err error) *apierror.Error {
	cause := fmt.Errorf("%s: %w", service, err)
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return apierror.From(cause) // 499; the middleware decides whose
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return apierror.GatewayTimeout(cause)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &dns):
		return apierror.ServiceUnavailable(cause)
	}
	return apierror.BadGateway(cause)
}
