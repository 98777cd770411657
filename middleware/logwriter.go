package middleware

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// FailSafeWriter wraps the writer a service's logger writes to, so that a
// log sink that fails (a full disk, a closed pipe, a dead collector) cannot
// take the service down or flood its stderr: every write reports success to
// the logger, the first failure is reported on report once (typically
// os.Stderr), and the count of lost lines is kept ([FailSafeWriter.Lost]).
// Requests go on being answered with their envelopes either way.
//
// zerolog on its own prints "could not write event" to stderr for every
// failed line; with this writer in between, it never sees a failure.
type FailSafeWriter struct {
	w      io.Writer
	report io.Writer
	once   sync.Once
	lost   atomic.Int64
}

// NewFailSafeWriter returns a FailSafeWriter writing to w and reporting its
// first failure to report.
func NewFailSafeWriter(w, report io.Writer) *FailSafeWriter {
	return &FailSafeWriter{w: w, report: report}
}

// Write writes p to the underlying writer and always returns len(p), nil.
func (f *FailSafeWriter) Write(p []byte) (int, error) {
	if _, err := f.w.Write(p); err != nil {
		f.lost.Add(1)
		f.once.Do(func() {
			fmt.Fprintf(f.report, "log writer failed: %v; log lines are being lost (reported once)\n", err)
		})
	}
	return len(p), nil
}

// Lost returns how many writes have failed.
func (f *FailSafeWriter) Lost() int64 { return f.lost.Load() }
