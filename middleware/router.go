package middleware

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/360x/errkit/apierror"
)

// NotFound answers a request that no route matches with a 404 envelope. Set
// it on a chi router with r.NotFound(middleware.NotFound).
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, apierror.NotFound("No route matches "+r.Method+" on this path."))
}

// routeMethods are the methods MethodNotAllowed tries when it lists what a
// path allows, in the order the Allow header names them.
var routeMethods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

// MethodNotAllowed answers a request whose path has routes, none for its
// method, with a 405 envelope and an Allow header naming the methods the
// route does have. Set it on a chi router with
// r.MethodNotAllowed(middleware.MethodNotAllowed).
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, apierror.MethodNotAllowed(r.Method, AllowedMethods(r)...))
}

// AllowedMethods returns the methods that the chi router serving r has a
// route for at r's path, in the order GET, HEAD, POST, PUT, PATCH, DELETE,
// OPTIONS, CONNECT, TRACE; nil outside a chi router.
//
// chi does not hand the methods it found to a custom 405 handler, and its
// Match cannot see through a mounted router (the mount point matches every
// method), so the routes are read with chi.Walk into a flat index. Behind
// [Errors] the index is built once per router; routes added to a router
// after its first 405 are not seen.
func AllowedMethods(r *http.Request) []string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil || rctx.Routes == nil {
		return nil
	}
	var index *chi.Mux
	if t := trackerFrom(r.Context()); t != nil {
		if v, ok := t.cfg.routeIndex.Load(rctx.Routes); ok {
			index = v.(*chi.Mux)
		} else {
			index = buildRouteIndex(rctx.Routes)
			t.cfg.routeIndex.Store(rctx.Routes, index)
		}
	} else {
		index = buildRouteIndex(rctx.Routes)
	}
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allowed []string
	for _, m := range routeMethods {
		if index.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// buildRouteIndex returns a router without mounts that has a route for
// every method and pattern of routes.
func buildRouteIndex(routes chi.Routes) *chi.Mux {
	index := chi.NewRouter()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	add := func(method, pattern string) {
		defer func() { _ = recover() }() // a method chi does not know
		index.Method(method, pattern, noop)
	}
	_ = chi.Walk(routes, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		add(method, pattern)
		if len(pattern) > 1 && strings.HasSuffix(pattern, "/") {
			// A mounted router's "/" answers its mount point too.
			add(method, strings.TrimSuffix(pattern, "/"))
		}
		return nil
	})
	return index
}
