package main

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"
)

// offer is a participant's offer to sell a quantity of a product.
type offer struct {
	ID          string    `json:"id"`
	Participant string    `json:"participant"`
	Product     string    `json:"product"`
	Price       float64   `json:"price"`
	Currency    string    `json:"currency"`
	Quantity    int       `json:"quantity"`
	CreatedAt   time.Time `json:"createdAt"`
}

// maxOffers is how many offers the store holds. A POST beyond it is
// answered 507 Insufficient Storage: the request is valid and waiting will
// not help (so not 429), and dropping the oldest would delete other
// participants' offers behind their backs. With it, the list a GET returns
// stays under about 250 KB, however long the demo runs.
const maxOffers = 1000

// errStoreFull is what add returns when the store holds maxOffers offers.
var errStoreFull = errors.New("the store is full")

// store is the demo's in-memory offer store, bounded by maxOffers.
type store struct {
	mu     sync.RWMutex
	nextID int
	offers map[string]offer
}

// newStore returns a store with the offers docs/demo.md's walkthrough uses.
func newStore(now time.Time) *store {
	s := &store{nextID: 1001, offers: map[string]offer{}}
	for _, o := range []offer{
		{Participant: "alice", Product: "widget", Price: 12.5, Currency: "EUR", Quantity: 100},
		{Participant: "bob", Product: "gadget", Price: 40, Currency: "GBP", Quantity: 10},
		{Participant: "alice", Product: "discontinued", Price: 3, Currency: "EUR", Quantity: 5},
		{Participant: "alice", Product: "bulk", Price: 0.25, Currency: "USD", Quantity: 100000},
	} {
		o.CreatedAt = now
		_, _ = s.add(o)
	}
	return s
}

func (s *store) add(o offer) (offer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.offers) >= maxOffers {
		return offer{}, errStoreFull
	}
	o.ID = strconv.Itoa(s.nextID)
	s.nextID++
	s.offers[o.ID] = o
	return o, nil
}

func (s *store) get(id string) (offer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.offers[id]
	return o, ok
}

// list returns up to limit offers in id order, from the first id after
// after ("" for the start), and whether more follow.
func (s *store) list(after string, limit int) ([]offer, bool) {
	s.mu.RLock()
	out := make([]offer, 0, len(s.offers))
	for _, o := range s.offers {
		if after == "" || compareIDs(o.ID, after) > 0 {
			out = append(out, o)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b offer) int { return compareIDs(a.ID, b.ID) })
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}

func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *store) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.offers, id)
}
