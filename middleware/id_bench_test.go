package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

// BenchmarkIDSource measures the middleware's error path with each UUIDv7
// generator, serially and in parallel (-cpu 1,2): the decision between
// google/uuid and a hand-written generator (BENCHMARKS.md).
func BenchmarkIDSource(b *testing.B) {
	google := func() string { u, _ := uuid.NewV7(); return u.String() }
	for _, src := range []struct {
		name string
		gen  func() string
	}{{"google-uuid", google}, {"handwritten", apierror.NewID}} {
		h := middleware.Errors(middleware.WithLogger(zerolog.Nop()), middleware.WithIDGenerator(src.gen))(
			middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return apierror.NotFound("") }))
		b.Run(src.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/offers/9", nil)
				for pb.Next() {
					h.ServeHTTP(httptest.NewRecorder(), req)
				}
			})
		})
	}
}
