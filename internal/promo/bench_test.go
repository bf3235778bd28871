package promo

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// benchCatalogSizes are the promotion counts BenchmarkEvaluate compares
// (docs/benchmarks.md, "Promotion evaluation vs catalog size").
var benchCatalogSizes = []int{100, 10_000, 100_000}

// benchRelevant is the fixed handful of promotions that concern the
// benchmark cart, reached through every kind of index key.
func benchRelevant(t testing.TB) []schemas.Promotion {
	return promos(t,
		`{"id":"r-sku","priority":50,"target":{"skus":["K1"]},"effect":{"type":"percent_off","bps":1000}}`,
		`{"id":"r-cat","priority":40,"target":{"categories":["kcat-a"]},"effect":{"type":"fixed_price","quantity":3,"price":"25.00"}}`,
		`{"id":"r-brand","priority":30,"target":{"brands":["kbrand"]},"effect":{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000}}`,
		`{"id":"r-tiered","priority":20,"max_discount":"15.00","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"50.00","bps":500},{"min_subtotal":"500.00","bps":1000}]}}`,
		`{"id":"r-ship","priority":10,"condition":{"min_subtotal":"500.00"},"effect":{"type":"free_shipping"}}`,
		`{"id":"r-coupon","priority":60,"coupon_code":"SAVE5","condition":{"min_quantity":3},"effect":{"type":"amount_off","amount":"5.00","per":"cart"}}`,
		`{"id":"r-excl","priority":70,"stacking":"exclusive","segments":["staff"],"effect":{"type":"percent_off","bps":3000}}`,
		`{"id":"r-stop","priority":5,"stacking":"stop","target":{"categories":["kcat-b"]},"effect":{"type":"amount_off","amount":"1.00","per":"unit"}}`,
	)
}

// benchIndex holds the relevant promotions and n−8 others that target other
// SKUs, categories and brands (or carry other coupon codes), of every
// effect type.
func benchIndex(t testing.TB, n int) *Index {
	rel := benchRelevant(t)
	idx := NewIndex(rel...)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n - len(rel) {
		p := schemas.Promotion{ID: fmt.Sprintf("o-%06d", i), Name: "other", Active: true, Priority: int32(r.IntN(100)),
			Stacking: schemas.StackingStackable, Currency: "USD"}
		switch r.IntN(4) {
		case 0:
			p.Target.SKUs = []string{fmt.Sprintf("O%d", r.IntN(50_000)), fmt.Sprintf("O%d", r.IntN(50_000))}
		case 1:
			p.Target.Categories = []string{fmt.Sprintf("ocat%d", r.IntN(1000))}
		case 2:
			p.Target.Brands = []string{fmt.Sprintf("obrand%d", r.IntN(500))}
		default:
			code := fmt.Sprintf("OTHER%d", r.IntN(20_000))
			p.CouponCode = &code
		}
		switch r.IntN(3) {
		case 0:
			p.Effect = schemas.Effect{Type: schemas.EffectPercentOff, Bps: 1000}
		case 1:
			p.Effect = schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: 500, Per: schemas.PerCart}
		default:
			p.Effect = schemas.Effect{Type: schemas.EffectBuyXGetY, Buy: 1, Get: 1, Bps: 5000}
		}
		idx.Upsert(p)
	}
	return idx
}

// benchCart is a 5-line cart with a coupon and an unknown coupon; the
// catalog also holds 10 000 products it does not contain.
func benchCart() (MapCatalog, Cart) {
	cat := MapCatalog{}
	add := func(sku, price, category, brand string) {
		a, _ := money.Parse(price, usd)
		cat[sku] = schemas.Product{SKU: sku, Category: category, Brand: brand, PriceMinor: a, Currency: "USD", Active: true}
	}
	add("K1", "19.99", "kcat-a", "acme")
	add("K2", "12.50", "kcat-a", "kbrand")
	add("K3", "8.00", "kcat-a", "kbrand")
	add("K4", "4.25", "kcat-b", "kbrand")
	add("K5", "99.00", "kcat-c", "zed")
	for i := range 10_000 {
		add(fmt.Sprintf("O%d", i), "1.00", fmt.Sprintf("ocat%d", i%1000), fmt.Sprintf("obrand%d", i%500))
	}
	c := Cart{CartID: "c-bench", Currency: "USD", Segments: []string{"vip"}, Coupons: []string{"save5", "NOPE"},
		Lines: []CartLine{{"K1", 2}, {"K2", 1}, {"K3", 3}, {"K4", 4}, {"K5", 1}}}
	return cat, c
}

// BenchmarkEvaluate evaluates the same cart with 100, 10 000 and 100 000
// promotions indexed, of which the same 8 concern the cart: the time must
// not grow with the promotions that do not (DESIGN §5 "Cost"). mode=new
// returns a fresh Offer each time (Evaluate); mode=reuse writes into one
// Offer (EvaluateInto), as a processor emitting offers would.
func BenchmarkEvaluate(b *testing.B) {
	cat, c := benchCart()
	for _, n := range benchCatalogSizes {
		idx := benchIndex(b, n)
		for _, mode := range []string{"new", "reuse"} {
			b.Run(fmt.Sprintf("promotions=%d/mode=%s", n, mode), func(b *testing.B) {
				var ev Evaluator
				var o Offer
				if err := ev.EvaluateInto(&o, cat, idx, c, t0, Options{}); err != nil {
					b.Fatal(err)
				}
				if len(o.Applied) != 6 || len(o.NotApplied) != 2 || len(o.Hints) != 3 {
					b.Fatalf("unexpected offer:\n%s", summary(o))
				}
				// Settle the garbage of building the index so that no
				// collection it started runs during the measurement.
				runtime.GC()
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					var err error
					if mode == "new" {
						o, err = ev.Evaluate(cat, idx, c, t0, Options{})
					} else {
						err = ev.EvaluateInto(&o, cat, idx, c, t0, Options{})
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		runtime.KeepAlive(idx)
	}
}

// BenchmarkEvaluateInterleaved evaluates the same cart against the three
// indexes in turn within every iteration (rotating which goes first), timing
// each evaluation, so that the host's speed drifting during the run — this
// is a shared 2-core VM — weighs on every catalog size alike. It reports the
// mean time per evaluation for each size and the 100 000 : 100 ratio.
func BenchmarkEvaluateInterleaved(b *testing.B) {
	cat, c := benchCart()
	idxs := make([]*Index, len(benchCatalogSizes))
	for i, n := range benchCatalogSizes {
		idxs[i] = benchIndex(b, n)
	}
	for _, mode := range []string{"new", "reuse"} {
		b.Run("mode="+mode, func(b *testing.B) {
			var ev Evaluator
			var o Offer
			var spent [3]time.Duration
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for k := range idxs {
					j := (i + k) % len(idxs)
					start := time.Now()
					var err error
					if mode == "new" {
						o, err = ev.Evaluate(cat, idxs[j], c, t0, Options{})
					} else {
						err = ev.EvaluateInto(&o, cat, idxs[j], c, t0, Options{})
					}
					spent[j] += time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			for j, n := range benchCatalogSizes {
				b.ReportMetric(float64(spent[j].Nanoseconds())/float64(b.N), fmt.Sprintf("ns/eval@%d", n))
			}
			b.ReportMetric(float64(spent[2])/float64(spent[0]), "ratio@100000/100")
		})
	}
	runtime.KeepAlive(idxs)
}

// The evaluation reaches the same promotions whatever the index holds: the
// deterministic side of BenchmarkEvaluate.
func TestBenchReachIsFlat(t *testing.T) {
	cat, c := benchCart()
	var want []string
	for _, n := range benchCatalogSizes {
		var ev Evaluator
		if _, err := ev.Evaluate(cat, benchIndex(t, n), c, t0, Options{}); err != nil {
			t.Fatal(err)
		}
		got := reached(&ev)
		if want == nil {
			want = got
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d promotions: reached %v, want %v", n, got, want)
		}
	}
	if len(want) != 8 {
		t.Errorf("reached %v, want the 8 relevant promotions", want)
	}
}

// The benchmark's offer, checked by hand (priority order):
//
//   - r-coupon (60): 5.00 over the subtotals 39.98 12.50 24.00 17.00 99.00
//     (W 192.48): floors 103 32 62 44 257, the two cents left to K1 and K2.
//   - r-sku (50): 10% of K1's 38.94 left = 3.894 → 3.89.
//   - r-cat (40): kcat-a units K1 K1 K2 | K3 K3 K3: 52.48 → 27.48 spread
//     39.98:12.50 = 20.93 + 6.55; 24.00 is under 25.00, nothing.
//   - r-brand (30): kbrand units K2 K3 K3 K3 K4×4: 8 units, 2 applications,
//     the two cheapest (K4) free = 8.50; 9 units would make 3: hint.
//   - r-tiered (20): 192.48 reaches 50.00 (5%) per line of what is left:
//     70.6 28.1 116.9 40.3 482.15 → 71 28 117 40 482; next tier 500.00.
//   - r-ship (10) misses min_subtotal 500.00; r-stop (5) takes 1.00 per K4
//     unit; the staff-only exclusive is not a candidate (vip cart).
func TestBenchCartOffer(t *testing.T) {
	cat, c := benchCart()
	o, err := Evaluate(cat, benchIndex(t, 100), c, t0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, o)
	want := dedent(`
		subtotal 192.48 discount 56.25 total 136.23
		line K1 2x19.99=39.98 -26.57 =13.41 r-coupon:1.04 r-sku:3.89 r-cat:20.93 r-tiered:0.71
		line K2 1x12.50=12.50 -7.16 =5.34 r-coupon:0.33 r-cat:6.55 r-tiered:0.28
		line K3 3x8.00=24.00 -1.79 =22.21 r-coupon:0.62 r-tiered:1.17
		line K4 4x4.25=17.00 -13.34 =3.66 r-coupon:0.44 r-brand:8.50 r-tiered:0.40 r-stop:4.00
		line K5 1x99.00=99.00 -7.39 =91.61 r-coupon:2.57 r-tiered:4.82
		applied r-coupon 5.00 coupon=save5
		applied r-sku 3.89
		applied r-cat 27.48
		applied r-brand 8.50
		applied r-tiered 7.38
		applied r-stop 4.00
		not_applied - coupon_unknown coupon=NOPE
		not_applied r-ship min_subtotal_not_met
		hint r-brand add_quantity 1
		hint r-tiered spend_more 307.52
		hint r-ship spend_more 307.52`)
	if got := summary(o); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
