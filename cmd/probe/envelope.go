package main

import (
	"bytes"
	"encoding/json"
)

// envelope is an answer's body read as a JSON object, its members in
// order.
type envelope struct {
	obj  map[string]json.RawMessage // nil when the body is not a JSON object
	keys []string                   // the members in the body's order, repeats included
}

// parseEnvelope reads a's body; the result is cached on nothing, so
// callers keep it.
func parseEnvelope(a *answer) envelope {
	var e envelope
	if a == nil || a.req.method == "HEAD" || len(a.body) == 0 {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return e
	}
	obj := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return envelope{}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return envelope{}
		}
		k := tok.(string)
		e.keys = append(e.keys, k)
		if _, dup := obj[k]; !dup {
			obj[k] = v
		}
	}
	if _, err := dec.Token(); err != nil {
		return envelope{}
	}
	e.obj = obj
	return e
}

// str returns member name when it is a JSON string.
func (e envelope) str(name string) (string, bool) {
	raw, ok := e.obj[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// number returns member name when it is a JSON integer.
func (e envelope) number(name string) (int, bool) {
	raw, ok := e.obj[name]
	if !ok || len(raw) == 0 {
		return 0, false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n := 0
	for _, c := range raw {
		n = n*10 + int(c-'0')
		if n > 1e6 {
			return 0, false
		}
	}
	return n, true
}
