package errkit_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit"
	"github.com/360x/errkit/apierrortest"
)

type openAPI struct {
	OpenAPI    string `json:"openapi"`
	Components struct {
		Schemas   map[string]map[string]any `json:"schemas"`
		Headers   map[string]any            `json:"headers"`
		Responses map[string]struct {
			Status  int                       `json:"x-status"`
			Headers map[string]map[string]any `json:"headers"`
			Content map[string]struct {
				Schema   map[string]string `json:"schema"`
				Examples map[string]struct {
					Golden string          `json:"x-golden-file"`
					Value  json.RawMessage `json:"value"`
				} `json:"examples"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"components"`
}

// TestOpenAPIAgreesWithSchemaAndGoldenFiles keeps the three published forms
// of the envelope from drifting apart: the OpenAPI component's schema is
// the JSON Schema, and every response example is a golden file, valid
// against the schema, for the response's status.
func TestOpenAPIAgreesWithSchemaAndGoldenFiles(t *testing.T) {
	var doc openAPI
	require.NoError(t, json.Unmarshal(errkit.OpenAPI(), &doc))
	assert.Equal(t, "3.1.0", doc.OpenAPI)

	var schema map[string]any
	require.NoError(t, json.Unmarshal(errkit.EnvelopeSchema(), &schema))
	delete(schema, "$schema")
	delete(schema, "$id")
	assert.Equal(t, schema, doc.Components.Schemas["ErrorEnvelope"], "the component is the JSON Schema")

	wantHeader := map[int]string{401: "WWW-Authenticate", 405: "Allow", 429: "Retry-After"}
	statuses := map[int]bool{}
	goldenUsed := map[string]bool{}
	for name, resp := range doc.Components.Responses {
		statuses[resp.Status] = true
		assert.Contains(t, resp.Headers, "X-Request-Id", name)
		if h, ok := wantHeader[resp.Status]; ok {
			assert.Contains(t, resp.Headers, h, name)
		}
		content, ok := resp.Content["application/json; charset=utf-8"]
		require.True(t, ok, name)
		assert.Equal(t, "#/components/schemas/ErrorEnvelope", content.Schema["$ref"])
		require.NotEmpty(t, content.Examples, name)
		for exName, ex := range content.Examples {
			golden, err := os.ReadFile(ex.Golden)
			require.NoError(t, err, "%s/%s", name, exName)
			goldenUsed[filepath.Base(ex.Golden)] = true
			assert.JSONEq(t, string(golden), string(ex.Value), "%s/%s is its golden file", name, exName)
			require.NoError(t, apierrortest.ValidateSchema(ex.Value), "%s/%s", name, exName)
			var env struct{ StatusCode int }
			require.NoError(t, json.Unmarshal(ex.Value, &env))
			assert.Equal(t, resp.Status, env.StatusCode, "%s/%s", name, exName)
		}
	}
	for _, s := range []int{400, 401, 403, 404, 429, 500, 502, 503, 504} {
		assert.True(t, statuses[s], "a response for %d, a row of the page's table", s)
	}
	files, err := filepath.Glob("testdata/golden/*.json")
	require.NoError(t, err)
	for _, f := range files {
		assert.True(t, goldenUsed[filepath.Base(f)], "golden file %s is an example in the OpenAPI document", f)
	}

	// The 401's example is the page's own.
	page, err := os.ReadFile("testdata/page_example.json")
	require.NoError(t, err)
	assert.JSONEq(t, string(page), string(doc.Components.Responses["InvalidToken"].Content["application/json; charset=utf-8"].Examples["page"].Value))
}
