package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// CallTokenHeader is the request header that carries a call token from
// the calling service to the called one (see [StartCall]).
const CallTokenHeader = "X-Call-Token"

// callTokenLen is the length of a call token: 128 random bits in
// lower-case hex.
const callTokenLen = 32

// StartCall notes, on the request whose context is ctx, that it is about to
// call another service, and returns the call token to send with that call
// as [CallTokenHeader]: 128 random bits of this service's own, in 32
// lower-case hex characters. The request's line lists the tokens of its
// calls as "call_tokens", whether or not the call got an answer; the
// called service, behind Errors, logs the token it received as
// "call_token" on every line of its request. The two lines name each other
// through a value only the two services saw, so support (cmd/traceid) can
// follow a call that timed out or was reset, and a service that answers
// with someone else's request id cannot pull that request into the
// caller's story.
//
// Package apiclient's Transport calls it for every request it sends. It
// returns "" outside Errors and once the request has listed 64 tokens: a
// token nobody records links nothing, so none is sent.
func StartCall(ctx context.Context) string {
	t := trackerFrom(ctx)
	if t == nil {
		return ""
	}
	token := ""
	if t.cfg.newToken != nil {
		token = t.cfg.newToken()
	}
	if !validCallToken(token) {
		var b [callTokenLen / 2]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
		token = hex.EncodeToString(b[:])
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.callTokens) >= maxCalls {
		return ""
	}
	t.callTokens = append(t.callTokens, token)
	return token
}

// WithCallTokenGenerator sets the source of the call tokens that
// [StartCall] gives, for reproducible output (golden files, examples):
// the default is 128 bits from crypto/rand. A token is the link between
// two services' lines, so outside tests keep the default: a predictable
// token lets a third party make a request that claims the call. A value
// not of the form 32 lower-case hex characters is not used (the call gets
// a random token), since the called service would not log it. It must be
// safe for concurrent use. Errors panics on nil.
func WithCallTokenGenerator(newToken func() string) Option {
	return func(c *config) {
		if newToken == nil {
			panic("middleware: WithCallTokenGenerator(nil)")
		}
		c.newToken = newToken
	}
}

// validCallToken reports whether s, a CallTokenHeader a client sent, has
// the form StartCall gives (32 lower-case hex characters): only such a
// value is logged, as call_token. Anything else is dropped, not repaired:
// the header is client-controlled, and a call token is compared, never
// read.
func validCallToken(s string) bool {
	if len(s) != callTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
