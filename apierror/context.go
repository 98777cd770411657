package apierror

import "context"

type idKey struct{}

// WithID returns a copy of ctx that carries id as the request's error id.
// A [Renderer] uses it for the envelope and the X-Request-Id header of
// errors it writes for requests with that context, and package apiclient
// sends it on to the services it calls.
//
// Behind package middleware the id is set already: the middleware renders
// with its own id whatever a handler stores here later, so that the
// envelope, the header and the log line always agree.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// IDFromContext returns the request's id stored in ctx by [WithID] (package
// middleware stores it for every request), or "".
func IDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}
