package apierror

import "context"

type idKey struct{}

// WithID returns a copy of ctx that carries id as the request's error id.
// The [Renderer] uses it for the envelope and the X-Request-Id header, so
// that the id the client receives is the one the request was logged under.
// Package middleware calls it for every request.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// IDFromContext returns the id that [WithID] stored in ctx, or "".
func IDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}
