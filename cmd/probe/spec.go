package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// spec is what the probe takes from an OpenAPI 3 document: the paths, each
// with its operations.
type spec struct {
	paths []pathItem
	// credHeaders are the request headers that carry credentials under
	// the document's security schemes (Authorization at least).
	credHeaders []string
}

// pathItem is one path of the document and its operations, in method
// order.
type pathItem struct {
	template string // as in the document, e.g. /offers/{id}
	ops      []operation
}

// methods returns the methods the document lists for the path.
func (p pathItem) methods() []string {
	out := make([]string, len(p.ops))
	for i, op := range p.ops {
		out[i] = op.method
	}
	return out
}

// secured reports whether one of the path's operations needs
// credentials.
func (p pathItem) secured() bool {
	return slices.ContainsFunc(p.ops, func(op operation) bool { return op.secured })
}

// operation is one method of a path.
type operation struct {
	method string
	// secured: the operation requires credentials (a security requirement
	// that is not the empty one).
	secured bool
	// jsonBody: the operation takes a JSON request body.
	jsonBody bool
	// required are the required top-level attributes of the JSON body.
	required []string
}

// maxSpec is the largest document read.
const maxSpec = 16 << 20

// loadSpec reads an OpenAPI 3 document, JSON or YAML, from a file or an
// http(s) URL.
func loadSpec(ctx context.Context, src string) (*spec, error) {
	var data []byte
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %s", src, resp.Status)
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, maxSpec+1)); err != nil {
			return nil, err
		}
	} else {
		var err error
		if data, err = os.ReadFile(src); err != nil {
			return nil, err
		}
	}
	if len(data) > maxSpec {
		return nil, fmt.Errorf("%s is larger than %d bytes", src, maxSpec)
	}
	s, err := parseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return s, nil
}

// parseSpec parses an OpenAPI 3 document, JSON or YAML.
func parseSpec(data []byte) (*spec, error) {
	var doc map[string]any
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(trimmed, &doc); err != nil {
			return nil, fmt.Errorf("not a JSON document: %w", err)
		}
	} else {
		// YAML is a superset of JSON: decode to generic values, which
		// the JSON walk below reads alike.
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("neither JSON nor YAML: %w", err)
		}
	}
	if doc == nil {
		return nil, errors.New("empty document")
	}
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.") {
		return nil, fmt.Errorf("openapi is %q, want an OpenAPI 3 document", v)
	}
	r := resolver{doc: doc}
	s := &spec{credHeaders: []string{"Authorization"}}

	schemes, _ := r.get(doc, "components", "securitySchemes").(map[string]any)
	for _, name := range sortedKeys(schemes) {
		sc, _ := r.deref(schemes[name]).(map[string]any)
		if sc["type"] == "apiKey" && sc["in"] == "header" {
			if h, _ := sc["name"].(string); h != "" && !slices.Contains(s.credHeaders, http.CanonicalHeaderKey(h)) {
				s.credHeaders = append(s.credHeaders, http.CanonicalHeaderKey(h))
			}
		}
	}
	rootSecured := secured(doc["security"])

	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		return nil, errors.New("the document has no paths")
	}
	for _, tmpl := range sortedKeys(paths) {
		if !strings.HasPrefix(tmpl, "/") {
			return nil, fmt.Errorf("path %q does not start with /", tmpl)
		}
		item, _ := r.deref(paths[tmpl]).(map[string]any)
		p := pathItem{template: tmpl}
		for _, m := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
			raw, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			op := operation{method: strings.ToUpper(m), secured: rootSecured}
			if sec, present := raw["security"]; present {
				op.secured = secured(sec)
			}
			if body, ok := r.deref(raw["requestBody"]).(map[string]any); ok {
				content, _ := body["content"].(map[string]any)
				for _, ct := range sortedKeys(content) {
					mt := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
					if mt == "application/json" || strings.HasSuffix(mt, "+json") {
						op.jsonBody = true
						media, _ := content[ct].(map[string]any)
						op.required = r.required(media["schema"], 0)
						break
					}
				}
			}
			p.ops = append(p.ops, op)
		}
		if len(p.ops) > 0 {
			s.paths = append(s.paths, p)
		}
	}
	if len(s.paths) == 0 {
		return nil, errors.New("the document's paths have no operations")
	}
	return s, nil
}

// secured reports whether a security value (a list of requirement
// objects) requires credentials: it is a non-empty list with no empty
// requirement (an empty one makes them optional).
func secured(v any) bool {
	list, _ := v.([]any)
	if len(list) == 0 {
		return false
	}
	for _, req := range list {
		if m, _ := req.(map[string]any); len(m) == 0 {
			return false
		}
	}
	return true
}

// resolver follows local $refs (#/components/...) of a document.
type resolver struct{ doc map[string]any }

func (r resolver) get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// deref returns v with its $ref followed, up to a depth of 16.
func (r resolver) deref(v any) any {
	for range 16 {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil // a remote reference: not followed
		}
		var keys []string
		for _, k := range strings.Split(ref[2:], "/") {
			keys = append(keys, strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~"))
		}
		v = r.get(r.doc, keys...)
	}
	return nil
}

// required returns the required top-level attributes of a schema, allOf
// parts included, sorted.
func (r resolver) required(schema any, depth int) []string {
	m, ok := r.deref(schema).(map[string]any)
	if !ok || depth > 8 {
		return nil
	}
	var out []string
	list, _ := m["required"].([]any)
	for _, a := range list {
		if s, ok := a.(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	all, _ := m["allOf"].([]any)
	for _, part := range all {
		for _, s := range r.required(part, depth+1) {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// routeFlags collects repeated -route flags, each a path of its own.
type routeFlags []pathItem

func (r *routeFlags) String() string { return fmt.Sprint(len(*r)) + " routes" }

// Set parses 'METHODS PATH [auth] [json[=required,...]]': the methods
// the path allows, comma-separated; auth: every method needs credentials;
// json: its POST, PUT and PATCH take a JSON body with these required
// attributes.
func (r *routeFlags) Set(v string) error {
	fields := strings.Fields(v)
	if len(fields) < 2 || !strings.HasPrefix(fields[1], "/") || strings.ContainsAny(fields[1], "?#") {
		return fmt.Errorf("want 'METHODS PATH [auth] [json[=required,...]]', e.g. 'GET,POST /offers auth json=product', got %q", v)
	}
	var auth, body bool
	var required []string
	for _, opt := range fields[2:] {
		name, list, hasList := strings.Cut(opt, "=")
		switch {
		case opt == "auth":
			auth = true
		case name == "json":
			body = true
			if hasList {
				for _, a := range strings.Split(list, ",") {
					if a = strings.TrimSpace(a); a != "" && !slices.Contains(required, a) {
						required = append(required, a)
					}
				}
				sort.Strings(required)
			}
		default:
			return fmt.Errorf("route %q: unknown option %q, want auth or json[=required,...]", v, opt)
		}
	}
	item := pathItem{template: fields[1]}
	for _, m := range strings.Split(fields[0], ",") {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "" || strings.ContainsFunc(m, func(c rune) bool { return c < 'A' || c > 'Z' }) {
			return fmt.Errorf("route %q: %q is not a method", v, m)
		}
		op := operation{method: m, secured: auth}
		if body && (m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch) {
			op.jsonBody, op.required = true, required
		}
		item.ops = append(item.ops, op)
	}
	*r = append(*r, item)
	return nil
}

// addTo returns s with the routes added (a spec of the routes alone when
// s is nil; s itself when there are none).
func (r routeFlags) addTo(s *spec) *spec {
	if len(r) == 0 {
		return s
	}
	if s == nil {
		s = &spec{credHeaders: []string{"Authorization"}}
	}
	s.paths = append(s.paths, r...)
	return s
}
