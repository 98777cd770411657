// Package errkit holds what every package of the 360X error kit shares and
// what services publish about it: the JSON Schema of the error envelope and
// the OpenAPI 3.1 components a service's API document references.
//
// The code lives in the sub-packages: apierror (the envelope as a Go error
// type, its renderer and reader), middleware (every error of an HTTP service
// leaves in the envelope, logged once under its id) and apierrortest (test
// helpers for services that mount it).
package errkit

import (
	"bytes"
	_ "embed"
)

//go:embed testdata/envelope.schema.json
var envelopeSchema []byte

//go:embed testdata/openapi.json
var openAPI []byte

// EnvelopeSchema returns the JSON Schema (draft 2020-12) of the 360X error
// envelope, the file testdata/envelope.schema.json of this module. Each
// call returns a copy the caller may change.
func EnvelopeSchema() []byte { return bytes.Clone(envelopeSchema) }

// OpenAPI returns an OpenAPI 3.1 document, the file testdata/openapi.json of this
// module, whose components a service's API document references: the schema
// ErrorEnvelope, the headers X-Request-Id, WWW-Authenticate, Allow and
// Retry-After, and one response per status of the 360X Errors page
// (ValidationError 400, InvalidToken 401, UnauthorizedAction 403, NotFound
// 404, TooManyRequests 429, GenericError 500, BadGateway 502,
// ConnectionError 503, GatewayTimeout 504) plus MethodNotAllowed 405 and
// PayloadTooLarge 413, each with its example. A test keeps it equal to the
// JSON Schema and the golden files. Each call returns a copy the caller
// may change.
func OpenAPI() []byte { return bytes.Clone(openAPI) }
