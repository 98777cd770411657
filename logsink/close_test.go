package logsink_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/360x/errkit/logsink"
)

// TestCloseRacingWrites: Close called while lines are being written. Once
// Close has returned nil and the writers have returned, no line is left
// pending: each is delivered or dropped. (Before the fix, a Write that had
// seen the Writer open could put its line in the buffer after the writing
// goroutine had emptied it and ended: Close returned nil with that line
// pending for ever, in about a third of the rounds.)
func TestCloseRacingWrites(t *testing.T) {
	for _, mode := range []logsink.Mode{logsink.Drop, logsink.Block} {
		t.Run(mode.String(), func(t *testing.T) {
			bad := 0
			for round := range 2000 {
				w := logsink.New(io.Discard, logsink.WithMode(mode), logsink.WithBuffer(16))
				var wg sync.WaitGroup
				start := make(chan struct{})
				for range 4 {
					wg.Go(func() {
						<-start
						for i := range 20 {
							_, _ = w.Write(line(i))
						}
					})
				}
				close(start)
				require.NoError(t, w.Close(context.Background()), "round %d", round)
				wg.Wait()
				st := w.Stats()
				if st.Pending != 0 || st.Written != st.Delivered+st.Dropped+st.Failed {
					bad++
				}
				assert.EqualValues(t, 80, st.Written)
			}
			assert.Zero(t, bad, "rounds of 2000 with a line left pending after Close returned nil")
		})
	}
}
