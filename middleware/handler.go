package middleware

import "net/http"

// HandlerFunc is a handler that returns its error instead of writing it. A
// returned error goes through apierror.From and the middleware's renderer
// ([WriteError]); a nil error means the handler has written its response.
//
//	r.Method(http.MethodGet, "/offers/{id}", middleware.HandlerFunc(getOffer))
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// ServeHTTP calls f and writes its error, if any, with [WriteError].
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		WriteError(w, r, err)
	}
}
