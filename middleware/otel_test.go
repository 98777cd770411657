package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/middleware"
)

var testSpan = trace.NewSpanContext(trace.SpanContextConfig{
	TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	TraceFlags: trace.FlagsSampled,
})

// withSpan stands for otelhttp in front of the service: the request's
// context holds a span.
func withSpan(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(trace.ContextWithSpanContext(r.Context(), testSpan)))
	})
}

// TestTraceBesideTheID: with a span in the request's context, the error
// line and the handler's own lines carry its trace and span ids.
func TestTraceBesideTheID(t *testing.T) {
	s := newStack()
	srv := httptestServer(t, withSpan(s.mw(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		zerolog.Ctx(r.Context()).Info().Msg("looking the offer up")
		return apierror.NotFound("")
	}))))
	resp, body := do(t, "GET", srv.URL+"/offers/9", nil)
	_, line := s.checkEnvelope(t, resp, body, 404)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", line["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", line["span_id"])
	lines := s.log.Lines(t)
	require.Len(t, lines, 2)
	assert.Equal(t, "looking the offer up", lines[0]["message"])
	assert.Equal(t, line["id"], lines[0]["id"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", lines[0]["trace_id"])
}

// TestNoTraceWithoutOpenTelemetry: no span, no trace fields.
func TestNoTraceWithoutOpenTelemetry(t *testing.T) {
	s := newStack()
	srv := s.serve(t, middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("")
	}))
	resp, body := do(t, "GET", srv.URL, nil)
	_, line := s.checkEnvelope(t, resp, body, 404)
	assert.NotContains(t, line, "trace_id")
	assert.NotContains(t, line, "span_id")
}

// BenchmarkTrace compares an error response with and without a span in the
// context: the bridge costs nothing without OpenTelemetry (the same
// allocations as before it existed: reading an absent span allocates
// nothing, see TestReadingAnAbsentSpanAllocatesNothing), and two strings
// with it.
func BenchmarkTrace(b *testing.B) {
	h := middleware.Errors(middleware.WithLogger(zerolog.Nop()))(middleware.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierror.NotFound("")
	}))
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"no-span", h}, {"span", withSpan(h)}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/offers/9", nil)
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

func TestReadingAnAbsentSpanAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = trace.SpanContextFromContext(ctx).IsValid() }))
}
