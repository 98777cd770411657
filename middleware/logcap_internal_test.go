package middleware

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogLineCapsAddUp: the caps of all the fields one line can carry,
// with the fixed fields, stay within MaxLogLine.
func TestLogLineCapsAddUp(t *testing.T) {
	sum := capMethod + capPath + MaxClientRequestID*2 + capMessage + capDetail + capMessage /* internal_message */ +
		capInternal + capCause + capCode + capUpID + capUpPath + capStack + capCalls + capCallTokens + capFixed
	assert.LessOrEqual(t, sum, MaxLogLine-4<<10, "room left for the service's own fields")
	assert.Less(t, MaxLogLine, 256<<10, "below VictoriaLogs' limit")
}

// written is how many bytes zerolog takes to write s as a string value,
// quotes excluded.
func written(s string) int {
	var buf strings.Builder
	l := zerolog.New(&buf)
	l.Log().Str("v", s).Send()
	return buf.Len() - len(`{"v":""}`+"\n")
}

func TestCapped(t *testing.T) {
	const limit = 256
	for _, tc := range []struct {
		name string
		in   string
		cut  bool
	}{
		{"short", "/api/v1/offers/1", false},
		{"exactly the limit of plain bytes", strings.Repeat("a", limit), false},
		{"one above", strings.Repeat("a", limit+1), true},
		{"quotes fit", strings.Repeat(`"`, limit/2), false},
		{"quotes over", strings.Repeat(`"`, limit/2+1), true},
		{"control characters", strings.Repeat("\x01", 100), true},
		{"invalid UTF-8", strings.Repeat("\xff", 100), true},
		{"multi-byte runes", strings.Repeat("é", 200), true},
		{"65,000 quotes", strings.Repeat(`"`, 65000), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := capped(tc.in, limit)
			assert.LessOrEqual(t, written(got), limit)
			if !tc.cut {
				assert.Equal(t, tc.in, got)
				return
			}
			assert.True(t, strings.HasSuffix(got, " bytes]"), got)
			assert.Contains(t, got, cutMark)
			assert.Greater(t, written(got), limit-40, "keeps as much as fits")
			if utf8.ValidString(tc.in) {
				assert.True(t, utf8.ValidString(got), "no rune split")
			}
			head, _, _ := strings.Cut(got, cutMark)
			assert.True(t, strings.HasPrefix(tc.in, head))
			assert.Equal(t, got, string(capped([]byte(tc.in), limit)), "bytes as strings")
		})
	}
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = capped("/api/v1/participant/offers/1001", capPath) }))
}
