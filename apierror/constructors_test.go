package apierror_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/apierror"
)

func TestConstructors(t *testing.T) {
	cause := errors.New("db: connection refused")
	tests := []struct {
		name    string
		err     *apierror.Error
		status  int
		message string
		detail  string
		code    apierror.Code
		header  http.Header
		cause   error
	}{
		{"Validation", apierror.Validation("body is not JSON"), 400, "Validation Error", "body is not JSON", apierror.CodeValidation, nil, nil},
		{"InvalidModel", apierror.InvalidModel(apierror.Attr("price", "must be greater than 0"), apierror.Attr("currency", "is required")),
			400, "Validation Error", "price: must be greater than 0; currency: is required", apierror.CodeInvalidModel, nil, nil},
		{"InvalidModel/none", apierror.InvalidModel(), 400, "Validation Error", "The model is invalid.", apierror.CodeInvalidModel, nil, nil},
		{"InvalidToken", apierror.InvalidToken(), 401, "Invalid Token", "Token is invalid", "",
			http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}, nil},
		{"Forbidden", apierror.Forbidden(""), 403, "Unauthorized Action", "Authorization is required.", "", nil, nil},
		{"Forbidden/detail", apierror.Forbidden("offer 7 belongs to another participant"), 403, "Unauthorized Action", "offer 7 belongs to another participant", "", nil, nil},
		{"NotFound", apierror.NotFound("offer 7 not found"), 404, "Not Found", "offer 7 not found", "", nil, nil},
		{"NotFound/default", apierror.NotFound(""), 404, "Not Found", "The requested resource was not found.", "", nil, nil},
		{"MethodNotAllowed", apierror.MethodNotAllowed("PUT", "GET", "POST"), 405, "Method Not Allowed",
			"Method PUT is not allowed on this resource. Allowed: GET, POST.", "", http.Header{"Allow": {"GET, POST"}}, nil},
		{"Conflict", apierror.Conflict("offer 7 exists"), 409, "Conflict", "offer 7 exists", "", nil, nil},
		{"PayloadTooLarge", apierror.PayloadTooLarge(1 << 20), 413, "Request Entity Too Large",
			"The request body exceeds the limit of 1048576 bytes.", "", nil, nil},
		{"UnsupportedMediaType", apierror.UnsupportedMediaType("text/plain", "application/json"), 415, "Unsupported Media Type",
			`Content-Type "text/plain" is not supported. Use application/json.`, "", nil, nil},
		{"TooManyRequests", apierror.TooManyRequests(1500 * time.Millisecond), 429, "Too Many Requests",
			"Rate limit exceeded. Retry after 2 seconds.", "", http.Header{"Retry-After": {"2"}}, nil},
		{"TooManyRequests/one", apierror.TooManyRequests(time.Second), 429, "Too Many Requests",
			"Rate limit exceeded. Retry after 1 second.", "", http.Header{"Retry-After": {"1"}}, nil},
		{"New/422", apierror.New(422, "quantity exceeds stock"), 422, "Unprocessable Entity", "quantity exceeds stock", "", nil, nil},
		{"New/418 default", apierror.New(418, ""), 418, "I'm a teapot", "I'm a teapot.", "", nil, nil},
		{"New/499", apierror.New(499, ""), 499, "Client Closed Request", "The client closed the request before the response was written.", "", nil, nil},
		{"Newf", apierror.Newf(404, "offer %d not found", 7), 404, "Not Found", "offer 7 not found", "", nil, nil},
		{"Internal", apierror.Internal(cause), 500, "Generic Error", "", "", nil, cause},
		{"BadGateway", apierror.BadGateway(cause), 502, "Bad Gateway", "", "", nil, cause},
		{"ServiceUnavailable", apierror.ServiceUnavailable(cause).WithRetryAfter(30 * time.Second), 503, "Connection Error", "", "",
			http.Header{"Retry-After": {"30"}}, cause},
		{"GatewayTimeout", apierror.GatewayTimeout(cause), 504, "There was a generic error", "", "", nil, cause},
		{"New/501", apierror.New(501, ""), 501, "Not Implemented", "", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.err
			require.NotNil(t, e)
			assert.Equal(t, tt.status, e.Status)
			assert.Equal(t, tt.status, e.StatusCode())
			assert.Equal(t, tt.message, e.Message)
			assert.Equal(t, tt.detail, e.Detail)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.header, e.Header)
			assert.Equal(t, tt.cause, e.Cause)
		})
	}
}

func TestNew5xxDetailIsInternal(t *testing.T) {
	e := apierror.New(500, "pq: password authentication failed for user \"svc\"")
	assert.Empty(t, e.Detail, "a 5xx detail must not be client-facing")
	require.Error(t, e.Cause)
	assert.Contains(t, e.Cause.Error(), "password authentication failed")
}

func TestNewOutOfRangeStatus(t *testing.T) {
	for _, status := range []int{0, -1, 200, 302, 399, 600, 1000} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := apierror.New(status, "oops")
			assert.Equal(t, 500, e.Status)
			assert.Equal(t, "Generic Error", e.Message)
			assert.Empty(t, e.Detail)
			assert.ErrorIs(t, e, apierror.ErrInvalidStatus)
			assert.Contains(t, e.Cause.Error(), fmt.Sprintf("got %d", status))
		})
	}
	// A literal with a bad status renders as a 500 too.
	assert.Equal(t, 500, (&apierror.Error{Status: 200}).StatusCode())
}

func TestErrorsIsAsThroughWrapping(t *testing.T) {
	sentinel := errors.New("sql: no rows in result set")
	inner := apierror.NotFound("offer 7 not found").WithCause(sentinel)
	wrapped := fmt.Errorf("get offer: %w", fmt.Errorf("store: %w", inner))

	var e *apierror.Error
	require.ErrorAs(t, wrapped, &e)
	assert.Same(t, inner, e)
	assert.ErrorIs(t, wrapped, sentinel, "the cause is reachable through the chain")

	internal := fmt.Errorf("handler: %w", apierror.Internal(sentinel))
	assert.ErrorIs(t, internal, sentinel)
	require.ErrorAs(t, internal, &e)
	assert.Equal(t, 500, e.Status)
}

func TestErrorString(t *testing.T) {
	assert.Equal(t, "404 Not Found: offer 7 not found", apierror.NotFound("offer 7 not found").Error())
	assert.Equal(t, "500 Generic Error: db down", apierror.Internal(errors.New("db down")).Error())
	assert.Equal(t, "502 Bad Gateway", apierror.BadGateway(nil).Error())
}

func TestWithHeaderCopiesNothingShared(t *testing.T) {
	a, b := apierror.InvalidToken(), apierror.InvalidToken()
	a.WithHeader("WWW-Authenticate", "changed")
	assert.Equal(t, `Bearer error="invalid_token"`, b.Header.Get("WWW-Authenticate"))
}
