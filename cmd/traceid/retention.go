package main

import (
	"context"
	"net/http"
	"time"

	"github.com/360x/errkit/internal/vlogs"
)

// defaultRetention is how long the logs are taken to be kept when
// neither -retention nor a store says: the contract's 30 days.
const defaultRetention = 30 * 24 * time.Hour

// storeRetention is how long a VictoriaLogs store keeps its lines, as it
// says itself.
type storeRetention struct {
	Period  time.Duration
	Setting string // as the store states it, for example -retentionPeriod=30d
}

// readStoreRetention asks the VictoriaLogs server at base for its
// -retentionPeriod (vlogs.ReadRetention: a cluster's is the shortest of its
// storage nodes'). An error says why the retention could not be read.
func readStoreRetention(ctx context.Context, client *http.Client, base string) (storeRetention, error) {
	r, err := vlogs.ReadRetention(ctx, client, base)
	return storeRetention{Period: r.Period, Setting: r.Flag}, err
}

// parseVMDuration parses a VictoriaMetrics duration: "30d", "1y", "2w3d",
// "12h", or a plain number of months ("1").
func parseVMDuration(s string) (time.Duration, error) { return vlogs.ParseRetention(s) }
