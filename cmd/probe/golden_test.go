package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/")

// fixedV7 is a UUIDv7 of time t whose random bits are n.
func fixedV7(t time.Time, n uint64) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(u[8:], n)
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// goldenAnswers are three answers with fixed times and ids: a 405 without
// Allow, a HEAD, and a 500 that sends its cause.
func goldenAnswers() []*answer {
	at := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	ts := at.Format("2006-01-02T15:04:05.000Z")
	mk := func(n int, method, target string, status int, h http.Header, body string) *answer {
		id := fixedV7(at, uint64(n))
		h.Set("X-Request-Id", id)
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if body != "" {
			body = fmt.Sprintf(body, id, ts)
		}
		return &answer{
			req:  &request{probe: "probe " + method, method: method, target: target, header: http.Header{"Authorization": {"Bearer secret-given-with-h"}}, want: []int{status}, clientID: fixedV7(at, uint64(100+n)), allowed: []string{"GET", "POST"}},
			sent: at, received: at.Add(10 * time.Millisecond),
			status: status, reason: http.StatusText(status), header: h, body: []byte(body),
		}
	}
	return []*answer{
		mk(1, "PATCH", "/offers", 405, http.Header{}, `{"id":"%s","timestamp":"%s","statusCode":405,"message":"Method Not Allowed","error":"PATCH is not allowed.","path":"/offers"}`+"\n"),
		mk(2, "HEAD", "/probe-x", 404, http.Header{}, ""),
		mk(3, "GET", "/panic", 500, http.Header{}, `{"id":"%s","timestamp":"%s","statusCode":500,"message":"Generic Error","error":"runtime error: index out of range [3] with length 2","path":"/panic"}`+"\n"),
	}
}

// TestGoldenReports: the three forms of the report of goldenAnswers, byte
// for byte (go test ./cmd/probe -run Golden -update rewrites them).
func TestGoldenReports(t *testing.T) {
	base, _ := url.Parse("http://svc.example")
	p := &prober{o: &options{base: base, skew: 5 * time.Minute}, run: "abcd1234",
		can: canaries{Query: "pq0", Body: "pb0", Token: "pt0", Cookie: "pc0"}}
	rep := grade(p, goldenAnswers(), nil)
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"report.golden.txt", func(b *bytes.Buffer) error { return rep.writeText(b) }},
		{"report.golden.json", func(b *bytes.Buffer) error { return rep.writeJSON(b) }},
		{"report.golden.xml", func(b *bytes.Buffer) error { return rep.writeJUnit(b) }},
	} {
		var got bytes.Buffer
		require.NoError(t, f.write(&got))
		path := filepath.Join("testdata", f.name)
		if *update {
			require.NoError(t, os.WriteFile(path, got.Bytes(), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(want), got.String(), "%s differs (-update rewrites it)", path)
	}
}
