// Package apiclient is the client side of the 360X error contract, for
// calls from one 360X service to another: a Transport that carries the
// current request's id (and OpenTelemetry trace) to the called service,
// and Failure, which turns whatever went wrong with a call into the error
// this service answers with.
//
// With them, one client-visible failure can be followed across services
// in both directions: the calling service's error line names upstream_id,
// upstream_status and upstream_path (from the envelope Failure read), and
// the called service logs the caller's id as client_request_id.
package apiclient

import (
	"net/http"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/360x/errkit/middleware"
)

// Transport sends the id of the request in the outgoing request's context
// (middleware.ID) as X-Request-Id, unless the request has one of its own.
// When the context holds an OpenTelemetry span (otelhttp in front of the
// service), its trace context goes along too (traceparent, through
// Propagator), so the trace crosses services that do not use this kit; a
// request that has its own traceparent keeps it.
//
// It keeps http.RoundTripper's contract: it does not change the caller's
// request, and returns every response it obtains, error statuses
// included, without reading it. The X-Request-Id each answer carries is
// recorded on the request (middleware.RecordCall): its line lists the ids
// of the services' answers as "calls". Turning an error response into an error is
// [Failure]'s job.
//
// Each call also carries a call token of this service's own
// (middleware.StartCall, sent as middleware.CallTokenHeader), listed on
// the request's line as "call_tokens" whether or not the call got an
// answer, and logged by the called service as "call_token": support
// follows a call that timed out or was reset through it. A token already
// on the request is replaced: it is never passed on from another request.
type Transport struct {
	// Base is the transport that makes the calls; nil means
	// http.DefaultTransport.
	Base http.RoundTripper
	// Propagator writes the trace context into the outgoing headers; nil
	// means W3C Trace Context (propagation.TraceContext), which writes
	// traceparent and tracestate.
	Propagator propagation.TextMapPropagator
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.Header == nil {
		return base.RoundTrip(req) // which refuses it, as net/http's own transport does
	}
	ctx := req.Context()
	id := middleware.ID(ctx)
	sendID := id != "" && req.Header.Get("X-Request-Id") == ""
	sendTrace := trace.SpanContextFromContext(ctx).IsValid() && req.Header.Get("Traceparent") == ""
	token := middleware.StartCall(ctx)
	_, hasToken := req.Header[middleware.CallTokenHeader]
	if sendID || sendTrace || token != "" || hasToken {
		req = req.Clone(ctx) // a RoundTripper must not change the caller's request
		if sendID {
			req.Header.Set("X-Request-Id", id)
		}
		// The call token is always this service's own: one copied from
		// an incoming request (a handler passing its headers on) is
		// replaced, or removed when none is recorded.
		if token != "" {
			req.Header.Set(middleware.CallTokenHeader, token)
		} else {
			req.Header.Del(middleware.CallTokenHeader)
		}
		if sendTrace {
			p := t.Propagator
			if p == nil {
				p = propagation.TraceContext{}
			}
			p.Inject(ctx, propagation.HeaderCarrier(req.Header))
		}
	}
	resp, err := base.RoundTrip(req)
	if resp != nil {
		// The id the called service answered with: the request's line
		// lists it, for support to follow the call (middleware.RecordCall).
		if callee := resp.Header.Get("X-Request-Id"); callee != "" {
			middleware.RecordCall(ctx, callee)
		}
	}
	return resp, err
}

// DefaultTimeout is the deadline of every call of a client made by
// [NewClient]: an upstream that does not answer within it is this
// service's 504 ([Failure]), not a request held until its client gives up.
const DefaultTimeout = 10 * time.Second

// NewClient returns an http.Client whose transport is a Transport over
// base (nil: http.DefaultTransport), with a Timeout of [DefaultTimeout]
// for each call, redirects and reading the body included. A shorter
// deadline in the request's context applies too. Set the returned
// client's Timeout for another deadline (0: none).
func NewClient(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &Transport{Base: base}, Timeout: DefaultTimeout}
}
