package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// request is one request the probe sends, and what the contract says the
// answer must be.
type request struct {
	// probe names what the request provokes, e.g. "unknown path".
	probe  string
	method string
	// target is the request-target exactly as written on the request
	// line: the path (with the base URL's prefix) and any query.
	target string
	header http.Header
	body   []byte
	// want are the statuses the contract gives the request; nil: any
	// (the answer is graded if it is an error).
	want []int
	// required are the attributes an invalid-model answer must name.
	required []string
	// allowed are the methods the document lists for the path (a 405's
	// Allow must name them).
	allowed []string
	// clientID is the X-Request-Id the probe sent, which the service
	// must not take as the error's id.
	clientID string
}

// path returns the path part of the target.
func (r *request) path() string {
	p, _, _ := strings.Cut(r.target, "?")
	return p
}

// answer is what the service answered to a request.
type answer struct {
	req      *request
	sent     time.Time
	received time.Time
	err      error // the request failed without an answer
	status   int
	reason   string // the status line's reason phrase
	header   http.Header
	body     []byte
	// trailing is how many bytes came after the answer on a connection
	// the probe asked to close (a HEAD answer's body, for one).
	trailing int
}

// isError reports whether the answer is an error answer the contract
// governs.
func (a *answer) isError() bool { return a.err == nil && a.status >= 400 && a.status <= 599 }

// canaries are unique values the probe sends where the contract forbids
// logging them; finding one in a log line is a leak.
type canaries struct {
	Query  string `json:"query"`
	Body   string `json:"body"`
	Token  string `json:"token"`
	Cookie string `json:"cookie"`
}

func (c canaries) list() [][2]string {
	return [][2]string{{"query string", c.Query}, {"request body", c.Body}, {"token", c.Token}, {"cookie", c.Cookie}}
}

// prober sends the requests, one at a time, at most o.rate a second.
type prober struct {
	o   *options
	api *spec
	run string // this run's mark, in every path it invents
	// started is when the probe began (the store is searched from then).
	started time.Time
	// logStart is the size of the -log file when the probe began: the
	// lines before it are not the probe's.
	logStart int64
	can      canaries
	last     time.Time
	// userSecrets are credential values given with -H, which no line
	// may carry either.
	userSecrets []string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newProber(o *options, api *spec) *prober {
	p := &prober{o: o, api: api, run: randomHex(4), started: time.Now()}
	if o.logFile != "" {
		if fi, err := os.Stat(o.logFile); err == nil {
			p.logStart = fi.Size()
		}
	}
	p.can = canaries{
		Query:  "pq" + randomHex(8),
		Body:   "pb" + randomHex(8),
		Token:  "pt" + randomHex(8),
		Cookie: "pc" + randomHex(8),
	}
	for _, h := range o.headers {
		name, value, _ := strings.Cut(h, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "authorization":
			if _, tok, ok := strings.Cut(value, " "); ok {
				value = strings.TrimSpace(tok)
			}
		case "cookie":
		default:
			if !p.isCredHeader(name) {
				continue
			}
		}
		if len(value) >= 8 {
			p.userSecrets = append(p.userSecrets, value)
		}
	}
	return p
}

func (p *prober) isCredHeader(name string) bool {
	name = http.CanonicalHeaderKey(strings.TrimSpace(name))
	if name == "Authorization" {
		return true
	}
	if p.api == nil {
		return false
	}
	for _, h := range p.api.credHeaders {
		if h == name {
			return true
		}
	}
	return false
}

// baseHeader returns the headers of every request: the -H headers, the
// probe's cookie canary, a client X-Request-Id, Accept.
func (p *prober) baseHeader(withCredentials bool) http.Header {
	h := http.Header{}
	for _, kv := range p.o.headers {
		name, value, _ := strings.Cut(kv, ":")
		if !withCredentials && p.isCredHeader(name) {
			continue
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	cookie := "probe_session=" + p.can.Cookie
	if c := h.Get("Cookie"); c != "" {
		cookie = c + "; " + cookie
	}
	h.Set("Cookie", cookie)
	h.Set("Accept", "application/json")
	h.Set("User-Agent", "360x-probe")
	return h
}

// prefix returns the base URL's path, escaped, without a trailing slash.
func (p *prober) prefix() string { return strings.TrimSuffix(p.o.base.EscapedPath(), "/") }

// reachable sends one request and reports whether the service can be
// reached. An answer that is not HTTP is the service's failure, graded
// like any other, not a reason to stop.
func (p *prober) reachable(ctx context.Context) error {
	a := p.send(ctx, &request{probe: "reachability", method: http.MethodGet, target: p.prefix() + "/", header: p.baseHeader(false)})
	var unreachable *unreachableError
	if errors.As(a.err, &unreachable) {
		return unreachable.err
	}
	return nil
}

// unreachableError is a request that got no connection: the service
// cannot be reached.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// maxAnswer is the most of an answer's body the probe reads.
const maxAnswer = 1 << 20

// send sends req on a connection of its own, written byte for byte as the
// probe means it (the target is not re-encoded), and reads the answer.
func (p *prober) send(ctx context.Context, req *request) *answer {
	if wait := time.Until(p.last.Add(time.Duration(float64(time.Second) / p.o.rate))); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	if req.clientID == "" {
		req.clientID = uuid.Must(uuid.NewV7()).String()
	}
	a := &answer{req: req, sent: time.Now()}
	p.last = a.sent
	a.err = p.roundTrip(ctx, req, a)
	a.received = time.Now()
	return a
}

func (p *prober) roundTrip(ctx context.Context, req *request, a *answer) error {
	ctx, cancel := context.WithTimeout(ctx, p.o.timeout)
	defer cancel()
	host := p.o.base.Host
	addr := host
	if p.o.base.Port() == "" {
		if p.o.base.Scheme == "https" {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return &unreachableError{err}
	}
	defer conn.Close()
	if p.o.base.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: p.o.base.Hostname(), NextProtos: []string{"http/1.1"}, InsecureSkipVerify: p.o.insecure}) // -insecure: a staging service's own certificate
		if err := tc.HandshakeContext(ctx); err != nil {
			return &unreachableError{fmt.Errorf("TLS: %w", err)}
		}
		conn = tc
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)

	h := req.header.Clone()
	if v := h.Get("Host"); v != "" { // -H 'Host: …': a virtual host behind the address
		host = v
		h.Del("Host")
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.method, req.target, host)
	h.Set("X-Request-Id", req.clientID)
	h.Set("Connection", "close")
	if req.body != nil || req.method == http.MethodPost || req.method == http.MethodPut || req.method == http.MethodPatch {
		h.Set("Content-Length", strconv.Itoa(len(req.body)))
	}
	_ = h.Write(&head)
	head.WriteString("\r\n")

	// The request is written while the answer is read: a service may
	// answer (413) before it has read a large body, and close.
	wrote := make(chan error, 1)
	go func() {
		_, err := conn.Write(head.Bytes())
		if err == nil && len(req.body) > 0 {
			_, err = conn.Write(req.body)
		}
		wrote <- err
	}()
	// A hostile or broken service cannot make the probe hold more than
	// this: the headers, a body cut at maxAnswer, what follows.
	br := bufio.NewReader(io.LimitReader(conn, 3*maxAnswer))
	resp, err := http.ReadResponse(br, &http.Request{Method: req.method})
	if err != nil {
		if werr := <-wrote; werr != nil {
			return fmt.Errorf("writing the request: %w", werr)
		}
		return fmt.Errorf("reading the answer: %w", err)
	}
	defer resp.Body.Close()
	a.status = resp.StatusCode
	a.reason = strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	a.header = resp.Header
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	a.body = body
	if err != nil {
		return fmt.Errorf("reading the answer's body: %w", err)
	}
	// Anything after the answer on a connection to be closed: a HEAD
	// answer's body, or garbage.
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := io.Copy(io.Discard, io.LimitReader(br, maxAnswer))
	a.trailing = int(n)
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		return fmt.Errorf("reading after the answer: %w", err)
	}
	return nil
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}
