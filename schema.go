// Package errkit holds what every package of the 360X error kit shares and
// what services publish about it: the JSON Schema of the error envelope.
//
// The code lives in the sub-packages: apierror (the envelope as a Go error
// type, its renderer and reader), middleware (every error of an HTTP service
// leaves in the envelope, logged once under its id) and apierrortest (test
// helpers for services that mount it).
package errkit

import _ "embed"

// EnvelopeSchema is the JSON Schema (draft 2020-12) of the 360X error
// envelope, the file testdata/envelope.schema.json of this module.
//
//go:embed testdata/envelope.schema.json
var EnvelopeSchema []byte
