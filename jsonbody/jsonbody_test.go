package jsonbody_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/jsonbody"
)

type item struct {
	SKU   string  `json:"sku" jsonbody:"required"`
	Price float64 `json:"price" jsonbody:"required"`
}

// Validate is an item's own rule: the order's error names it under the
// item's path.
func (i *item) Validate() []apierror.Attribute {
	if i.Price < 0 {
		return []apierror.Attribute{apierror.Attr("price", "must not be negative")}
	}
	return nil
}

type order struct {
	Product  string            `json:"product" jsonbody:"required"`
	Quantity int               `json:"quantity" jsonbody:"required"`
	Price    float64           `json:"price"`
	Currency string            `json:"currency"`
	Items    []item            `json:"items"`
	Tags     map[string]string `json:"tags"`
	Express  *bool             `json:"express"`
}

// Validate is the model's domain rule.
func (o order) Validate() []apierror.Attribute {
	if o.Quantity < 1 {
		return []apierror.Attribute{apierror.Attr("quantity", "must be at least 1")}
	}
	return nil
}

func request(contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestDecode(t *testing.T) {
	const json = "application/json"
	tests := []struct {
		name        string
		contentType string
		body        string
		opts        []jsonbody.Option
		status      int
		code        apierror.Code
		detail      string               // contained in the error's detail
		attrs       []apierror.Attribute // exactly, for invalid_model
	}{
		{name: "valid", contentType: json, body: `{"product":"bolt","quantity":3,"items":[{"sku":"a","price":1.5}]}`},
		{name: "+json", contentType: "application/vnd.360x+json; charset=utf-8", body: `{"product":"bolt","quantity":3}`},
		{name: "no content type", body: `{}`, status: 415, detail: "has no Content-Type"},
		{name: "XML, parameters not named", contentType: "application/xml; token=s3cr3t", body: `<a/>`, status: 415, detail: `"application/xml"`},
		{name: "not UTF-8", contentType: "application/json; charset=latin1", body: `{}`, status: 415, detail: "UTF-8"},
		{name: "UTF-8 declared", contentType: "application/json; charset=UTF-8", body: `{"product":"bolt","quantity":3}`},
		{name: "empty", contentType: json, body: " \n", status: 400, code: apierror.CodeValidation, detail: "empty"},
		{name: "syntax, with the position", contentType: json, body: "{\n  \"product\": \"bolt\",\n  \"quantity\": x\n}", status: 400, code: apierror.CodeValidation, detail: "at line 3, column 15"},
		{name: "truncated", contentType: json, body: `{"product":"bo`, status: 400, code: apierror.CodeValidation, detail: "ends early"},
		{name: "two values", contentType: json, body: `{"product":"bolt","quantity":1} {}`, status: 400, code: apierror.CodeValidation, detail: "exactly one JSON value"},
		{name: "not an object", contentType: json, body: `[1,2]`, status: 400, code: apierror.CodeValidation, detail: "must be a JSON object"},
		{name: "every bad attribute, not the first", contentType: json, body: `{"product":1,"price":"x","currency":2,"quantity":1}`, status: 400, code: apierror.CodeInvalidModel,
			attrs: []apierror.Attribute{{Path: "product", Reason: "must be a string"}, {Path: "price", Reason: "must be a number"}, {Path: "currency", Reason: "must be a string"}}},
		{name: "a fraction for an integer", contentType: json, body: `{"product":"bolt","quantity":1.5}`, status: 400, code: apierror.CodeInvalidModel,
			attrs: []apierror.Attribute{{Path: "quantity", Reason: "must be an integer, without a fraction or an exponent"}}},
		{name: "out of range", contentType: json, body: `{"product":"bolt","quantity":99999999999999999999}`, status: 400, code: apierror.CodeInvalidModel,
			attrs: []apierror.Attribute{{Path: "quantity", Reason: "must be an integer from -9223372036854775808 to 9223372036854775807"}}},
		{name: "required: missing and null", contentType: json, body: `{"product":null}`, status: 400, code: apierror.CodeInvalidModel,
			attrs: []apierror.Attribute{{Path: "product", Reason: "is required"}, {Path: "quantity", Reason: "is required"}}},
		{name: "nested paths", contentType: json, body: `{"product":"bolt","quantity":2,"items":[{"sku":"a","price":1},{"price":"2"}],"tags":{"x":3},"express":"yes"}`, status: 400, code: apierror.CodeInvalidModel,
			attrs: []apierror.Attribute{
				{Path: "items[1].sku", Reason: "is required"}, {Path: "items[1].price", Reason: "must be a number"},
				{Path: "tags.x", Reason: "must be a string"}, {Path: "express", Reason: "must be true or false"}}},
		{name: "unknown attributes ignored by default", contentType: json, body: `{"product":"bolt","quantity":1,"colour":"red"}`},
		{name: "unknown attributes refused", contentType: json, body: `{"product":"bolt","quantity":1,"colour":"red"}`, opts: []jsonbody.Option{jsonbody.DisallowUnknownFields()},
			status: 400, code: apierror.CodeInvalidModel, attrs: []apierror.Attribute{{Path: "colour", Reason: "is not a known attribute"}}},
		{name: "a nested item's own rule", contentType: json, body: `{"product":"bolt","quantity":1,"items":[{"sku":"a","price":1},{"sku":"b","price":-2}]}`, status: 400, code: apierror.CodeInvalidModel,
			attrs: []apierror.Attribute{{Path: "items[1].price", Reason: "must not be negative"}}},
		{name: "domain rule", contentType: json, body: `{"product":"bolt","quantity":0}`, status: 400, code: apierror.CodeInvalidModel,
			attrs: []apierror.Attribute{{Path: "quantity", Reason: "must be at least 1"}}},
		{name: "over the limit, from Content-Length", contentType: json, body: `{"product":"` + strings.Repeat("a", 100) + `","quantity":1}`, opts: []jsonbody.Option{jsonbody.WithLimit(64)},
			status: 413, detail: "64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o order
			err := jsonbody.Decode(httptest.NewRecorder(), request(tt.contentType, tt.body), &o, tt.opts...)
			if tt.status == 0 {
				require.NoError(t, err)
				assert.Equal(t, "bolt", o.Product)
				return
			}
			e, ok := errors.AsType[*apierror.Error](err)
			require.True(t, ok, "an *apierror.Error: %v", err)
			assert.Equal(t, tt.status, e.Status)
			assert.Equal(t, tt.code, e.Code)
			assert.Contains(t, e.Detail, tt.detail)
			if tt.attrs != nil {
				assert.Equal(t, tt.attrs, e.Attributes)
			}
			assert.NotContains(t, e.Detail, "s3cr3t")
		})
	}
}

// TestDecodeOverTheLimitWhileReading: a body without a Content-Length
// that is too large is a 413 as well.
func TestDecodeOverTheLimitWhileReading(t *testing.T) {
	r := request("application/json", `{"product":"`+strings.Repeat("a", 200)+`"}`)
	r.ContentLength = -1
	err := jsonbody.Decode(httptest.NewRecorder(), r, &order{}, jsonbody.WithLimit(64))
	e, ok := errors.AsType[*apierror.Error](err)
	require.True(t, ok)
	assert.Equal(t, 413, e.Status)
}

// TestDecodeReadFailureKeepsItsCause: the read error is the cause, so that
// middleware.Errors can tell a timeout (408) or a client gone (499).
func TestDecodeReadFailureKeepsItsCause(t *testing.T) {
	r := request("application/json", "")
	boom := errors.New("read tcp: connection reset by peer")
	r.Body = errReader{boom}
	r.ContentLength = -1
	err := jsonbody.Decode(httptest.NewRecorder(), r, &order{})
	assert.ErrorIs(t, err, boom)
	assert.NotContains(t, err.(*apierror.Error).Detail, "tcp", "no socket detail in the client's text")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
func (e errReader) Close() error             { return nil }

func TestDecodeNeedsAPointer(t *testing.T) {
	assert.Panics(t, func() { _ = jsonbody.Decode(httptest.NewRecorder(), request("application/json", "{}"), order{}) })
	assert.Panics(t, func() {
		_ = jsonbody.Decode(httptest.NewRecorder(), request("application/json", "{}"), &order{}, jsonbody.WithLimit(0))
	})
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"product":"bolt","quantity":3}`, `{"product":1,"price":"x"}`, `[`, ``, `{"items":[{"price":1e999}]}`, `{"tags":{"a":{}}}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var o order
		err := jsonbody.Decode(httptest.NewRecorder(), request("application/json", body), &o)
		if err == nil {
			return
		}
		e, ok := errors.AsType[*apierror.Error](err)
		require.True(t, ok, "%v", err)
		require.Contains(t, []int{400, 413}, e.Status)
		if e.Code == apierror.CodeInvalidModel {
			require.NotEmpty(t, e.Attributes)
		}
	})
}

// TestDecodeEdges: what an outside try of the decoder found.
func TestDecodeEdges(t *testing.T) {
	type quoted struct {
		N int64   `json:"n,string"`
		F float64 `json:"f,string"`
		B *bool   `json:"b,string"`
	}
	type dup struct {
		B string `json:"b" jsonbody:"required"`
		A int    `json:"a"`
	}
	type keys struct {
		M map[string]int `json:"m"`
	}
	decode := func(body string, v any) *apierror.Error {
		err := jsonbody.Decode(httptest.NewRecorder(), request("application/json", body), v)
		if err == nil {
			return nil
		}
		return err.(*apierror.Error)
	}
	var q quoted
	var e *apierror.Error
	assert.Nil(t, decode(`{"n":"12","f":"1.5","b":"true"}`, &q), "the string option, as encoding/json takes it")
	assert.EqualValues(t, 12, q.N)
	e = decode(`{"n":12,"f":"x","b":"yes"}`, &quoted{})
	require.NotNil(t, e)
	assert.Equal(t, []apierror.Attribute{{Path: "n", Reason: "must be a string holding an integer"}, {Path: "f", Reason: "must be a string holding a number"}, {Path: "b", Reason: "must be a string holding a boolean"}}, e.Attributes)

	assert.Nil(t, decode(`{"b":null,"b":"x"}`, &dup{}), "the last of a name given twice counts")
	e = decode(`{"a":"x","a":1,"b":"y"}`, &dup{})
	require.NotNil(t, e, "encoding/json refuses the first a")
	assert.Equal(t, []apierror.Attribute{{Path: "a", Reason: "must be an integer"}}, e.Attributes)

	e = decode(`{"m":{"a.b":"x","":"y"}}`, &keys{})
	require.NotNil(t, e)
	assert.Equal(t, []apierror.Attribute{{Path: `m["a.b"]`, Reason: "must be an integer"}, {Path: `m[""]`, Reason: "must be an integer"}}, e.Attributes)

	var many strings.Builder
	many.WriteString(`{"product":"bolt","quantity":1,"items":[`)
	for i := range 5000 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString("{}")
	}
	many.WriteString("]}")
	e = decode(many.String(), &order{})
	require.NotNil(t, e)
	assert.Len(t, e.Attributes, 100, "the first 100 for Go code; the rest counted")
	assert.Less(t, len(e.Detail), 2000, "the detail names 20 and counts the rest")
	assert.Contains(t, e.Detail, "and 9980 more")
}

type inner struct {
	X int `json:"x"`
}

func (i inner) Validate() []apierror.Attribute {
	if i.X < 0 {
		return []apierror.Attribute{apierror.Attr("x", "must not be negative")}
	}
	return nil
}

// TestValidateThroughEmbeddedStructs: an exported embedded struct's rules
// apply under the flattened path; an unexported one is no panic.
func TestValidateThroughEmbeddedStructs(t *testing.T) {
	type withExported struct {
		inner
		Y int `json:"y"`
	}
	type Outer struct {
		*inner
	}
	err := jsonbody.Decode(httptest.NewRecorder(), request("application/json", `{"x":-1,"y":2}`), &withExported{})
	require.Error(t, err)
	assert.NotPanics(t, func() {
		_ = jsonbody.Decode(httptest.NewRecorder(), request("application/json", `{"x":1}`), &Outer{})
	})
}
