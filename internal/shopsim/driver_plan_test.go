package shopsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	csschemas "cartstream/schemas"
)

// cartEvents decodes the cart events of recs, duplicates left out, checking
// each against the published schema.
func cartEvents(t *testing.T, recs []Record) []cartEvent {
	t.Helper()
	sch, err := csschemas.CompileJSONSchema(csschemas.JSONCartEvent)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []cartEvent
	for _, r := range recs {
		if r.Topic != DefaultCartEventsTopic {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Value))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Fatalf("%s: %v", r.Value, err)
		}
		var e cartEvent
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		if seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		out = append(out, e)
	}
	return out
}

// byCart groups events by cart, in order.
func byCart(events []cartEvent) map[string][]cartEvent {
	out := map[string][]cartEvent{}
	for _, e := range events {
		out[e.CartID] = append(out[e.CartID], e)
	}
	return out
}

func countType(events []cartEvent, typ string) int {
	n := 0
	for _, e := range events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func near(got, want int, tolerance float64) bool {
	return math.Abs(float64(got-want)) <= tolerance*float64(want)
}

// Session plans: browsing carts leave without checking out, carts change
// and remove lines, apply and remove coupons, and a flash sale puts one SKU
// in every cart; each run is deterministic by seed and the model (which
// applies removals and quantity changes) never disagrees with the driver.
func TestDriverSessions(t *testing.T) {
	stock := []int32{40, 60, 80, 100, 200, 300}
	for _, tc := range []struct {
		name  string
		opts  DriverOptions
		check func(t *testing.T, sim simulation, events []cartEvent)
	}{
		{
			name: "browse heavy",
			opts: DriverOptions{Carts: 400, Zipf: 1.2, MaxLines: 3, MaxQty: 3, BrowseRate: 0.8, ChangeRate: 0.5,
				ThinkTime: 300 * time.Millisecond, ArrivalGap: 200 * time.Millisecond, RetryRate: 0.5, DuplicateRate: 0.05},
			check: func(t *testing.T, sim simulation, events []cartEvent) {
				l := sim.ledger
				if !near(l.BrowseCarts, 320, 0.1) {
					t.Errorf("%d of 400 carts browsed, want about 320", l.BrowseCarts)
				}
				carts := byCart(events)
				if len(carts) != 400 {
					t.Fatalf("%d carts sent events", len(carts))
				}
				buyers := 0
				for id, evs := range carts {
					if countType(evs, EventCheckoutStarted) > 0 {
						buyers++
					}
					if evs[0].Type != EventItemAdded {
						t.Errorf("cart %s starts with %s", id, evs[0].Type)
					}
				}
				if buyers != 400-l.BrowseCarts {
					t.Errorf("%d carts checked out, %d did not browse only", buyers, 400-l.BrowseCarts)
				}
				for _, typ := range []string{EventItemRemoved, EventQuantitySet} {
					if countType(events, typ) < 50 {
						t.Errorf("only %d %s events", countType(events, typ), typ)
					}
				}
			},
		},
		{
			name: "coupons",
			opts: DriverOptions{Carts: 300, MaxLines: 2, CouponRate: 0.6, UnknownCouponRate: 0.25, CouponRemoveRate: 0.3,
				CouponCodes: []string{"SAVE5", "FREESHIP", "WINTER25"}, ThinkTime: 300 * time.Millisecond},
			check: func(t *testing.T, sim simulation, events []cartEvent) {
				known, unknown, removed := 0, 0, 0
				for id, evs := range byCart(events) {
					applied := ""
					for _, e := range evs {
						switch e.Type {
						case EventCouponApplied:
							applied = e.Code
							switch {
							case slices.Contains(sim.driver.opts.CouponCodes, e.Code):
								known++
							case strings.HasPrefix(e.Code, UnknownCouponPrefix):
								unknown++
							default:
								t.Errorf("cart %s applied %q", id, e.Code)
							}
						case EventCouponRemoved:
							removed++
							if e.Code != applied {
								t.Errorf("cart %s removed %q, applied %q", id, e.Code, applied)
							}
						}
					}
				}
				if !near(known+unknown, 180, 0.15) || !near(unknown, 45, 0.4) || !near(removed, 54, 0.4) {
					t.Errorf("%d known and %d unknown coupons applied, %d removed", known, unknown, removed)
				}
				if l := sim.ledger; l.CouponsApplied != known+unknown || l.CouponsRemoved != removed {
					t.Errorf("ledger counts %d applied, %d removed", l.CouponsApplied, l.CouponsRemoved)
				}
			},
		},
		{
			name: "flash sale",
			opts: DriverOptions{Carts: 500, MaxLines: 2, MaxQty: 1, FlashSKU: SKU(1), BrowseRate: 0.2, RetryRate: 0.5,
				ThinkTime: 100 * time.Millisecond, Zipf: 1.5, RestockEvery: 5, RestockQty: 10},
			check: func(t *testing.T, sim simulation, events []cartEvent) {
				for id, evs := range byCart(events) {
					if e := evs[0]; e.Type != EventItemAdded || e.SKU != SKU(1) || *e.Qty != 1 {
						t.Errorf("cart %s does not add the flash-sale SKU first: %+v", id, e)
					}
				}
				l := sim.ledger
				if l.Stock[SKU(1)] != 40 || l.Sold[SKU(1)] != 40 || l.Restocks == 0 {
					t.Errorf("sold %d of the flash-sale SKU's %d (40 at the start; %d restocks of others)", l.Sold[SKU(1)], l.Stock[SKU(1)], l.Restocks)
				}
				// Checkouts beyond one a buying cart are retries of
				// failed ones (no edits here).
				if buyers := 500 - l.BrowseCarts; len(l.CheckoutIDs) <= buyers || buyers <= int(l.Stock[SKU(1)]) {
					t.Errorf("%d checkouts by %d buying carts for %d units: no contention", len(l.CheckoutIDs), buyers, l.Stock[SKU(1)])
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := runSimulation(t, 21, stock, tc.opts)
			b := runSimulation(t, 21, stock, tc.opts)
			if !sameRecords(a.records, b.records) {
				t.Fatal("the same seed gave different records")
			}
			if l := a.ledger; l.Anomalies != 0 {
				t.Fatalf("%d anomalies against a correct model: %v", l.Anomalies, l.AnomalyNotes)
			}
			for sku, n := range a.ledger.Sold {
				if n > a.ledger.Stock[sku] {
					t.Errorf("%s: the database sold %d of %d", sku, n, a.ledger.Stock[sku])
				}
			}
			tc.check(t, a, cartEvents(t, a.records))
		})
	}
}

func sameRecords(a, b []Record) bool {
	return slices.EqualFunc(a, b, func(x, y Record) bool {
		return x.Topic == y.Topic && bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value) && x.Timestamp.Equal(y.Timestamp)
	})
}

// Options without any session setting keep the original driver's draws,
// record for record: seeds of earlier simulations (checkoutsim's replay
// commands) still replay the same runs. The digest was taken with the
// driver as it was before session plans and pacing existed.
func TestDriverWithoutPlansIsUnchanged(t *testing.T) {
	const want = "4a00e34887b08bff2e4406cd510131f65e1e67c2833f9f398ddf6a794698e4fc"
	sim := runSimulation(t, 4, []int32{10, 20, 40}, busyOptions())
	h := sha256.New()
	for _, r := range sim.records {
		fmt.Fprintf(h, "%s|%s|%s|%d\n", r.Topic, r.Key, r.Value, r.Timestamp.UnixNano())
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != want || len(sim.records) != 1424 {
		t.Errorf("%d records with digest %s, want 1424 with %s", len(sim.records), got, want)
	}
}
