package middleware_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/360x/errkit/middleware"
)

func FuzzSanitizeRequestID(f *testing.F) {
	for _, s := range []string{"", "abc-123", strings.Repeat("a", 128), strings.Repeat("a", 129), "new\nline", "nul\x00", "caf\xc3\xa9", "\xff", "tab\t", " space "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := middleware.SanitizeRequestID(in)
		if !ok {
			assert.Empty(t, out)
			return
		}
		assert.Equal(t, in, out, "a sane id is kept as it is")
		assert.NotEmpty(t, out)
		assert.LessOrEqual(t, len(out), middleware.MaxClientRequestID)
		for i := 0; i < len(out); i++ {
			assert.True(t, out[i] >= 0x20 && out[i] <= 0x7e, "byte %q at %d", out[i], i)
		}
	})
}
