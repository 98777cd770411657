package vlogs

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Module is the VictoriaLogs release the Makefile installs for the tests
// and for make run-stack.
const Module = "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1"

// Server is a VictoriaLogs process on loopback, for tests and the demo
// stack.
type Server struct {
	URL string // base URL, http://127.0.0.1:port
	cmd *exec.Cmd
}

// Binary returns the path of the victoria-logs binary: $VICTORIALOGS_BIN,
// or victoria-logs in $GOBIN, $(go env GOPATH)/bin or $PATH; "" when there
// is none (make test installs it).
func Binary() string {
	if b := os.Getenv("VICTORIALOGS_BIN"); b != "" {
		return b
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.Join(string(trimNL(out)), "bin"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "victoria-logs"); isFile(p) {
			return p
		}
	}
	if p, err := exec.LookPath("victoria-logs"); err == nil {
		return p
	}
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// Start starts bin on a free loopback port with its data in dir, and waits
// until it answers.
func Start(bin, dir string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(bin, "-httpListenAddr="+addr, "-storageDataPath="+dir, "-loggerLevel=ERROR")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting VictoriaLogs: %w", err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.URL + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, fmt.Errorf("VictoriaLogs did not answer on %s within 15 s", addr)
}

// Flush makes what was inserted searchable at once.
func (s *Server) Flush() error {
	resp, err := http.Get(s.URL + "/internal/force_flush")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// Stop ends the process.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}
