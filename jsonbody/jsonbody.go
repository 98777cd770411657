// Package jsonbody reads a request's JSON body into a Go value and answers
// every way it can fail with the 360X error for it, so that a handler needs
// one call:
//
//	var in createOffer
//	if err := jsonbody.Decode(w, r, &in); err != nil {
//		return err // an *apierror.Error: 415, 413, 400 validation_error or invalid_model
//	}
//
// The failures, in the order they are checked:
//
//   - a Content-Type that is not JSON (application/json, or any
//     application/*+json), or declares a charset other than UTF-8: 415,
//     naming the media type without its parameters;
//   - a body over the limit (1 MiB unless [WithLimit] says otherwise): 413,
//     from the Content-Length before anything is read (a client that sent
//     Expect: 100-continue is answered without sending its body), or while
//     reading;
//   - a body that cannot be read: the read error, wrapped in a 400; behind
//     middleware.Errors a read timeout is a 408 and a client that reset
//     the connection or went away is logged as such, never as a 400;
//   - an empty body, a body that is not JSON (with the line and column of
//     the first error), or holds more than one JSON value: 400
//     validation_error;
//   - a body whose JSON encoding/json refuses for the model: 400
//     invalid_model naming every offending attribute by its JSON path
//     ("items[0].price") with a reason a client can act on: the wrong type
//     ("must be an integer" for 1.5, "must be a string"), a number out of
//     range, a value a type's own UnmarshalJSON or UnmarshalText refused
//     (with that method's error text: `is not a valid value: unknown
//     currency "XYZ"`);
//   - a body that breaks the kit's own rules, which encoding/json does not
//     know: 400 invalid_model naming a required attribute that is missing
//     or null (a field tagged `jsonbody:"required"`, beside its json tag:
//     `json:"price" jsonbody:"required"`; a tag of its own, since
//     encoding/json and the tools that check json tags know no such
//     option), an unknown attribute when [DisallowUnknownFields] is given,
//     and, for a struct or map model, a body that is not a JSON object
//     (null included: 400 validation_error);
//   - a model whose Validate method ([Validator]) names attributes, or any
//     value nested in it whose own Validate does: 400 invalid_model with
//     them, a nested one's paths put under its own ("items[2]" + "price").
//
// # The same decisions as encoding/json
//
// What json.Unmarshal decodes into the model, Decode accepts with the same
// value (it is json.Unmarshal that decodes it), unless one of the kit's
// rules above refuses it; what json.Unmarshal refuses, Decode refuses.
// That holds for json.Number, json.RawMessage, Unmarshaler and
// TextUnmarshaler types, embedded structs and the fields that override
// theirs, pointers, maps (string, integer and TextUnmarshaler keys),
// slices, arrays (extra items dropped), interfaces and the "string"
// option; a differential fuzz target beside encoding/json keeps it so.
// A path names a member as encoding/json matches it: the exact name, else
// one equal under case folding; a map key that is not a plain identifier
// is written in brackets (tags["a.b"]). Of a name given twice, every value
// must fit (encoding/json refuses a wrong one even when a later one
// replaces it) and the last one counts for required.
//
// # Validate methods
//
// Every Validate runs, once, on what decoded, even when other attributes
// were wrong, so that the client learns of every offending attribute at
// once (one the JSON already named is not named again): the model's, its
// fields', its embedded structs' (beside the model's own, or once when it
// is promoted to the model; through a nil embedded pointer, none), array
// and slice items', and map values' (a pointer-receiver Validate runs on a
// copy of the value, in the order of the keys), at any depth a JSON body
// can reach. An embedded struct of an unexported type cannot be called
// through reflect: its Validate runs when it is promoted to the model, and
// otherwise only if the model's own Validate calls it. A cycle of pointers
// put in the value before Decode is a 500, not a hang.
//
// # Order, bounds and cost
//
// The attributes are grouped by the model's top-level field, in the order
// the fields are declared (nested structs too, array items in order), then
// the unknown ones and the model's own. The detail names the first 20 and
// counts the rest (each distinct attribute once); [apierror.Error.Attributes]
// holds the first 100. A path over 256 bytes (a key of a megabyte, a value
// thousands of levels down) keeps its start and end around "…", and a
// reason quoting a type's own error text keeps its first 200 bytes, so an
// answer and its log line stay a few kilobytes whatever the body. Decode
// reads the body once with encoding/json and, only where it must (a
// refusal to explain, a required field, unknown attributes, Validate
// methods), walks it once more beside the model's type: its time is linear
// in the body's size, and what it holds beyond encoding/json's own is the
// kept attributes and some bytes for each offending one (to count each
// once), whatever the body holds. On a body encoding/json refuses, a
// type's own UnmarshalJSON or UnmarshalText runs a second time, on a new
// value, to find what it refused. Inside a value the caller put in an
// interface field before Decode, encoding/json decodes into it, and
// Decode runs its Validate methods but looks for no required or unknown
// attributes.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/360x/errkit/apierror"
)

// Validator is a model with domain rules: Validate returns the offending
// attributes (none when the model is valid), checked after the JSON
// decoded cleanly.
type Validator interface {
	Validate() []apierror.Attribute
}

// DefaultLimit is the largest body Decode reads unless [WithLimit] says
// otherwise.
const DefaultLimit = 1 << 20

// Option configures [Decode].
type Option func(*options)

type options struct {
	limit          int64
	disallowUnknow bool
}

// WithLimit sets the largest body, in bytes, that Decode reads; the
// default is [DefaultLimit]. Decode panics on a limit below 1.
func WithLimit(n int64) Option {
	return func(o *options) {
		if n < 1 {
			panic("jsonbody: WithLimit(" + strconv.FormatInt(n, 10) + ")")
		}
		o.limit = n
	}
}

// DisallowUnknownFields makes an attribute the model does not have an
// invalid one ("is not a known attribute"), instead of ignoring it.
func DisallowUnknownFields() Option { return func(o *options) { o.disallowUnknow = true } }

// Decode reads r's JSON body into v, a non-nil pointer, and returns nil,
// or the *apierror.Error that answers the request (see the package
// documentation for each). w is the response writer, for
// http.MaxBytesReader.
func Decode(w http.ResponseWriter, r *http.Request, v any, opts ...Option) error {
	o := options{limit: DefaultLimit}
	for _, opt := range opts {
		opt(&o)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("jsonbody: Decode needs a non-nil pointer, got " + reflect.TypeOf(v).String())
	}

	ct := r.Header.Get("Content-Type")
	if !plainJSON(ct) {
		mt, params, err := mime.ParseMediaType(ct)
		if (err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter)) || !isJSON(mt) {
			return apierror.UnsupportedMediaType(ct, "application/json")
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			// JSON is UTF-8 (RFC 8259); a body in another encoding would be
			// read as garbage.
			return apierror.New(http.StatusUnsupportedMediaType, "The charset of the body must be UTF-8.")
		}
	}
	if r.ContentLength > o.limit {
		return apierror.PayloadTooLarge(o.limit)
	}
	if r.Body == nil {
		return apierror.Validation("The body is empty; a JSON value is required.")
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // read at once, not by doubling
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, o.limit))
	data := buf.Bytes()
	if err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			// The limit that stopped the read: Decode's own, or a smaller
			// one in front (http.MaxBytesHandler).
			return apierror.PayloadTooLarge(min(mbe.Limit, o.limit)).WithCause(err)
		}
		return apierror.Validation("The body could not be read.").WithCause(err)
	}
	return decodeBytes(data, v, o)
}

// plainJSON reports whether ct is one of the two Content-Types nearly
// every client sends, which need no parsing.
func plainJSON(ct string) bool {
	return ct == "application/json" || strings.EqualFold(ct, "application/json; charset=utf-8")
}

func isJSON(mt string) bool {
	return mt == "application/json" || (len(mt) > len("application/+json") && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// decodeBytes is Decode once the body is read. encoding/json decides:
// what json.Unmarshal takes, Decode takes, with the same value. A walk of
// the body beside the model's plan then says why encoding/json refused
// (every offending attribute, where json.Unmarshal names the first), and
// adds the kit's own rules: required attributes, unknown ones when they are
// refused, and the Validate methods.
func decodeBytes(data []byte, v any, o options) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return apierror.Validation("The body is empty; a JSON value is required.")
	}
	rv := reflect.ValueOf(v)
	p := planFor(rv.Type().Elem())
	uerr := json.Unmarshal(data, v)
	if se, ok := errors.AsType[*json.SyntaxError](uerr); ok && !json.Valid(data) {
		return syntaxError(data, se) // not one a type's UnmarshalJSON returned
	}
	top := p.base()
	if (top.shape == shapeStruct || top.shape == shapeMap) && firstByte(data) != '{' {
		return apierror.Validation("The body must be a JSON object.")
	}
	ranks := 1
	if top.shape == shapeStruct {
		ranks = len(top.fields) + 1
	}
	c := newCollector(ranks, p.needsValidate)
	if uerr != nil || p.needsRequired || (o.disallowUnknow && p.needsStruct) {
		w := walk{data: data, explain: uerr != nil, unknown: o.disallowUnknow, out: c, path: c.path()}
		w.value(p)
	}
	if uerr != nil && c.total == 0 {
		// A refusal the walk could not place: name what encoding/json
		// names.
		at := c.path()
		if te, ok := errors.AsType[*json.UnmarshalTypeError](uerr); ok && te.Field != "" && te.Type != nil {
			at.raw([]byte(te.Field))
			c.add(ranks-1, &at, "must be "+jsonKind(te.Type))
		} else {
			c.add(ranks-1, &at, refused(uerr))
		}
	}
	if p.needsValidate {
		r := rules{out: c, top: top, path: c.path()}
		r.walk(rv.Elem(), p, 0)
		if r.tooDeep {
			return apierror.Internal(errors.New("jsonbody: the value given to Decode is nested deeper than any JSON body can make it: is there a cycle of pointers in it?"))
		}
	}
	// encoding/json's own error is not the cause: the detail says it, and
	// its text quotes the body (a number literal of any length).
	if e := c.result(); e != nil {
		return e
	}
	return nil
}

// syntaxError is the validation_error for JSON that does not parse, with
// where it goes wrong.
func syntaxError(data []byte, se *json.SyntaxError) error {
	off := se.Offset
	switch {
	case off >= 1 && off <= int64(len(data)) && json.Valid(data[:off-1]):
		// A whole value, then something else.
		return apierror.Validation("The body must hold exactly one JSON value.").WithCause(se)
	case se.Error() == "unexpected end of JSON input":
		line, col := position(data, int64(len(data)))
		return apierror.Validation("The body is not valid JSON: it ends early, at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ".").WithCause(se)
	}
	line, col := position(data, off)
	msg := strings.TrimPrefix(se.Error(), "json: ")
	return apierror.Validation("The body is not valid JSON: " + msg + " at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ".").WithCause(se)
}

// position returns the line and column (both from 1, the column in
// characters) of byte offset off of data.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = len([]rune(string(before[bytes.LastIndexByte(before, '\n')+1:])))
	if col == 0 {
		col = 1
	}
	return line, col
}

func firstByte(raw []byte) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}
