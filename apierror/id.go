package apierror

import (
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// NewID returns a new UUIDv7 (RFC 9562) in canonical lower-case form, for
// the current time. See [NewIDAt].
func NewID() string { return NewIDAt(time.Now()) }

// NewIDAt returns a new UUIDv7 (RFC 9562) in canonical lower-case form
// whose time is t: 48 bits of Unix milliseconds, so that support can tell
// when an id was issued (and whether the 30-day log window still covers
// it), then 12 bits of the fraction of that millisecond (RFC 9562's
// method 3), so that ids made more than 250 ns apart sort in the order they
// were made, then 62 random bits.
//
// The random bits come from math/rand/v2's generator (ChaCha8, seeded by
// the operating system, one state per thread): an id is unique, not
// secret, and no lock or system call is shared between requests.
// [github.com/google/uuid]'s NewV7 takes a process-wide lock and reads
// crypto/rand for each id, which costs twice as much (BENCHMARKS.md); its
// Parse reads these ids.
func NewIDAt(t time.Time) string {
	var u [16]byte
	ms := uint64(t.UnixMilli()) & (1<<48 - 1)
	frac := uint64(t.Nanosecond()%1e6) * 4096 / 1e6 // 12 bits of the millisecond
	r := rand.Uint64()
	hi := ms<<16 | 0x7000 | frac // version 7
	lo := r>>2 | 1<<63           // variant 10
	for i := range 8 {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
