package vlogs_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/internal/vlogs"
)

// TestStartedStoreKeeps30Days: a VictoriaLogs the project starts keeps a
// line for Retention, as its own /metrics page says.
func TestStartedStoreKeeps30Days(t *testing.T) {
	srv := vlogs.StartForTest(t)
	r, err := vlogs.ReadRetention(context.Background(), http.DefaultClient, srv.URL)
	got := r.Period
	require.NoError(t, err)
	assert.Equal(t, vlogs.Retention, got)
	assert.Equal(t, 30*24*time.Hour, got)
}

// TestMakefileKeeps30Days: every VictoriaLogs the Makefile starts is given
// RetentionFlag, so that make run-stack and make run-cluster keep what the
// contract promises.
func TestMakefileKeeps30Days(t *testing.T) {
	data, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	starts := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "victoria-logs -") || strings.Contains(line, "$(VL) -") {
			starts++
			assert.Contains(t, line, vlogs.RetentionFlag, line)
			if !strings.Contains(line, "-storageNode=") { // a front node keeps nothing
				assert.Contains(t, line, vlogs.FlushFlag, line)
			}
		}
	}
	assert.Positive(t, starts, "the Makefile starts VictoriaLogs")
}

func TestParseRetention(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{"30d": 30 * day, "7d": 7 * day, "1": 31 * day, "2w": 14 * day, "1y": 365 * day, "720h": 30 * day, "1M": 31 * day,
		"2w3d": 17 * day, "12h": 12 * time.Hour, "1.5d": 36 * time.Hour} {
		got, err := vlogs.ParseRetention(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "d", "-1d", "x", "30x", "0d"} {
		_, err := vlogs.ParseRetention(bad)
		assert.Error(t, err, bad)
	}
}
