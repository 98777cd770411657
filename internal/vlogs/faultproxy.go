package vlogs

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sync"
	"time"
)

// Fault is what a [FaultProxy] does with a request.
type Fault int

const (
	// Pass forwards the request to the store and its answer back.
	Pass Fault = iota
	// Slow waits the proxy's delay, then forwards the request, unless its
	// client has given up by then.
	Slow
	// Hang reads the request and never forwards it, nor answers, until the
	// client gives up or the fault changes.
	Hang
	// Fail answers 500 without forwarding the request.
	Fail
)

// FaultProxy is an HTTP proxy in front of a real VictoriaLogs that can
// make it look slow, hung or failing, for tests of what a store's faults
// cost. Hang and Slow never forward a request whose client has gone, so
// that a line is in the store only if its sender saw it taken (or, for
// Slow, if the delay was shorter than the sender's timeout).
type FaultProxy struct {
	URL string

	srv   *httptest.Server
	mu    sync.Mutex
	fault Fault
	delay time.Duration
	// changed is closed and replaced when the fault changes, to release
	// hung requests.
	changed chan struct{}
}

// NewFaultProxy starts a proxy to the store at target on loopback.
func NewFaultProxy(target string) (*FaultProxy, error) {
	u, err := parseBase(target)
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{changed: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(w, r, rp)
	}))
	p.URL = p.srv.URL
	return p, nil
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	// The whole body first: only then does the server notice a client
	// that gives up (and cancel r's context), so that a request whose
	// sender timed out is not forwarded later.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	for {
		p.mu.Lock()
		fault, delay, changed := p.fault, p.delay, p.changed
		p.mu.Unlock()
		switch fault {
		case Fail:
			w.WriteHeader(http.StatusInternalServerError)
			return
		case Hang:
			select {
			case <-r.Context().Done():
				return
			case <-changed:
				if r.Context().Err() != nil {
					return
				}
				continue
			}
		case Slow:
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay):
			}
			if r.Context().Err() != nil {
				return
			}
		}
		next.ServeHTTP(w, r)
		return
	}
}

// Set changes the fault for the requests to come and for the hung ones;
// delay is Slow's wait.
func (p *FaultProxy) Set(f Fault, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.delay = f, delay
	close(p.changed)
	p.changed = make(chan struct{})
}

// Close stops the proxy.
func (p *FaultProxy) Close() {
	p.Set(Pass, 0)
	p.srv.CloseClientConnections()
	p.srv.Close()
}
