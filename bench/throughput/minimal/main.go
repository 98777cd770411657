// Command minimal is the least net/http server that gives the demo's
// answers to the two routes the throughput run measures, and logs the
// same line for each: /healthz (200, {"status":"ok"}, an access line) and
// any other path (the contract's 404 envelope and its error line). It has
// no middleware, no recovery, no tracing and no asynchronous log: the
// throughput run sets it beside the demo to show what the kit and the
// demo's stack cost over the least code at the server level.
//
//	go run ./throughput/minimal -addr 127.0.0.1:8081
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/360x/errkit/apierror"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "the address to listen on")
	flag.Parse()
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	log := zerolog.New(os.Stdout).With().Timestamp().Str("service", "offers").Logger()
	srv := &http.Server{Addr: *addr, Handler: handler(log), ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "minimal:", err)
		os.Exit(1)
	}
}

var health = []byte(`{"status":"ok"}` + "\n")

func handler(log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := apierror.NewIDAt(start)
		h := w.Header()
		if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
			h["X-Request-Id"] = []string{id}
			h["Content-Type"] = []string{"application/json"}
			n, _ := w.Write(health)
			log.Info().Str("id", id).Str("method", r.Method).Str("path", r.URL.Path).Int("status", http.StatusOK).
				Int("bytes", n).Dur("duration", time.Since(start)).Msg("request")
			return
		}
		env := apierror.Envelope{ID: id, Timestamp: start, StatusCode: http.StatusNotFound, Message: "Not Found",
			Error: "No route matches " + r.Method + " on this path.", Path: r.URL.Path}
		body := append(env.AppendJSON(make([]byte, 0, 256)), '\n')
		h["Content-Type"] = []string{apierror.ContentType}
		h["X-Content-Type-Options"] = []string{"nosniff"}
		h["Cache-Control"] = []string{"no-store"}
		h["X-Request-Id"] = []string{id}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.WriteHeader(http.StatusNotFound)
		n, _ := w.Write(body)
		log.Warn().Str("id", id).Str("method", r.Method).Str("path", env.Path).Int("status", env.StatusCode).
			Str("detail", env.Error).Int("bytes", n).Dur("duration", time.Since(start)).Msg(env.Message)
	})
}
