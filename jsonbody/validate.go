package jsonbody

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/360x/errkit/apierror"
)

var validatorType = reflect.TypeFor[Validator]()

// maxValidateDepth bounds how deep validate looks for nested Validators.
const maxValidateDepth = 32

// validate calls the Validate method of v and of every value nested in it
// (struct fields, array and slice items, map values) that has one, and
// returns their attributes with paths from the root: a Validate of an item
// type names "price", the model's error names "items[2].price".
func validate(v reflect.Value) []apierror.Attribute {
	var attrs []apierror.Attribute
	walkValidate(v, "", &attrs, 0)
	return attrs
}

func walkValidate(v reflect.Value, path string, attrs *[]apierror.Attribute, depth int) {
	if depth > maxValidateDepth {
		return
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if val, ok := asValidator(v); ok {
		for _, a := range val.Validate() {
			*attrs = append(*attrs, apierror.Attr(orBody(under(path, a.Path)), a.Reason))
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		walkFields(v, path, attrs, depth)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkValidate(v.Index(i), path+"["+strconv.Itoa(i)+"]", attrs, depth+1)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		iter := v.MapRange()
		for iter.Next() {
			walkValidate(iter.Value(), join(path, iter.Key().String()), attrs, depth+1)
		}
	}
}

// walkFields walks the JSON fields of the struct v (those of embedded
// structs under the same path, as encoding/json flattens them).
func walkFields(v reflect.Value, path string, attrs *[]apierror.Attribute, depth int) {
	for _, f := range fields(v.Type()) {
		fv, err := v.FieldByIndexErr(f.index)
		if err != nil {
			continue // through a nil embedded pointer
		}
		walkValidate(fv, join(path, f.name), attrs, depth+1)
	}
}

// asValidator returns v (or its address) as a Validator, if it is one.
func asValidator(v reflect.Value) (Validator, bool) {
	if !v.CanInterface() {
		return nil, false // reached through an unexported field
	}
	if v.CanAddr() && v.Addr().Type().Implements(validatorType) {
		return v.Addr().Interface().(Validator), true
	}
	if v.Type().Implements(validatorType) && v.CanInterface() {
		return v.Interface().(Validator), true
	}
	return nil, false
}

// under is the path rel (as a nested Validate names it) inside path.
func under(path, rel string) string {
	switch {
	case path == "":
		return rel
	case rel == "" || rel == "body":
		return path
	case strings.HasPrefix(rel, "["):
		return path + rel
	}
	return path + "." + rel
}
