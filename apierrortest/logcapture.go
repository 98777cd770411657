package apierrortest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sync"

	"github.com/rs/zerolog"
)

// LogCapture collects the JSON lines a zerolog logger writes, for tests
// that check what a service logged. It is safe for concurrent use.
type LogCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// NewLogCapture returns an empty capture.
func NewLogCapture() *LogCapture { return &LogCapture{} }

// Write appends p; it is the capture's io.Writer side.
func (c *LogCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// Logger returns a zerolog logger that writes to the capture.
func (c *LogCapture) Logger() zerolog.Logger { return zerolog.New(c) }

// String returns everything captured.
func (c *LogCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// Lines returns every captured line parsed as a JSON object; a line that
// is not one is returned as {"unparsed": line}, so that a test sees it.
func (c *LogCapture) Lines() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader([]byte(c.String())))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			m = map[string]any{"unparsed": sc.Text()}
		}
		out = append(out, m)
	}
	return out
}

// ErrorLines returns the error lines (level warn or error) logged for
// request id. For every error response there must be exactly one.
func (c *LogCapture) ErrorLines(id string) []map[string]any {
	var out []map[string]any
	for _, l := range c.Lines() {
		if l["id"] == id && (l["level"] == "warn" || l["level"] == "error") {
			out = append(out, l)
		}
	}
	return out
}
