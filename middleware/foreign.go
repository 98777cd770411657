package middleware

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/360x/errkit/apierror"
)

// ForeignError is the internal cause of an envelope made from an error
// response that code without apierror wrote (http.Error, a router's default
// 404, a rate limiter): its status and the start of its body, which is
// logged and, for a 5xx, never sent.
type ForeignError struct {
	Status int
	Body   []byte
}

// Error describes the foreign response.
func (f *ForeignError) Error() string {
	return "handler wrote status " + strconv.Itoa(f.Status) + " without apierror; body: " + strconv.Quote(string(f.Body))
}

// timeoutBody starts the body that http.TimeoutHandler writes by default.
var timeoutBody = []byte("<html><head><title>Timeout</title>")

// maxForeignDetail is the longest 4xx body that becomes the envelope's
// detail.
const maxForeignDetail = 200

// foreignRecordLocked turns the held-back foreign response into the record
// of an error and forgets it; aside is why it does not answer, or "".
func (t *tracker) foreignRecordLocked(aside string) errorRecord {
	rec := errorRecord{err: t.foreignError(t.foreign, t.foreignBody), foreign: true, aside: aside}
	rec.env = t.envelope(rec.err)
	t.foreign, t.foreignBody = 0, nil
	return rec
}

// foreignError turns a foreign response, its status and the start of its
// body, into an error.
func (t *tracker) foreignError(status int, body []byte) *apierror.Error {
	cause := &ForeignError{Status: status, Body: body}
	if status == http.StatusServiceUnavailable && bytes.HasPrefix(body, timeoutBody) {
		// http.TimeoutHandler's answer: the handler ran out of time, which
		// the contract answers with a 504.
		return apierror.GatewayTimeout(errors.Join(errors.New("http.TimeoutHandler: handler timed out"), cause))
	}
	if status >= 500 {
		e := apierror.New(status, "")
		e.Cause = cause
		return e
	}
	detail := t.foreignDetail(status, body)
	if status == http.StatusTooManyRequests && detail == "" {
		// Say when to retry, as apierror.TooManyRequests does: from the
		// limiter's Retry-After, or the renderer's default.
		e := apierror.TooManyRequests(t.retryAfter())
		e.Cause = cause
		return e
	}
	e := apierror.New(status, detail)
	e.Cause = cause
	return e
}

// retryAfter returns the wait before a retry that the limiter's headers
// give: the time until its window resets (X-RateLimit-Reset) or its
// Retry-After (seconds or an HTTP date), the sooner of the two when both
// are there; apierror.DefaultRetryAfter when neither is.
//
// httprate, for one, sends its whole window W as Retry-After, the end of
// the current window as X-RateLimit-Reset and its limit L as
// X-RateLimit-Limit, and counts in a sliding window: past the reset, the
// window that ended still weighs its count times the share of W not yet
// elapsed, so a request passes only some time d > W/(2L) after the reset
// (with the ended window full; sooner with less in it). With a limit
// given, the wait is the reset plus that: a client that waits it is let
// through.
func (t *tracker) retryAfter() time.Duration {
	h, now := t.w.Header(), t.cfg.now()
	reset, hasReset := rateLimitReset(h.Get("X-RateLimit-Reset"), now)
	ra, hasRA := apierror.ParseRetryAfter(h.Get("Retry-After"), now)
	switch {
	case hasReset && hasRA:
		if limit, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil && limit > 0 {
			return max(reset+ra/time.Duration(2*limit)+time.Millisecond, 0)
		}
		return max(min(reset, ra), 0)
	case hasReset:
		return reset
	case hasRA:
		return max(ra, 0)
	}
	return apierror.DefaultRetryAfter
}

// unixSeconds is the smallest X-RateLimit-Reset read as a Unix time (in
// 2001); a smaller value is a number of seconds from now, as other
// limiters (and the IETF's RateLimit-Reset) send it.
const unixSeconds = 1_000_000_000

// rateLimitReset returns the time until the reset v names, a Unix time in
// seconds (httprate's) or a number of seconds; at least 0. False when v is
// not a number. A Unix time counts to the end of its second: httprate's is
// its window's end with the fraction cut off.
func rateLimitReset(v string, now time.Time) (time.Duration, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n < unixSeconds {
		return time.Duration(n) * time.Second, true
	}
	return max(time.Unix(n+1, 0).Sub(now), 0), true
}

// foreignDetail returns a short plain-text 4xx body as the envelope's
// detail, or "" for the status's default: a body that is long, not plain
// text, spans lines, is not UTF-8, or says no more than the status text.
func (t *tracker) foreignDetail(status int, body []byte) string {
	if mt, _, err := mime.ParseMediaType(t.w.Header().Get("Content-Type")); err == nil && mt != "text/plain" {
		return ""
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || len(body) > maxForeignDetail || !utf8.Valid(body) || bytes.ContainsAny(body, "\r\n") {
		return ""
	}
	for _, c := range body {
		if c < 0x20 || c == 0x7f {
			return ""
		}
	}
	text := http.StatusText(status)
	s := string(body)
	if strings.EqualFold(s, text) || strings.EqualFold(s, strconv.Itoa(status)+" "+text) || s == "404 page not found" {
		return ""
	}
	return s
}
