// Package demoproc builds and starts the demo server and the vegeta load
// generator for the project's load tools (tools/loadtest and the
// throughput run of bench/), so both measure the same binary the same way.
package demoproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"time"
)

// vegetaPackage is the load generator, a tool dependency of the module
// (the tool directive in go.mod pins its version).
const vegetaPackage = "github.com/tsenart/vegeta/v12"

// Build builds ./cmd/offers-demo of the repository at root into dir and
// returns the binary's path.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "offers-demo")
	if out, err := exec.Command("go", "build", "-C", root, "-o", bin, "./cmd/offers-demo").CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the demo: %v: %s", err, out)
	}
	return bin, nil
}

// BuildVegeta builds vegeta, at the version the go.mod of the repository
// at root pins as a tool, into dir and returns the binary's path. It needs
// nothing but the module proxy (or the module cache).
func BuildVegeta(root, dir string) (string, error) {
	bin := filepath.Join(dir, "vegeta")
	if out, err := exec.Command("go", "build", "-C", root, "-o", bin, vegetaPackage).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building vegeta: %v: %s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port nothing listens on.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitReady polls url until it answers, for up to 10 seconds.
func WaitReady(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the demo did not start within 10 s")
}
