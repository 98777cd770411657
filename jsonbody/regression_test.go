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
	got := e.Attributes[0].Path
	assert.True(t, strings.HasPrefix(got, "next.next.") && strings.HasSuffix(got, ".next.n"), got)
	assert.Contains(t, got, "…", "a path of %d bytes is cut in the middle", len(strings.Repeat("next.", depth))+1)
	assert.LessOrEqual(t, len(got), 256+len("…"))
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

// What the outside try of the new code found, each a test that failed on
// it.

type aliasMoney struct {
	Amount int    `json:"amount"`
	Cur    string `json:"cur"`
}

// UnmarshalJSON is the usual alias pattern: it passes on encoding/json's
// own *json.UnmarshalTypeError.
func (m *aliasMoney) UnmarshalJSON(b []byte) error {
	type alias aliasMoney
	a := alias{Cur: "USD"}
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	*m = aliasMoney(a)
	return nil
}

type settings struct{ M map[string]any }

// UnmarshalJSON takes its JSON from a string, and passes on the
// *json.SyntaxError of that string's JSON.
func (s *settings) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	return json.Unmarshal([]byte(str), &s.M)
}

type category struct {
	Name string     `json:"name"`
	Subs []category `json:"subs"`
}

func (c category) Validate() []apierror.Attribute {
	if c.Name == "" {
		return []apierror.Attribute{apierror.Attr("name", "must not be empty")}
	}
	return nil
}

var promotedCalls int

type CountedBase struct {
	ID int `json:"id"`
}

func (b CountedBase) Validate() []apierror.Attribute { promotedCalls++; return nil }

type countedOffer struct {
	CountedBase
	Name string `json:"name"`
}

type twoRules struct {
	P int `json:"P"`
}

func (twoRules) Validate() []apierror.Attribute {
	return []apierror.Attribute{apierror.Attr("P", "must be odd"), apierror.Attr("Q", "extra")}
}

type checkedItem struct {
	X int `json:"x"`
}

func (checkedItem) Validate() []apierror.Attribute {
	return []apierror.Attribute{apierror.Attr("v", "is checked")}
}

type leaf struct {
	X int `json:"x"`
}

func (l *leaf) Validate() []apierror.Attribute {
	if l.X > 10 {
		return []apierror.Attribute{apierror.Attr("x", "must be at most 10")}
	}
	return nil
}

func TestOutsideFindings(t *testing.T) {
	t.Run("an Unmarshaler passing on json's type error is a 400", func(t *testing.T) {
		var order struct {
			Note  string     `json:"note"`
			Price aliasMoney `json:"price"`
		}
		for _, body := range []string{`{"price":{"amount":"x"}}`, `{"price":{"cur":1}}`} {
			e := decodeBody(t, body, &order)
			require.NotNil(t, e, body)
			assert.Equal(t, http.StatusBadRequest, e.Status, body)
			require.Len(t, e.Attributes, 1, body)
			assert.Equal(t, "price", e.Attributes[0].Path, body)
		}
	})
	t.Run("a syntax error inside an Unmarshaler names the attribute", func(t *testing.T) {
		var m struct {
			Name     string   `json:"name"`
			Settings settings `json:"settings"`
		}
		e := decodeBody(t, `{"name":"x","settings":"{\"a\":"}`, &m)
		require.NotNil(t, e)
		assert.Equal(t, apierror.CodeInvalidModel, e.Code, e.Detail)
		require.Len(t, e.Attributes, 1)
		assert.Equal(t, "settings", e.Attributes[0].Path)
	})
	t.Run("rules at every level of a deep body cost linear time", func(t *testing.T) {
		body := func(d int) string { return strings.Repeat(`{"subs":[`, d) + `{}` + strings.Repeat(`]}`, d) }
		allocs := func(d int) uint64 {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			e := decodeBody(t, body(d), &category{})
			runtime.ReadMemStats(&after)
			require.NotNil(t, e)
			assert.Contains(t, e.Detail, fmt.Sprintf("and %d more", d+1-20))
			return after.TotalAlloc - before.TotalAlloc
		}
		small, large := allocs(500), allocs(4000)
		assert.Less(t, float64(large)/float64(small), 8*2.0, "bytes allocated at depth 500 and 4,000: %d and %d", small, large)
	})
	t.Run("a promoted Validate runs once", func(t *testing.T) {
		promotedCalls = 0
		require.Nil(t, decodeBody(t, `{"id":1}`, &countedOffer{}))
		assert.Equal(t, 1, promotedCalls)
		promotedCalls = 0
		require.Nil(t, decodeBody(t, `{"o":{"id":1},"items":[{},{},{}]}`, &struct {
			O     countedOffer   `json:"o"`
			Items []countedOffer `json:"items"`
		}{}))
		assert.Equal(t, 4, promotedCalls)
	})
	t.Run("the count is of distinct attributes", func(t *testing.T) {
		const n = 1000
		e := decodeBody(t, repeat(`{"items":[`, `{"P":"x"}`, ",", "]}", n), &struct {
			Items []twoRules `json:"items"`
		}{})
		require.NotNil(t, e)
		assert.Contains(t, e.Detail, fmt.Sprintf("; and %d more", 2*n-20), "items[i].P from the JSON, items[i].Q from Validate")
	})
	t.Run("an answer stays small whatever the keys", func(t *testing.T) {
		long := strings.Repeat("k", 512<<10)
		e := decodeBody(t, `{"`+long+`":1}`, &priced{}, jsonbody.DisallowUnknownFields())
		require.NotNil(t, e)
		assert.Less(t, len(e.Detail), 1000)
		e = decodeBody(t, `{"m":{"`+long+`":"x"}}`, &struct {
			M map[string]int `json:"m"`
		}{})
		require.NotNil(t, e)
		assert.Less(t, len(e.Detail), 1000)
		err := jsonbody.Decode(httptest.NewRecorder(), request("application/"+long, "{}"), &priced{})
		require.Error(t, err)
		assert.Less(t, len(err.(*apierror.Error).Detail), 300, "the 415 names the media type, bounded")
	})
	t.Run("attributes of an item stay in item order", func(t *testing.T) {
		e := decodeBody(t, `{"s":[{"x":1},{"x":"bad"}]}`, &struct {
			S []checkedItem `json:"s"`
		}{})
		require.NotNil(t, e)
		assert.Equal(t, []apierror.Attribute{
			{Path: "s[0].v", Reason: "is checked"},
			{Path: "s[1].x", Reason: "must be an integer"},
			{Path: "s[1].v", Reason: "is checked"},
		}, e.Attributes)
	})
	t.Run("a value put in an interface before Decode has its rules run", func(t *testing.T) {
		m := struct {
			Any any `json:"any"`
		}{Any: &leaf{}}
		e := decodeBody(t, `{"any":{"x":14}}`, &m)
		require.NotNil(t, e)
		assert.Equal(t, []apierror.Attribute{{Path: "any.x", Reason: "must be at most 10"}}, e.Attributes)
	})
	t.Run("application/+json is not JSON", func(t *testing.T) {
		err := jsonbody.Decode(httptest.NewRecorder(), request("application/+json", "{}"), &priced{})
		require.Error(t, err)
		assert.Equal(t, http.StatusUnsupportedMediaType, err.(*apierror.Error).Status)
	})
}

// TestLimitInFrontIsTheOneNamed: behind http.MaxBytesHandler with a
// smaller limit, the 413 names that limit, not Decode's own.
func TestLimitInFrontIsTheOneNamed(t *testing.T) {
	h := http.MaxBytesHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := jsonbody.Decode(w, r, &map[string]any{})
		e, ok := errors.AsType[*apierror.Error](err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, e.Status)
		assert.Contains(t, e.Detail, "10 bytes")
	}), 10)
	r := request("application/json", `{"a":"01234567890123"}`)
	r.ContentLength = -1 // read, not refused from the header
	h.ServeHTTP(httptest.NewRecorder(), r)
}
