package apierror

import "context"

type idKey struct{}

// WithID returns a copy of ctx that carries id as the id a [Renderer] puts
// in the envelope and the X-Request-Id header of the errors it writes for
// requests with that context, for a service that renders without package
// middleware. Behind the middleware it changes nothing: the middleware
// renders with its own id, so that the envelope, the header and the log
// line always agree. To read a request's id, use middleware.ID. An id in
// upper case is sent in lower case; one that is not a UUID ([ValidID]) is
// not used: the renderer makes a new one, so log the id the renderer
// returns ([Renderer.Write] returns the envelope), not the one given here.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// idFromContext returns the id stored in ctx by WithID, or "".
func idFromContext(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}
