package apierror

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// statusHeaders makes sure that h has the headers the contract requires for
// status (see [Renderer.WriteEnvelope]).
func statusHeaders(h http.Header, status int, now func() time.Time) {
	switch status {
	case http.StatusUnauthorized:
		challenges := h["Www-Authenticate"]
		for _, c := range challenges {
			if isBearer(c) {
				return
			}
		}
		h["Www-Authenticate"] = append([]string{DefaultChallenge}, challenges...)
	case http.StatusMethodNotAllowed:
		if _, ok := h["Allow"]; !ok {
			h["Allow"] = []string{""}
		}
	case http.StatusTooManyRequests:
		secs, ok := retryAfter(h, now)
		if !ok {
			secs = retryAfterSeconds(DefaultRetryAfter)
		}
		h["Retry-After"] = []string{secs}
	default:
		if _, set := h["Retry-After"]; set {
			if secs, ok := retryAfter(h, now); ok {
				h["Retry-After"] = []string{secs}
			} else {
				delete(h, "Retry-After")
			}
		}
	}
}

// isBearer reports whether challenge uses the Bearer scheme.
func isBearer(challenge string) bool {
	c := strings.TrimSpace(challenge)
	return len(c) >= 6 && strings.EqualFold(c[:6], "Bearer") && (len(c) == 6 || c[6] == ' ')
}

// retryAfter returns h's Retry-After in whole seconds: as given when it is
// already a number of seconds, rounded up from now when it is an HTTP date;
// false when it is absent or neither.
func retryAfter(h http.Header, now func() time.Time) (string, bool) {
	v := h["Retry-After"]
	if len(v) == 0 {
		return "", false
	}
	d, date, ok := parseRetryAfter(v[0], now)
	switch {
	case !ok:
		return "", false
	case date:
		return retryAfterSeconds(d), true
	}
	return strconv.FormatInt(int64(d/time.Second), 10), true
}

// ParseRetryAfter returns the wait a Retry-After header value v gives: a
// number of seconds, or an HTTP date (RFC 9110, section 10.2.3) less now,
// which may be negative; false when v is neither.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	d, _, ok := parseRetryAfter(v, func() time.Time { return now })
	return d, ok
}

// parseRetryAfter is ParseRetryAfter that also says whether v was a date.
func parseRetryAfter(v string, now func() time.Time) (d time.Duration, date, ok bool) {
	s := strings.TrimSpace(v)
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return time.Duration(n) * time.Second, false, true
	}
	if t, err := http.ParseTime(s); err == nil {
		return t.Sub(now()), true, true
	}
	return 0, false, false
}

// RequestPath returns the path of req's target as the client sent it: the
// path part of req.RequestURI, without the query, still percent-encoded.
// A prefix removed by http.StripPrefix, or any other rewrite of req.URL on
// the way to a handler, does not change it, so the envelope's "path" and
// the log name the path the client can recognise.
//
// It is "*" for a target that is not a path (OPTIONS *, CONNECT
// host:port), and the escaped req.URL path for a request built without a
// RequestURI (client requests, some tests).
func RequestPath(req *http.Request) string {
	uri := req.RequestURI
	if uri == "" {
		if req.URL == nil {
			return "/"
		}
		if p := req.URL.EscapedPath(); p != "" {
			return p
		}
		return "/"
	}
	if uri[0] != '/' {
		// Absolute form (a request to a proxy): the path starts at the
		// first '/' after the scheme's "//" and the authority.
		i := strings.Index(uri, "://")
		if i < 0 {
			return "*"
		}
		rest := uri[i+3:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 || rest[j] != '/' {
			return "/"
		}
		uri = rest[j:]
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}
