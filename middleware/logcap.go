package middleware

import (
	"strconv"
	"unicode/utf8"
)

// MaxLogLine is the most bytes one log line of the middleware takes,
// newline included, whatever a client, a handler or an upstream puts in
// it: every field whose text comes from outside the code (the path, the
// method, the client's X-Request-Id, an echoed detail, a cause, an
// upstream's id, path and text, a stack) is capped, as zerolog will write
// it, and marked as cut. It is a quarter of the 256 KiB above which
// VictoriaLogs skips a line without a word, so that the service's own
// logger fields (service and the like) have room too.
const MaxLogLine = 64 << 10

// The caps, in bytes as written in the JSON line (a '"' takes 2, a
// control character up to 6). Their sum with the fixed fields stays
// below MaxLogLine; TestLogLineCaps checks it.
const (
	capMethod   = 64
	capPath     = 4 << 10
	capMessage  = 1 << 10
	capDetail   = 4 << 10
	capCause    = 8 << 10
	capInternal = 4 << 10 // internal_detail; internal_message gets capMessage
	capCode     = 256
	capUpID     = 256
	capUpPath   = 2 << 10
	capStack    = 12 << 10
	// calls: maxCalls ids of MaxClientRequestID printable bytes, each at
	// most twice as long escaped, plus quotes and commas.
	capCalls = maxCalls * (2*MaxClientRequestID + 3)
	// call_tokens: maxCalls tokens of 32 hex digits; call_token: one.
	capCallTokens = maxCalls*(32+3) + 32 + 2
	// capFixed is what the other fields take at most: names, quotes, the
	// level, time, id, status, trace and span ids, counts, flags.
	capFixed = 1 << 10
)

// cutMark ends a capped value: "…[cut from N bytes]".
const cutMark = "…[cut from "

// capped returns s when zerolog writes it in at most limit bytes (quotes
// excluded); otherwise the longest start of s that fits with a mark saying
// it was cut and how long it was. It allocates only when it cuts.
func capped[T string | []byte](s T, limit int) T {
	if len(s)*6 <= limit {
		return s // even all control characters would fit
	}
	room := limit - len(cutMark) - 20 - len(" bytes]") // 20: the length's digits
	size, cut := 0, -1
	for i := 0; i < len(s); {
		n, w := 1, 1
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n = 2
		case c < 0x20:
			n = 6
		case c >= utf8.RuneSelf:
			r, rw := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
			w, n = rw, rw
			if r == utf8.RuneError && rw == 1 {
				n = 6 // written as \ufffd
			}
		}
		if cut < 0 && size+n > room {
			cut = i
		}
		size += n
		if size > limit {
			break
		}
		i += w
	}
	if size <= limit {
		return s
	}
	out := make([]byte, 0, cut+len(cutMark)+21)
	out = append(out, s[:cut]...)
	out = append(out, cutMark...)
	out = strconv.AppendInt(out, int64(len(s)), 10)
	out = append(out, " bytes]"...)
	return T(out)
}
