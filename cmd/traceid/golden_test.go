package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// TestBuildStoryIsTheDocument: buildStory, the function the console calls
// in-process, gives the document traceid -json prints.
func TestBuildStoryIsTheDocument(t *testing.T) {
	now, err := time.Parse(time.RFC3339, "2026-11-26T00:00:00Z")
	require.NoError(t, err)
	st, err := buildStory(context.Background(), "01A2120A-6224-7000-8000-C1F597910001", storyOptions{Files: fileSources("testdata/chain.log"), Now: now}, io.Discard)
	require.NoError(t, err)
	doc, err := json.MarshalIndent(st, "", "  ")
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/story.json")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(doc)+"\n")

	_, err = buildStory(context.Background(), "ticket-42", storyOptions{}, io.Discard)
	assert.ErrorContains(t, err, "is not a 360X error id")
}
