package main

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// service is a small 360X service written without the kit, from the
// contract alone, serving the API of testdata/offers.openapi.json (the
// demo's). Its defect, when not "", breaks exactly one rule; the suite in
// probe_test.go runs the probe on each and expects exactly that rule's
// check to fail.
type service struct {
	defect string
	// limit is how many authenticated requests it answers before 429s.
	limit int
	// name is the service field of its log lines ("fake" when empty).
	name string

	mu     sync.Mutex
	log    io.Writer
	authed int
	n      int
	lastID string
}

const (
	serviceToken = "good-token-for-tests"
	bodyLimit    = 1 << 20
)

var offerPath = regexp.MustCompile(`^/api/v1/participant/offers/([^/]+)(/quote)?$`)

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.fail(w, r, 405, "Method "+r.Method+" is not allowed.", "GET")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	case strings.HasPrefix(p, "/api/v1/"):
		if s.defect == "validate-first" && r.Method == http.MethodPost && p == "/api/v1/participant/offers" {
			// The body is validated before the credentials are.
			body, _ := io.ReadAll(io.LimitReader(r.Body, bodyLimit+1))
			if len(body) <= bodyLimit && !json.Valid(body) && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				s.fail(w, r, 400, "The body is not valid JSON.", "")
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		if r.Header.Get("Authorization") != "Bearer "+serviceToken {
			s.fail(w, r, 401, "Token is invalid", "")
			return
		}
		s.mu.Lock()
		s.authed++
		limited := s.limit > 0 && s.authed > s.limit
		s.mu.Unlock()
		if limited {
			s.fail(w, r, 429, "Too many requests: retry in 60 seconds.", "")
			return
		}
		s.api(w, r)
	default:
		s.fail(w, r, 404, "No route matches "+r.Method+" on this path.", "")
	}
}

func (s *service) api(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch m := offerPath.FindStringSubmatch(p); {
	case p == "/api/v1/participant/offers":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "[]\n")
		case http.MethodPost:
			s.create(w, r)
		default:
			s.fail(w, r, 405, "Method "+r.Method+" is not allowed.", "GET, POST")
		}
	case m != nil && m[2] == "":
		if r.Method != http.MethodGet && r.Method != http.MethodDelete && r.Method != http.MethodHead {
			s.fail(w, r, 405, "Method "+r.Method+" is not allowed.", "GET, DELETE")
			return
		}
		s.fail(w, r, 404, "Offer "+strconv.Quote(m[1])+" was not found.", "")
	case m != nil:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.fail(w, r, 405, "Method "+r.Method+" is not allowed.", "GET")
			return
		}
		s.fail(w, r, 404, "Offer "+strconv.Quote(m[1])+" was not found.", "")
	case p == "/api/v1/debug/panic":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.fail(w, r, 405, "Method "+r.Method+" is not allowed.", "GET")
			return
		}
		detail := "The server encountered an unexpected error. Quote the id to 360X support."
		if s.defect == "5xx-internal" {
			detail = "runtime error: invalid memory address or nil pointer dereference"
		}
		s.fail(w, r, 500, detail, "")
	default:
		s.fail(w, r, 404, "No route matches "+r.Method+" on this path.", "")
	}
}

func (s *service) create(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		status := 415
		if s.defect == "status-415" {
			status = 400
		}
		s.fail(w, r, status, "Content-Type "+strconv.Quote(mt)+" is not supported. Use application/json.", "")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, bodyLimit+1))
	if len(body) > bodyLimit {
		s.fail(w, r, 413, "The request body exceeds the limit of "+strconv.Itoa(bodyLimit)+" bytes.", "")
		return
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		s.fail(w, r, 400, "The body is not valid JSON.", "")
		return
	}
	var missing []string
	for _, a := range []string{"product", "price", "currency", "quantity"} {
		if _, ok := in[a]; !ok {
			missing = append(missing, a+": is required")
		}
	}
	if len(missing) > 0 {
		detail := strings.Join(missing, "; ")
		if s.defect == "attrs-unnamed" {
			detail = "The body is not a valid offer."
		}
		s.fail(w, r, 400, detail, "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"id":"1"}`+"\n")
}

var titleOf = map[int]string{400: "Validation Error", 401: "Invalid Token", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Generic Error"}

// newID returns the error's id, as the defect has it.
func (s *service) newID(r *http.Request) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	id := uuid.Must(uuid.NewV7()).String()
	switch s.defect {
	case "id-v4":
		id = uuid.NewString()
	case "id-upper":
		id = strings.ToUpper(id)
	case "id-repeat":
		if s.n%5 == 0 && s.lastID != "" {
			id = s.lastID
		}
	case "id-stale":
		id = fixedV7(time.Now().Add(-time.Hour), uint64(s.n))
	case "id-client":
		if c := r.Header.Get("X-Request-Id"); c != "" {
			id = c
		}
	}
	s.lastID = id
	return id
}

// fail answers the error and logs its line.
func (s *service) fail(w http.ResponseWriter, r *http.Request, status int, detail, allow string) {
	id := s.newID(r)
	now := time.Now().UTC()
	msg := titleOf[status]
	if s.defect == "message" && status == 404 {
		msg = "Not found"
	}
	ts := now.Format("2006-01-02T15:04:05.000Z")
	switch s.defect {
	case "timestamp":
		ts = now.Format(time.RFC3339)
	case "timestamp-stale":
		ts = now.Add(-time.Hour).Format("2006-01-02T15:04:05.000Z")
	}
	code := strconv.Itoa(status)
	switch s.defect {
	case "status-string":
		code = strconv.Quote(code)
	case "status-code":
		code = strconv.Itoa(status / 100 * 100)
	}
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if s.defect == "path-query" {
		path = r.RequestURI
	}
	q := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	var body string
	if s.defect == "order" {
		body = `{"id":` + q(id) + `,"timestamp":` + q(ts) + `,"message":` + q(msg) + `,"statusCode":` + code + `,"error":` + q(detail) + `,"path":` + q(path) + "}\n"
	} else {
		body = `{"id":` + q(id) + `,"timestamp":` + q(ts) + `,"statusCode":` + code + `,"message":` + q(msg) + `,"error":` + q(detail) + `,"path":` + q(path) + "}\n"
	}

	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if s.defect == "content-type" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if s.defect == "etag" {
		h.Set("ETag", `"v1"`) // left over from the success the handler meant
	}
	h.Set("X-Request-Id", id)
	if s.defect == "request-id" && r.Method != http.MethodHead {
		h.Set("X-Request-Id", uuid.Must(uuid.NewV7()).String())
	}
	switch status {
	case 401:
		if s.defect != "www-authenticate" {
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	case 405:
		if s.defect != "allow" {
			h.Set("Allow", allow)
		}
	case 429:
		if s.defect != "retry-after" {
			h.Set("Retry-After", "60")
		}
	}
	s.logLine(r, id, status, msg)
	if r.Method == http.MethodHead && s.defect == "head-body" {
		// net/http drops a HEAD answer's body: write it past the server.
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("Connection", "close")
		_ = h.Write(buf)
		fmt.Fprintf(buf, "\r\n%s", body)
		_ = buf.Flush()
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (s *service) logLine(r *http.Request, id string, status int, msg string) {
	if s.defect == "log-missing" && status == 404 {
		return
	}
	level := "warn"
	if status >= 500 {
		level = "error"
	}
	logged := status
	if s.defect == "log-status" && status == 404 {
		logged = 400
	}
	path, _, _ := strings.Cut(r.RequestURI, "?")
	name := s.name
	if name == "" {
		name = "fake"
	}
	line := map[string]any{"level": level, "service": name, "id": id, "method": r.Method, "path": path, "status": logged, "message": msg}
	if s.defect == "log-query" && r.URL.RawQuery != "" {
		line["query"] = r.URL.RawQuery
	}
	if s.defect == "log-token" {
		line["authorization"] = r.Header.Get("Authorization")
	}
	b, _ := json.Marshal(line)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.log.Write(append(b, '\n'))
	if s.defect == "log-query-text" && r.URL.RawQuery != "" {
		// A plain-text access line beside the JSON one.
		_, _ = fmt.Fprintf(s.log, "%s %s?%s from client\n", r.Method, r.URL.Path, r.URL.RawQuery)
	}
}
