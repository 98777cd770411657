package jsonbody

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxValueDepth bounds the walk of the decoded value for Validate methods.
// A JSON body encoding/json accepts is at most 10,000 levels deep, which
// is at most 30,000 steps of struct field, item and pointer here; a value
// deeper than this bound holds a cycle of pointers that the caller put in
// it before Decode, and Decode answers 500 rather than loop.
const maxValueDepth = 40_000

// rules calls the Validate method of the model and of every value nested
// in it that has one (struct fields, embedded structs, array and slice
// items, map values), once each, and hands their attributes to the
// collector with paths from the root: a Validate of an item type names
// "price", the answer names "items[2].price".
type rules struct {
	out     *collector
	top     *plan
	path    path
	tooDeep bool
}

func (r *rules) walk(v reflect.Value, p *plan, depth int) {
	if !p.needsValidate {
		return
	}
	if depth > maxValueDepth {
		r.tooDeep = true
		return
	}
	switch p.shape {
	case shapePointer:
		if v.IsNil() {
			return
		}
		r.walk(v.Elem(), p.elem, depth+1)
		return
	case shapeAny, shapeInterface:
		// A value the caller put there before Decode (JSON makes maps,
		// slices and scalars of an empty interface, with no rules).
		if v.IsNil() {
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Pointer || e.Kind() == reflect.Struct {
			r.walk(e, planFor(e.Type()), depth+1)
		}
		return
	}
	r.call(v, p)
	switch p.shape {
	case shapeStruct:
		for _, e := range p.embedded {
			ev, err := v.FieldByIndexErr(e.index)
			if err != nil {
				continue // through a nil embedded pointer
			}
			ep := e.plan
			for ep.shape == shapePointer {
				if ev.IsNil() {
					break
				}
				ev, ep = ev.Elem(), ep.elem
			}
			if ep.shape != shapePointer {
				r.call(ev, ep)
			}
		}
		d := r.path.depth()
		for i, f := range p.fields {
			if !f.plan.needsValidate {
				continue
			}
			fv, err := v.FieldByIndexErr(f.index)
			if err != nil {
				continue
			}
			r.path.name([]byte(f.name), i)
			r.walk(fv, f.plan, depth+1)
			r.path.pop(d)
		}
	case shapeSlice, shapeArray, shapeBytes:
		d := r.path.depth()
		for i := range v.Len() {
			r.path.index(i)
			r.walk(v.Index(i), p.elem, depth+1)
			r.path.pop(d)
		}
	case shapeMap:
		r.mapValues(v, p, depth)
	}
}

// mapValues walks a map's values in the order of their keys, each copied
// so that a Validate with a pointer receiver runs on it too (a map value
// cannot be addressed).
func (r *rules) mapValues(v reflect.Value, p *plan, depth int) {
	type entry struct {
		name string
		key  reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		entries = append(entries, entry{keyName(it.Key()), it.Key()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	d := r.path.depth()
	for i, e := range entries {
		c := reflect.New(p.elem.t).Elem()
		c.Set(v.MapIndex(e.key))
		r.path.name([]byte(e.name), i)
		r.walk(c, p.elem, depth+1)
		r.path.pop(d)
	}
}

// keyName is a map key as it reads in JSON.
func keyName(k reflect.Value) string {
	if m, ok := k.Interface().(encoding.TextMarshaler); ok {
		if b, err := m.MarshalText(); err == nil {
			return string(b)
		}
	}
	switch k.Kind() {
	case reflect.String:
		return k.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10)
	}
	return fmt.Sprint(k.Interface())
}

// call runs v's own Validate, if it has one. A Validate promoted from an
// embedded struct is that struct's, which the walk calls itself; one
// promoted from an embedded struct of an unexported type (which reflect
// cannot call) runs through v, when that struct is there (through a nil
// pointer it would panic).
func (r *rules) call(v reflect.Value, p *plan) {
	if !v.CanInterface() {
		return // reached through an unexported field
	}
	if p.promoted != nil {
		if p.promotedExported {
			return
		}
		ev, err := v.FieldByIndexErr(p.promoted)
		if err != nil || (ev.Kind() == reflect.Pointer && ev.IsNil()) {
			return
		}
	}
	var val Validator
	switch {
	case p.validDirect:
		val = v.Interface().(Validator)
	case p.validAddr && v.CanAddr():
		val = v.Addr().Interface().(Validator)
	case p.validAddr:
		c := reflect.New(v.Type())
		c.Elem().Set(v)
		val = c.Interface().(Validator)
	default:
		return
	}
	attrs := val.Validate()
	if len(attrs) == 0 {
		return
	}
	for _, a := range attrs {
		rank := r.rank(a.Path)
		r.out.addRule(rank, &r.path, a.Path, a.Reason)
	}
}

// rank is the position of the top-level field that the attribute a
// Validate names at rel, under the walk's path, is in.
func (r *rules) rank(rel string) int {
	if r.top.shape != shapeStruct {
		return 0
	}
	root := rel
	if r.path.depth() > 0 {
		root = string(r.path.buf[:r.path.segs[0].end])
	}
	if i, ok := r.top.exact[rootOf(root)]; ok {
		return i
	}
	return len(r.top.fields)
}

// under is the path rel (as a nested Validate names it) inside path.
func under(path, rel string) string {
	switch {
	case path == "":
		if rel == "body" {
			return ""
		}
		return rel
	case rel == "" || rel == "body":
		return path
	case strings.HasPrefix(rel, "["):
		return path + rel
	}
	return path + "." + rel
}
