// Package apiclient is the client side of the 360X error contract: an
// http.RoundTripper for calls from one 360X service to another that
// carries the current request's id to the called service and turns its
// error envelopes into *apierror.Error values.
//
// With it, one client-visible failure can be followed across services in
// both directions: the calling service's error line names upstream_id,
// upstream_status and upstream_path (from the error it wraps), and the
// called service logs the caller's id as client_request_id.
package apiclient

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/360x/errkit/apierror"
)

// Transport sends the id of the request in the outgoing request's context
// (apierror.IDFromContext: set by package middleware) as X-Request-Id, and
// returns an error answer that is a 360X envelope as an error.
//
// This is a deliberate exception to http.RoundTripper's rule that a
// transport does not interpret the response: for a status of 400 or more
// whose body is an envelope, RoundTrip closes the body and returns the
// *apierror.Error read from it (http.Client.Do wraps it in a *url.Error;
// errors.As finds it), so a handler can answer for it with
// apierror.BadGateway(err) and its log line names the upstream. An error
// status whose body is not an envelope (a proxy's HTML page) is returned
// as a response, as usual, and so is every success.
//
// When the request's context holds an OpenTelemetry span (otelhttp in
// front of the service), its trace context goes along too (traceparent,
// through Propagator), so the trace crosses services that do not use this
// kit; a request that has its own traceparent keeps it.
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
	ctx := req.Context()
	id := apierror.IDFromContext(ctx)
	sendID := id != "" && req.Header.Get("X-Request-Id") == ""
	sendTrace := trace.SpanContextFromContext(ctx).IsValid() && req.Header.Get("Traceparent") == ""
	if sendID || sendTrace {
		req = req.Clone(ctx) // a RoundTripper must not change the caller's request
		if sendID {
			req.Header.Set("X-Request-Id", id)
		}
		if sendTrace {
			p := t.Propagator
			if p == nil {
				p = propagation.TraceContext{}
			}
			p.Inject(ctx, propagation.HeaderCarrier(req.Header))
		}
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	// apierror.ReadResponse decides what an envelope is (status, content
	// type, size); what it reads is kept, so that an answer that is not one
	// is handed on whole.
	body := resp.Body
	rec := &recorder{r: body}
	if body != nil {
		resp.Body = io.NopCloser(rec)
	}
	upstream, rerr := apierror.ReadResponse(resp)
	switch {
	case rerr == nil:
		_ = body.Close()
		return nil, upstream
	case rec.err != nil:
		// Reading the body failed: there is no whole response to hand on.
		_ = body.Close()
		return nil, rerr
	}
	resp.Body = body
	if rec.buf.Len() > 0 {
		resp.Body = replayBody{Reader: io.MultiReader(&rec.buf, body), Closer: body}
	}
	return resp, nil
}

// recorder keeps what is read through it, and the first read error other
// than io.EOF.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
	err error
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	if err != nil && !errors.Is(err, io.EOF) && r.err == nil {
		r.err = err
	}
	return n, err
}

type replayBody struct {
	io.Reader
	io.Closer
}

// NewClient returns an http.Client whose transport is a Transport over
// base (nil: http.DefaultTransport).
func NewClient(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &Transport{Base: base}}
}
