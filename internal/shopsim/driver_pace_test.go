package shopsim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// pacedRun is one run of a paced driver against the model on a fake wall
// clock.
type pacedRun struct {
	records []Record
	ledger  Ledger
	events  int           // cart events
	over    int           // calls that returned more cart events than allowed
	lead    time.Duration // the largest record timestamp past the wall clock
	behind  time.Duration // the largest cart event ts before the wall clock (redeliveries aside)
}

// launchDay is a paced storefront with every behaviour on.
func launchDay() DriverOptions {
	return DriverOptions{
		Paced: true, Zipf: 1.2, MaxLines: 3, MaxQty: 2, ThinkTime: 500 * time.Millisecond,
		BrowseRate: 0.6, ChangeRate: 0.3, CouponRate: 0.3, UnknownCouponRate: 0.2, CouponRemoveRate: 0.2,
		CouponCodes: []string{"SAVE5", "FREESHIP"},
		AbandonRate: 0.1, EditRate: 0.05, RetryRate: 0.5,
		DuplicateRate: 0.05, DuplicateDelay: time.Second, OutboxFirstRate: 0.5, ConnectorDuplicateRate: 0.05,
		RestockEvery: 10, RestockQty: 5,
	}
}

// runPaced calls Pace every 10 ms of a fake wall clock for span, allowing
// rate cart events a second, and lets the model answer at once.
func runPaced(t *testing.T, seed int64, opts DriverOptions, rate float64, span time.Duration) pacedRun {
	t.Helper()
	const tick = 10 * time.Millisecond
	s, skus := simSetup(t, seed, []int32{300, 300, 300, 300, 300, 300})
	wall := s.Now().Add(time.Second)
	opts.SKUs = skus
	d, err := NewDriver(s, seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	model := newFakeCartstream(t, d.opts.HoldTTL, d.Ledger().Stock)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	var run pacedRun
	sent := map[string]bool{}
	budget := 0.0
	for elapsed := time.Duration(0); elapsed < span; elapsed += tick {
		wall = wall.Add(tick)
		budget += rate * tick.Seconds()
		limit := int(budget)
		recs, err := d.Pace(wall, limit)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			run.lead = max(run.lead, r.Timestamp.Sub(wall))
			if r.Topic == DefaultCartEventsTopic {
				n++
				// A redelivery repeats the original's bytes, ts included.
				if !sent[string(r.Value)] {
					sent[string(r.Value)] = true
					run.behind = max(run.behind, wall.Sub(r.Timestamp))
				}
			}
		}
		if n > limit {
			run.over++
		}
		budget -= float64(n)
		run.events += n
		run.records = append(run.records, recs...)
		model.enqueue(recs)
		for !model.idle() {
			model.step(rng)
		}
		for _, st := range model.statuses {
			d.Observe(st)
		}
		model.statuses = nil
	}
	run.ledger = d.Ledger()
	return run
}

// A paced driver writes cart events at the rate it is given, never more
// per call than allowed, with timestamps at the wall clock — as long as
// orders overlap the clock; without that the simulated database's one
// order a second carries the clock away and the rate collapses.
func TestDriverPace(t *testing.T) {
	const rate, span = 200.0, 30 * time.Second
	for _, tc := range []struct {
		name    string
		overlap bool
	}{{"overlapping transactions", true}, {"one transaction at a time", false}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := launchDay()
			opts.OverlapTransactions = tc.overlap
			run := runPaced(t, 5, opts, rate, span)
			l := run.ledger
			if run.over != 0 {
				t.Errorf("%d calls returned more cart events than allowed", run.over)
			}
			if l.Anomalies != 0 {
				t.Errorf("%d anomalies against a correct model: %v", l.Anomalies, l.AnomalyNotes)
			}
			want := int(rate * span.Seconds())
			t.Logf("%d cart events (want %d), %d carts (%d browsing), %d checkouts, %d orders, %d restocks; lead %s, behind %s",
				run.events, want, len(byCart(cartEvents(t, run.records))), l.BrowseCarts, len(l.CheckoutIDs), len(l.Orders), l.Restocks, run.lead, run.behind)
			if !tc.overlap {
				if run.lead < time.Minute && run.events > want*8/10 {
					t.Errorf("without overlap the clock stayed within %s of the wall clock and the rate held", run.lead)
				}
				return
			}
			if run.events < want-1 {
				t.Errorf("%d cart events in %s at %v/s, want %d", run.events, span, rate, want)
			}
			if run.lead > MaxTransactionLead || run.behind > 0 {
				t.Errorf("records up to %s past the wall clock, cart events up to %s behind it", run.lead, run.behind)
			}
			if len(l.Orders) < 50 || l.Restocks == 0 || l.BrowseCarts == 0 {
				t.Errorf("%d orders, %d restocks, %d browsing carts", len(l.Orders), l.Restocks, l.BrowseCarts)
			}
		})
	}
}

// The same seed and the same clock and statuses give the same records.
func TestDriverPaceIsDeterministic(t *testing.T) {
	opts := launchDay()
	opts.OverlapTransactions = true
	a := runPaced(t, 9, opts, 150, 10*time.Second)
	b := runPaced(t, 9, opts, 150, 10*time.Second)
	if len(a.records) == 0 || !sameRecords(a.records, b.records) {
		t.Fatalf("%d records, then %d different ones", len(a.records), len(b.records))
	}
}

// Pace and Next each refuse the other kind of driver.
func TestDriverPaceAndNextDoNotMix(t *testing.T) {
	s, skus := simSetup(t, 1, []int32{5})
	plain, err := NewDriver(s, 1, DriverOptions{SKUs: skus, Carts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Pace(s.Now(), 1); err == nil {
		t.Error("Pace ran an unpaced driver")
	}
	paced, err := NewDriver(s, 1, DriverOptions{SKUs: skus, Paced: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := paced.Next(1); err == nil {
		t.Error("Next ran a paced driver")
	}
	if recs, err := paced.Pace(s.Now(), 0); err != nil || len(recs) != 0 {
		t.Errorf("limit 0: %d records, %v", len(recs), err)
	}
}

// BenchmarkDriverPace measures the generator alone: cart events a paced
// driver writes, with no statuses coming back (checkouts stay pending,
// which holds nothing back for the hold TTL).
func BenchmarkDriverPace(b *testing.B) {
	s := New(1, Options{})
	var skus []string
	for i := 1; i <= 100; i++ {
		if _, err := s.AddProduct(Product{SKU: SKU(i), Name: "p", Category: "c", Brand: "b", Price: 500, Currency: "USD", Active: true}, 1_000_000); err != nil {
			b.Fatal(err)
		}
		skus = append(skus, SKU(i))
	}
	opts := launchDay()
	opts.SKUs, opts.OverlapTransactions = skus, true
	d, err := NewDriver(s, 1, opts)
	if err != nil {
		b.Fatal(err)
	}
	now := s.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for events := 0; events < b.N; {
		now = now.Add(10 * time.Millisecond)
		recs, err := d.Pace(now, min(100, b.N-events))
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if r.Topic == DefaultCartEventsTopic {
				events++
			}
		}
	}
}

// A due action the guards hold back (a restock or an order whose records
// would pass the deadline of a checkout still waiting for its status)
// comes before any new cart's first event. Pace must then return instead
// of arriving carts that can only queue behind it: it used to arrive carts
// forever and never return, so the caller never fed it the status that
// would have released the guard (found by `make chaos`, where failovers
// hold statuses back for seconds).
func TestDriverPaceReturnsWhileGuardsHoldBack(t *testing.T) {
	s, skus := simSetup(t, 3, []int32{1000, 1000, 1000})
	opts := launchDay()
	opts.SKUs, opts.OverlapTransactions = skus, true
	opts.BrowseRate, opts.AbandonRate, opts.EditRate, opts.RetryRate = 0, 0, 0, 0
	opts.RestockEvery, opts.HoldTTL = 1, 30*time.Second
	d, err := NewDriver(s, 3, opts)
	if err != nil {
		t.Fatal(err)
	}
	wall := s.Now().Add(time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// No status ever comes back: every checkout stays pending and
		// guards its deadline.
		for range 6000 {
			wall = wall.Add(10 * time.Millisecond)
			if _, err := d.Pace(wall, 10); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Pace did not return")
	}
	if n := d.Arrived(); n > 10_000 {
		t.Errorf("%d carts arrived in a minute at 1 000 events a second", n)
	}
}
