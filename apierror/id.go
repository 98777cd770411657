package apierror

import (
	"math/rand/v2"
	"time"
)

// NewID returns a new UUIDv7 (RFC 9562) in canonical lower-case form: 48
// bits of Unix milliseconds, so support can tell when an id was issued, and
// 74 random bits.
//
// The random bits come from math/rand/v2's global generator (ChaCha8,
// seeded by the operating system, one state per thread). An error id must
// be unique, not secret, and this keeps id generation free of locks and
// system calls, so concurrent requests never wait on each other for an id
// (google/uuid's NewV7 takes a global lock and reads crypto/rand).
func NewID() string { return newIDAt(time.Now()) }

// newIDAt is [NewID] with the time prefix taken from t, for a caller that
// has just read the clock.
func newIDAt(t time.Time) string {
	return string(appendUUIDv7(make([]byte, 0, 36), t, rand.Uint64(), rand.Uint64()))
}

// appendUUIDv7 appends the canonical form of the UUIDv7 made of t's Unix
// milliseconds and the random bits of hi and lo.
func appendUUIDv7(dst []byte, t time.Time, hi, lo uint64) []byte {
	var u [16]byte
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | byte(hi>>60)&0x0f // version 7 and 4 bits of rand_a
	u[7] = byte(hi >> 52)           // 8 more bits of rand_a
	u[8] = 0x80 | byte(lo>>58)&0x3f // variant 10 and 6 bits of rand_b
	u[9], u[10], u[11], u[12], u[13], u[14], u[15] = byte(lo>>48), byte(lo>>40), byte(lo>>32), byte(lo>>24), byte(lo>>16), byte(lo>>8), byte(lo)
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0xf])
	}
	return dst
}
