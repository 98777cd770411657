package jsonbody

import (
	"encoding"
	"encoding/json"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	validatorType       = reflect.TypeFor[Validator]()
	timeType            = reflect.TypeFor[time.Time]()
	numberType          = reflect.TypeFor[json.Number]()
)

// shape is how encoding/json decodes into a type, the one decision the
// walk and the Validate calls take from a [plan].
type shape uint8

const (
	shapeUnsupported shape = iota // channels, functions, complex numbers
	shapePointer                  // followed, allocated by encoding/json
	shapeAny                      // an empty interface: any JSON
	shapeInterface                // an interface with methods: only null
	shapeUnmarshaler              // json.Unmarshaler: the value is its own
	shapeText                     // encoding.TextUnmarshaler: a JSON string
	shapeString
	shapeNumber // json.Number: a number, or a string holding one
	shapeBool
	shapeInt
	shapeUint
	shapeFloat
	shapeBytes // []byte: a base64 string, or an array of numbers
	shapeSlice
	shapeArray
	shapeMap
	shapeStruct
)

// A plan is what Decode needs to know of a Go type, worked out once per
// type: how encoding/json decodes into it, the plans of what it holds, and
// which Validate methods can be reached from it. Plans are immutable once
// built and cached for the life of the process, like encoding/json's own
// field cache; recursive types are plans that point at each other.
type plan struct {
	t     reflect.Type
	shape shape
	bits  int // of the numbers

	elem     *plan // pointer target, slice, array and map elements
	key      *plan // map keys: shapeString, shapeInt, shapeUint or shapeText; nil when encoding/json takes no object
	arrayLen int

	fields    []fieldPlan    // a struct's JSON fields in declaration order, as encoding/json resolves them
	exact     map[string]int // field index by name
	folded    map[string]int // field index by folded name (encoding/json's case-insensitive match)
	required  []int          // the fields tagged jsonbody:"required"
	embedded  []embeddedPlan // embedded structs that are Validators, at any depth
	hasFields bool           // a struct, possibly through other shapes: unknown attributes can occur

	validAddr        bool  // *T is a Validator
	validDirect      bool  // T is a Validator
	promoted         []int // T's Validate is an embedded struct's, reached through the fields at this index
	promotedExported bool  // and that struct's field is exported: the walk calls it itself

	// Reachability, for skipping what cannot matter: a required field, a
	// struct (for unknown attributes), a Validator, somewhere in the value.
	needsRequired bool
	needsStruct   bool
	needsValidate bool
}

// fieldPlan is one JSON field of a struct.
type fieldPlan struct {
	name     string
	plan     *plan
	index    []int
	required bool
	quoted   bool // the "string" option
}

// embeddedPlan is an embedded struct whose own Validate Decode calls, at
// the path of the struct that embeds it.
type embeddedPlan struct {
	index []int
	plan  *plan
}

var plans sync.Map // reflect.Type → *plan

// planFor returns the plan of t, building and caching it (with the plans
// of every type it holds) the first time.
func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	b := builder{made: map[reflect.Type]*plan{}}
	p := b.build(t)
	b.reach()
	for typ, q := range b.made {
		plans.LoadOrStore(typ, q)
	}
	return p
}

type builder struct {
	made  map[reflect.Type]*plan
	order []*plan
}

func (b *builder) build(t reflect.Type) *plan {
	if p, ok := b.made[t]; ok {
		return p
	}
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := &plan{t: t}
	b.made[t] = p
	b.order = append(b.order, p)
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		pt := reflect.PointerTo(t)
		p.validAddr = pt.Implements(validatorType)
		p.validDirect = t.Implements(validatorType)
	}
	switch {
	case t.Kind() == reflect.Pointer:
		p.shape = shapePointer
		p.elem = b.build(t.Elem())
		return p
	case t.Kind() == reflect.Interface:
		p.shape = shapeInterface
		if t.NumMethod() == 0 {
			p.shape = shapeAny
		}
		return p
	case reflect.PointerTo(t).Implements(unmarshalerType):
		p.shape = shapeUnmarshaler
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		p.shape = shapeText
	}
	switch t.Kind() {
	case reflect.Struct:
		b.structFields(p)
	case reflect.Slice, reflect.Array:
		p.elem = b.build(t.Elem())
		p.arrayLen = -1
		if t.Kind() == reflect.Array {
			p.arrayLen = t.Len()
		}
	case reflect.Map:
		p.elem = b.build(t.Elem())
		p.key = keyPlan(t.Key())
	}
	if p.shape != shapeUnsupported {
		return p // an Unmarshaler or a TextUnmarshaler
	}
	switch t.Kind() {
	case reflect.String:
		p.shape = shapeString
		if t == numberType {
			p.shape = shapeNumber
		}
	case reflect.Bool:
		p.shape = shapeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.shape, p.bits = shapeInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.shape, p.bits = shapeUint, t.Bits()
	case reflect.Float32, reflect.Float64:
		p.shape, p.bits = shapeFloat, t.Bits()
	case reflect.Slice:
		p.shape = shapeSlice
		if t.Elem().Kind() == reflect.Uint8 {
			p.shape = shapeBytes
		}
	case reflect.Array:
		p.shape = shapeArray
	case reflect.Map:
		p.shape = shapeMap
	case reflect.Struct:
		p.shape = shapeStruct
	}
	return p
}

// keyPlan is the plan of a map's keys as encoding/json converts them:
// a TextUnmarshaler first, then strings and integers; nil for any other
// key, for which encoding/json refuses every object.
func keyPlan(k reflect.Type) *plan {
	if reflect.PointerTo(k).Implements(textUnmarshalerType) {
		return &plan{t: k, shape: shapeText}
	}
	switch k.Kind() {
	case reflect.String:
		return &plan{t: k, shape: shapeString}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &plan{t: k, shape: shapeInt, bits: k.Bits()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &plan{t: k, shape: shapeUint, bits: k.Bits()}
	}
	return nil
}

// candidate is a field met while resolving a struct's JSON fields.
type candidate struct {
	name     string
	tagged   bool
	index    []int
	typ      reflect.Type
	required bool
	quoted   bool
}

// structFields resolves a struct's JSON fields with encoding/json's
// rules: embedded structs explored breadth first; of the fields with one
// name, the shallowest wins, then the tagged one; two equally good are
// both dropped.
func (b *builder) structFields(p *plan) {
	var found []candidate
	type level struct {
		typ   reflect.Type
		index []int
	}
	current, next := []level{}, []level{{typ: p.t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := range l.typ.NumField() {
				sf := l.typ.Field(i)
				if sf.Anonymous {
					t := sf.Type
					if t.Kind() == reflect.Pointer {
						t = t.Elem()
					}
					if !sf.IsExported() && t.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTag(name) {
					name = ""
				}
				index := append(append([]int(nil), l.index...), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					c := candidate{name: name, tagged: name != "", index: index, typ: sf.Type,
						required: hasOption(sf.Tag.Get("jsonbody"), "required"),
						quoted:   hasOption(opts, "string") && quotable(ft)}
					if c.name == "" {
						c.name = sf.Name
					}
					found = append(found, c)
					if count[l.typ] > 1 {
						found = append(found, c) // two instances: both are dropped below
					}
					continue
				}
				// An embedded struct: its Validate runs at this path, and its
				// fields are explored at the next level. (One of an
				// unexported type cannot be called through reflect; its
				// Validate runs when it is promoted to the model.)
				ep := b.build(sf.Type)
				if base := ep.base(); p.promoted == nil && (p.validAddr || p.validDirect) && !declaresValidate(p.t) && (base.validAddr || base.validDirect) {
					p.promoted = index // the shallowest comes first: the one Go promotes
					p.promotedExported = sf.IsExported()
				}
				if sf.IsExported() {
					p.embedded = append(p.embedded, embeddedPlan{index: index, plan: ep})
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, level{typ: ft, index: index})
				}
			}
		}
	}
	// The dominant field of each name, in declaration order.
	byName := map[string][]int{}
	for i, c := range found {
		byName[c.name] = append(byName[c.name], i)
	}
	keep := make([]bool, len(found))
	for _, idx := range byName {
		best := idx[0]
		for _, i := range idx[1:] {
			if better(found[i], found[best]) {
				best = i
			}
		}
		ambiguous := false
		for _, i := range idx {
			if i != best && len(found[i].index) == len(found[best].index) && found[i].tagged == found[best].tagged {
				ambiguous = true
			}
		}
		if !ambiguous {
			keep[best] = true
		}
	}
	var kept []candidate
	for i, c := range found {
		if keep[i] {
			kept = append(kept, c)
		}
	}
	sortByIndex(kept)
	p.exact = make(map[string]int, len(kept))
	p.folded = make(map[string]int, len(kept))
	for i, c := range kept {
		p.fields = append(p.fields, fieldPlan{name: c.name, plan: b.build(c.typ), index: c.index, required: c.required, quoted: c.quoted})
		if c.required {
			p.required = append(p.required, i)
		}
		p.exact[c.name] = i
		if f := string(foldName(nil, []byte(c.name))); !has(p.folded, f) {
			p.folded[f] = i // the first folded match wins, as in encoding/json
		}
	}
	p.hasFields = true
}

// declaresValidate reports whether t declares a Validate method of its
// own, rather than having one promoted from a struct it embeds. reflect
// does not say; a promoted method's code is a wrapper the compiler
// generates, and that is what the runtime reports as its file.
func declaresValidate(t reflect.Type) bool {
	m, ok := t.MethodByName("Validate")
	if !ok {
		m, ok = reflect.PointerTo(t).MethodByName("Validate")
	}
	if !ok {
		return false
	}
	pc := m.Func.Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	return file != "<autogenerated>"
}

// better reports whether a dominates b among fields of one name: it is
// shallower, or as deep and tagged where b is not.
func better(a, b candidate) bool {
	if len(a.index) != len(b.index) {
		return len(a.index) < len(b.index)
	}
	return a.tagged && !b.tagged
}

func sortByIndex(cs []candidate) {
	slices.SortFunc(cs, func(a, b candidate) int { return slices.Compare(a.index, b.index) })
}

// reach works out, over every plan built, which can reach a required
// field, a struct and a Validator, by iterating to a fixed point (the
// graph may have cycles).
func (b *builder) reach() {
	for _, p := range b.order {
		p.needsRequired = len(p.required) > 0
		p.needsStruct = p.shape == shapeStruct
		// An interface may hold a value with rules that the caller put
		// there before Decode.
		p.needsValidate = p.validAddr || p.validDirect || p.shape == shapeAny || p.shape == shapeInterface
		if p.shape == shapeStruct {
			for _, e := range p.embedded {
				if ep := e.plan.base(); ep.validAddr || ep.validDirect {
					p.needsValidate = true
				}
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, p := range b.order {
			if p.shape == shapeUnmarshaler || p.shape == shapeText {
				continue // its JSON is its own: neither walked nor required
			}
			for _, c := range p.children() {
				if c.needsRequired && !p.needsRequired {
					p.needsRequired, changed = true, true
				}
				if c.needsStruct && !p.needsStruct {
					p.needsStruct, changed = true, true
				}
				if c.needsValidate && !p.needsValidate {
					p.needsValidate, changed = true, true
				}
			}
		}
	}
}

func has(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// base is p with its pointers followed.
func (p *plan) base() *plan {
	for p.shape == shapePointer {
		p = p.elem
	}
	return p
}

func (p *plan) children() []*plan {
	var out []*plan
	if p.elem != nil {
		out = append(out, p.elem)
	}
	for _, f := range p.fields {
		out = append(out, f.plan)
	}
	return out
}

// lookup finds the field for a member name as encoding/json does: the
// exact name, then one equal under case folding.
func (p *plan) lookup(name []byte) int {
	if i, ok := p.exact[string(name)]; ok {
		return i
	}
	var buf [64]byte
	if i, ok := p.folded[string(foldName(buf[:0], name))]; ok {
		return i
	}
	return -1
}

// foldName appends in folded as encoding/json folds field names: ASCII
// letters upper-cased, other runes to the smallest of their fold set.
func foldName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// validTag reports whether a json tag's name is one encoding/json uses.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// quotable reports whether the "string" option applies to a field of type
// t (a pointer followed), as encoding/json applies it.
func quotable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
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
