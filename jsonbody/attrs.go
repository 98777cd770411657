package jsonbody

import (
	"hash/maphash"
	"slices"
	"strings"

	"github.com/360x/errkit/apierror"
)

// keptAttributes is how many offending attributes Decode keeps in
// [apierror.Error.Attributes]; the rest are counted, so that the memory a
// hostile body costs does not grow with what it names.
const keptAttributes = 100

// collector gathers a body's offending attributes in one pass, each in
// O(1): it keeps the first keptAttributes of each top-level field (the
// order of the answer) and counts the rest. A path it keeps is not kept
// again (a key the body repeats, a Validate naming what the walk named),
// remembered as a 64-bit hash under a seed of its own; past the kept ones
// it only counts, so that what it holds is bounded by the model, not by
// the body (a body that repeats a bad key far down its list may have it
// counted more than once).
type collector struct {
	hash    maphash.Hash
	seeded  bool
	ranks   int
	named   map[uint64]struct{} // the kept paths of the walk
	ruled   map[uint64]struct{} // the kept paths and reasons of Validate methods
	buckets []bucket            // by rank: the top-level field's position
	total   int
}

// bucket holds the attributes kept for one top-level field: first those
// of the walk, each with its place in the model (the position of its
// field or item at every level), then those of the Validate methods.
type bucket struct {
	attrs  []apierror.Attribute
	places [][]uint32
}

// newCollector returns a collector for a model with ranks top-level
// positions (its fields, and one more for the rest).
// It allocates nothing until the first attribute.
func newCollector(ranks int) *collector { return &collector{ranks: ranks} }

func (c *collector) sum(path []byte, reason string) uint64 {
	if !c.seeded {
		c.hash.SetSeed(maphash.MakeSeed())
		c.named, c.ruled = map[uint64]struct{}{}, map[uint64]struct{}{}
		c.buckets = make([]bucket, c.ranks)
		c.seeded = true
	}
	c.hash.Reset()
	c.hash.Write(path)
	if reason != "" {
		c.hash.WriteByte(0)
		c.hash.WriteString(reason)
	}
	return c.hash.Sum64()
}

// add names the attribute at path for what its JSON is (its type, its
// absence, an unknown name). place is its position in the model, which
// orders the answer.
func (c *collector) add(rank int, path []byte, place []uint32, reason string) {
	h := c.sum(path, "")
	if _, ok := c.named[h]; ok {
		return
	}
	if b := c.room(rank); b != nil {
		b.attrs = append(b.attrs, apierror.Attr(string(orBody(path)), reason))
		b.places = append(b.places, slices.Clone(place))
		c.named[h] = struct{}{}
	}
}

// addRule names an attribute that a Validate method returned, unless the
// walk named its path, or this reason was given for it before (an
// embedded struct's Validate promoted to the model is called as both).
func (c *collector) addRule(rank int, path, reason string) {
	if _, ok := c.named[c.sum([]byte(path), "")]; ok {
		return
	}
	h := c.sum([]byte(path), reason)
	if _, ok := c.ruled[h]; ok {
		return
	}
	if b := c.room(rank); b != nil {
		b.attrs = append(b.attrs, apierror.Attr(path, reason))
		c.ruled[h] = struct{}{}
	}
}

// room counts an attribute and returns its bucket if it has room to keep
// it, nil otherwise.
func (c *collector) room(rank int) *bucket {
	c.total++
	if rank >= len(c.buckets) {
		rank = len(c.buckets) - 1
	}
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
		// The walk's attributes in the order of the model's fields and
		// items (the walk meets them in the order of the body's members,
		// and a missing one at the end of its object).
		walked := make([]int, len(b.places))
		for i := range walked {
			walked[i] = i
		}
		slices.SortStableFunc(walked, func(x, y int) int { return slices.Compare(b.places[x], b.places[y]) })
		sorted := make([]apierror.Attribute, 0, len(b.attrs))
		for _, i := range walked {
			sorted = append(sorted, b.attrs[i])
		}
		sorted = append(sorted, b.attrs[len(walked):]...)
		n := min(len(sorted), keptAttributes-len(attrs))
		attrs = append(attrs, sorted[:n]...)
	}
	return apierror.InvalidModelOf(c.total, attrs...)
}

func orBody(path []byte) []byte {
	if len(path) == 0 {
		return []byte("body")
	}
	return path
}

// rootOf is the first segment of a path: the top-level attribute it is in.
func rootOf(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}
