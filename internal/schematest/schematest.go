// Package schematest validates JSON documents against the envelope's JSON
// Schema with a real JSON Schema validator, for the project's tests.
package schematest

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/360x/errkit"
)

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(errkit.EnvelopeSchema))
	if err != nil {
		return nil, fmt.Errorf("parsing the envelope schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "mem://envelope.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

// Validate reports why body is not a valid 360X envelope, or nil. body may
// end with one newline, as a response body does.
func Validate(body []byte) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return sch.Validate(inst)
}
