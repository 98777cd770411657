package apierror

import "github.com/google/uuid"

// NewID returns a new UUIDv7 (RFC 9562) in canonical lower-case form, from
// github.com/google/uuid: 48 bits of Unix milliseconds, so support can tell
// when an id was issued (and whether the 30-day log window still covers
// it), then a sequence that keeps the ids made within one millisecond in
// order, then random bits. BENCHMARKS.md has the figures that chose it
// over a hand-written generator.
func NewID() string {
	// NewV7 fails only when crypto/rand does, which since Go 1.24 ends the
	// program before returning an error.
	return uuid.Must(uuid.NewV7()).String()
}
