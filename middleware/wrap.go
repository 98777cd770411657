package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// The writer a handler behind Errors gets offers exactly the optional
// interfaces of the writer beneath it: http.Flusher, http.Hijacker,
// http.Pusher and io.ReaderFrom, in every combination, and Unwrap for
// http.ResponseController. Claiming one the writer lacks would make a
// handler take a path that then fails (Hijack on HTTP/2); dropping one would
// break streaming or websockets.
//
// Flush and Hijack count as present when http.ResponseController can reach
// them through the writer's Unwrap chain, since a handler could reach them
// that way behind the tracker's back. Each view is a struct of one pointer,
// so that turning it into an http.ResponseWriter does not allocate.

// capability bits, in the order of the view names' letters.
const (
	capFlush = 1 << iota
	capHijack
	capPush
	capReadFrom
)

// view returns t as the http.ResponseWriter the handlers below Errors get.
func (t *tracker) view() http.ResponseWriter {
	caps := reachable(t.w)
	if _, ok := t.w.(http.Pusher); ok {
		caps |= capPush
	}
	if _, ok := t.w.(io.ReaderFrom); ok {
		caps |= capReadFrom
	}
	switch caps {
	case 0:
		return viewPlain{t}
	case capFlush:
		return viewF{t}
	case capHijack:
		return viewH{t}
	case capFlush | capHijack:
		return viewFH{t}
	case capPush:
		return viewP{t}
	case capFlush | capPush:
		return viewFP{t}
	case capHijack | capPush:
		return viewHP{t}
	case capFlush | capHijack | capPush:
		return viewFHP{t}
	case capReadFrom:
		return viewR{t}
	case capFlush | capReadFrom:
		return viewFR{t}
	case capHijack | capReadFrom:
		return viewHR{t}
	case capFlush | capHijack | capReadFrom:
		return viewFHR{t}
	case capPush | capReadFrom:
		return viewPR{t}
	case capFlush | capPush | capReadFrom:
		return viewFPR{t}
	case capHijack | capPush | capReadFrom:
		return viewHPR{t}
	case capFlush | capHijack | capPush | capReadFrom:
		return viewFHPR{t}
	}
	panic("unreachable")
}

// reachable returns capFlush and capHijack for the interfaces that w, or
// a writer on its Unwrap chain, offers: what http.ResponseController can
// reach. (Concrete type assertions, not a generic helper: their results
// are cached at each call site, and this runs for every request.)
func reachable(w http.ResponseWriter) (caps int) {
	for {
		if _, ok := w.(http.Flusher); ok {
			caps |= capFlush
		}
		if _, ok := w.(http.Hijacker); ok {
			caps |= capHijack
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok || caps == capFlush|capHijack {
			return caps
		}
		w = u.Unwrap()
	}
}

// viewPlain is the view of a writer with no optional interface.
type viewPlain struct{ *tracker }

// viewF is the view of a writer with Flusher.
type viewF struct{ *tracker }

func (w viewF) Flush()            { _ = w.flush() }
func (w viewF) FlushError() error { return w.flush() }

// viewH is the view of a writer with Hijacker.
type viewH struct{ *tracker }

func (w viewH) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

// viewFH is the view of a writer with Flusher, Hijacker.
type viewFH struct{ *tracker }

func (w viewFH) Flush()                                       { _ = w.flush() }
func (w viewFH) FlushError() error                            { return w.flush() }
func (w viewFH) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

// viewP is the view of a writer with Pusher.
type viewP struct{ *tracker }

func (w viewP) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }

// viewFP is the view of a writer with Flusher, Pusher.
type viewFP struct{ *tracker }

func (w viewFP) Flush()                                           { _ = w.flush() }
func (w viewFP) FlushError() error                                { return w.flush() }
func (w viewFP) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }

// viewHP is the view of a writer with Hijacker, Pusher.
type viewHP struct{ *tracker }

func (w viewHP) Hijack() (net.Conn, *bufio.ReadWriter, error)     { return w.hijack() }
func (w viewHP) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }

// viewFHP is the view of a writer with Flusher, Hijacker, Pusher.
type viewFHP struct{ *tracker }

func (w viewFHP) Flush()                                           { _ = w.flush() }
func (w viewFHP) FlushError() error                                { return w.flush() }
func (w viewFHP) Hijack() (net.Conn, *bufio.ReadWriter, error)     { return w.hijack() }
func (w viewFHP) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }

// viewR is the view of a writer with ReaderFrom.
type viewR struct{ *tracker }

func (w viewR) ReadFrom(src io.Reader) (int64, error) { return w.readFrom(src) }

// viewFR is the view of a writer with Flusher, ReaderFrom.
type viewFR struct{ *tracker }

func (w viewFR) Flush()                                { _ = w.flush() }
func (w viewFR) FlushError() error                     { return w.flush() }
func (w viewFR) ReadFrom(src io.Reader) (int64, error) { return w.readFrom(src) }

// viewHR is the view of a writer with Hijacker, ReaderFrom.
type viewHR struct{ *tracker }

func (w viewHR) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }
func (w viewHR) ReadFrom(src io.Reader) (int64, error)        { return w.readFrom(src) }

// viewFHR is the view of a writer with Flusher, Hijacker, ReaderFrom.
type viewFHR struct{ *tracker }

func (w viewFHR) Flush()                                       { _ = w.flush() }
func (w viewFHR) FlushError() error                            { return w.flush() }
func (w viewFHR) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }
func (w viewFHR) ReadFrom(src io.Reader) (int64, error)        { return w.readFrom(src) }

// viewPR is the view of a writer with Pusher, ReaderFrom.
type viewPR struct{ *tracker }

func (w viewPR) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }
func (w viewPR) ReadFrom(src io.Reader) (int64, error)            { return w.readFrom(src) }

// viewFPR is the view of a writer with Flusher, Pusher, ReaderFrom.
type viewFPR struct{ *tracker }

func (w viewFPR) Flush()                                           { _ = w.flush() }
func (w viewFPR) FlushError() error                                { return w.flush() }
func (w viewFPR) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }
func (w viewFPR) ReadFrom(src io.Reader) (int64, error)            { return w.readFrom(src) }

// viewHPR is the view of a writer with Hijacker, Pusher, ReaderFrom.
type viewHPR struct{ *tracker }

func (w viewHPR) Hijack() (net.Conn, *bufio.ReadWriter, error)     { return w.hijack() }
func (w viewHPR) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }
func (w viewHPR) ReadFrom(src io.Reader) (int64, error)            { return w.readFrom(src) }

// viewFHPR is the view of a writer with Flusher, Hijacker, Pusher, ReaderFrom.
type viewFHPR struct{ *tracker }

func (w viewFHPR) Flush()                                           { _ = w.flush() }
func (w viewFHPR) FlushError() error                                { return w.flush() }
func (w viewFHPR) Hijack() (net.Conn, *bufio.ReadWriter, error)     { return w.hijack() }
func (w viewFHPR) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }
func (w viewFHPR) ReadFrom(src io.Reader) (int64, error)            { return w.readFrom(src) }

// Compile-time checks: each view has the interfaces its name promises.
var (
	_ http.Flusher  = viewF{}
	_ http.Hijacker = viewH{}
	_ http.Flusher  = viewFH{}
	_ http.Hijacker = viewFH{}
	_ http.Pusher   = viewP{}
	_ http.Flusher  = viewFP{}
	_ http.Pusher   = viewFP{}
	_ http.Hijacker = viewHP{}
	_ http.Pusher   = viewHP{}
	_ http.Flusher  = viewFHP{}
	_ http.Hijacker = viewFHP{}
	_ http.Pusher   = viewFHP{}
	_ io.ReaderFrom = viewR{}
	_ http.Flusher  = viewFR{}
	_ io.ReaderFrom = viewFR{}
	_ http.Hijacker = viewHR{}
	_ io.ReaderFrom = viewHR{}
	_ http.Flusher  = viewFHR{}
	_ http.Hijacker = viewFHR{}
	_ io.ReaderFrom = viewFHR{}
	_ http.Pusher   = viewPR{}
	_ io.ReaderFrom = viewPR{}
	_ http.Flusher  = viewFPR{}
	_ http.Pusher   = viewFPR{}
	_ io.ReaderFrom = viewFPR{}
	_ http.Hijacker = viewHPR{}
	_ http.Pusher   = viewHPR{}
	_ io.ReaderFrom = viewHPR{}
	_ http.Flusher  = viewFHPR{}
	_ http.Hijacker = viewFHPR{}
	_ http.Pusher   = viewFHPR{}
	_ io.ReaderFrom = viewFHPR{}
)
