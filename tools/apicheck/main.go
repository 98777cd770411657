// Command apicheck compares the exported API of the module with the last
// release's, recorded in a file of export data (apidiff -m -w), and fails
// on an incompatible change that the "## Unreleased" section of
// CHANGELOG.md does not name.
//
//	go run ./tools/apicheck -apidiff bin/apidiff -baseline api/v0.4.0.api
//
// A change is named when the section mentions its identifier qualified by
// its package as the Go code calls it: apiclient.Failure,
// apierror.Renderer.Now (a method or field, with its type), errkit.OpenAPI
// (the root package), or package jsonbody (a package removed). It prints
// every change apidiff reports, and exits 1 when one is not named, 2 when
// it cannot run.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

const module = "github.com/360x/errkit"

func main() {
	apidiff := flag.String("apidiff", "apidiff", "the apidiff binary (golang.org/x/exp/cmd/apidiff)")
	baseline := flag.String("baseline", "", "export data of the last release's API (apidiff -m -w FILE "+module+")")
	changelog := flag.String("changelog", "CHANGELOG.md", "the changelog whose ## Unreleased section announces changes")
	flag.Parse()
	if *baseline == "" {
		fmt.Fprintln(os.Stderr, "apicheck: -baseline is required")
		os.Exit(2)
	}
	log, err := os.ReadFile(*changelog)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicheck:", err)
		os.Exit(2)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(*apidiff, "-m", "-incompatible", *baseline, module)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "apicheck: %s: %v\n%s", *apidiff, err, errOut.String())
		os.Exit(2)
	}
	changes := parse(out.String())
	missing := unannounced(changes, unreleased(string(log)))
	fmt.Printf("apicheck: %d incompatible change(s) since %s, %d not in CHANGELOG.md's ## Unreleased\n", len(changes), *baseline, len(missing))
	for _, c := range changes {
		mark := "announced  "
		if contains(missing, c) {
			mark = "UNANNOUNCED"
		}
		fmt.Printf("  %s %s: %s\n", mark, c.Name, c.What)
	}
	if len(missing) > 0 {
		fmt.Println("apicheck: name each change under ## Unreleased in CHANGELOG.md, with its migration (see docs/versioning.md)")
		os.Exit(1)
	}
}

// change is one incompatible change apidiff reported.
type change struct {
	Name string // as Go code names it: pkg.Ident, pkg.Type.Member, or "package pkg"
	What string // apidiff's words
}

// line is one line of apidiff's report: "- ./pkg.(*T).M: removed".
var line = regexp.MustCompile(`^- (.+?): (.+)$`)

// parse reads apidiff -m -incompatible's report.
func parse(report string) []change {
	var cs []change
	for _, l := range strings.Split(report, "\n") {
		m := line.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		cs = append(cs, change{Name: goName(m[1]), What: m[2]})
	}
	return cs
}

// goName turns apidiff's name of an object into the one Go code uses.
func goName(obj string) string {
	if p, ok := strings.CutPrefix(obj, "package "); ok {
		return "package " + p[strings.LastIndex(p, "/")+1:]
	}
	pkg := "errkit"
	if rest, ok := strings.CutPrefix(obj, "./"); ok {
		dot := strings.Index(rest, ".")
		if dot < 0 {
			return "package " + rest[strings.LastIndex(rest, "/")+1:]
		}
		pkg, obj = rest[:dot], rest[dot+1:]
		pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	}
	obj = strings.NewReplacer("(*", "", "(", "", ")", "").Replace(obj)
	return pkg + "." + obj
}

// unreleased returns the ## Unreleased section of a changelog.
func unreleased(log string) string {
	_, rest, ok := strings.Cut(log, "\n## Unreleased")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// unannounced returns the changes that section does not name.
func unannounced(cs []change, section string) []change {
	var missing []change
	for _, c := range cs {
		if !names(section, c.Name) {
			missing = append(missing, c)
		}
	}
	return missing
}

// names reports whether text mentions name as a whole: not as the start
// of a longer identifier, nor after one (apierror.Forward is not named by
// apierror.ForwardAll or myapierror.Forward).
func names(text, name string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(name)
		if (start == 0 || !ident(text[start-1])) && !longer(text[end:]) {
			return true
		}
		i = start + 1
	}
}

// longer reports whether rest, the text after a name, continues it: an
// identifier character, or a dot before one (a member).
func longer(rest string) bool {
	if rest == "" {
		return false
	}
	if rest[0] == '.' {
		return len(rest) > 1 && ident(rest[1]) && rest[1] != '.'
	}
	return ident(rest[0]) && rest[0] != '.'
}

func ident(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func contains(cs []change, c change) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}
