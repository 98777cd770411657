package jsonbody_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/jsonbody"
)

// The models and bodies of BenchmarkDecode: what a 360X service decodes,
// with required fields and Validate methods, and the bodies the budgets
// name (BENCHMARKS.md).

type benchOffer struct {
	Offer    string    `json:"offer" jsonbody:"required"`
	Customer string    `json:"customer" jsonbody:"required"`
	Amount   float64   `json:"amount" jsonbody:"required"`
	Currency string    `json:"currency"`
	Quantity int       `json:"quantity"`
	Express  bool      `json:"express"`
	Note     *string   `json:"note"`
	Tags     []string  `json:"tags"`
	At       time.Time `json:"at"`
}

func (o *benchOffer) Validate() []apierror.Attribute {
	if o.Amount <= 0 {
		return []apierror.Attribute{apierror.Attr("amount", "must be greater than 0")}
	}
	return nil
}

type benchLine struct {
	SKU      string  `json:"sku" jsonbody:"required"`
	Price    float64 `json:"price" jsonbody:"required"`
	Quantity int     `json:"quantity"`
}

func (l *benchLine) Validate() []apierror.Attribute {
	if l.Price < 0 {
		return []apierror.Attribute{apierror.Attr("price", "must not be negative")}
	}
	return nil
}

type benchOrder struct {
	Lines []benchLine `json:"lines" jsonbody:"required"`
}

type benchBad struct {
	Items []struct {
		Price int `json:"price"`
	} `json:"items"`
}

// benchBodies are the budgets' bodies; size scales the large ones (1 MiB
// at 1).
func benchBodies(size int) []struct {
	name  string
	body  []byte
	model func() any
} {
	var lines strings.Builder
	lines.WriteString(`{"lines":[`)
	for i := 0; lines.Len() < size-64; i++ {
		if i > 0 {
			lines.WriteString(",")
		}
		fmt.Fprintf(&lines, `{"sku":"sku-%06d","price":%d.25,"quantity":%d}`, i, i%1000, i%7+1)
	}
	lines.WriteString("]}")
	var bad strings.Builder
	bad.WriteString(`{"items":[`)
	for i := 0; bad.Len() < size-4; i++ {
		if i > 0 {
			bad.WriteString(",")
		}
		bad.WriteString("1")
	}
	bad.WriteString("]}")
	return []struct {
		name  string
		body  []byte
		model func() any
	}{
		{"flat", []byte(`{"offer":"of-123","customer":"cu-456","amount":12.5,"currency":"EUR","quantity":3,"express":true,"note":"leave at the door","tags":["a","b"],"at":"2026-11-25T09:30:00Z"}`), func() any { return &benchOffer{} }},
		{"nested1000", []byte(nested(1000)), func() any { return &recursive{} }},
		{"array", []byte(lines.String()), func() any { return &benchOrder{} }},
		{"bad", []byte(bad.String()), func() any { return &benchBad{} }},
	}
}

// BenchmarkDecode compares Decode, which reads the request's body, with
// json.Unmarshal of the same bytes into the same model: Decode/flat/kit
// against Decode/flat/encoding-json, and so on (bench/budgets reads them).
func BenchmarkDecode(b *testing.B) {
	for _, tc := range benchBodies(1 << 20) {
		b.Run(tc.name+"/kit", func(b *testing.B) { benchKit(b, tc.body, tc.model, tc.name == "bad") })
		b.Run(tc.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				err := json.Unmarshal(tc.body, tc.model())
				if (err != nil) != (tc.name == "bad") {
					b.Fatal(err)
				}
			}
		})
	}
	// Linear: the same bodies at 64 KiB, for time per KB beside 1 MiB.
	for _, tc := range benchBodies(64 << 10) {
		if tc.name != "array" && tc.name != "bad" {
			continue
		}
		b.Run(tc.name+"64k/kit", func(b *testing.B) { benchKit(b, tc.body, tc.model, tc.name == "bad") })
		b.Run(tc.name+"64k/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				_ = json.Unmarshal(tc.body, tc.model())
			}
		})
	}
}

// benchKit runs Decode on body, read from a request as a handler reads it.
func benchKit(b *testing.B, body []byte, model func() any, bad bool) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/orders", nil)
	r.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r.Body, r.ContentLength = io.NopCloser(rd), int64(len(body))
		if err := jsonbody.Decode(w, r, model()); (err != nil) != bad {
			b.Fatal(err)
		}
	}
}
