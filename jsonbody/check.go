package jsonbody

import (
	"bytes"
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/360x/errkit/apierror"
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType            = reflect.TypeFor[time.Time]()
)

// check appends to attrs every way raw, the JSON at path, does not fit t.
// required says that null is not allowed.
func check(attrs *[]apierror.Attribute, path string, raw json.RawMessage, t reflect.Type, required bool, o options) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		if required {
			add(attrs, path, "is required")
		}
		return
	}
	t = deref(t)
	bad := func(reason string) { add(attrs, path, reason) }
	switch {
	case t == timeType:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			bad("must be a date-time (RFC 3339) string")
		} else if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			bad("must be a date-time (RFC 3339), such as 2026-11-25T09:30:00Z")
		}
		return
	case reflect.PointerTo(t).Implements(unmarshalerType):
		if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
			bad("is not a valid value")
		}
		return
	case reflect.PointerTo(t).Implements(textUnmarshalerType) && t.Kind() != reflect.String:
		var s string
		if json.Unmarshal(raw, &s) != nil || reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)) != nil {
			bad("is not a valid value")
		}
		return
	}
	c := raw[0]
	switch t.Kind() {
	case reflect.Interface:
		// Anything goes.
	case reflect.String:
		if c != '"' {
			bad("must be a string")
		}
	case reflect.Bool:
		if c != 't' && c != 'f' {
			bad("must be true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !isNumber(c) {
			bad("must be an integer")
		} else if !isInteger(raw) {
			bad("must be an integer, without a fraction or an exponent")
		} else if _, err := strconv.ParseInt(string(raw), 10, t.Bits()); err != nil {
			bad("must be an integer from " + strconv.FormatInt(minInt(t.Bits()), 10) + " to " + strconv.FormatInt(maxInt(t.Bits()), 10))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !isNumber(c) {
			bad("must be an integer")
		} else if !isInteger(raw) {
			bad("must be an integer, without a fraction or an exponent")
		} else if _, err := strconv.ParseUint(string(raw), 10, t.Bits()); err != nil {
			bad("must be an integer from 0 to " + strconv.FormatUint(maxUint(t.Bits()), 10))
		}
	case reflect.Float32, reflect.Float64:
		if !isNumber(c) {
			bad("must be a number")
		} else if f, err := strconv.ParseFloat(string(raw), t.Bits()); err != nil || math.IsInf(f, 0) {
			bad("must be a number within range")
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			if c != '"' {
				bad("must be a base64 string")
			} else if json.Unmarshal(raw, new([]byte)) != nil {
				bad("must be valid base64")
			}
			return
		}
		if c != '[' {
			bad("must be an array")
			return
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			bad("must be an array")
			return
		}
		if t.Kind() == reflect.Array && len(items) > t.Len() {
			bad("must have at most " + strconv.Itoa(t.Len()) + " items")
		}
		for i, item := range items {
			check(attrs, path+"["+strconv.Itoa(i)+"]", item, t.Elem(), false, o)
		}
	case reflect.Map:
		if c != '{' {
			bad("must be an object")
			return
		}
		if k := t.Key().Kind(); k != reflect.String && !reflect.PointerTo(t.Key()).Implements(textUnmarshalerType) {
			// Integer keys and the like: leave them to encoding/json.
			return
		}
		members, ok := objectMembers(raw)
		if !ok {
			bad("must be an object")
			return
		}
		for _, m := range members {
			check(attrs, join(path, m.name), m.value, t.Elem(), false, o)
		}
	case reflect.Struct:
		if c != '{' {
			bad("must be an object")
			return
		}
		members, ok := objectMembers(raw)
		if !ok {
			bad("must be an object")
			return
		}
		checkStruct(attrs, path, members, t, o)
	default:
		// Channels, functions, complex numbers: encoding/json refuses them
		// itself.
	}
}

// field is a struct field as encoding/json sees it.
type field struct {
	name     string
	typ      reflect.Type
	required bool
	quoted   bool  // the "string" option: a number or boolean sent as a JSON string
	index    []int // for reflect.Value.FieldByIndexErr
}

// fields returns t's JSON fields in declaration order, the fields of
// embedded structs in place.
func fields(t reflect.Type) []field { return fieldsAt(t, nil) }

func fieldsAt(t reflect.Type, at []int) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		index := append(append([]int(nil), at...), i)
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct {
			out = append(out, fieldsAt(deref(f.Type), index)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name: name, typ: f.Type, required: hasOption(f.Tag.Get("jsonbody"), "required"),
			quoted: hasOption(opts, "string") && quotable(f.Type), index: index})
	}
	return out
}

// quotable reports whether the "string" option applies to t, as
// encoding/json applies it: to numbers and booleans (and pointers to them).
func quotable(t reflect.Type) bool {
	switch deref(t).Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// checkStruct checks an object's members against the struct type t.
func checkStruct(attrs *[]apierror.Attribute, path string, members []member, t reflect.Type, o options) {
	fs := fields(t)
	// A field given more than once takes its last value, as encoding/json
	// does: only that one is checked.
	last := make([]int, len(fs))
	for i := range last {
		last[i] = -1
	}
	for k, m := range members {
		if i := matchField(fs, m.name); i >= 0 {
			last[i] = k
		} else if o.disallowUnknow {
			add(attrs, join(path, m.name), "is not a known attribute")
		}
	}
	for i, f := range fs {
		if last[i] < 0 {
			if f.required {
				add(attrs, join(path, f.name), "is required")
			}
			continue
		}
		// Every value given must fit (encoding/json refuses a wrong one
		// even when a later one replaces it); only the last must be there.
		for k, m := range members {
			if k > last[i] || matchField(fs, m.name) != i {
				continue
			}
			required := f.required && k == last[i]
			if f.quoted {
				checkQuoted(attrs, join(path, f.name), m.value, f.typ, required, o)
			} else {
				check(attrs, join(path, f.name), m.value, f.typ, required, o)
			}
		}
	}
}

// checkQuoted checks a field with the "string" option: a JSON string
// holding the number or boolean (or null).
func checkQuoted(attrs *[]apierror.Attribute, path string, raw json.RawMessage, t reflect.Type, required bool, o options) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		check(attrs, path, raw, t, required, o)
		return
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		add(attrs, path, "must be a string holding "+kindWord(deref(t)))
		return
	}
	n := len(*attrs)
	check(attrs, path, json.RawMessage(s), t, required, o)
	if len(*attrs) > n || strings.TrimSpace(s) != s || s == "" {
		*attrs = append((*attrs)[:n], apierror.Attr(orBody(path), "must be a string holding "+kindWord(deref(t))))
	}
}

func kindWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "an integer"
}

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// matchField finds the field for a member name as encoding/json does: an
// exact match first, then one that differs in case only.
func matchField(fs []field, name string) int {
	for i, f := range fs {
		if f.name == name {
			return i
		}
	}
	for i, f := range fs {
		if strings.EqualFold(f.name, name) {
			return i
		}
	}
	return -1
}

// member is one member of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// objectMembers returns raw's members in order (a repeated name once per
// appearance, as encoding/json lets the last one win).
func objectMembers(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		out = append(out, member{name: name, value: value})
	}
	return out, true
}

// join is the JSON path of member name inside path: path.name, or
// path["name"] for a name that is not a plain identifier (a map key with a
// dot or a bracket in it, an empty one), so that a path reads one way.
func join(path, name string) string {
	if !plain(name) {
		return path + "[" + strconv.Quote(name) + "]"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func plain(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if r != '_' && r != '-' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && (i == 0 || !('0' <= r && r <= '9')) {
			return false
		}
	}
	return true
}

// add appends the attribute, once: a path named for the same reason twice
// (two embedded structs with the same field) is named once.
func add(attrs *[]apierror.Attribute, path, reason string) {
	a := apierror.Attr(orBody(path), reason)
	for _, have := range *attrs {
		if have == a {
			return
		}
	}
	*attrs = append(*attrs, a)
}

func isNumber(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

// isInteger reports whether the number literal raw has no fraction and no
// exponent.
func isInteger(raw []byte) bool { return !bytes.ContainsAny(raw, ".eE") }

func minInt(bits int) int64 { return -1 << (bits - 1) }

func maxInt(bits int) int64 { return 1<<(bits-1) - 1 }

func maxUint(bits int) uint64 { return 1<<bits - 1 }
