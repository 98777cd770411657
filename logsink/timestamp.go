package logsink

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
)

// TimeLayout is the layout of the "time" field [Timestamp] adds: UTC with
// exactly millisecond precision and a Z, as the envelope's timestamp
// (apierror.TimestampLayout), so that support can line a log line up with
// what a client received.
const TimeLayout = apierror.TimestampLayout

// Timestamp returns a zerolog hook that adds the "time" field in
// [TimeLayout], from now (time.Now when nil), without touching zerolog's
// process-wide TimeFieldFormat:
//
//	logger := zerolog.New(sink).Hook(logsink.Timestamp(nil))
func Timestamp(now func() time.Time) zerolog.Hook {
	if now == nil {
		now = time.Now
	}
	return zerolog.HookFunc(func(e *zerolog.Event, _ zerolog.Level, _ string) {
		var buf [len(TimeLayout)]byte
		e.Bytes(zerolog.TimestampFieldName, apierror.AppendTimestamp(buf[:0], now()))
	})
}
