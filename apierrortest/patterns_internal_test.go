package apierrortest

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit"
)

// TestPatternsAreTheSchemas: CheckBody's own patterns are the schema's, so
// that the two stay exactly as strict as each other.
func TestPatternsAreTheSchemas(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Pattern string `json:"pattern"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(errkit.EnvelopeSchema(), &schema))
	assert.Equal(t, schema.Properties["timestamp"].Pattern, timestampRE.String())
	assert.Equal(t, schema.Properties["path"].Pattern, pathRE.String())

	idRE := regexp.MustCompile(schema.Properties["id"].Pattern)
	for _, id := range []string{
		"93aa74d5-8caf-473f-af2f-42cf806ddfdc", "93aa74d5-8caf-173f-8f2f-42cf806ddfdc", "93aa74d5-8caf-873f-bf2f-42cf806ddfdc",
		"93aa74d5-8caf-073f-af2f-42cf806ddfdc", "93aa74d5-8caf-973f-af2f-42cf806ddfdc", "93aa74d5-8caf-473f-7f2f-42cf806ddfdc",
		"93aa74d5-8caf-473f-cf2f-42cf806ddfdc", "93AA74D5-8CAF-473F-AF2F-42CF806DDFDC", "93aa74d58caf473faf2f42cf806ddfdc", "",
	} {
		assert.Equal(t, idRE.MatchString(id), idProblem(id) == "", id)
	}
}
