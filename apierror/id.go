package apierror

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
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
// were made, then 62 random bits. A time before 1970 gives the id of
// 1970-01-01 and a time after the year 10889 that of its end: the 48 bits
// say no more, and an id never wraps around to sort among the wrong ones.
//
// The random bits come from math/rand/v2's generator (ChaCha8, seeded by
// the operating system, one state per thread): an id is unique, not
// secret, and no lock or system call is shared between requests.
// [github.com/google/uuid]'s NewV7 takes a process-wide lock and reads
// crypto/rand for each id, which costs twice as much (BENCHMARKS.md); its
// Parse reads these ids.
func NewIDAt(t time.Time) string {
	var u [16]byte
	var ms, frac uint64
	switch unix := t.UnixMilli(); {
	case unix < 0: // UUIDv7 cannot say earlier
	case unix > maxMillis:
		ms, frac = maxMillis, 4095
	default:
		ms = uint64(unix)
		frac = uint64(t.Nanosecond()%1e6) * 4096 / 1e6 // 12 bits of the millisecond
	}
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

// maxMillis is the last millisecond a UUIDv7 can hold.
const maxMillis = 1<<48 - 1

// ValidID reports whether id is a UUID as the contract requires of an
// envelope's id: RFC 9562's layout (version 1 to 8, its variant) in
// canonical form, 36 characters of lower-case hexadecimal digits in groups
// of 8, 4, 4, 4 and 12 separated by hyphens. It does not require version
// 7: the contract accepts any RFC 9562 UUID.
func ValidID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		case 14: // the version
			if c < '1' || c > '8' {
				return false
			}
		case 19: // the variant: 10xx
			if c != '8' && c != '9' && c != 'a' && c != 'b' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// CanonicalID returns id in the contract's canonical form and reports
// whether it is a UUID there ([ValidID]): a UUID in upper or mixed case
// comes back in lower case; anything else comes back as it was, with
// false.
func CanonicalID(id string) (string, bool) {
	if ValidID(id) {
		return id, true
	}
	if len(id) == 36 {
		if l := strings.ToLower(id); ValidID(l) {
			return l, true
		}
	}
	return id, false
}
