package main

import (
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

// store is the demo's in-memory offer store.
type store struct {
	mu     sync.RWMutex
	nextID int
	offers map[string]offer
}

// newStore returns a store with the offers the README's walkthrough uses.
func newStore(now time.Time) *store {
	s := &store{nextID: 1001, offers: map[string]offer{}}
	for _, o := range []offer{
		{Participant: "alice", Product: "widget", Price: 12.5, Currency: "EUR", Quantity: 100},
		{Participant: "bob", Product: "gadget", Price: 40, Currency: "GBP", Quantity: 10},
		{Participant: "alice", Product: "discontinued", Price: 3, Currency: "EUR", Quantity: 5},
		{Participant: "alice", Product: "bulk", Price: 0.25, Currency: "USD", Quantity: 100000},
	} {
		o.CreatedAt = now
		s.add(o)
	}
	return s
}

func (s *store) add(o offer) offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.ID = strconv.Itoa(s.nextID)
	s.nextID++
	s.offers[o.ID] = o
	return o
}

func (s *store) get(id string) (offer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.offers[id]
	return o, ok
}

func (s *store) list() []offer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]offer, 0, len(s.offers))
	for _, o := range s.offers {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b offer) int { return compareIDs(a.ID, b.ID) })
	return out
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
