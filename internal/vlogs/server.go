package vlogs

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Module is the VictoriaLogs release the Makefile installs for the tests
// and for make run-stack.
const Module = "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1"

// Retention is how long every VictoriaLogs this project starts keeps a
// line: the 30 days the contract promises a client that support can find
// its request. VictoriaLogs' own default is 7 days. [RetentionFlag] is the
// same value as the flag that sets it; the Makefile passes that flag to
// every VictoriaLogs it starts (a test checks it), and [StoreRetention]
// reads a running server's setting, so that traceid's retention verdict
// can be checked against the store's.
const Retention = 30 * 24 * time.Hour

// RetentionFlag is the VictoriaLogs flag that keeps lines for [Retention].
const RetentionFlag = "-retentionPeriod=30d"

// FlushFlag makes VictoriaLogs write what it has acknowledged to disk
// every second, its minimum: killed (SIGKILL, a crash), it loses what it
// has not written. With its default of 5 s, a store killed after 8 s of
// 2,000 lines a second had lost 7.9 s of them; with 1 s, 2.1 s
// (RELIABILITY.md). The project starts every VictoriaLogs with it.
const FlushFlag = "-inmemoryDataFlushInterval=1s"

// Server is a VictoriaLogs process on loopback, for tests and the demo
// stack: a single node, a storage node or a cluster's front node.
type Server struct {
	URL  string // base URL, http://127.0.0.1:port
	Addr string // host:port of URL
	Dir  string // its -storageDataPath

	bin    string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited and been waited for
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

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr, nil
}

// Start starts bin on a free loopback port with its data in dir, keeping
// lines for [Retention] and writing them to disk every second
// ([FlushFlag]), and waits until it answers. extra are further
// flags, such as -storageNode=host:port for a cluster's front node.
func Start(bin, dir string, extra ...string) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return StartOn(bin, dir, addr, extra...)
}

// StartOn is [Start] on a given address.
func StartOn(bin, dir, addr string, extra ...string) (*Server, error) {
	args := append([]string{"-httpListenAddr=" + addr, "-storageDataPath=" + dir, RetentionFlag, FlushFlag, "-loggerLevel=ERROR"}, extra...)
	s := &Server{URL: "http://" + addr, Addr: addr, Dir: dir, bin: bin, args: args}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	s.cmd = exec.Command(s.bin, s.args...)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting VictoriaLogs: %w", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(s.cmd)
	deadline := time.Now().Add(15 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("VictoriaLogs exited at start (%s %v)", s.bin, s.args)
		default:
		}
		if resp, err := client.Get(s.URL + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("VictoriaLogs did not answer on %s within 15 s", s.Addr)
}

// Restart starts the process again, on the same address with the same
// data, after [Server.Stop] or [Server.Kill].
func (s *Server) Restart() error { return s.start() }

// running reports whether the process has been started and not exited.
func (s *Server) running() bool {
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
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

// Stop ends the process as an operator would, with SIGTERM: VictoriaLogs
// then writes what it holds in memory to disk. It waits for the exit, at
// most 10 s, then kills it.
func (s *Server) Stop() {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Kill ends the process with SIGKILL, as a crash would: what it had
// acknowledged but not yet written to disk (at most
// -inmemoryDataFlushInterval, 5 s by default) is lost.
func (s *Server) Kill() {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}
