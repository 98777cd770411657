// Package apierror is the 360X error envelope as a Go error type.
//
// An [Error] carries what a 360X error response needs: the HTTP status, the
// short title (the envelope's "message"), the client-facing detail (the
// envelope's "error"), the headers its status needs, the attributes of an
// invalid model, and an optional internal cause that is logged but never sent.
//
// Handlers build errors with the constructors named for what they mean at the
// call site ([NotFound], [InvalidToken], [TooManyRequests], [Internal],
// [BadGateway], …), any error becomes an *Error through [From], a [Renderer]
// writes one as the envelope, and [ReadResponse] turns another 360X service's
// error response back into an *Error.
//
// The package imports neither a router nor a logger: deciding when an error
// is written and logging it is the job of package middleware.
package apierror

import (
	"net/http"
	"strconv"
	"strings"
)

// Code tells the two kinds of 400 that the 360X API names apart. It is not
// part of the envelope; it is there for Go code, tests and logs.
type Code string

const (
	// CodeValidation marks a request that is unusable as a whole: the body is
	// not JSON, the content type is wrong, a required parameter is missing.
	CodeValidation Code = "validation_error"
	// CodeInvalidModel marks a request that parsed but whose model has
	// attributes that are wrong; see [Error.Attributes].
	CodeInvalidModel Code = "invalid_model"
)

// Attribute is one offending attribute of an invalid model: its JSON path
// (for example "items[0].price") and the reason in words a client developer
// can act on (for example "must be greater than 0").
type Attribute struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Attr returns the Attribute for path with reason. It reads well in a list:
//
//	apierror.InvalidModel(apierror.Attr("price", "must be greater than 0"))
func Attr(path, reason string) Attribute {
	return Attribute{Path: path, Reason: reason}
}

// Error is a 360X API error. It implements error; [Error.Unwrap] returns the
// internal cause, so errors.Is and errors.As see through it.
//
// The zero value is not useful: build errors with [New] or the constructors
// per status. Fields may be set after construction; the [Renderer] applies
// the contract's rules (status range, 5xx detail) whatever they hold.
type Error struct {
	// Status is the HTTP status code, 400 to 599. A value outside that
	// range is rendered as 500 (see [New]).
	Status int
	// Message is the short title sent as the envelope's "message", for
	// example "Not Found".
	Message string
	// Detail is the envelope's "error" member for a 4xx: the cause in words
	// a client developer can act on. For a 5xx it is internal text: it is
	// logged, and the body carries a fixed generic sentence instead.
	Detail string
	// Code is CodeValidation or CodeInvalidModel for a 400, empty otherwise.
	Code Code
	// Attributes lists the offending attributes of an invalid model.
	Attributes []Attribute
	// Header holds the response headers that the status needs
	// (WWW-Authenticate, Allow, Retry-After). It may be nil.
	Header http.Header
	// Cause is the internal error behind this one. It is logged, never sent.
	Cause error
	// Received is the envelope this error was read from, set by
	// [ReadResponse] for errors that another 360X service answered; nil for
	// errors built in this process. Its ID is the other service's id.
	Received *Envelope
}

// Error returns the status, title, detail and cause on one line, for logs
// and tests. It is never sent to a client.
func (e *Error) Error() string {
	if e == nil {
		return "apierror: nil *Error"
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Status))
	b.WriteByte(' ')
	b.WriteString(e.Message)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the internal cause, or nil.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Cause
}

// StatusCode returns the HTTP status the error is rendered with: Status when
// it is an error status (400–599), 500 otherwise.
func (e *Error) StatusCode() int {
	if e != nil && validStatus(e.Status) {
		return e.Status
	}
	return http.StatusInternalServerError
}

// WithHeader returns a copy of e with the response header key set to value,
// for chaining after a constructor. e itself is not changed, so an error
// kept in a package variable can be specialised per request safely.
//
// The renderer decides the headers the contract owns: Content-Type,
// X-Content-Type-Options, Cache-Control and X-Request-Id cannot be set this
// way, nor the headers that describe a success body (see [Renderer.Write]).
func (e *Error) WithHeader(key, value string) *Error {
	c := e.clone()
	c.Header.Set(key, value)
	return c
}

// WithCause returns a copy of e with the internal cause set to cause.
func (e *Error) WithCause(cause error) *Error {
	c := e.clone()
	c.Cause = cause
	return c
}

// clone returns a copy of e whose Header and Attributes can be changed
// without touching e's.
func (e *Error) clone() *Error {
	c := *e
	c.Header = make(http.Header, len(e.Header)+1)
	for k, v := range e.Header {
		c.Header[k] = append([]string(nil), v...)
	}
	c.Attributes = append([]Attribute(nil), e.Attributes...)
	return &c
}

func validStatus(status int) bool { return status >= 400 && status <= 599 }
