package middleware

import (
	"fmt"
)

// PanicError is the internal cause of the 500 that [Errors] answers a panic
// with. Its Error method describes the panic value without ever panicking
// itself, even when the value's own Error or String method does.
type PanicError struct {
	Value any    // what the handler panicked with
	Stack []byte // the panicking goroutine's stack, when known
}

// Error returns "panic: " and the panic value in words.
func (p *PanicError) Error() string {
	if p == nil {
		return "panic: <nil *PanicError>"
	}
	return "panic: " + describe(p.Value)
}

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through the panic.
func (p *PanicError) Unwrap() error {
	if p == nil {
		return nil
	}
	err, _ := p.Value.(error)
	return err
}

// describe formats a panic value. Error and String methods run under
// recover: a method that panics gives a description of the value's type.
func describe(v any) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("value of type %T whose Error or String method panicked", v)
		}
	}()
	switch x := v.(type) {
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case string:
		return x
	default:
		return fmt.Sprintf("%v", v)
	}
}

// errorText is err.Error() that survives an Error method that panics.
func errorText(err error) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("error of type %T whose Error method panicked", err)
		}
	}()
	return err.Error()
}
