package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cookie names of the console.
const (
	sessionCookie = "traceid_session"
	csrfCookie    = "traceid_login"
)

// sessionTTL is how long a login lasts.
const sessionTTL = 12 * time.Hour

// gate lets in the requests that carry the token, as a bearer token or as
// the session cookie that the login form sets.
type gate struct {
	tokenHash [32]byte // sha256 of the token: compared in constant time whatever the lengths
	key       []byte   // signs the session cookies; derived from the token, so a new token ends every session
	now       func() time.Time
}

func newGate(token string, now func() time.Time) *gate {
	k := hmac.New(sha256.New, []byte(token))
	k.Write([]byte("traceid serve session key"))
	return &gate{tokenHash: sha256.Sum256([]byte(token)), key: k.Sum(nil), now: now}
}

// tokenOK reports, in constant time, whether t is the token.
func (g *gate) tokenOK(t string) bool {
	h := sha256.Sum256([]byte(t))
	return subtle.ConstantTimeCompare(h[:], g.tokenHash[:]) == 1
}

// allowed reports whether r carries the token or a live session.
func (g *gate) allowed(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, t, ok := strings.Cut(auth, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && g.tokenOK(strings.TrimSpace(t))
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && g.sessionOK(c.Value)
}

// session returns a session cookie's value: its expiry and the expiry's
// signature.
func (g *gate) session() string {
	exp := strconv.FormatInt(g.now().Add(sessionTTL).Unix(), 10)
	return exp + "." + g.sign(exp)
}

func (g *gate) sign(s string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (g *gate) sessionOK(v string) bool {
	exp, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(g.sign(exp))) {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && g.now().Before(time.Unix(n, 0))
}

// sameOrigin reports whether a form post comes from the console's own
// pages: a browser says where a request comes from in Sec-Fetch-Site and
// Origin, and the login form's double-submitted nonce does the rest for
// the browsers that say neither.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// nonce returns a random value for the login form.
func nonce() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nonceOK reports whether the login form's nonce matches its cookie.
func nonceOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("nonce")
	return err == nil && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) == 1
}

// safeNext returns where to go after the login: a path of this site, or /.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\\") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
