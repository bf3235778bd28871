package checkoutsim

import (
	"strings"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/internal/shopsim"
	"cartstream/schemas"
)

// fixture is a small finished run: SKU A (10 units) sold 3 on time to
// checkout k1, SKU B (5 units) where checkout k2 failed, and checkout k3
// reserved 2 of A and walked away (its hold expired).
type fixture struct {
	ledger   shopsim.Ledger
	statuses []statusRecord
	results  []schemas.ReservationResult
	after    map[string]*reserve.State
	before   map[string]*reserve.State
	dead     []string
	sim      *shopsim.Sim
	t0       time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim := shopsim.New(1, shopsim.Options{})
	for sku, n := range map[string]int32{"A": 10, "B": 5} {
		if _, err := sim.AddProduct(shopsim.Product{SKU: sku, Name: sku, Category: "c", Brand: "b", Price: 100, Currency: "USD", Active: true}, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := sim.PlaceOrder("o-k1", "k1", "c1", []shopsim.Line{{SKU: "A", Qty: 3}}); err != nil {
		t.Fatal(err)
	}
	t0 := sim.Now()
	f := &fixture{sim: sim, t0: t0}
	f.ledger = shopsim.Ledger{
		Stock:       map[string]int64{"A": 10, "B": 5},
		Sold:        map[string]int64{"A": 3},
		Orders:      []shopsim.PlacedOrder{{OrderID: "o-k1", CheckoutID: "k1", CartID: "c1", Lines: []shopsim.Line{{SKU: "A", Qty: 3}}, OnTime: true}},
		CheckoutIDs: []string{"k1", "k2", "k3"},
	}
	st := func(cart, id, status, reason string, lines ...shopsim.StatusLine) statusRecord {
		return statusRecord{status: shopsim.CheckoutStatus{CartID: cart, CheckoutID: id, Status: status, Reason: reason, Lines: lines, EventTime: t0}}
	}
	f.statuses = []statusRecord{
		st("c1", "k1", "reserved", "", shopsim.StatusLine{SKU: "A", Qty: 3, Status: "reserved"}),
		st("c1", "k1", "completed", "", shopsim.StatusLine{SKU: "A", Qty: 3, Status: "committed"}),
		st("c2", "k2", "failed", "insufficient_stock", shopsim.StatusLine{SKU: "B", Qty: 9, Status: "rejected", Reason: "insufficient_stock"}),
		st("c3", "k3", "reserved", "", shopsim.StatusLine{SKU: "A", Qty: 2, Status: "reserved"}),
	}
	res := func(cart, checkout, sku string, op schemas.ReservationOp, qty int32, status, reason string) schemas.ReservationResult {
		req := checkout + ":" + sku
		r := schemas.ReservationResult{CommandID: req + ":" + string(op), RequestID: req, Op: op, SKU: sku, Qty: qty, CartID: cart, CheckoutID: checkout, Status: status, EventTime: t0}
		if reason != "" {
			r.Reason = &reason
		}
		return r
	}
	f.results = []schemas.ReservationResult{
		res("c1", "k1", "A", schemas.OpReserve, 3, "reserved", ""),
		res("c1", "k1", "A", schemas.OpCommit, 3, "committed", ""),
		res("c2", "k2", "B", schemas.OpReserve, 9, "rejected", "insufficient_stock"),
		res("c3", "k3", "A", schemas.OpReserve, 2, "reserved", ""),
	}
	a, _ := sim.Stock("A")
	b, _ := sim.Stock("B")
	f.after = map[string]*reserve.State{
		"A": {SKU: "A", Known: true, OnHand: int64(a.OnHand), Version: a.Version, Holds: []reserve.Hold{
			{RequestID: "k3:A", CartID: "c3", CheckoutID: "k3", Qty: 2, State: reserve.Held, ExpiresAt: t0.Add(30 * time.Second)},
		}},
		"B": {SKU: "B", Known: true, OnHand: int64(b.OnHand), Version: b.Version},
	}
	f.before = map[string]*reserve.State{"A": f.after["A"], "B": f.after["B"]}
	return f
}

func (f *fixture) audit() Summary {
	var sum Summary
	a := audit{
		ledger: f.ledger, statuses: f.statuses, results: resultsRead{records: f.results},
		before: tableRead{states: f.before}, beforeTime: f.t0,
		after: tableRead{states: f.after}, finalTime: f.t0.Add(time.Minute), sim: f.sim, deadLetters: f.dead,
	}
	a.run(&sum)
	return sum
}

func TestAuditCleanRun(t *testing.T) {
	sum := newFixture(t).audit()
	if sum.Failed() {
		t.Fatalf("clean run failed: %s\n%s", sum, strings.Join(sum.Problems, "\n"))
	}
	if sum.Checkouts != 3 || sum.ReservedUnits != 5 || sum.Completed != 1 || sum.FailedCheckouts != 1 || sum.OpenReserved != 1 || sum.Commands != 4 {
		t.Errorf("counts: %s", sum)
	}
	for _, want := range []string{"checkouts=3 reserved_units=5 oversold=0 double_applied=0 leaked_holds=0 duration_s=0.0 ", "fail_reasons=insufficient_stock:1"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}
}

func TestAuditFindsViolations(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f *fixture)
		check  func(s Summary) bool
	}{
		{"on-time sales beyond the stock are oversold", func(f *fixture) {
			f.ledger.Orders = append(f.ledger.Orders, shopsim.PlacedOrder{OrderID: "o-k4", CheckoutID: "k4", Lines: []shopsim.Line{{SKU: "A", Qty: 9}}, OnTime: true})
		}, func(s Summary) bool { return s.Oversold == 2 }},
		{"an on-time refusal on a SKU without late commits is oversold", func(f *fixture) {
			f.ledger.Refused = []shopsim.RefusedOrder{{OrderID: "o-k4", CheckoutID: "k4", Lines: []shopsim.Line{{SKU: "A", Qty: 1}}, OnTime: true}}
		}, func(s Summary) bool { return s.Oversold == 1 && s.RefusedOnTime == 1 }},
		{"a late refusal is not oversold", func(f *fixture) {
			f.ledger.Refused = []shopsim.RefusedOrder{{OrderID: "o-k4", CheckoutID: "k4", Lines: []shopsim.Line{{SKU: "A", Qty: 1}}, LateOnPurpose: true}}
		}, func(s Summary) bool { return s.Oversold == 0 && s.RefusedLate == 1 && !s.Failed() }},
		{"an on-time order reported late_commit is an anomaly", func(f *fixture) {
			f.statuses[1].status.Lines[0].Reason = shopsim.ReasonLateCommit
		}, func(s Summary) bool { return s.Anomalies == 1 && s.LateCommits == 1 }},
		{"a command answered twice differently is double applied", func(f *fixture) {
			r := f.results[2]
			r.Status = "reserved"
			r.Reason = nil
			f.results = append(f.results, r)
		}, func(s Summary) bool { return s.DoubleApplied == 1 }},
		{"a hold without a reserved result is double applied", func(f *fixture) {
			f.results = f.results[:3]
		}, func(s Summary) bool { return s.DoubleApplied == 1 }},
		{"a hold live after the final stream time leaked", func(f *fixture) {
			f.after["A"].Holds[0].ExpiresAt = f.t0.Add(time.Hour)
		}, func(s Summary) bool { return s.LeakedHolds == 1 }},
		{"an unreflected committed hold leaked", func(f *fixture) {
			f.after["A"].Holds = append(f.after["A"].Holds, reserve.Hold{RequestID: "k1:A", CheckoutID: "k1", Qty: 3, State: reserve.Committed})
		}, func(s Summary) bool { return s.LeakedHolds == 1 && s.DoubleApplied == 0 }},
		{"a live hold of a failed checkout is unreleased", func(f *fixture) {
			f.before = map[string]*reserve.State{"B": {SKU: "B", Known: true, OnHand: 5, Version: 1, Holds: []reserve.Hold{
				{RequestID: "k2:B", CheckoutID: "k2", Qty: 9, State: reserve.Held, ExpiresAt: f.t0.Add(time.Second)},
			}}}
		}, func(s Summary) bool { return s.UnreleasedHolds == 1 }},
		{"stock that differs from the database", func(f *fixture) {
			f.after["B"].OnHand = 4
		}, func(s Summary) bool { return s.StockMismatches == 1 }},
		{"a dead letter", func(f *fixture) {
			f.dead = []string{`key "c1" group="carts"`}
		}, func(s Summary) bool { return s.DeadLetters == 1 }},
		{"a checkout without status", func(f *fixture) {
			f.ledger.CheckoutIDs = append(f.ledger.CheckoutIDs, "k9")
		}, func(s Summary) bool { return s.NoStatus == 1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.mutate(f)
			sum := f.audit()
			if !c.check(sum) {
				t.Errorf("%s\n%s", sum, strings.Join(sum.Problems, "\n"))
			}
			if sum.Failed() && !strings.Contains(sum.String(), "FAILED seed=") {
				t.Errorf("a failed summary does not say so: %s", sum)
			}
		})
	}
}
