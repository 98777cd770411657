package errkit_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// neverNil lists the exported functions and methods that return a
// concrete error type (a pointer to a type with an Error method) and were
// reviewed: each builds its result and cannot return nil, or (From and the
// readers) returns it with a documented meaning that is not "no error to a
// handler". Every other function a handler calls returns error, so that
// err = f() never holds a typed nil (TestNaturalErrIdiom in apiclient
// calls them over real servers).
var neverNil = map[string]string{
	"apierror.New":                  "builds an *Error; an invalid status is a 500",
	"apierror.Newf":                 "builds",
	"apierror.Validation":           "builds",
	"apierror.InvalidModel":         "builds",
	"apierror.InvalidModelOf":       "builds",
	"apierror.InvalidToken":         "builds",
	"apierror.Forbidden":            "builds",
	"apierror.NotFound":             "builds",
	"apierror.MethodNotAllowed":     "builds",
	"apierror.Conflict":             "builds",
	"apierror.PayloadTooLarge":      "builds",
	"apierror.UnsupportedMediaType": "builds",
	"apierror.TooManyRequests":      "builds",
	"apierror.Internal":             "builds",
	"apierror.BadGateway":           "builds",
	"apierror.ServiceUnavailable":   "builds",
	"apierror.GatewayTimeout":       "builds",
	"apierror.Error.WithRetryAfter": "a copy of its receiver",
	"apierror.Error.WithHeader":     "a copy of its receiver",
	"apierror.Error.WithCause":      "a copy of its receiver",
	"apierror.From":                 "the classifier, for code that needs the status: nil only for a nil error; a handler returns its error as it is",
	"apierror.ReadResponse":         "paired with an error, which is non-nil whenever the *Error is nil",
	"apierror.ParseEnvelope":        "paired with an error, which is non-nil whenever the *Error is nil",
}

// errorTypes are the exported concrete error types of the module.
var errorTypes = []string{"Error", "ResponseError", "PanicError", "ForeignError"}

// TestNoTypedNilTrap fails when an exported function of a public package
// returns a concrete error type without being reviewed in neverNil: such a
// function's nil result, assigned to an error (err = f()), is a non-nil
// error that means nothing went wrong.
func TestNoTypedNilTrap(t *testing.T) {
	var found []string
	for _, dir := range []string{"apierror", "apiclient", "middleware", "jsonbody", "logsink", "apierrortest", "."} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		fset := token.NewFileSet()
		for _, en := range entries {
			name := en.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
			require.NoError(t, err)
			pkg := f.Name.Name
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || !fn.Name.IsExported() || fn.Type.Results == nil {
					continue
				}
				full := pkg + "." + fn.Name.Name
				if fn.Recv != nil {
					recv := fn.Recv.List[0].Type
					if s, ok := recv.(*ast.StarExpr); ok {
						recv = s.X
					}
					id, ok := recv.(*ast.Ident)
					if !ok || !id.IsExported() {
						continue
					}
					full = pkg + "." + id.Name + "." + fn.Name.Name
				}
				for _, res := range fn.Type.Results.List {
					if returnsErrorType(res.Type) {
						found = append(found, full)
						break
					}
				}
			}
		}
	}
	sort.Strings(found)
	require.NotEmpty(t, found, "the scan found the constructors")
	for _, f := range found {
		assert.Contains(t, neverNil, f, "%s returns a concrete error type: return error, or review it into neverNil", f)
	}
	for f := range neverNil {
		assert.Contains(t, found, f, "neverNil names %s, which no longer returns a concrete error type", f)
	}
}

func returnsErrorType(e ast.Expr) bool {
	s, ok := e.(*ast.StarExpr)
	if !ok {
		return false
	}
	var name string
	switch x := s.X.(type) {
	case *ast.Ident:
		name = x.Name
	case *ast.SelectorExpr:
		name = x.Sel.Name
	}
	for _, n := range errorTypes {
		if n == name {
			return true
		}
	}
	return false
}
