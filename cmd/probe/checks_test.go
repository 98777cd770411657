package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestInternalText: what error.5xx-internal finds in a 5xx, and the fixed
// sentences it must let through.
func TestInternalText(t *testing.T) {
	for _, text := range []string{
		"goroutine 7 [running]:",
		"main.go:42",
		"/home/svc/app/handler.go:17 +0x1d",
		"panic(0x4f2e40)",
		"runtime error: invalid memory address or nil pointer dereference",
		"dial tcp 10.0.0.7:5432: connect: connection refused",
		"unexpected EOF",
		"context deadline exceeded",
		`Traceback (most recent call last):`,
		`File "/srv/app/views.py", line 12, in get`,
		"at com.example.Offers.get(Offers.java:42)",
		"at Object.<anonymous> (/srv/index.js:3:9)",
		"pq: duplicate key value violates unique constraint",
		"SELECT * FROM offers WHERE id = 1",
		"ERROR: syntax error at or near \"FROM\" (SQLSTATE 42601)",
		`open C:\\srv\\config.json: access denied`,
		// What an outside try found passing.
		"ERROR 1064 (42000): You have an error in your SQL syntax near 'WHERE id=1'",
		"panic: something",
		"KeyError: 'price'",
		"TypeError: Cannot read properties of undefined (reading 'price')",
		"json: cannot unmarshal string into Go value of type int",
		`upstream said: {"id":"x","statusCode":500}`,
		"redis: connection pool timeout",
		"ECONNREFUSED 127.0.0.1:6379",
		"x509: certificate signed by unknown authority",
	} {
		found := false
		for _, it := range internalText {
			found = found || it.re.MatchString(text)
		}
		assert.True(t, found, "not found: %q", text)
	}
	for _, text := range []string{
		"The server encountered an unexpected error. Quote the id to 360X support.",
		"The service is unavailable. Retry at 10:00:00 or later.",
		"The upstream service did not answer in time.",
		"Generic Error",
		"There was a generic error",
		"Please select another offer from the list and update your settings.",
		"A service this one depends on answered an error.",
	} {
		for _, it := range internalText {
			assert.False(t, it.re.MatchString(text), "%s found in the fixed sentence %q", it.what, text)
		}
	}
}
