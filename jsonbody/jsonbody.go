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
//   - a body whose JSON does not fit the model: 400 invalid_model naming
//     every offending attribute by its JSON path ("items[0].price") with
//     the reason: the wrong type ("must be an integer" for 1.5, "must be a
//     string"), a required attribute that is missing or null (a field
//     tagged `jsonbody:"required"`, beside its json tag:
//     `json:"price" jsonbody:"required"`; a tag of its own, since
//     encoding/json and the tools that check json tags know no such
//     option), and an unknown attribute when [DisallowUnknownFields] is
//     given;
//   - a model whose Validate method ([Validator]) names attributes, or any
//     value nested in it (a field, an item, a map value) whose own Validate
//     does: 400 invalid_model with them, a nested one's paths put under
//     its own ("items[2]" + "price"). Validate runs on what decoded even when
//     other attributes were wrong, so that the client learns of every
//     offending attribute at once (one already named is not named again).
//     The attributes are grouped by the model's top-level field, in the
//     order the fields are declared (nested structs too, array items in
//     order), then the model's own.
//
// A path names a member as encoding/json decodes it: a field matched
// case-insensitively; of a name given twice, every value must have the
// right type (encoding/json refuses a wrong one even when a later one
// replaces it) and the last one counts for required; a map key that is
// not a plain identifier is written in brackets (tags["a.b"]). A field with the
// json option "string" takes its number or boolean as a JSON string. The
// detail names the first 20 attributes and counts the rest.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
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
	mt, params, err := mime.ParseMediaType(ct)
	if (err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter)) || !isJSON(mt) {
		return apierror.UnsupportedMediaType(ct, "application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		// JSON is UTF-8 (RFC 8259); a body in another encoding would be
		// read as garbage.
		return apierror.New(http.StatusUnsupportedMediaType, "The charset of the body must be UTF-8.")
	}
	if r.ContentLength > o.limit {
		return apierror.PayloadTooLarge(o.limit)
	}
	if r.Body == nil {
		return apierror.Validation("The body is empty; a JSON value is required.")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return apierror.PayloadTooLarge(o.limit).WithCause(err)
		}
		return apierror.Validation("The body could not be read.").WithCause(err)
	}
	return decodeBytes(data, v, o)
}

func isJSON(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// decodeBytes is Decode once the body is read.
func decodeBytes(data []byte, v any, o options) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return apierror.Validation("The body is empty; a JSON value is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return syntaxError(data, err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return syntaxError(data, err)
		}
		return apierror.Validation("The body must hold exactly one JSON value.")
	}

	t := reflect.TypeOf(v).Elem()
	if k := deref(t).Kind(); (k == reflect.Struct || k == reflect.Map) && firstByte(raw) != '{' {
		return apierror.Validation("The body must be a JSON object.")
	}
	var attrs []apierror.Attribute
	check(&attrs, "", raw, t, false, o)
	uerr := json.Unmarshal(raw, v)
	if uerr != nil && len(attrs) == 0 {
		// check accepts only what Unmarshal can decode; this is a model
		// with a custom UnmarshalJSON that refused.
		return apierror.InvalidModel(apierror.Attr("body", "is not a valid value")).WithCause(uerr)
	}
	// The domain rules run on what decoded, so that every offending
	// attribute is named at once; an attribute already named for its
	// type or its absence is not named again.
	named := make(map[string]bool, len(attrs))
	for _, a := range attrs {
		named[a.Path] = true
	}
	for _, a := range validate(reflect.ValueOf(v)) {
		if !named[a.Path] {
			attrs = append(attrs, a)
		}
	}
	if len(attrs) == 0 {
		return nil
	}
	sortByField(attrs, deref(t))
	return apierror.InvalidModel(attrs...)
}

// sortByField orders attrs as the model's fields are declared (by the
// first segment of each path), keeping the order of those of one field.
func sortByField(attrs []apierror.Attribute, t reflect.Type) {
	if t.Kind() != reflect.Struct {
		return
	}
	rank := map[string]int{}
	for i, f := range fields(t) {
		rank[f.name] = i
	}
	root := func(path string) int {
		if i := strings.IndexAny(path, ".["); i >= 0 {
			path = path[:i]
		}
		if r, ok := rank[path]; ok {
			return r
		}
		return len(rank)
	}
	slices.SortStableFunc(attrs, func(a, b apierror.Attribute) int { return root(a.Path) - root(b.Path) })
}

// syntaxError is the validation_error for JSON that does not parse, with
// where it goes wrong.
func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := position(data, se.Offset)
		msg := strings.TrimPrefix(se.Error(), "json: ")
		return apierror.Validation("The body is not valid JSON: " + msg + " at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ".").WithCause(err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, int64(len(data)))
		return apierror.Validation("The body is not valid JSON: it ends early, at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ".").WithCause(err)
	}
	return apierror.Validation("The body is not valid JSON.").WithCause(err)
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

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
