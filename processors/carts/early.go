package carts

import (
	"time"

	"cartstream/schemas"
)

// EarlyResultsMax bounds the reservation results a cart keeps for checkouts
// it has not re-read yet while replaying.
const EarlyResultsMax = 64

// knowsCheckout reports whether the cart has the checkout (current or past).
func knowsCheckout(c *Cart, id string) bool {
	if c == nil {
		return false
	}
	if c.Checkout != nil && c.Checkout.ID == id {
		return true
	}
	for i := range c.PastCheckouts {
		if c.PastCheckouts[i].ID == id {
			return true
		}
	}
	return false
}

// holdEarly keeps a result read, below the replay boundary, before the
// checkout_started it answers: the group consumes cart events and results
// concurrently, so after a reset to the earliest offsets a result may come
// first. Without it the replayed checkout would stay pending for ever. It
// returns the cart (a new one, keyed, when there was none) with the result
// kept, the oldest dropped beyond EarlyResultsMax.
func holdEarly(c *Cart, key string, r schemas.ReservationResult) *Cart {
	n := clone(c)
	if n.ID == "" {
		n.ID = key
	}
	n.EarlyResults = append(n.EarlyResults, r)
	if over := len(n.EarlyResults) - EarlyResultsMax; over > 0 {
		n.EarlyResults = append([]schemas.ReservationResult(nil), n.EarlyResults[over:]...)
	}
	return n
}

// applyEarly applies the kept results of the cart's current checkout, in
// the order they were read, and forgets them. Outcomes are not returned:
// below the boundary nothing is sent.
func applyEarly(c *Cart, streamTime time.Time) *Cart {
	if c == nil || c.Checkout == nil || len(c.EarlyResults) == 0 {
		return c
	}
	id := c.Checkout.ID
	var rest []schemas.ReservationResult
	var mine []schemas.ReservationResult
	for _, r := range c.EarlyResults {
		if r.CheckoutID == id {
			mine = append(mine, r)
		} else {
			rest = append(rest, r)
		}
	}
	if len(mine) == 0 {
		return c
	}
	cur := clone(c)
	cur.EarlyResults = rest
	for _, r := range mine {
		if out := ApplyResult(cur, r, streamTime); out.Cart != nil {
			cur = out.Cart
		}
	}
	return cur
}

// dropEarly forgets kept results once the partition is past the boundary:
// their checkouts were never re-read.
func dropEarly(c *Cart) *Cart {
	if c == nil || len(c.EarlyResults) == 0 {
		return c
	}
	n := clone(c)
	n.EarlyResults = nil
	return n
}
