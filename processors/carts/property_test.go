package carts

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"cartstream/schemas"
)

// fakeInventory is a small model of the inventory group's answers (DESIGN
// §6, internal/reserve): holds by request id, stock per sku, and a dedup
// store that answers a repeated command id with its first result.
type fakeInventory struct {
	rng     *rand.Rand
	ttl     time.Duration
	holds   map[string]*fakeHold // by request id
	handled map[string]schemas.ReservationResult
}

type fakeHold struct {
	checkout, sku string
	committed     bool
	expiresAt     time.Time
}

func (f *fakeInventory) apply(cmd schemas.ReservationCommand, st time.Time) schemas.ReservationResult {
	if r, ok := f.handled[cmd.CommandID]; ok {
		return r
	}
	res := schemas.ReservationResult{CommandID: cmd.CommandID, RequestID: cmd.RequestID, Op: cmd.Op, SKU: cmd.SKU,
		Qty: cmd.Qty, CartID: cmd.CartID, CheckoutID: cmd.CheckoutID, EventTime: cmd.EventTime}
	h := f.holds[cmd.RequestID]
	if h != nil && !h.committed && expired(h.expiresAt, st) {
		delete(f.holds, cmd.RequestID)
		h = nil
	}
	closed := func() bool {
		_, rel := f.handled[commandID(cmd.RequestID, schemas.OpRelease)]
		_, com := f.handled[commandID(cmd.RequestID, schemas.OpCommit)]
		return rel || com
	}
	switch cmd.Op {
	case schemas.OpReserve:
		switch {
		case closed():
			res.Status, res.Reason = schemas.ResultRejected, ptr(inventoryRequestClosed)
		case f.rng.IntN(4) == 0:
			res.Status, res.Reason = schemas.ResultRejected, ptr(ReasonInsufficientStock)
		default:
			exp := st.Add(f.ttl)
			f.holds[cmd.RequestID] = &fakeHold{checkout: cmd.CheckoutID, sku: cmd.SKU, expiresAt: exp}
			res.Status, res.ExpiresAt = schemas.ResultReserved, &exp
		}
	case schemas.OpRelease:
		switch {
		case h != nil && h.committed:
			res.Status, res.Reason = schemas.ResultCommitted, ptr(inventoryAlreadyCommitted)
		case h != nil:
			delete(f.holds, cmd.RequestID)
			res.Status, res.Reason = schemas.ResultReleased, cmd.Reason
		default:
			res.Status, res.Reason = schemas.ResultReleased, ptr("unknown_hold")
		}
	case schemas.OpCommit:
		res.Status = schemas.ResultCommitted
		if h == nil || h.committed {
			res.Reason = ptr(ReasonLateCommit)
		}
		f.holds[cmd.RequestID] = &fakeHold{checkout: cmd.CheckoutID, sku: cmd.SKU, committed: true}
	}
	f.handled[cmd.CommandID] = res
	return res
}

// TestSagaNeverLeavesAnUntrackedHold drives the pure core and a model
// inventory with random cart events, command and result deliveries in any
// order that keeps Kafka's per-key order (commands per sku, results per
// cart), redeliveries and expiry sweeps. Once everything is delivered, every
// live hold belongs to the cart's reserved checkout, and every reserved line
// of it has its live hold; every status ever emitted validates.
// debugSaga logs every step of the simulation; set it to read a failing seed.
const debugSaga = false

func TestSagaNeverLeavesAnUntrackedHold(t *testing.T) {
	for seed := range uint64(400) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { sagaProperty(t, seed, false, nil) })
	}
}

// TestSagaRecoversLostOutputs is TestSagaNeverLeavesAnUntrackedHold with
// crashes: now and then a cart event or result is applied, its state kept
// (the changelog got it), its commands and statuses lost (the instance died
// before the producer sent them), and the record is read again, as the
// group does: applied again as a duplicate, with Resend before. Once
// everything is delivered the same invariants hold: no checkout is left
// waiting on an output that died.
func TestSagaRecoversLostOutputs(t *testing.T) {
	for seed := range uint64(400) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { sagaProperty(t, seed, true, nil) })
	}
}

// sagaProperty is one run of the saga property; lossy adds crashes that
// lose a step's outputs. seen, when not nil, is called with every cart a
// step returns.
func sagaProperty(t *testing.T, seed uint64, lossy bool, seen func(*Cart)) {
	skus := []string{"A", "B", "C"}
	rng := rand.New(rand.NewPCG(seed, 7))
	inv := &fakeInventory{rng: rng, ttl: 10 * time.Minute, holds: map[string]*fakeHold{}, handled: map[string]schemas.ReservationResult{}}
	var (
		cart     *Cart
		st       = t0
		commands = map[string][]schemas.ReservationCommand{}
		results  []schemas.ReservationResult
		events   []string
		nEvents  int
		last     = map[string]string{} // the last status per checkout id
		lose     bool                  // the next step's outputs die with the instance
	)
	take := func(out Outcome) {
		cart = out.Cart
		if seen != nil {
			seen(cart)
		}
		if debugSaga {
			for _, c := range out.Commands {
				t.Logf("    -> %s", fmtCommand(c))
			}
			for _, s := range out.Statuses {
				t.Logf("    => %s", fmtStatus(s))
			}
		}
		for _, c := range out.Commands {
			commands[c.SKU] = append(commands[c.SKU], c)
		}
		for _, s := range out.Statuses {
			last[s.CheckoutID] = fmtStatus(s)
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			checkStatusSchema(t, b)
		}
	}
	// apply applies a record. After a crash (lose) its outputs are
	// lost and it is read again, as the group reads it: a
	// duplicate, with Resend before when the first application
	// changed the stored cart (Cart.ReadAgain).
	apply := func(f func(*Cart) Outcome) {
		before, lost := cart, lose
		lose = false
		out := f(cart)
		if !lost {
			take(out)
			return
		}
		if debugSaga {
			t.Logf("    (crash: %d commands and %d statuses lost)", len(out.Commands), len(out.Statuses))
		}
		cart = out.Cart
		again := f(cart)
		if out.Cart != before {
			again = resendFirst(cart, again)
		}
		take(again)
	}
	event := func(raw string) {
		events = append(events, raw)
		if debugSaga {
			t.Logf("%v event %s", st.Sub(t0), raw)
		}
		apply(func(c *Cart) Outcome {
			out, err := ApplyEvent(c, mustParse(t, raw), st, st)
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return out
		})
	}
	deliverCommand := func(sku string, redeliver bool) {
		q := commands[sku]
		if len(q) == 0 {
			return
		}
		r := inv.apply(q[0], st)
		if debugSaga {
			t.Logf("%v cmd %s %s -> %s %v", st.Sub(t0), q[0].Op, q[0].RequestID, r.Status, r.Reason)
		}
		results = append(results, r)
		if !redeliver {
			commands[sku] = q[1:]
		}
	}
	deliverResult := func(redeliver bool) {
		if len(results) == 0 {
			return
		}
		r := results[0]
		apply(func(c *Cart) Outcome {
			out := ApplyResult(c, r, st)
			if debugSaga {
				for _, c := range out.Commands {
					t.Logf("  result %s %s -> %s", r.Op, r.RequestID, fmtCommand(c))
				}
			}
			return out
		})
		if !redeliver {
			results = results[1:]
		}
	}
	event(add("e0", "A", 1))
	for range 80 {
		switch rng.IntN(12) {
		case 0, 1:
			nEvents++
			id := fmt.Sprint("e", nEvents)
			sku := skus[rng.IntN(len(skus))]
			co := fmt.Sprint("k", rng.IntN(4))
			switch rng.IntN(8) {
			case 0:
				event(add(id, sku, 1+rng.IntN(3)))
			case 1:
				event(remove(id, sku))
			case 2:
				event(setQty(id, sku, rng.IntN(3)))
			case 3, 4:
				event(start(id, co))
			case 5:
				event(abandon(id, co))
			case 6:
				event(complete(id, co, "o-"+co))
			case 7:
				event(clearCart(id))
			}
		case 2:
			if len(events) > 0 { // a redelivered cart event
				event(events[rng.IntN(len(events))])
			}
		case 3, 4, 5:
			deliverCommand(skus[rng.IntN(len(skus))], rng.IntN(5) == 0)
		case 6, 7, 8:
			deliverResult(rng.IntN(5) == 0)
		case 9:
			st = st.Add(time.Duration(rng.IntN(8)) * time.Minute)
		case 10:
			take(ExpireHolds(cart, st))
		case 11:
			lose = lossy
		}
	}
	// Sweep, and deliver everything, including the compensations and
	// releases it causes.
	for {
		take(ExpireHolds(cart, st))
		busy := false
		for _, sku := range skus {
			for len(commands[sku]) > 0 {
				deliverCommand(sku, false)
				busy = true
			}
		}
		for len(results) > 0 {
			deliverResult(false)
			busy = true
		}
		if !busy {
			break
		}
	}

	k := cart.Checkout
	for req, h := range inv.holds {
		if h.committed || expired(h.expiresAt, st) {
			continue
		}
		var l *CheckoutLine
		if k != nil && k.ID == h.checkout {
			l = k.line(h.sku)
		}
		if k == nil || k.ID != h.checkout || k.Status != StatusReserved || l == nil || l.Status != LineReserved {
			t.Fatalf("live hold %s is not tracked by the cart's checkout %+v\nevents %q", req, k, events)
		}
	}
	if k != nil && k.Status == StatusReserved {
		for _, l := range k.Lines {
			if h := inv.holds[requestID(k.ID, l.SKU)]; l.Status == LineReserved && (h == nil || h.committed) {
				t.Fatalf("reserved line %s of %s has no hold\nevents %q", l.SKU, k.ID, events)
			}
		}
	}
	// The latest status per checkout id is its state.
	all := append([]Checkout{}, cart.PastCheckouts...)
	if k != nil {
		all = append(all, *k)
	}
	for _, k := range all {
		if !k.decided() {
			t.Fatalf("checkout %s still %s with every result delivered\nevents %q", k.ID, k.Status, events)
		}
		if got := fmtStatus(k.status("c")); got != last[k.ID] {
			t.Fatalf("checkout state %s, last status %s\nevents %q", got, last[k.ID], events)
		}
	}

}
