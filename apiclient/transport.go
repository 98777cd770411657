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
	"io"
	"mime"
	"net/http"

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
type Transport struct {
	// Base is the transport that makes the calls; nil means
	// http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if id := apierror.IDFromContext(req.Context()); id != "" && req.Header.Get("X-Request-Id") == "" {
		req = req.Clone(req.Context()) // a RoundTripper must not change the caller's request
		req.Header.Set("X-Request-Id", id)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 || req.Method == http.MethodHead {
		return resp, err
	}
	if !jsonOrUnknown(resp.Header.Get("Content-Type")) {
		return resp, nil
	}
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, apierror.MaxEnvelopeSize+1))
	if rerr != nil {
		_ = resp.Body.Close()
		return nil, &apierror.ResponseError{StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Reason: "reading the body", Err: rerr}
	}
	if len(data) <= apierror.MaxEnvelopeSize {
		if upstream, perr := apierror.ParseEnvelope(data, resp.StatusCode); perr == nil {
			_ = resp.Body.Close()
			return nil, upstream
		}
	}
	// Not an envelope: hand the response on whole, the bytes read first.
	resp.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(data), resp.Body), Closer: resp.Body}
	return resp, nil
}

type replayBody struct {
	io.Reader
	io.Closer
}

func jsonOrUnknown(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || mt == "application/problem+json")
}

// NewClient returns an http.Client whose transport is a Transport over
// base (nil: http.DefaultTransport).
func NewClient(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: &Transport{Base: base}}
}
