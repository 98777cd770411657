package jsonbody_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
	"github.com/360x/errkit/jsonbody"
)

// The cases an outside try of this round found, each failing on the code
// before it for the reason given.

func decodeBody(t testing.TB, body string, v any, opts ...jsonbody.Option) *apierror.Error {
	t.Helper()
	err := jsonbody.Decode(httptest.NewRecorder(), request("application/json", body), v, opts...)
	if err == nil {
		return nil
	}
	e, ok := errors.AsType[*apierror.Error](err)
	require.True(t, ok, "an *apierror.Error: %v", err)
	return e
}

type priced struct {
	Items []struct {
		Price int `json:"price"`
	} `json:"items"`
}

type recursive struct {
	C []recursive `json:"c"`
}

func repeat(prefix, item, sep, suffix string, n int) string {
	var b strings.Builder
	b.Grow(len(prefix) + n*(len(item)+len(sep)) + len(suffix))
	b.WriteString(prefix)
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(item)
	}
	b.WriteString(suffix)
	return b.String()
}

func nested(depth int) string {
	return strings.Repeat(`{"c":[`, depth) + strings.Repeat(`]}`, depth)
}

// TestMemoryIsBoundedByTheBody: what a decode allocates is a small
// multiple of the body, however many attributes it names (87k repeated
// bad keys cost 12 MB each, 17 times the body).
func TestMemoryIsBoundedByTheBody(t *testing.T) {
	bodies := map[string]string{
		"repeated bad key": repeat(`{`, `"a":"x"`, ",", "}", 87_000),
		"bad items":        repeat(`{"items":[`, `{"price":"x"}`, ",", "]}", 50_000),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			type model struct {
				A     int `json:"a"`
				Items []struct {
					Price int `json:"price"`
				} `json:"items"`
			}
			allocated := func(f func()) uint64 {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				f()
				runtime.ReadMemStats(&after)
				return after.TotalAlloc - before.TotalAlloc
			}
			var e *apierror.Error
			ours := allocated(func() { e = decodeBody(t, body, &model{}) })
			theirs := allocated(func() { _ = json.Unmarshal([]byte(body), &model{}) })
			require.NotNil(t, e)
			assert.Less(t, float64(ours), float64(theirs)+4*float64(len(body)),
				"%d bytes allocated for a body of %d, of which encoding/json's own %d", ours, len(body), theirs)
			assert.LessOrEqual(t, len(e.Attributes), 100, "Attributes kept")
			assert.Less(t, len(e.Detail), 2000)
		})
	}
}

type amountV1 struct {
	Amount float64 `json:"amount"`
	Note   string  `json:"note"`
}

type amountV2 struct {
	amountV1
	Amount string `json:"amount"`
}

type money struct {
	Amount json.Number `json:"amount" jsonbody:"required"`
}

type code string

func (c *code) UnmarshalText(b []byte) error {
	switch string(b) {
	case "EUR", "USD":
		*c = code(b)
		return nil
	}
	return fmt.Errorf("unknown currency %q", b)
}

type payment struct {
	Currency code `json:"currency"`
	Quantity int  `json:"quantity"`
}

// TestDecidesAsEncodingJSON: the cases where Decode judged otherwise than
// encoding/json decodes.
func TestDecidesAsEncodingJSON(t *testing.T) {
	var m money
	require.Nil(t, decodeBody(t, `{"amount":12.50}`, &m), "json.Number takes a number")
	assert.Equal(t, json.Number("12.50"), m.Amount)

	var v2 amountV2
	require.Nil(t, decodeBody(t, `{"amount":"12.50","note":"v2"}`, &v2), "the outer field wins over the embedded one")
	assert.Equal(t, "12.50", v2.Amount)
	assert.Equal(t, "v2", v2.Note)

	e := decodeBody(t, `{"currency":"XYZ"}`, &payment{})
	require.NotNil(t, e)
	assert.Equal(t, []apierror.Attribute{{Path: "currency", Reason: `is not a valid value: unknown currency "XYZ"`}}, e.Attributes,
		"named by its path, with the type's own reason")

	e = decodeBody(t, `{"currency":"XYZ","quantity":"x"}`, &payment{})
	require.NotNil(t, e)
	assert.Equal(t, []apierror.Attribute{
		{Path: "currency", Reason: `is not a valid value: unknown currency "XYZ"`},
		{Path: "quantity", Reason: "must be an integer"},
	}, e.Attributes, "still named beside another wrong attribute")
}

type ruled struct {
	N int `json:"n"`
}

func (r *ruled) Validate() []apierror.Attribute {
	if r.N < 0 {
		return []apierror.Attribute{apierror.Attr("n", "must not be negative")}
	}
	return nil
}

// Core is exported: a Validate of an unexported embedded type cannot be
// called through reflect, and runs only when it is promoted.
type Core struct {
	ID string `json:"id"`
}

func (b Core) Validate() []apierror.Attribute {
	if b.ID == "" {
		return []apierror.Attribute{apierror.Attr("id", "must not be empty")}
	}
	return nil
}

type withOwnRule struct {
	Core
	Name string `json:"name"`
}

func (w withOwnRule) Validate() []apierror.Attribute {
	if w.Name == "" {
		return []apierror.Attribute{apierror.Attr("name", "must not be empty")}
	}
	return nil
}

type Base struct {
	ID string `json:"id"`
}

func (b *Base) Validate() []apierror.Attribute {
	if b.ID == "" {
		return []apierror.Attribute{apierror.Attr("id", "must not be empty")}
	}
	return nil
}

type promotedRule struct {
	*Base
	Name string `json:"name"`
}

type deepRule struct {
	Next *deepRule `json:"next"`
	ruled
}

// TestEveryValidateRuns: the hooks that silently did not run.
func TestEveryValidateRuns(t *testing.T) {
	e := decodeBody(t, `{"name":"x"}`, &withOwnRule{})
	require.NotNil(t, e, "the embedded struct's rule runs beside the model's own")
	assert.Equal(t, []apierror.Attribute{{Path: "id", Reason: "must not be empty"}}, e.Attributes)

	e = decodeBody(t, `{"id":"","name":""}`, &withOwnRule{})
	require.NotNil(t, e)
	assert.Equal(t, []apierror.Attribute{{Path: "id", Reason: "must not be empty"}, {Path: "name", Reason: "must not be empty"}}, e.Attributes)

	e = decodeBody(t, `{"id":""}`, &promotedRule{})
	require.NotNil(t, e)
	assert.Equal(t, []apierror.Attribute{{Path: "id", Reason: "must not be empty"}}, e.Attributes, "a promoted rule runs once")
	assert.Nil(t, decodeBody(t, `{"name":"x"}`, &promotedRule{}), "no embedded struct, no rule to run (and no nil dereference)")

	e = decodeBody(t, `{"a":{"n":1},"b":{"n":-1}}`, &map[string]ruled{})
	require.NotNil(t, e, "a pointer-receiver rule runs on map values")
	assert.Equal(t, []apierror.Attribute{{Path: "b.n", Reason: "must not be negative"}}, e.Attributes)

	e = decodeBody(t, `{"m":{"z":{"n":-1},"a":{"n":-2}}}`, &struct {
		M map[string]ruled `json:"m"`
	}{})
	require.NotNil(t, e)
	assert.Equal(t, []apierror.Attribute{{Path: "m.a.n", Reason: "must not be negative"}, {Path: "m.z.n", Reason: "must not be negative"}}, e.Attributes, "in the order of the keys")

	const depth = 200 // the old walk stopped at 32
	body := strings.Repeat(`{"next":`, depth) + `{"n":-1}` + strings.Repeat(`}`, depth)
	e = decodeBody(t, body, &deepRule{})
	require.NotNil(t, e, "a rule %d levels down runs", depth)
	assert.Equal(t, strings.Repeat("next.", depth)+"n", e.Attributes[0].Path)
}

// TestValidateDoesNotLoopOnACycle: a cycle of pointers the caller put in
// the value before Decode is a 500 (the program's fault), not a hang.
func TestValidateDoesNotLoopOnACycle(t *testing.T) {
	v := &deepRule{}
	v.Next = v
	err := jsonbody.Decode(httptest.NewRecorder(), request("application/json", `{"n":1}`), v)
	e, ok := errors.AsType[*apierror.Error](err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, http.StatusInternalServerError, e.Status)
}

// TestAttributesAreCountedNotKept: 1 MiB of bad items names 20, keeps
// 100 and counts the rest exactly.
func TestAttributesAreCountedNotKept(t *testing.T) {
	const n = 300_000
	e := decodeBody(t, repeat(`{"items":[`, "1", ",", "]}", n), &priced{})
	require.NotNil(t, e)
	assert.Equal(t, 100, len(e.Attributes))
	assert.Equal(t, "items[0]", e.Attributes[0].Path)
	assert.Contains(t, e.Detail, fmt.Sprintf("; and %d more", n-20))
}
