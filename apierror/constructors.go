package apierror

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidStatus is the cause of the 500 that [New] returns for a status
// outside 400–599. errors.Is finds it, so tests can catch the misuse.
var ErrInvalidStatus = errors.New("apierror: status is not an error status (400-599)")

// New returns an error for any status from 400 to 599, with the contract's
// title for it ([Title]: the page's titles, the standard status text
// otherwise).
//
// For a 4xx, detail is the envelope's "error" member; when empty, a default
// sentence for the status is used. For a 5xx, detail is internal: it becomes
// the error's cause (logged, never sent) and the body carries the fixed
// sentence of [PublicDetail].
//
// A status outside 400–599 is a programming error. It does not panic (that
// would crash a serving process on a rare path): New returns a 500 Generic
// Error whose cause wraps [ErrInvalidStatus] and names the status and the
// detail, so the misuse is logged and the client learns nothing from it.
func New(status int, detail string) *Error {
	if !validStatus(status) {
		return &Error{
			Status:  http.StatusInternalServerError,
			Message: Title(http.StatusInternalServerError),
			Cause:   fmt.Errorf("%w: got %d (detail %q)", ErrInvalidStatus, status, detail),
		}
	}
	e := &Error{Status: status, Message: Title(status)}
	switch {
	case status >= 500:
		if detail != "" {
			e.Cause = errors.New(detail)
		}
	case detail == "":
		e.Detail = defaultDetail(status)
	default:
		e.Detail = detail
	}
	return e
}

// Newf is [New] with the detail formatted as by fmt.Errorf. An error
// argument formatted with %w becomes the cause, so errors.Is and errors.As
// find it; for a 4xx the formatted text is still the client-facing detail,
// so wrap only errors whose text a client may read.
func Newf(status int, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := New(status, err.Error())
	if validStatus(status) && (status >= 500 || wraps(err)) {
		e.Cause = err
	}
	return e
}

// wraps reports whether err, made by fmt.Errorf, wraps another error (%w).
func wraps(err error) bool {
	switch err.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		return true
	}
	return false
}

// Validation returns a 400 validation_error: the request as a whole is
// unusable (the body is not JSON, a required query parameter is missing).
// detail says what is wrong.
func Validation(detail string) *Error {
	e := New(http.StatusBadRequest, detail)
	e.Code = CodeValidation
	return e
}

// maxNamedAttributes is how many attributes the detail of an invalid_model
// names; the rest are counted ("and 12 more"), so that a body with
// thousands of bad items cannot make a response (and its log line)
// thousands of times its size.
const maxNamedAttributes = 20

// InvalidModel returns a 400 invalid_model naming every offending attribute
// in its detail, in the order given ("price: must be greater than 0;
// currency: is required"), up to 20 and then how many more. All of them
// are kept in [Error.Attributes].
func InvalidModel(attrs ...Attribute) *Error { return InvalidModelOf(len(attrs), attrs...) }

// InvalidModelOf is [InvalidModel] for a list cut short: attrs are the
// first of total offending attributes. The detail names up to 20 of attrs
// and counts the rest of total ("and 9980 more"); [Error.Attributes] holds
// attrs. A total below len(attrs) counts as len(attrs).
func InvalidModelOf(total int, attrs ...Attribute) *Error {
	total = max(total, len(attrs))
	var b strings.Builder
	for i, a := range attrs {
		if i == maxNamedAttributes {
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.Path)
		b.WriteString(": ")
		b.WriteString(a.Reason)
	}
	if named := min(len(attrs), maxNamedAttributes); total > named {
		if named > 0 {
			b.WriteString("; and ")
		} else {
			b.WriteString("The model has ")
		}
		b.WriteString(strconv.Itoa(total - named))
		if named > 0 {
			b.WriteString(" more")
		} else {
			b.WriteString(" invalid attributes.")
		}
	}
	e := New(http.StatusBadRequest, b.String())
	e.Code = CodeInvalidModel
	if total == 0 {
		e.Detail = "The model is invalid."
	}
	e.Attributes = attrs
	return e
}

// InvalidToken returns a 401 Invalid Token, "Token is invalid", with the
// header WWW-Authenticate: Bearer error="invalid_token" (RFC 6750). Use it
// for a missing, malformed, unknown or expired bearer token alike.
func InvalidToken() *Error {
	return New(http.StatusUnauthorized, "").
		WithHeader("WWW-Authenticate", `Bearer error="invalid_token"`)
}

// Forbidden returns a 403 Unauthorized Action: the caller is authenticated
// but may not do this. An empty detail gives "Authorization is required.".
func Forbidden(detail string) *Error {
	return New(http.StatusForbidden, detail)
}

// NotFound returns a 404 Not Found; detail says which resource or route was
// not found.
func NotFound(detail string) *Error {
	return New(http.StatusNotFound, detail)
}

// MethodNotAllowed returns a 405 Method Not Allowed for method, with an
// Allow header listing the allowed methods in the order given; with none
// given, the Allow header is empty, as RFC 9110 permits for a resource that
// allows no method.
func MethodNotAllowed(method string, allowed ...string) *Error {
	list := strings.Join(allowed, ", ")
	detail := "Method " + method + " is not allowed on this resource."
	if list != "" {
		detail += " Allowed: " + list + "."
	}
	return New(http.StatusMethodNotAllowed, detail).WithHeader("Allow", list)
}

// Conflict returns a 409 Conflict; detail says what the request conflicts
// with.
func Conflict(detail string) *Error {
	return New(http.StatusConflict, detail)
}

// PayloadTooLarge returns a 413 Request Entity Too Large (the title of
// [Title](413), net/http's status text) for a body over limit bytes.
func PayloadTooLarge(limit int64) *Error {
	return New(http.StatusRequestEntityTooLarge,
		"The request body exceeds the limit of "+strconv.FormatInt(limit, 10)+" bytes.")
}

// UnsupportedMediaType returns a 415 Unsupported Media Type for a request
// whose Content-Type header is got, naming the supported types. Only the
// media type of got is named, lower case, never its parameters (a client
// may put a token in one): "application/xml; key=secret" is named
// "application/xml". A header that is not a media type at all is not
// repeated.
func UnsupportedMediaType(got string, supported ...string) *Error {
	const maxMediaType = 100
	var detail string
	switch mt, _, err := mime.ParseMediaType(got); {
	case strings.TrimSpace(got) == "":
		detail = "The request has no Content-Type."
	case err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter):
		detail = "The Content-Type header is not a valid media type."
	default:
		if len(mt) > maxMediaType {
			mt = mt[:maxMediaType] + "…" // a client's header, bounded
		}
		detail = "Content-Type " + strconv.Quote(mt) + " is not supported."
	}
	if len(supported) > 0 {
		detail += " Use " + strings.Join(supported, " or ") + "."
	}
	return New(http.StatusUnsupportedMediaType, detail)
}

// TooManyRequests returns a 429 Too Many Requests with a Retry-After header
// of retryAfter in whole seconds, rounded up, and at least 1.
func TooManyRequests(retryAfter time.Duration) *Error {
	secs := retryAfterSeconds(retryAfter)
	unit := " seconds."
	if secs == "1" {
		unit = " second."
	}
	return New(http.StatusTooManyRequests, "Rate limit exceeded. Retry after "+secs+unit).
		WithHeader("Retry-After", secs)
}

// Internal returns a 500 Generic Error around cause. The body carries a
// fixed generic sentence; cause is logged.
func Internal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Message: Title(http.StatusInternalServerError), Cause: cause}
}

// BadGateway returns a 502 Bad Gateway around cause: an upstream service
// answered with an error or with something that is not a valid answer. When
// cause is (or wraps) an *Error read by [ReadResponse], the logs name the
// upstream's id and status.
func BadGateway(cause error) *Error {
	return &Error{Status: http.StatusBadGateway, Message: Title(http.StatusBadGateway), Cause: cause}
}

// ServiceUnavailable returns a 503 Connection Error around cause: a
// dependency could not be reached. Add a Retry-After header with
// [Error.WithRetryAfter] when the wait is known.
func ServiceUnavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Message: Title(http.StatusServiceUnavailable), Cause: cause}
}

// GatewayTimeout returns a 504 ("There was a generic error") around cause:
// the request or an upstream call ran out of time.
func GatewayTimeout(cause error) *Error {
	return &Error{Status: http.StatusGatewayTimeout, Message: Title(http.StatusGatewayTimeout), Cause: cause}
}

// WithRetryAfter returns a copy of e with the Retry-After header set to d
// in whole seconds, rounded up.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	return e.WithHeader("Retry-After", retryAfterSeconds(d))
}

// retryAfterSeconds is d in whole seconds, rounded up, and at least 1: a
// Retry-After of 0 invites a client to retry at once, which is what a
// rate limit is there to stop.
func retryAfterSeconds(d time.Duration) string {
	if d <= time.Second {
		return "1"
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
