package apierror

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimestampLayout is the layout of the envelope's "timestamp": UTC, exactly
// millisecond precision, with a Z suffix.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// Envelope is the body of a 360X error response, member for member. Its JSON
// form has the members in the contract's order, statusCode as a number, the
// timestamp in [TimestampLayout], and is compact.
type Envelope struct {
	ID         string    // "id": the request's UUID
	Timestamp  time.Time // "timestamp": when the error was produced
	StatusCode int       // "statusCode": the HTTP status
	Message    string    // "message": the short title
	Error      string    // "error": the detailed description
	Path       string    // "path": the request's URL path, without the query
}

// AppendJSON appends the compact JSON form of v to dst, without a trailing
// newline, and returns the extended buffer. Strings are escaped as
// encoding/json escapes them (HTML-safe, control characters escaped, invalid
// UTF-8 replaced by U+FFFD), so the output is always valid JSON.
func (v *Envelope) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, v.ID)
	dst = append(dst, `,"timestamp":"`...)
	dst = AppendTimestamp(dst, v.Timestamp)
	dst = append(dst, `","statusCode":`...)
	dst = strconv.AppendInt(dst, int64(v.StatusCode), 10)
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, v.Message)
	dst = append(dst, `,"error":`...)
	dst = appendString(dst, v.Error)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, v.Path)
	return append(dst, '}')
}

// MarshalJSON returns the form of [Envelope.AppendJSON].
func (v Envelope) MarshalJSON() ([]byte, error) {
	return v.AppendJSON(make([]byte, 0, 256)), nil
}

// wireEnvelope is the lenient shape an envelope is read from: statusCode is
// kept raw because the page documents it as a string and shows a number.
type wireEnvelope struct {
	ID         *string         `json:"id"`
	Timestamp  string          `json:"timestamp"`
	StatusCode json.RawMessage `json:"statusCode"`
	Message    *string         `json:"message"`
	Error      string          `json:"error"`
	Path       string          `json:"path"`
}

// UnmarshalJSON reads an envelope leniently: statusCode as a number or a
// string of digits, unknown members ignored, any RFC 3339 timestamp (an
// unparsable one leaves Timestamp zero). It requires an object with "id",
// "statusCode" and "message", and a statusCode from 100 to 599.
func (v *Envelope) UnmarshalJSON(data []byte) error {
	var w wireEnvelope
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if w.ID == nil || w.Message == nil || w.StatusCode == nil {
		return errors.New("missing one of the members id, statusCode, message")
	}
	raw := bytes.TrimSpace(w.StatusCode)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("statusCode: %w", err)
		}
		raw = []byte(s)
	}
	code, err := strconv.Atoi(string(raw))
	if err != nil || code < 100 || code > 599 {
		return fmt.Errorf("statusCode %.20q is not an HTTP status", raw)
	}
	ts, _ := time.Parse(time.RFC3339Nano, w.Timestamp)
	*v = Envelope{ID: *w.ID, Timestamp: ts, StatusCode: code, Message: *w.Message, Error: w.Error, Path: w.Path}
	return nil
}

const hexDigits = "0123456789abcdef"

// AppendTimestamp appends t in [TimestampLayout], as the envelope's
// timestamp is written. It is t.UTC().AppendFormat(dst, TimestampLayout)
// without reading the layout on every call; years
// outside 0000–9999 take AppendFormat.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, TimestampLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return dst
}

// appendString appends s as a JSON string, escaped as encoding/json does
// with HTML escaping on.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
