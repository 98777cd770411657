package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// serveUsage is the synopsis of traceid serve.
const serveUsage = "usage: TRACEID_TOKEN=... traceid serve [-listen 127.0.0.1:8090] [-store URL] [-retention 720h] [-wait 5s] [LOG ...]"

//go:embed web
var webFS embed.FS

// console is the web console: the pages, the API and the gate in front of
// them.
type console struct {
	search storySearch
	gate   *gate
	now    func() time.Time
	pages  map[string]*template.Template
	assets http.Handler
	slots  chan struct{} // searches that may run at once: each reads every log
}

// consoleConfig is what a console is made from.
type consoleConfig struct {
	token     string
	store     string
	logs      []string
	retention time.Duration    // 0: the search's default (storySearch)
	wait      time.Duration    // how long a store search waits for lines not searchable yet
	timeout   time.Duration    // of each store query; 0: 30 s
	now       func() time.Time // the clock; nil for time.Now
	warn      io.Writer        // the operator's log
}

func newConsole(cfg consoleConfig) (*console, error) {
	if cfg.token == "" {
		return nil, errors.New("TRACEID_TOKEN is not set: the console shows logs and needs a token (an unguessable string, 16 bytes or more)")
	}
	if strings.TrimSpace(cfg.token) != cfg.token {
		return nil, errors.New("TRACEID_TOKEN begins or ends with white space (a newline from a file?): give the token alone")
	}
	if utf8.RuneCountInString(cfg.token) < 16 {
		return nil, errors.New("TRACEID_TOKEN is shorter than 16 characters: use an unguessable string")
	}
	if cfg.retention < 0 {
		return nil, fmt.Errorf("invalid value %s for flag -retention: want a duration above 0", cfg.retention)
	}
	if cfg.store == "" && len(cfg.logs) == 0 {
		return nil, errors.New("nothing to search: give -store URL, LOG files, or both")
	}
	if cfg.store != "" {
		if u, err := url.Parse(cfg.store); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("invalid value %q for flag -store: want the http(s) URL of a VictoriaLogs server", cfg.store)
		}
	}
	for _, p := range cfg.logs {
		if p == "-" {
			return nil, errors.New("the console cannot read standard input: name the LOG files")
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("LOG %s: %w", p, err)
		}
	}
	now := cfg.now
	if now == nil {
		now = time.Now
	}
	if cfg.timeout <= 0 {
		cfg.timeout = 30 * time.Second
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	assets, _ := fs.Sub(webFS, "web/assets")
	return &console{
		search: storySearch{store: cfg.store, logs: cfg.logs, retention: cfg.retention, wait: cfg.wait, timeout: cfg.timeout, warn: cfg.warn},
		gate:   newGate(cfg.token, now),
		now:    now,
		pages:  pages,
		assets: http.StripPrefix("/assets/", http.FileServerFS(assets)),
		slots:  make(chan struct{}, 2),
	}, nil
}

// parsePages parses each page with the layout it shares.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"short": func(id string) string {
			if len(id) > 13 {
				return id[:8] + "…" + id[len(id)-4:]
			}
			return id
		},
		"indent": func(d int) int { return min(d, 8) },
		"ms":     ms,
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"home", "story", "login", "problem"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/paste.html", "web/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// contentSecurityPolicy allows the console's own scripts, styles and
// images, and nothing else: no inline script or style, no other origin, no
// framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP sets the headers every answer carries and routes.
func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // not no-referrer: then a form post's Origin is "null"
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, "/assets/") && r.URL.Path != "/assets/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		h.Set("Cache-Control", "no-cache")
		c.assets.ServeHTTP(w, r) // the console's own files, nothing of the logs
		return
	}
	h.Set("Cache-Control", "no-store")
	if r.URL.Path == "/login" {
		c.login(w, r)
		return
	}
	if !c.gate.allowed(r) {
		c.refuse(w, r)
		return
	}
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		c.render(w, http.StatusOK, "home", pageData{Title: "traceid console"})
	case r.URL.Path == "/find" && r.Method == http.MethodPost:
		c.find(w, r)
	case r.URL.Path == "/logout" && r.Method == http.MethodPost:
		if !sameOrigin(r) {
			c.problem(w, http.StatusForbidden, "This form was sent from another site.")
			return
		}
		setCookie(w, r, sessionCookie, "", "/", -1)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case strings.HasPrefix(r.URL.Path, "/story/") && r.Method == http.MethodGet:
		c.storyPage(w, r, strings.TrimPrefix(r.URL.Path, "/story/"))
	case strings.HasPrefix(r.URL.Path, "/api/story/") && r.Method == http.MethodGet:
		c.storyAPI(w, r, strings.TrimPrefix(r.URL.Path, "/api/story/"))
	default:
		c.problem(w, http.StatusNotFound, "There is no such page.")
	}
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Authed  bool
	Paste   string
	Message string
	Next    string
	Nonce   string
	Story   *storyView
	Status  int
}

func (c *console) render(w http.ResponseWriter, status int, name string, p pageData) {
	p.Authed = name != "login"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages[name].Execute(w, p); err != nil {
		fmt.Fprintf(c.warnings(), "traceid serve: rendering %s: %v\n", name, err)
	}
}

func (c *console) warnings() io.Writer {
	if c.search.warn == nil {
		return io.Discard
	}
	return c.search.warn
}

func (c *console) problem(w http.ResponseWriter, status int, msg string) {
	c.render(w, status, "problem", pageData{Title: http.StatusText(status), Message: msg, Status: status})
}

// refuse answers a request without the token: 401, with the login form
// for a browser and a JSON error for the API, and nothing of the logs.
func (c *console) refuse(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="traceid"`)
	if strings.HasPrefix(r.URL.Path, "/api/") || r.Method != http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"send the console's token: Authorization: Bearer TOKEN"}`+"\n")
		return
	}
	n := nonce()
	setCookie(w, r, csrfCookie, n, "/login", 600)
	c.render(w, http.StatusUnauthorized, "login", pageData{Title: "Log in", Next: r.URL.RequestURI(), Nonce: n})
}

// login shows the login form (GET) and checks it (POST): the token, and
// that the form is the console's own (its nonce, and the browser's word
// on where the post comes from), so that no other site can log a
// browser in.
func (c *console) login(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		if c.gate.allowed(r) {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		n := nonce()
		setCookie(w, r, csrfCookie, n, "/login", 600)
		c.render(w, http.StatusOK, "login", pageData{Title: "Log in", Next: safeNext(r.URL.Query().Get("next")), Nonce: n})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			c.problem(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if !sameOrigin(r) || !nonceOK(r) {
			c.problem(w, http.StatusForbidden, "This login form was not sent from this console's own page: open the console and log in there.")
			return
		}
		next := safeNext(r.PostFormValue("next"))
		if !c.gate.tokenOK(r.PostFormValue("token")) {
			time.Sleep(200 * time.Millisecond) // a guess costs time
			n := nonce()
			setCookie(w, r, csrfCookie, n, "/login", 600)
			c.render(w, http.StatusUnauthorized, "login", pageData{Title: "Log in", Next: next, Nonce: n, Message: "That is not the console's token."})
			return
		}
		setCookie(w, r, csrfCookie, "", "/login", -1)
		setCookie(w, r, sessionCookie, c.gate.session(), "/", int(sessionTTL/time.Second))
		http.Redirect(w, r, next, http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		c.problem(w, http.StatusMethodNotAllowed, "Use the login form.")
	}
}

// find reads a paste and sends the browser to its story, with what the
// paste claims in the query for the story page to check.
func (c *console) find(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.problem(w, http.StatusForbidden, "This form was sent from another site.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPaste+4<<10)
	if err := r.ParseForm(); err != nil {
		c.render(w, http.StatusRequestEntityTooLarge, "home", pageData{Title: "traceid console", Message: "The paste is too long: paste the id, or the error response the client received."})
		return
	}
	text := r.PostFormValue("paste")
	p := parsePaste(text)
	if p.ID == "" {
		c.render(w, http.StatusUnprocessableEntity, "home", pageData{Title: "traceid console", Paste: clean(text),
			Message: "No 360X id in the paste. An id looks like 01a214fe-6929-7a37-a8df-75e48731f1d4: it is the id field of the error response, and its X-Request-Id header."})
		return
	}
	q := url.Values{}
	if p.Says.Status != 0 {
		q.Set("status", strconv.Itoa(p.Says.Status))
	}
	if p.Says.Path != "" {
		q.Set("path", p.Says.Path)
	}
	if len(p.Others) > 0 {
		q.Set("also", strings.Join(p.Others[:min(len(p.Others), 8)], ","))
	}
	to := "/story/" + p.ID
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// lookup runs a search for id, at most len(c.slots) at once.
func (c *console) lookup(ctx context.Context, id string) ([]byte, bool, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	defer func() { <-c.slots }()
	return c.search.document(ctx, id, c.now())
}

func (c *console) storyPage(w http.ResponseWriter, r *http.Request, raw string) {
	id, err := canonicalID(raw)
	if err != nil {
		c.problem(w, http.StatusBadRequest, "That is not a 360X id: an id looks like 01a214fe-6929-7a37-a8df-75e48731f1d4.")
		return
	}
	doc, found, err := c.lookup(r.Context(), id)
	if err != nil {
		fmt.Fprintf(c.warnings(), "traceid serve: story %s: %v\n", id, err)
		c.problem(w, http.StatusBadGateway, "The logs could not be read: the console's own log says why.")
		return
	}
	q := r.URL.Query()
	says := claimed{Path: clean(q.Get("path"))}
	if n, err := strconv.Atoi(q.Get("status")); err == nil && n >= 100 && n <= 599 {
		says.Status = n // a link can carry anything: only a status is shown as one
	}
	if says.Path != "" && !strings.HasPrefix(says.Path, "/") {
		says.Path = ""
	}
	v, err := newStoryView(doc, says, c.now())
	if err != nil {
		c.problem(w, http.StatusInternalServerError, "The story could not be shown.")
		return
	}
	for _, o := range strings.Split(q.Get("also"), ",") {
		if oid, err := canonicalID(o); err == nil && oid != id {
			v.AlsoInPaste = append(v.AlsoInPaste, oid)
		}
	}
	status := http.StatusOK
	if !found {
		status = http.StatusNotFound
	}
	c.render(w, status, "story", pageData{Title: "Request " + id, Story: v})
}

// storyAPI answers the story's JSON document, the one traceid -json
// prints: 200 when lines were found, 404 (with the document) when none.
func (c *console) storyAPI(w http.ResponseWriter, r *http.Request, raw string) {
	w.Header().Set("Content-Type", "application/json")
	id, err := canonicalID(raw)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"not a 360X id: want a UUID such as 01a214fe-6929-7a37-a8df-75e48731f1d4"}`+"\n")
		return
	}
	doc, found, err := c.lookup(r.Context(), id)
	if err != nil {
		fmt.Fprintf(c.warnings(), "traceid serve: story %s: %v\n", id, err)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"error":"the logs could not be read"}`+"\n")
		return
	}
	if !found {
		w.WriteHeader(http.StatusNotFound)
	}
	_, _ = w.Write(doc)
}

// serveCommand is traceid serve: it listens until SIGINT or SIGTERM.
func serveCommand(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("traceid serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve the console on")
	store := fs.String("store", "", "base URL of a VictoriaLogs server to search")
	retention := fs.Duration("retention", defaultRetention, retentionUsage)
	wait := fs.Duration("wait", defaultWait, waitUsage)
	fs.Usage = func() {
		fmt.Fprintln(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *wait < 0 {
		fmt.Fprintf(stderr, "traceid serve: invalid value %s for flag -wait: want 0 or more\n", *wait)
		return 2
	}
	cfg := consoleConfig{token: getenv("TRACEID_TOKEN"), store: *store, logs: fs.Args(), wait: *wait, warn: stderr}
	if *retention <= 0 {
		fmt.Fprintf(stderr, "traceid serve: invalid value %s for flag -retention: want a duration above 0\n", *retention)
		return 2
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "retention" {
			cfg.retention = *retention // given: it wins; else the search's default
		}
	})
	c, err := newConsole(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "traceid serve:", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "traceid serve:", err)
		return 1
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute}
	fmt.Fprintf(stderr, "traceid serve: the console is on http://%s/\n", ln.Addr())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintln(stderr, "traceid serve:", err)
		return 1
	case <-signals:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return 0
	}
}
