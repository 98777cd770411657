package apierror

import "context"

type idKey struct{}

// IDCarrier is a value that knows a request's id. A request's context holds
// one ([WithID], [WithIDCarrier]) so that the [Renderer] can use the id the
// request was logged under; package middleware stores its per-request state,
// which is one, so that one context value serves both.
type IDCarrier interface {
	RequestID() string
}

type idString string

// RequestID returns the id itself.
func (s idString) RequestID() string { return string(s) }

// WithID returns a copy of ctx that carries id as the request's error id.
// The [Renderer] uses it for the envelope and the X-Request-Id header.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, IDCarrier(idString(id)))
}

// WithIDCarrier returns a copy of ctx that carries c, whose RequestID is the
// request's error id.
func WithIDCarrier(ctx context.Context, c IDCarrier) context.Context {
	return context.WithValue(ctx, idKey{}, c)
}

// IDCarrierFromContext returns the IDCarrier stored in ctx, or nil.
func IDCarrierFromContext(ctx context.Context) IDCarrier {
	c, _ := ctx.Value(idKey{}).(IDCarrier)
	return c
}

// IDFromContext returns the request's id stored in ctx, or "".
func IDFromContext(ctx context.Context) string {
	if c := IDCarrierFromContext(ctx); c != nil {
		return c.RequestID()
	}
	return ""
}
