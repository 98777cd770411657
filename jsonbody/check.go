package jsonbody

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// A walk reads a body's JSON once, token by token, beside the model's
// plan, and names each attribute that does not fit: for what encoding/json
// refused (explain), for a required attribute that is missing or null, and
// for an unknown one (unknown). The body is valid JSON (encoding/json has
// read it already), which the walk relies on; every value is visited once
// and nothing of it is copied but the names it reports, so the walk is
// linear in the body's size whatever the model.
type walk struct {
	data    []byte
	i       int
	explain bool // encoding/json refused the body: say why
	unknown bool // DisallowUnknownFields
	path    path
	rank    int
	out     *collector
	quiet   int // inside the value of a key its object gave before: named already
}

func (w *walk) bad(reason string) {
	if w.quiet == 0 {
		w.out.add(w.rank, &w.path, reason)
	}
}

func (w *walk) ws() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// skip moves past the value at w.i.
func (w *walk) skip() {
	w.ws()
	switch w.data[w.i] {
	case '"':
		w.str()
	case '{', '[':
		depth := 0
		for w.i < len(w.data) {
			switch w.data[w.i] {
			case '"':
				w.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					w.i++
					return
				}
			}
			w.i++
		}
	default:
		for w.i < len(w.data) {
			switch c := w.data[w.i]; {
			case c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n':
				return
			}
			w.i++
		}
	}
}

// str moves past the string at w.i and returns its raw contents (without
// the quotes, escapes as sent) and whether it has escapes.
func (w *walk) str() ([]byte, bool) {
	start := w.i + 1
	escaped := false
	for w.i++; w.i < len(w.data); w.i++ {
		switch w.data[w.i] {
		case '\\':
			escaped = true
			w.i++
		case '"':
			w.i++
			return w.data[start : w.i-1], escaped
		}
	}
	return w.data[start:], escaped
}

// text is the string at w.i as encoding/json reads it: unescaped, and
// invalid UTF-8 replaced.
func (w *walk) text() []byte {
	start := w.i
	raw, escaped := w.str()
	if !escaped && utf8.Valid(raw) {
		return raw
	}
	var s string
	if json.Unmarshal(w.data[start:w.i], &s) != nil {
		return raw
	}
	return []byte(s)
}

func (w *walk) literal() []byte {
	start := w.i
	w.skip()
	return w.data[start:w.i]
}

// value walks the value at w.i as p says encoding/json decodes it, and
// reports whether it was null.
func (w *walk) value(p *plan) (null bool) {
	w.ws()
	c := w.data[w.i]
	if c == 'n' {
		w.i += 4
		if w.explain && p.shape == shapeUnmarshaler {
			w.unmarshal(p, []byte("null"))
		}
		return true
	}
	if !w.explain && !p.needsRequired && !(w.unknown && p.needsStruct) {
		w.skip()
		return false
	}
	switch p.shape {
	case shapePointer:
		return w.value(p.elem)
	case shapeUnmarshaler:
		raw := w.literal()
		if w.explain {
			w.unmarshal(p, raw)
		}
		return false
	case shapeText:
		if c != '"' {
			w.skip()
			w.bad("must be a string")
			return false
		}
		s := w.text()
		if w.explain {
			if err := reflect.New(p.t).Interface().(encoding.TextUnmarshaler).UnmarshalText(s); err != nil {
				w.bad(refused(err))
			}
		}
		return false
	}
	switch c {
	case '{':
		w.object(p)
	case '[':
		w.array(p)
	case '"':
		raw := w.text()
		if !w.explain {
			return false
		}
		switch p.shape {
		case shapeAny, shapeString:
		case shapeNumber:
			if !validNumber(raw) {
				w.bad("must be a number, or a string holding one")
			}
		case shapeBytes:
			if _, err := base64.StdEncoding.Decode(make([]byte, base64.StdEncoding.DecodedLen(len(raw))), raw); err != nil {
				w.bad("must be valid base64")
			}
		default:
			w.wrong(p)
		}
	case 't', 'f':
		w.skip()
		if w.explain && p.shape != shapeBool && p.shape != shapeAny {
			w.wrong(p)
		}
	default:
		w.number(p, w.literal())
	}
	return false
}

// number checks the number literal raw against p.
func (w *walk) number(p *plan, raw []byte) {
	if !w.explain {
		return
	}
	switch p.shape {
	case shapeNumber:
	case shapeInt:
		if !isInteger(raw) {
			w.bad("must be an integer, without a fraction or an exponent")
		} else if n, err := strconv.ParseInt(string(raw), 10, 64); err != nil || n < minInt(p.bits) || n > maxInt(p.bits) {
			w.bad("must be an integer from " + strconv.FormatInt(minInt(p.bits), 10) + " to " + strconv.FormatInt(maxInt(p.bits), 10))
		}
	case shapeUint:
		if !isInteger(raw) {
			w.bad("must be an integer, without a fraction or an exponent")
		} else if n, err := strconv.ParseUint(string(raw), 10, 64); err != nil || n > maxUint(p.bits) {
			w.bad("must be an integer from 0 to " + strconv.FormatUint(maxUint(p.bits), 10))
		}
	case shapeFloat, shapeAny:
		bits := p.bits
		if p.shape == shapeAny {
			bits = 64 // encoding/json decodes into a float64
		}
		if f, err := strconv.ParseFloat(string(raw), bits); err != nil || math.IsInf(f, 0) {
			w.bad("must be a number within range")
		}
	default:
		w.wrong(p)
	}
}

// wrong reports a JSON value of the wrong kind for p.
func (w *walk) wrong(p *plan) {
	switch p.shape {
	case shapeString, shapeText:
		w.bad("must be a string")
	case shapeNumber, shapeFloat:
		w.bad("must be a number")
	case shapeInt, shapeUint:
		w.bad("must be an integer")
	case shapeBool:
		w.bad("must be true or false")
	case shapeBytes:
		w.bad("must be a base64 string")
	case shapeSlice, shapeArray:
		w.bad("must be an array")
	case shapeMap, shapeStruct:
		w.bad("must be an object")
	default:
		w.bad("cannot be given: the service's model has no JSON form for it")
	}
}

func (w *walk) array(p *plan) {
	var elem *plan
	switch p.shape {
	case shapeSlice, shapeArray, shapeBytes:
		elem = p.elem
	case shapeAny:
		elem = p
	default:
		w.skip()
		if w.explain {
			w.wrong(p)
		}
		return
	}
	w.i++ // [
	depth := w.path.depth()
	for k := 0; ; k++ {
		w.ws()
		if w.data[w.i] == ']' {
			w.i++
			break
		}
		if p.shape == shapeArray && k >= p.arrayLen {
			w.skip() // encoding/json drops what a Go array has no room for
		} else {
			w.path.index(k)
			w.value(elem)
			w.path.pop(depth)
		}
		w.ws()
		if w.data[w.i] == ',' {
			w.i++
		}
	}
}

func (w *walk) object(p *plan) {
	switch {
	case p.shape == shapeStruct:
	case p.shape == shapeAny:
	case p.shape == shapeMap && p.key != nil:
	case p.shape == shapeMap:
		w.skip()
		if w.explain {
			w.bad("cannot be given: the service's model has no JSON form for it")
		}
		return
	default:
		w.skip()
		if w.explain {
			w.wrong(p)
		}
		return
	}
	top := w.path.depth() == 0
	// Of a key given twice, a value after one that had an attribute named
	// is checked quietly: encoding/json refuses it all the same, and the
	// attribute is named once (the last value counts for required).
	var seen, nulls, erred bits
	var small [3]uint64
	if p.shape == shapeStruct {
		if len(p.fields) <= 64 {
			seen, nulls, erred = small[0:1], small[1:2], small[2:3]
		} else {
			seen, nulls, erred = newBits(len(p.fields)), newBits(len(p.fields)), newBits(len(p.fields))
		}
	}
	var keys repeats
	w.i++ // {
	depth := w.path.depth()
	for member := 0; ; member++ {
		w.ws()
		if w.data[w.i] == '}' {
			w.i++
			break
		}
		key := w.text()
		w.ws()
		w.i++ // :
		switch p.shape {
		case shapeStruct:
			f := p.lookup(key)
			if f < 0 {
				w.path.name(key, len(p.fields)+member)
				if top {
					w.rank = len(p.fields)
				}
				w.skip()
				if h, before := keys.named(w.out.seed, key); w.unknown && !before {
					w.bad("is not a known attribute")
					keys.erred(h)
				}
				break
			}
			fp := &p.fields[f]
			w.path.name([]byte(fp.name), f)
			if top {
				w.rank = f
			}
			again := erred.get(f)
			if again {
				w.quiet++
			}
			before := w.out.total
			var null bool
			if fp.quoted {
				null = w.quoted(fp.plan)
			} else {
				null = w.value(fp.plan)
			}
			if again {
				w.quiet--
			}
			seen.set(f, true)
			nulls.set(f, null)
			if w.out.total > before {
				erred.set(f, true)
			}
		case shapeMap:
			w.path.name(key, member)
			h, again := keys.named(w.out.seed, key)
			if again {
				w.quiet++
			}
			before := w.out.total
			if w.explain {
				w.key(p.key, key)
			}
			w.value(p.elem)
			if again {
				w.quiet--
			} else if w.out.total > before {
				keys.erred(h)
			}
		default: // shapeAny
			w.path.name(key, member)
			h, again := keys.named(w.out.seed, key)
			if again {
				w.quiet++
			}
			before := w.out.total
			w.value(p)
			if again {
				w.quiet--
			} else if w.out.total > before {
				keys.erred(h)
			}
		}
		w.path.pop(depth)
		w.ws()
		if w.data[w.i] == ',' {
			w.i++
		}
	}
	for _, f := range p.required {
		if (!seen.get(f) || nulls.get(f)) && !erred.get(f) {
			w.path.name([]byte(p.fields[f].name), f)
			if top {
				w.rank = f
			}
			w.bad("is required")
			w.path.pop(depth)
		}
	}
}

// repeats tells, for the keys of one object, whether one was given
// before and whether its value then had an attribute named, by hash:
// nothing is held for an object's first key, a set from its second.
type repeats struct {
	first      uint64
	firstErred bool
	n          int
	set        map[uint64]bool
}

// named reports whether key was given before in this object with a value
// that had an attribute named, and records key.
func (r *repeats) named(seed uint64, key []byte) (h uint64, before bool) {
	h = fnv(seed, key)
	r.n++
	if r.n == 1 {
		r.first = h
		return h, false
	}
	if r.set == nil {
		r.set = map[uint64]bool{r.first: r.firstErred}
	}
	erred, ok := r.set[h]
	if !ok {
		r.set[h] = false
	}
	return h, erred
}

// erred records that the value of key h had an attribute named.
func (r *repeats) erred(h uint64) {
	if r.set == nil {
		r.firstErred = true
	} else {
		r.set[h] = true
	}
}

// key checks a map key as encoding/json converts it.
func (w *walk) key(k *plan, key []byte) {
	switch k.shape {
	case shapeText:
		if err := reflect.New(k.t).Interface().(encoding.TextUnmarshaler).UnmarshalText(key); err != nil {
			w.bad("is not a valid key: " + refused(err))
		}
	case shapeInt:
		if n, err := strconv.ParseInt(string(key), 10, 64); err != nil || n < minInt(k.bits) || n > maxInt(k.bits) {
			w.bad("is not a valid key: must be an integer from " + strconv.FormatInt(minInt(k.bits), 10) + " to " + strconv.FormatInt(maxInt(k.bits), 10))
		}
	case shapeUint:
		if n, err := strconv.ParseUint(string(key), 10, 64); err != nil || n > maxUint(k.bits) {
			w.bad("is not a valid key: must be an integer from 0 to " + strconv.FormatUint(maxUint(k.bits), 10))
		}
	}
}

// quoted walks the value of a field with the "string" option: null, or a
// JSON string holding the literal that encoding/json then decodes as if
// it stood there (with encoding/json's leniency: it reads the number with
// strconv). It reports whether the value was null.
func (w *walk) quoted(p *plan) (null bool) {
	w.ws()
	switch w.data[w.i] {
	case 'n':
		return w.value(p)
	case '"':
		inner := w.text()
		if w.explain && !quotedFits(p.base(), inner) {
			w.bad("must be a string holding " + kindWord(p.base()))
		}
		return false
	}
	w.skip()
	if w.explain {
		w.bad("must be a string holding " + kindWord(p.base()))
	}
	return false
}

// quotedFits reports whether encoding/json takes inner, the contents of a
// "string" field's JSON string, for a value of p.
func quotedFits(p *plan, inner []byte) bool {
	if len(inner) == 0 {
		return false
	}
	switch p.shape {
	case shapeUnmarshaler:
		return reflect.New(p.t).Interface().(json.Unmarshaler).UnmarshalJSON(inner) == nil
	case shapeText:
		if inner[0] != '"' {
			return false
		}
		var s string
		if json.Unmarshal(inner, &s) != nil {
			return false
		}
		return reflect.New(p.t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)) == nil
	}
	s := string(inner)
	switch c := inner[0]; {
	case c == 'n':
		return s == "null"
	case c == 't' || c == 'f':
		return (s == "true" || s == "false") && p.shape == shapeBool
	case c == '"':
		var u string
		if json.Unmarshal(inner, &u) != nil {
			return false
		}
		return p.shape == shapeString || (p.shape == shapeNumber && validNumber([]byte(u)))
	case c != '-' && (c < '0' || c > '9'):
		return false
	}
	switch p.shape {
	case shapeNumber:
		return true
	case shapeInt:
		n, err := strconv.ParseInt(s, 10, 64)
		return err == nil && n >= minInt(p.bits) && n <= maxInt(p.bits)
	case shapeUint:
		n, err := strconv.ParseUint(s, 10, 64)
		return err == nil && n <= maxUint(p.bits)
	case shapeFloat:
		_, err := strconv.ParseFloat(s, p.bits)
		return err == nil
	}
	return false
}

// unmarshal runs p's UnmarshalJSON on raw, as encoding/json would, and
// names the attribute if it refuses.
func (w *walk) unmarshal(p *plan, raw []byte) {
	err := reflect.New(p.t).Interface().(json.Unmarshaler).UnmarshalJSON(raw)
	if err == nil {
		return
	}
	if p.t == timeType {
		if len(raw) == 0 || raw[0] != '"' {
			w.bad("must be a date-time (RFC 3339) string")
		} else {
			w.bad("must be a date-time (RFC 3339), such as 2026-11-25T09:30:00Z")
		}
		return
	}
	w.bad(refused(err))
}

// maxReason bounds the text of a model's own error in a reason.
const maxReason = 200

// refused is the reason for a value a model's UnmarshalJSON or
// UnmarshalText refused: its error's text, which the model's author wrote
// for this ("unknown currency \"XYZ\""), bounded.
func refused(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != nil {
		if te.Field != "" {
			return "is not a valid value: " + truncateUTF8(te.Field, maxReason) + " must be " + jsonKind(te.Type)
		}
		return "must be " + jsonKind(te.Type)
	}
	return "is not a valid value: " + truncateUTF8(err.Error(), maxReason)
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func kindWord(p *plan) string {
	switch p.shape {
	case shapeBool:
		return "a boolean"
	case shapeFloat, shapeNumber:
		return "a number"
	case shapeString, shapeText:
		return "a JSON string"
	}
	return "an integer"
}

// appendName appends the path of member name: .name, or ["name"] for a
// name that is not a plain identifier (a map key with a dot or a bracket
// in it, an empty one), so that a path reads one way.
func appendName(path, name []byte) []byte {
	if !plain(name) {
		return append(strconv.AppendQuote(append(path, '['), string(name)), ']')
	}
	if len(path) > 0 {
		path = append(path, '.')
	}
	return append(path, name...)
}

func plain(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for i, r := range name {
		if r != '_' && r != '-' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && (i == 0 || !('0' <= r && r <= '9')) {
			return false
		}
	}
	return true
}

// validNumber reports whether s is a JSON number literal.
func validNumber(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if len(s) == 0 {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if len(s) == 0 {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return len(s) == 0
}

// isInteger reports whether the number literal raw has no fraction and no
// exponent.
func isInteger(raw []byte) bool {
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

func minInt(bits int) int64 { return -1 << (bits - 1) }

func maxInt(bits int) int64 { return 1<<(bits-1) - 1 }

func maxUint(bits int) uint64 { return 1<<bits - 1 }

// bits is a set of field positions, nil when nothing is tracked.
type bits []uint64

func newBits(n int) bits { return make(bits, (n+63)/64) }

func (b bits) set(i int, on bool) {
	if on {
		b[i/64] |= 1 << (i % 64)
	} else {
		b[i/64] &^= 1 << (i % 64)
	}
}

func (b bits) get(i int) bool { return b != nil && b[i/64]&(1<<(i%64)) != 0 }
