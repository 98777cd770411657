package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
)

// The statuses the probes provoke.
var (
	want404 = []int{http.StatusNotFound}
	// A long segment may be refused as a whole: 414 is an answer too.
	want404or414 = []int{http.StatusNotFound, http.StatusRequestURITooLong}
)

// unusual is a path segment of characters a path may hold, most of them
// percent-encoded: UTF-8 (é), a space, a percent sign, a byte that is not
// UTF-8, and the sub-delimiters RFC 3986 allows as they are.
const unusual = "%C3%A9t%C3%A9%20x%25~!$&'()*+,;=:@%FF"

// probe sends every request and returns the answers, in order.
func (p *prober) probe(ctx context.Context) []*answer {
	var out []*answer
	send := func(r *request) *answer {
		if ctx.Err() != nil {
			return nil
		}
		a := p.send(ctx, r)
		out = append(out, a)
		return a
	}
	missing := p.prefix() + "/probe-" + p.run + "-missing"
	get := func(probe, target string, want []int) *request {
		return &request{probe: probe, method: http.MethodGet, target: target, header: p.baseHeader(true), want: want}
	}
	send(get("unknown path", missing, want404))
	send(&request{probe: "unknown path, HEAD", method: http.MethodHead, target: missing, header: p.baseHeader(true), want: want404})
	send(get("unknown path with a query string", missing+"?probe="+p.can.Query+"&x=%20y", want404))
	send(get("unknown path with unusual characters", p.prefix()+"/probe-"+p.run+"/"+unusual, want404))
	send(get("unknown path with a long segment", p.prefix()+"/probe-"+p.run+"/"+strings.Repeat("a", 2000), want404or414))
	same := p.prefix() + "/probe-" + p.run + "-same"
	for range p.o.sample {
		send(get("identical requests (uniqueness)", same, want404))
	}
	if p.api == nil {
		return out
	}

	// The burst goes to a GET operation: a secured one that did not fail
	// (rate limits are per credentials, usually), else a secured one,
	// else any.
	var burstTo *request
	burstRank := 0
	for _, item := range p.api.paths {
		path := p.prefix() + p.fill(item.template)
		methods := item.methods()
		// Without credentials, a secured path may answer 401 before it
		// routes or validates: the contract does not order the two.
		behindAuth := func(want int) []int {
			if !p.hasCredentials() && item.secured() {
				return []int{want, http.StatusUnauthorized}
			}
			return []int{want}
		}
		if m := p.disallowed(methods); m != "" {
			r := get("a method the path does not allow", path, behindAuth(http.StatusMethodNotAllowed))
			r.method, r.allowed = m, methods
			send(r)
		}
		for _, op := range item.ops {
			if op.secured {
				for _, bad := range []struct{ probe, token string }{
					{"no credentials", ""},
					{"a bad token", p.can.Token},
				} {
					r := &request{probe: bad.probe + " on a secured operation", method: op.method, target: path, header: p.baseHeader(false), want: []int{http.StatusUnauthorized}}
					if bad.token != "" {
						r.header.Set("Authorization", "Bearer "+bad.token)
						for _, h := range p.api.credHeaders {
							if h != "Authorization" {
								r.header.Set(h, bad.token)
							}
						}
					}
					if op.jsonBody {
						// A malformed body: authentication comes before
						// validation, so the answer is still a 401.
						r.header.Set("Content-Type", "application/json")
						r.body = []byte(`{"probe":"` + p.can.Body + `"`)
					}
					if op.method == http.MethodGet || op.method == http.MethodHead || op.jsonBody || p.o.unsafe {
						send(r)
					}
				}
			}
			if op.method == http.MethodGet {
				r := get("a GET operation", path+"?probe="+p.can.Query, nil)
				a := send(r)
				rank := 1
				if op.secured {
					rank = 2
					if a != nil && a.err == nil && a.status < 500 {
						rank = 3
					}
				}
				if rank > burstRank {
					burstTo, burstRank = r, rank
				}
			}
			if !op.jsonBody {
				continue
			}
			body := func(probe, contentType string, b []byte, want int) *request {
				r := &request{probe: probe, method: op.method, target: path, header: p.baseHeader(true), body: b, want: behindAuth(want)}
				r.header.Set("Content-Type", contentType)
				return r
			}
			send(body("a body of the wrong content type", "text/plain; charset=utf-8", []byte("probe "+p.can.Body), http.StatusUnsupportedMediaType))
			send(body("a malformed JSON body", "application/json", []byte(`{"probe":"`+p.can.Body+`"`), http.StatusBadRequest))
			if p.o.bodyLimit > 0 {
				// Over the limit and never valid JSON: even a service
				// without a limit cannot act on it.
				big := bytes.Repeat([]byte(" "), int(p.o.bodyLimit)+1)
				copy(big, `{"probe":"`+p.can.Body+`",`)
				send(body("a body over -body-limit", "application/json", big, http.StatusRequestEntityTooLarge))
			}
			if len(op.required) > 0 && p.o.unsafe {
				r := body("a body of the wrong shape (no required attribute)", "application/json", []byte(`{"probe":"`+p.can.Body+`"}`), http.StatusBadRequest)
				r.required = op.required
				send(r)
			}
		}
	}
	if p.o.burst > 0 && burstTo != nil {
		for range p.o.burst {
			a := send(&request{probe: "a burst (rate limit)", method: http.MethodGet, target: burstTo.target, header: p.baseHeader(true)})
			if a == nil || a.err != nil || a.status == http.StatusTooManyRequests {
				break
			}
		}
	}
	return out
}

// hasCredentials reports whether -H gave a credential header.
func (p *prober) hasCredentials() bool {
	for _, h := range p.o.headers {
		if name, _, _ := strings.Cut(h, ":"); p.isCredHeader(name) {
			return true
		}
	}
	return false
}

// fill replaces each {parameter} of a path template with a value that
// names no existing resource.
func (p *prober) fill(tmpl string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		j := strings.IndexByte(tmpl[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		b.WriteString("probe-" + p.run)
		tmpl = tmpl[i+j+1:]
	}
}

// disallowed returns a method the path does not list: GET, PATCH or PUT
// (sent without a body), and with -unsafe DELETE or POST; "" when the path
// lists them all.
func (p *prober) disallowed(listed []string) string {
	candidates := []string{http.MethodGet, http.MethodPatch, http.MethodPut}
	if p.o.unsafe {
		candidates = append(candidates, http.MethodDelete, http.MethodPost)
	}
	for _, m := range candidates {
		if !slices.Contains(listed, m) {
			return m
		}
	}
	return ""
}
