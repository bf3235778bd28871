package shopsim

import (
	"fmt"
	"time"
)

// MaxTransactionGap is the most simulated time a Sim lets pass before one
// transaction (AddProduct, an order, a restock): a caller that writes n
// rows before a run paced by the wall clock starts the Sim at least
// n × MaxTransactionGap in the past.
const MaxTransactionGap = maxTxGap

// MaxTransactionLead bounds how far past the clock before a transaction
// its records' timestamps lie: the gap before it plus the connector's lag.
const MaxTransactionLead = orderStep

// Pace runs a paced driver (DriverOptions.Paced) against the caller's
// clock now, the wall clock of a load generator, and returns the records
// to produce, as Next does. It moves the simulated clock to now (never
// back, and never past the deadline of an on-time completion still
// waiting for its completed status), runs the actions due by now in order
// of due time and then, while fewer than limit cart events came out, lets
// new carts arrive at the clock: a new cart's first event comes out at
// once, its next ones a think time later each. It stops once limit cart
// events came out (duplicate deliveries count; the CDC records of orders
// and restocks come on top), or when nothing may run: every cart arrived,
// nothing is due, or new load waits for checkout statuses (see Driver).
// A limit <= 0 returns nothing.
//
// Called with what a rate allows since the last call, the cart events
// follow the rate: carts arrive exactly as fast as those already shopping
// leave room for, so the number of carts shopping at once settles where
// their think times add up to the rate. Which carts do what stays a
// function of the seed (cart n is cart n whenever it arrives); when they
// do it follows now and the statuses.
func (d *Driver) Pace(now time.Time, limit int) ([]Record, error) {
	if !d.opts.Paced {
		return nil, fmt.Errorf("%w: Pace needs DriverOptions.Paced", ErrDriverOptions)
	}
	if limit <= 0 {
		return nil, nil
	}
	if hard := limitOf(&d.hard, hardGuard); !hard.IsZero() && hard.Before(now) {
		now = hard
	}
	if gap := now.Sub(d.Now()); gap > 0 {
		d.sim.Advance(gap)
	}
	var out []Record
	events := 0
	for events < limit {
		a := d.pick(now)
		if a == nil {
			if !d.mayArrive(now) || d.headHeldBack() {
				break
			}
			// The new cart's first event is due at the clock, which is
			// within now and every guard: the next pick runs it.
			d.arrive(d.arrived)
			continue
		}
		n := len(out)
		var err error
		if out, err = d.run(a, out); err != nil {
			return out, err
		}
		for _, r := range out[n:] {
			if r.Topic == d.opts.CartEventsTopic {
				events++
			}
		}
	}
	return out, nil
}

// mayArrive reports whether a new cart may arrive at the clock: carts are
// left, the clock has not passed until (a transaction that does not
// overlap may have carried it there) and no guard holds new load back.
func (d *Driver) mayArrive(until time.Time) bool {
	if d.arrived >= d.opts.Carts || !within(d.Now(), until) {
		return false
	}
	soft := earliest(limitOf(&d.hard, hardGuard), limitOf(&d.soft, d.softGuard))
	return within(d.Now(), soft)
}

// headHeldBack reports whether pick found the next action due at the
// clock and held it back (its records would pass a guard): a new cart's
// first event, due at the clock too, would queue behind it, so arriving
// carts cannot help until a status releases the guard. Call it only after
// pick returned nil.
func (d *Driver) headHeldBack() bool {
	return len(d.main) > 0 && !d.main[0].due.After(d.Now())
}

// overlap puts the clock back to t, where it was before a transaction,
// when transactions overlap the storefront's clock
// (DriverOptions.OverlapTransactions).
func (d *Driver) overlap(t time.Time) {
	if d.opts.OverlapTransactions && d.sim.now.After(t) {
		d.sim.now = t
	}
}

// Counts is a small summary of what a driver did so far; Ledger copies
// every order and checkout id, Counts nothing.
type Counts struct {
	// Carts arrived, BrowseCarts of them only to browse.
	Carts, BrowseCarts int
	// CartEvents generated, and DuplicateEvents extra deliveries.
	CartEvents, DuplicateEvents int
	// Checkouts started; Pending of them wait for a decided status.
	Checkouts, Pending int
	// Orders placed, Refused by the database, Restocks done.
	Orders, Refused, Restocks int
	// CouponsApplied and CouponsRemoved: coupon events generated.
	CouponsApplied, CouponsRemoved int
	// Anomalies: statuses that contradict what the storefront did.
	Anomalies int
}

// Counts returns what the driver did so far.
func (d *Driver) Counts() Counts {
	l := &d.ledger
	return Counts{
		Carts: d.arrived, BrowseCarts: l.BrowseCarts,
		CartEvents: l.CartEvents, DuplicateEvents: l.DuplicateEvents,
		Checkouts: len(l.CheckoutIDs), Pending: d.pending,
		Orders: len(l.Orders), Refused: len(l.Refused), Restocks: l.Restocks,
		CouponsApplied: l.CouponsApplied, CouponsRemoved: l.CouponsRemoved,
		Anomalies: l.Anomalies,
	}
}
