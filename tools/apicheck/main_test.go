package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// report is apidiff -m -incompatible's output for changes of each kind.
const report = `- ./apiclient.Failure: changed from func(string, *net/http.Response, error) *github.com/360x/errkit/apierror.Error to func(string, *net/http.Response, error) error
- ./apierror.(*Renderer).Now: removed
- ./apiclient.Transport.Propagator: removed
- EnvelopeSchema: changed from var to func
- package github.com/360x/errkit/logsink: removed
`

func TestParseNamesAsGoCodeDoes(t *testing.T) {
	var names []string
	for _, c := range parse(report + "Ignoring internal package github.com/360x/errkit/internal/vlogs\n") {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"apiclient.Failure", "apierror.Renderer.Now", "apiclient.Transport.Propagator",
		"errkit.EnvelopeSchema", "package logsink"}, names)
}

func TestUnannounced(t *testing.T) {
	const log = "# Changelog\n\n## Unreleased\n\n### Changed\n\n- `apiclient.Failure` returns error.\n" +
		"- `errkit.EnvelopeSchema()` is a function; package logsink is gone.\n- apierror.Renderer.Nowhere\n\n" +
		"## v0.4.0\n\n- apierror.Renderer.Now, apiclient.Transport.Propagator (an older release's news)\n"
	var missing []string
	for _, c := range unannounced(parse(report), unreleased(log)) {
		missing = append(missing, c.Name)
	}
	assert.Equal(t, []string{"apierror.Renderer.Now", "apiclient.Transport.Propagator"}, missing,
		"named only under an older release, or as part of a longer name")

	assert.Len(t, unannounced(parse(report), unreleased("# Changelog\n\n## v0.4.0\n- apiclient.Failure\n")), 5,
		"without an Unreleased section nothing is announced")
	assert.Empty(t, unannounced(nil, ""), "no change, nothing to announce")
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"`apierror.Forward` returns error", true},
		{"apierror.Forward.Member", false},       // a longer name
		{"changed apierror.Forward. Then", true}, // the end of a sentence
		{"apierror.ForwardAll", false},
		{"myapierror.Forward", false},
		{"(apierror.Forward)", true},
		{"apierror.Forward", true},
	} {
		assert.Equal(t, tc.want, names(tc.text, "apierror.Forward"), tc.text)
	}
}
