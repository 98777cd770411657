package logsink_test

import (
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog/diode"

	"github.com/360x/errkit/logsink"
)

// BenchmarkWrite compares a line handed to logsink with one handed to
// zerolog's diode (the lock-free ring logsink does not use: see
// BENCHMARKS.md), from many goroutines at once (run with -cpu 1,2).
func BenchmarkWrite(b *testing.B) {
	line := []byte(`{"level":"warn","id":"01a214c6-2418-7f54-a830-e1974d0ae3f0","method":"GET","path":"/api/v1/participant/offers/9","status":404,"detail":"Offer 9 was not found.","bytes":199,"duration":0.06,"message":"Not Found"}` + "\n")
	b.Run("logsink", func(b *testing.B) {
		w := logsink.New(io.Discard)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = w.Write(line)
			}
		})
	})
	b.Run("diode", func(b *testing.B) {
		w := diode.NewWriter(io.Discard, logsink.DefaultBuffer, 10*time.Millisecond, nil)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = w.Write(line)
			}
		})
	})
}
