package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// TestStoryDocumentGolden pins the story's JSON document (version 1,
// docs/traceid.md) and its text byte for byte, from a fixed log and a
// fixed -now: a chain of four requests (a call that got no answer among
// them, a service whose lines name no service), and a forged request.
// A change here is a change of the document the console serves.
func TestStoryDocumentGolden(t *testing.T) {
	for _, tc := range []struct {
		golden, id string
		args       []string
	}{
		{"story.json", "01a2120a-6224-7000-8000-c1f597910001", []string{"-json"}},
		{"story.txt", "01a2120a-6224-7000-8000-c1f597910001", nil},
		{"story-from-fx.json", "01a2120a-622c-7000-8000-c1f597910004", []string{"-json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append(append(tc.args, "-now", "2026-11-26T00:00:00Z"), tc.id, "testdata/chain.log")
			require.Equal(t, 0, run(args, nil, &out, &errOut), errOut.String())
			path := filepath.Join("testdata", tc.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), out.String())
		})
	}
}
