package carts

import (
	"cartstream/schemas"
)

// Resend returns what the cart's state says must have been sent, for a
// record read again after a crash or a rebalance that the cart had already
// applied (see Cart.ReadAgain): the state reached the changelog, but the
// commands and statuses its step emitted may have died with the instance
// that wrote it, and applying the record again is a duplicate that sends
// nothing. For every checkout the cart remembers, current and past:
//
//   - its status, when decided (the latest status of a checkout is its state,
//     so repeating it is harmless);
//   - a reserve for every line still awaiting its reserve result;
//   - a release for every line the cart released, and for every expired
//     line whose own hold was still live when the checkout expired (expire
//     released those);
//   - a commit for every line awaiting its commit result.
//
// Every command repeats the command id and event time of the one first
// sent, so the inventory group answers one it handled from its dedup store
// and changes nothing; the answers change nothing in the cart either.
// Resend is pure and sends nothing for a nil cart.
func Resend(c *Cart) Outcome {
	out := Outcome{Cart: c}
	if c == nil {
		return out
	}
	s := step{in: c}
	all := make([]*Checkout, 0, len(c.PastCheckouts)+1)
	for i := range c.PastCheckouts {
		all = append(all, &c.PastCheckouts[i])
	}
	if c.Checkout != nil {
		all = append(all, c.Checkout)
	}
	for _, k := range all {
		at := k.EventTime
		for i := range k.Lines {
			l := &k.Lines[i]
			switch l.Status {
			case LinePending:
				s.send(schemas.OpReserve, k, l, at, nil, nil)
			case LineReleased:
				s.send(schemas.OpRelease, k, l, at, l.Reason, nil)
			case LineExpired:
				if k.Status == StatusExpired && (l.ExpiresAt == nil || !expired(*l.ExpiresAt, at)) {
					s.send(schemas.OpRelease, k, l, at, l.Reason, nil)
				}
			case LineCommitting:
				s.send(schemas.OpCommit, k, l, at, nil, k.OrderID)
			}
		}
		if k.decided() {
			s.emit(k)
		}
	}
	out.Commands, out.Statuses = s.out.Commands, s.out.Statuses
	return out
}

// ReadAgain reports whether a record of topic at offset is the last one of
// that topic the cart applied, read again: the partition's committed offset
// was behind the cart's state when a new owner (or the same instance,
// restarted) took the partition over. Records are read again from the
// committed offset in order, so the last one the cart applied comes back
// whenever any of them does.
func (c *Cart) ReadAgain(topic string, offset int64) bool {
	if c == nil {
		return false
	}
	o, ok := c.Origins[topic]
	return ok && o == offset
}

// withOrigin returns c (a cart just produced by a step, never the stored
// one) noting that it holds the effect of the record of topic at offset.
func withOrigin(c *Cart, topic string, offset int64) *Cart {
	origins := make(map[string]int64, len(c.Origins)+1)
	for t, o := range c.Origins {
		origins[t] = o
	}
	origins[topic] = offset
	c.Origins = origins
	return c
}
