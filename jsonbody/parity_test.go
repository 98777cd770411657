package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
)

// The models of the differential fuzz target: every way encoding/json
// decodes, none of the kit's own rules (required, Validate), so that
// encoding/json's decision is the whole decision.

type currency string

func (c *currency) UnmarshalText(b []byte) error {
	if len(b) != 3 || strings.ToUpper(string(b)) != string(b) {
		return fmt.Errorf("unknown currency %q", b)
	}
	*c = currency(b)
	return nil
}

type textKey struct{ s string }

func (k *textKey) UnmarshalText(b []byte) error {
	if bytes.ContainsRune(b, '!') {
		return errors.New("no ! in a key")
	}
	k.s = string(b)
	return nil
}

// even is a json.Unmarshaler that takes even integers only.
type even int

func (e *even) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	if n%2 != 0 {
		return errors.New("odd")
	}
	*e = even(n)
	return nil
}

type v1 struct {
	Amount float64 `json:"amount"`
	Note   string  `json:"note"`
	Deep   struct {
		X int `json:"x"`
	} `json:"deep"`
}

type v2 struct {
	v1
	Amount string `json:"amount"` // overrides v1's
}

type ambiguousA struct{ Dup int }
type ambiguousB struct{ Dup string }

type diffModel struct {
	S     string          `json:"s"`
	I     int8            `json:"i"`
	U     uint16          `json:"u"`
	F     float32         `json:"f"`
	B     bool            `json:"b"`
	N     json.Number     `json:"n"`
	R     json.RawMessage `json:"r"`
	T     time.Time       `json:"t"`
	P     *int            `json:"p"`
	PP    **string        `json:"pp"`
	A     [2]int          `json:"a"`
	Sl    []int           `json:"sl"`
	By    []byte          `json:"by"`
	M     map[string]int  `json:"m"`
	MI    map[int8]string `json:"mi"`
	MT    map[textKey]int `json:"mt"`
	Any   any             `json:"any"`
	Iface fmt.Stringer    `json:"iface"`
	Q     int             `json:"q,string"`
	QS    string          `json:"qs,string"`
	QF    *float64        `json:"qf,string"`
	QB    bool            `json:"qb,string"`
	QN    json.Number     `json:"qn,string"`
	Cur   currency        `json:"cur"`
	Curs  []currency      `json:"curs"`
	Ev    even            `json:"ev"`
	EvP   *even           `json:"evp"`
	V2    v2              `json:"v2"`
	Rec   *diffModel      `json:"rec"`
	Ch    chan int        `json:"ch"`
	Cx    complex64       `json:"cx"`
	MB    map[bool]int    `json:"mb"`
	Skip  int             `json:"-"`
	//lint:ignore SA5008 the tag names the field "-", as encoding/json reads it
	Dash   int               `json:"-,"`
	Nested map[string][]*v1  `json:"nested"`
	Fold   int               `json:"FoLd"`
	Uni    int               `json:"ſtraße"`
	Arr    [1]map[string]any `json:"arr"`
	ambiguousA
	ambiguousB
}

func parityCheck(t *testing.T, body []byte, unknown bool) {
	var want diffModel
	dec := json.NewDecoder(bytes.NewReader(body))
	if unknown {
		dec.DisallowUnknownFields()
	}
	jerr := dec.Decode(&want)
	if jerr == nil && dec.More() {
		return // more than one value: a syntax matter, below
	}
	if jerr == nil {
		if _, err := dec.Token(); err == nil {
			return
		}
	}
	var got diffModel
	err := decodeBytes(body, &got, options{disallowUnknow: unknown})
	if _, ok := errors.AsType[*json.SyntaxError](json.Unmarshal(body, new(any))); ok || len(bytes.TrimSpace(body)) == 0 {
		e, ok := errors.AsType[*apierror.Error](err)
		require.True(t, ok, "%q: %v", body, err)
		require.Equal(t, apierror.CodeValidation, e.Code, "%q: %v", body, err)
		return
	}
	if firstByte(body) != '{' {
		require.Error(t, err, "%q: not an object", body)
		return
	}
	if jerr == nil {
		require.NoError(t, err, "%q: encoding/json takes it", body)
		require.True(t, reflect.DeepEqual(want, got), "%q: the same value as encoding/json\nwant %#v\ngot  %#v", body, want, got)
		// And the walk, asked to explain, finds nothing to say.
		c := newCollector(1, false)
		w := walk{data: body, explain: true, unknown: unknown, out: c, path: c.path()}
		w.value(planFor(reflect.TypeFor[diffModel]()))
		require.Zero(t, c.total, "%q: the walk names %v where encoding/json takes the body", body, c.result())
		return
	}
	e, ok := errors.AsType[*apierror.Error](err)
	require.True(t, ok, "%q: encoding/json refuses it (%v), Decode takes it", body, jerr)
	require.Equal(t, apierror.CodeInvalidModel, e.Code, "%q: %v", body, e)
	require.NotEmpty(t, e.Attributes, "%q", body)
	// The walk itself names the attribute: the fallback to encoding/json's
	// own words is for what the walk cannot see.
	c := newCollector(1, false)
	w := walk{data: body, explain: true, unknown: unknown, out: c, path: c.path()}
	w.value(planFor(reflect.TypeFor[diffModel]()))
	require.NotZero(t, c.total, "%q: encoding/json refuses it (%v) and the walk names nothing", body, jerr)
}

var paritySeeds = []string{
	`{}`,
	`{"s":"x","i":-128,"u":65535,"f":1.5,"b":true,"n":12.50,"r":{"a":[1,2]},"t":"2026-11-25T09:30:00Z"}`,
	`{"i":128}`, `{"i":1.0}`, `{"u":-1}`, `{"u":-0}`, `{"i":-0}`, `{"f":1e39}`, `{"f":"1"}`, `{"s":1}`, `{"b":"true"}`,
	`{"n":"12.5"}`, `{"n":"x"}`, `{"n":true}`, `{"n":{}}`, `{"r":null}`, `{"t":"yesterday"}`, `{"t":12}`, `{"t":null}`,
	`{"p":null}`, `{"p":"1"}`, `{"pp":"x"}`, `{"pp":null}`, `{"pp":1}`,
	`{"a":[1,2,3]}`, `{"a":[1,"x",3]}`, `{"a":["x","y","z"]}`, `{"a":{}}`, `{"sl":[1,[2]]}`, `{"sl":"x"}`,
	`{"by":"aGVsbG8="}`, `{"by":"!!"}`, `{"by":[1,2,300]}`, `{"by":[1,2]}`, `{"by":1}`,
	`{"m":{"a":1,"a":"x"}}`, `{"m":[]}`, `{"mi":{"1":"a","x":"b"}}`, `{"mi":{"300":"a"}}`, `{"mt":{"ok":1,"no!":2}}`,
	`{"any":1e999}`, `{"any":{"a":[1e400]}}`, `{"any":[true,null,"x",{}]}`, `{"iface":null}`, `{"iface":"x"}`, `{"iface":{}}`,
	`{"q":"12"}`, `{"q":12}`, `{"q":"012"}`, `{"q":" 12"}`, `{"q":"1e2"}`, `{"q":""}`, `{"q":null}`, `{"q":"null"}`,
	`{"qs":"\"x\""}`, `{"qs":"x"}`, `{"qs":"\"x"}`, `{"qf":"0x10"}`, `{"qf":"1.5"}`, `{"qf":"Inf"}`, `{"qb":"true"}`, `{"qb":"yes"}`, `{"qb":true}`,
	`{"qn":"12abc"}`, `{"qn":"\"1\""}`, `{"qn":"\"x\""}`,
	`{"cur":"EUR"}`, `{"cur":"eur"}`, `{"cur":1}`, `{"curs":["EUR","x","USD"]}`, `{"cur":"eur","i":1000}`,
	`{"ev":2}`, `{"ev":3}`, `{"ev":null}`, `{"ev":"2"}`, `{"evp":null}`, `{"evp":3}`,
	`{"v2":{"amount":"12.50","note":"n"}}`, `{"v2":{"amount":12.5}}`, `{"v2":{"deep":{"x":"y"}}}`,
	`{"rec":{"rec":{"i":1000}}}`, `{"rec":null}`, `{"ch":null}`, `{"ch":1}`, `{"cx":1}`, `{"mb":{}}`, `{"mb":null}`,
	`{"Skip":"x","-":"y"}`, `{"-":1}`, `{"nested":{"a":[{"amount":"x"},null]}}`, `{"FOLD":1,"fold":"x"}`, `{"STRASSE":1}`, `{"ſtraße":"x"}`,
	`{"arr":[{"a":1},{"b":2}]}`, `{"Dup":1}`, `{"Dup":"x"}`, `{"unknown":1}`, `{"S":"case"}`, `{"\u0073":1}`,
	`{"s":"a\u0000b","m":{"\"":1}}`, `null`, `[]`, `"x"`, `{"s":"x"} {}`, `{"s":`, ``, `{"i":1}x`,
}

func FuzzDecodeLikeEncodingJSON(f *testing.F) {
	for _, s := range paritySeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, unknown bool) {
		parityCheck(t, body, unknown)
	})
}
