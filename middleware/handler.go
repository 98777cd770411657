package middleware

import (
	"net/http"

	"github.com/360x/errkit/apierror"
)

// HandlerFunc is a handler that returns its error instead of writing it. A
// returned error goes through apierror.From and the middleware's renderer
// ([WriteError]); a nil error means the handler has written its response.
//
//	r.Method(http.MethodGet, "/offers/{id}", middleware.HandlerFunc(getOffer))
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// ServeHTTP calls f and writes its error, if any, with [WriteError]. A nil
// *apierror.Error returned as an error (a typed nil, from code of the
// service's own) counts as no error; the kit's own functions never return
// one.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if t := trackerFrom(r.Context()); t != nil {
		t.saw(r) // for observers: the request with what inner middleware added
	}
	err := f(w, r)
	if e, ok := err.(*apierror.Error); err == nil || ok && e == nil { //nolint:errorlint // a typed nil, not a chain
		return
	}
	WriteError(w, r, err)
}

// Handle adapts a handler that returns its error to the http.HandlerFunc
// that chi's r.Get, r.Post and the other method helpers take:
//
//	r.Get("/offers/{id}", middleware.Handle(getOffer))
//
// It is HandlerFunc(fn).ServeHTTP. Behind a net/http wrapper, give chi
// the wrapper's ServeHTTP; the handler's errors, a timeout (504) and a
// body over the limit (413) are envelopes as anywhere else:
//
//	r.Get("/quote", http.TimeoutHandler(middleware.Handle(quote), 2*time.Second, "").ServeHTTP)
//	r.Post("/offers", http.MaxBytesHandler(middleware.Handle(create), 1<<20).ServeHTTP)
func Handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return HandlerFunc(fn).ServeHTTP
}
