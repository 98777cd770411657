//go:build !race

package jsonbody_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/360x/errkit/jsonbody"
)

// Timing without the race detector, which changes it: make test runs the
// TestCost tests in a step of their own.

// timePerByte is the fastest of five decodes of body, by Decode and by
// json.Unmarshal into the same model (interleaved, so that a slow spell
// of the machine touches both), per byte.
func timePerByte(t *testing.T, body string, model func() any, opts ...jsonbody.Option) (kit, std float64) {
	best, bestStd := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range 5 {
		runtime.GC()
		start := time.Now()
		_ = jsonbody.Decode(httptest.NewRecorder(), request("application/json", body), model(), opts...)
		best = min(best, time.Since(start))
		runtime.GC()
		start = time.Now()
		_ = json.Unmarshal([]byte(body), model())
		bestStd = min(bestStd, time.Since(start))
		if best > 20*time.Second {
			t.Fatalf("one decode of %d bytes took %v", len(body), best)
		}
	}
	return float64(best) / float64(len(body)), float64(bestStd) / float64(len(body))
}

// TestCostIsLinear: the time per byte of a body 16 times as large grows
// no more than encoding/json's own does (its maps and slices grow, and
// the caches miss more), within a factor of 3 for a noisy machine.
// Quadratic code takes about 16 times as long per byte (the code before
// took 3.4 to 8.2 times at 8 times the size: bad attributes compared with
// every earlier one, every level re-reading its subtree).
func TestCostIsLinear(t *testing.T) {
	cases := []struct {
		name  string
		body  func(n int) string
		n     int
		model func() any
		opts  []jsonbody.Option
	}{
		{"bad items", func(n int) string { return repeat(`{"items":[`, "1", ",", "]}", n) }, 8_000, func() any { return &priced{} }, nil},
		{"bad map values", func(n int) string { return repeat(`{"m":{`, `"k":"x"`, ",", "}}", n) }, 4_000, func() any { return &struct{ M map[string]int }{} }, nil},
		{"bad keys, each other", func(n int) string {
			var b strings.Builder
			b.WriteString(`{"m":{`)
			for i := range n {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `"k%d":"x"`, i)
			}
			b.WriteString("}}")
			return b.String()
		}, 4_000, func() any { return &struct{ M map[string]int }{} }, nil},
		{"unknown fields", func(n int) string {
			var b strings.Builder
			b.WriteString(`{`)
			for i := range n {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `"u%d":1`, i)
			}
			b.WriteString("}")
			return b.String()
		}, 4_000, func() any { return &priced{} }, []jsonbody.Option{jsonbody.DisallowUnknownFields()}},
		{"depth, valid", nested, 300, func() any { return &recursive{} }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			small, stdSmall := timePerByte(t, tc.body(tc.n), tc.model, tc.opts...)
			large, stdLarge := timePerByte(t, tc.body(16*tc.n), tc.model, tc.opts...)
			limit := 3 * max(stdLarge/stdSmall, 1.25)
			assert.Less(t, large/small, limit, "time per byte at %d and at 16×: %.1f and %.1f ns (encoding/json: %.1f and %.1f)",
				tc.n, small, large, stdSmall, stdLarge)
		})
	}
}
