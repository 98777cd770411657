package jsonbody

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/360x/errkit/apierror"
)

// keptAttributes is how many offending attributes Decode keeps in
// [apierror.Error.Attributes]; the rest are counted, so that what an answer
// holds does not grow with the body.
const keptAttributes = 100

// maxPath bounds a path as an answer names it: a longer one (a key of a
// megabyte, a value 8,000 levels down) keeps its start and its end around
// an ellipsis.
const maxPath = 256

// path is a JSON path being built one segment at a time by a walk of the
// body or of the decoded value: its bytes, each segment's position in the
// model (which orders the answer), and the hash of the path up to each
// segment, worked out only when asked for and then from the segment before,
// so that naming an attribute costs its last segment, not its whole path.
type path struct {
	buf    []byte
	segs   []segment
	hashed int // segs[:hashed] have their hash
	seed   uint64
}

type segment struct {
	end   int    // of the segment in buf
	place uint32 // position of the field, item or member in its parent
	hash  uint64 // of buf[:end], once hashed
}

func (p *path) depth() int { return len(p.segs) }

// name appends member name at position place.
func (p *path) name(name []byte, place int) {
	p.buf = appendName(p.buf, name)
	p.segs = append(p.segs, segment{end: len(p.buf), place: uint32(place)})
}

// index appends item i.
func (p *path) index(i int) {
	p.buf = append(strconv.AppendInt(append(p.buf, '['), int64(i), 10), ']')
	p.segs = append(p.segs, segment{end: len(p.buf), place: uint32(i)})
}

// raw appends b, a path of its own, as one segment.
func (p *path) raw(b []byte) {
	p.buf = append(p.buf, b...)
	p.segs = append(p.segs, segment{end: len(p.buf)})
}

// pop goes back to depth d.
func (p *path) pop(d int) {
	p.segs = p.segs[:d]
	p.hashed = min(p.hashed, d)
	if d == 0 {
		p.buf = p.buf[:0]
	} else {
		p.buf = p.buf[:p.segs[d-1].end]
	}
}

// hash is the hash of the whole path.
func (p *path) hash() uint64 {
	h, from := p.seed, 0
	if p.hashed > 0 {
		h, from = p.segs[p.hashed-1].hash, p.segs[p.hashed-1].end
	}
	for ; p.hashed < len(p.segs); p.hashed++ {
		s := &p.segs[p.hashed]
		h = fnv(h, p.buf[from:s.end])
		s.hash, from = h, s.end
	}
	return h
}

func (p *path) places() []uint32 {
	out := make([]uint32, len(p.segs))
	for i, s := range p.segs {
		out[i] = s.place
	}
	return out
}

// fnv continues the FNV-1a hash h over b. The walk seeds it with a random
// value of its own, so that a client cannot choose paths that collide.
func fnv(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// collector gathers a body's offending attributes, each in O(1) whatever
// its depth: it keeps the first keptAttributes of each top-level field
// (the order of the answer) and counts every distinct one. The walk names
// a path once by itself (it checks the value of a repeated key quietly);
// for a model with Validate methods the collector remembers every path the
// walk named, and every path and reason a Validate named, as 64-bit
// hashes (a few bytes each, for attributes that each took bytes of the
// body to name), so that none is named or counted twice.
type collector struct {
	seed    uint64
	ranks   int
	all     bool                // remember every path the walk names (for the Validate methods')
	named   map[uint64]struct{} // the paths the walk named
	ruled   map[uint64]struct{} // the paths and reasons Validate methods named
	buckets []bucket            // by rank: the top-level field's position
	total   int
}

// bucket holds the attributes kept for one top-level field, each with its
// place in the model: the position of its field or item at every level.
type bucket struct {
	attrs  []apierror.Attribute
	places [][]uint32
}

// newCollector returns a collector for a model with ranks top-level
// positions (its fields, and one more for the rest).
// all says to remember every path the walk names: the model has Validate
// methods, whose attributes must not repeat the walk's.
func newCollector(ranks int, all bool) *collector {
	return &collector{seed: rand.Uint64() | 1, ranks: ranks, all: all}
}

func (c *collector) path() path { return path{seed: c.seed} }

// add names the attribute at p for what its JSON is (its type, its
// absence, an unknown name), unless the walk named p already.
func (c *collector) add(rank int, p *path, reason string) {
	if c.all {
		h := p.hash()
		if c.named == nil {
			c.named = map[uint64]struct{}{}
		}
		if _, ok := c.named[h]; ok {
			return
		}
		c.named[h] = struct{}{}
	}
	if b := c.room(rank); b != nil {
		b.attrs = append(b.attrs, apierror.Attr(cut(orBody(p.buf)), reason))
		b.places = append(b.places, p.places())
	}
}

// addRule names an attribute that a Validate method returned, at p
// followed by rel (its path as the method names it), unless the walk named
// that path, or this reason was given for it before.
func (c *collector) addRule(rank int, p *path, rel, reason string) {
	h := p.hash()
	switch {
	case rel == "" || rel == "body":
	case p.depth() == 0:
		h = fnvString(h, rel)
	case strings.HasPrefix(rel, "["):
		h = fnvString(h, rel)
	default:
		h = fnvString(fnv(h, []byte{'.'}), rel)
	}
	if _, ok := c.named[h]; ok {
		return
	}
	hr := fnvString(fnv(h, []byte{0}), reason)
	if c.ruled == nil {
		c.ruled = map[uint64]struct{}{}
	}
	if _, ok := c.ruled[hr]; ok {
		return
	}
	c.ruled[hr] = struct{}{}
	if b := c.room(rank); b != nil {
		full := under(string(p.buf), rel)
		b.attrs = append(b.attrs, apierror.Attr(cut(orBody([]byte(full))), reason))
		// After the JSON's own attributes of the value it validates.
		b.places = append(b.places, append(p.places(), ^uint32(0)))
	}
}

// room counts an attribute and returns its bucket if it has room to keep
// it, nil otherwise.
func (c *collector) room(rank int) *bucket {
	c.total++
	if c.buckets == nil {
		c.buckets = make([]bucket, c.ranks)
	}
	rank = min(rank, len(c.buckets)-1)
	if b := &c.buckets[rank]; len(b.attrs) < keptAttributes {
		return b
	}
	return nil
}

// result is the invalid_model error for what was collected, or nil.
func (c *collector) result() *apierror.Error {
	if c.total == 0 {
		return nil
	}
	var attrs []apierror.Attribute
	for _, b := range c.buckets {
		// In the order of the model's fields and items: the walk meets
		// them in the order of the body's members, a missing one at the
		// end of its object, and the Validate methods run after it.
		order := make([]int, len(b.attrs))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return slices.Compare(b.places[x], b.places[y]) })
		for _, i := range order {
			if len(attrs) == keptAttributes {
				break
			}
			attrs = append(attrs, b.attrs[i])
		}
	}
	return apierror.InvalidModelOf(c.total, attrs...)
}

func orBody(path []byte) []byte {
	if len(path) == 0 {
		return []byte("body")
	}
	return path
}

// cut is path as an answer names it: whole up to maxPath bytes, else its
// start and its end around an ellipsis.
func cut(path []byte) string {
	if len(path) <= maxPath {
		return string(path)
	}
	head, tail := maxPath/2, maxPath/2-1
	for head > 0 && !utf8.RuneStart(path[head]) {
		head--
	}
	start := len(path) - tail
	for start < len(path) && !utf8.RuneStart(path[start]) {
		start++
	}
	return string(path[:head]) + "…" + string(path[start:])
}

// rootOf is the first segment of a path: the top-level attribute it is in.
func rootOf(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}
