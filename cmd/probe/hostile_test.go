package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileServiceCannotSteerTheReport: a service whose answers carry
// terminal escapes, bytes that are not UTF-8 and a body of 64 MiB gets a
// report that is plain text, and the probe reads at most maxAnswer of it.
func TestHostileServiceCannotSteerTheReport(t *testing.T) {
	var mu sync.Mutex
	complete := 0 // answers of 64 MiB the probe read to the end
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Query().Has("x") { // the query probe
			w.Header().Set("X-Evil", "\x1b[2J")
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "\x1b[31mred\x1b[0m \xff\xfe \u202e")
		if r.Method == http.MethodHead {
			return
		}
		// 64 MiB, more than the kernel's buffers hold: the write fails
		// unless the probe reads it all.
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 1024 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		if http.NewResponseController(w).Flush() == nil {
			mu.Lock()
			complete++
			mu.Unlock()
		}
	}))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-rate", "2000", "-sample", "2", srv.URL}, &stdout, &stderr)
	assert.Equal(t, exitFail, code, stderr.String())
	srv.Close() // waits for the handlers
	mu.Lock()
	assert.Zero(t, complete, "the probe read a 64 MiB answer to its end")
	mu.Unlock()
	out := stdout.String()
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\u202e")
	assert.Contains(t, out, `\u001b[31mred`)
	assert.Contains(t, out, `\xff\xfe`)
	assert.Less(t, len(out), 64<<10, "the report shortens answers")
	assert.Contains(t, out, `no answer: reading the answer: malformed MIME header line`, "an answer that is not HTTP is a failure, not an unreachable service")
}

func TestPrintable(t *testing.T) {
	assert.Equal(t, "a\nb\\u0009c\\u007f\\xc3(é)", printable("a\nb\tc\x7f\xc3(é)"))
}

// TestLogFromWhereTheProbeBegan: lines already in the -log file are not
// the probe's; a file that shrank (rotated) is read from its start.
func TestLogFromWhereTheProbeBegan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	require.NoError(t, os.WriteFile(path, []byte("old line\nnew"), 0o600))
	got, err := readFrom(path, 9)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	got, err = readFrom(path, 1000)
	require.NoError(t, err)
	assert.Equal(t, "old line\nnew", string(got))

	// A canary-free service whose log already holds a line with a
	// probe-looking leak from before: it is not read.
	base, logPath := startService(t, "")
	require.NoError(t, os.WriteFile(logPath, []byte(`{"level":"warn","id":"x","query":"`+strings.Repeat("pq", 9)+`"}`+"\n"), 0o600))
	r := runProbe(t, append(fullArgs(logPath), base)...)
	assert.Equal(t, exitPass, r.code, r.stdout)
}
