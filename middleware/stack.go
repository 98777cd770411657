package middleware

import (
	"runtime"
	"strconv"
)

// maxStackFrames bounds the frames a panic's stack records.
const maxStackFrames = 64

// callerStack returns the calling goroutine's stack, skipping skip frames,
// one "function\n\tfile:line\n" entry per frame, as debug.Stack prints it
// but without the goroutine header and argument values: those cost most of
// debug.Stack's time and may hold request data. Called from a deferred
// recover, it still shows the panicking frames.
func callerStack(skip int) []byte {
	var pcs [maxStackFrames]uintptr
	n := runtime.Callers(skip+1, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	buf := make([]byte, 0, 2048)
	for {
		f, more := frames.Next()
		buf = append(buf, f.Function...)
		buf = append(buf, "\n\t"...)
		buf = append(buf, f.File...)
		buf = append(buf, ':')
		buf = strconv.AppendInt(buf, int64(f.Line), 10)
		buf = append(buf, '\n')
		if !more {
			break
		}
	}
	if n == maxStackFrames {
		buf = append(buf, "...more frames\n"...)
	}
	return buf
}
