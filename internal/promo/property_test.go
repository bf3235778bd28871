package promo

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// gen draws random catalogs, promotions and carts from a seeded source, so
// a failure names the seed that reproduces it.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

func (g *gen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

func (g *gen) amount() money.Amount {
	return money.Amount([]int64{0, 1, 5, 25, 35, 99, 250, 1000, 1999, 4999, 100000}[g.r.IntN(11)])
}

func (g *gen) subset(from ...string) []string {
	var out []string
	for _, s := range from {
		if g.r.IntN(3) == 0 {
			out = append(out, s)
		}
	}
	return out
}

var genSKUs = []string{"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7"}

func (g *gen) catalog() MapCatalog {
	m := MapCatalog{}
	for _, sku := range genSKUs[:g.r.IntN(len(genSKUs)+1)] {
		p := schemas.Product{SKU: sku, Category: g.pick("c0", "c1", "c2", ""), Brand: g.pick("b0", "b1", ""),
			PriceMinor: g.amount(), Currency: "USD", Active: g.r.IntN(10) > 0}
		if g.r.IntN(10) == 0 {
			p.Currency = "EUR"
		}
		m[sku] = p
	}
	return m
}

func (g *gen) promotion(id string) schemas.Promotion {
	r := g.r
	p := schemas.Promotion{ID: id, Name: "promotion " + id, Active: r.IntN(10) > 0, Priority: int32(r.IntN(6) - 2),
		Stacking: g.pick(schemas.StackingStackable, schemas.StackingStackable, schemas.StackingExclusive, schemas.StackingStop), Currency: "USD"}
	if r.IntN(10) == 0 {
		p.Currency = "EUR"
	}
	if r.IntN(3) == 0 {
		code := g.pick("AA", "bb", "Cc")
		p.CouponCode = &code
	}
	if r.IntN(5) == 0 {
		from := t0.Add(time.Duration(r.IntN(5)-2) * time.Hour)
		p.ValidFrom = &from
	}
	if r.IntN(5) == 0 {
		until := t0.Add(time.Duration(r.IntN(5)-1) * time.Hour)
		p.ValidUntil = &until
	}
	if r.IntN(6) == 0 {
		p.Segments = []string{g.pick("vip", "staff")}
	}
	if r.IntN(4) == 0 {
		m := g.amount() * money.Amount(1+r.IntN(4))
		p.Condition.MinSubtotalMinor = &m
	}
	if r.IntN(4) == 0 {
		q := int32(r.IntN(6))
		p.Condition.MinQuantity = &q
	}
	if r.IntN(6) == 0 {
		p.Condition.RequiresSKUs = g.subset(genSKUs...)
	}
	if r.IntN(6) == 0 {
		p.Condition.RequiresCategories = g.subset("c0", "c1", "c2")
	}
	if r.IntN(2) == 0 {
		p.Target = schemas.Target{SKUs: g.subset(genSKUs...), Categories: g.subset("c0", "c1", "c2"), Brands: g.subset("b0", "b1")}
	}
	bps := int32([]int{0, 1, 333, 1000, 2500, 5000, 9999, 10000}[r.IntN(8)])
	switch r.IntN(7) {
	case 0:
		p.Effect = schemas.Effect{Type: schemas.EffectPercentOff, Bps: bps}
	case 1:
		p.Effect = schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: 1 + g.amount(), Per: schemas.PerCart}
	case 2:
		p.Effect = schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: 1 + g.amount(), Per: schemas.PerUnit}
	case 3:
		p.Effect = schemas.Effect{Type: schemas.EffectFixedPrice, Quantity: int32(1 + r.IntN(4)), PriceMinor: g.amount()}
	case 4:
		p.Effect = schemas.Effect{Type: schemas.EffectBuyXGetY, Buy: int32(1 + r.IntN(3)), Get: int32(1 + r.IntN(2)), Bps: bps, MaxApplications: int32(r.IntN(3))}
	case 5:
		n := 1 + r.IntN(3)
		for range n {
			p.Effect.Tiers = append(p.Effect.Tiers, schemas.Tier{MinSubtotalMinor: g.amount() * money.Amount(r.IntN(3)), Bps: bps})
			bps = int32(r.IntN(10001))
		}
		p.Effect.Type = schemas.EffectTieredPercent
	default:
		p.Effect = schemas.Effect{Type: schemas.EffectFreeShipping}
	}
	if r.IntN(5) == 0 {
		m := g.amount()
		p.MaxDiscountMinor = &m
	}
	return p
}

func (g *gen) promotions() []schemas.Promotion {
	n := g.r.IntN(14)
	out := make([]schemas.Promotion, 0, n)
	for i := range n {
		out = append(out, g.promotion(fmt.Sprintf("P%02d", i)))
	}
	return out
}

func (g *gen) cart() Cart {
	c := Cart{CartID: "c", Currency: "USD"}
	for range g.r.IntN(7) {
		c.Lines = append(c.Lines, CartLine{SKU: g.pick(append(genSKUs, "GONE")...), Qty: int64(1 + g.r.IntN(6))})
	}
	for range g.r.IntN(4) {
		c.Coupons = append(c.Coupons, g.pick("aa", "AA", "BB", "cC", "zz"))
	}
	c.Segments = g.subset("vip", "staff", "new")
	return c
}

func mustJSON(t testing.TB, o Offer) []byte {
	t.Helper()
	b, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProperties checks, on random carts and promotions, that every offer
// keeps the invariants (checkInvariants), validates against the offer
// schema, and is byte-identical whatever the Evaluator's history, the order
// promotions were indexed in, or promotions upserted and deleted on the
// way.
func TestProperties(t *testing.T) {
	sch := offerSchema(t)
	var reused Evaluator
	var into Offer
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range uint64(n) {
		g := newGen(seed)
		cat, ps, c := g.catalog(), g.promotions(), g.cart()
		rounding := money.Rounding(g.r.IntN(3))
		o, err := Evaluate(cat, NewIndex(ps...), c, t0, Options{Rounding: rounding})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkInvariants(t, o)
		if t.Failed() {
			t.Fatalf("seed %d:\n%s", seed, mustJSON(t, o))
		}
		if seed%10 == 0 {
			validateOffer(t, sch, o)
		}
		want := mustJSON(t, o)

		// The same evaluation with an Evaluator that evaluated other carts,
		// into an offer that held other results.
		if err := reused.EvaluateInto(&into, cat, NewIndex(ps...), c, t0, Options{Rounding: rounding}); err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(t, into); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: reused evaluator differs:\n%s\n%s", seed, got, want)
		}

		// Promotions indexed in another order, with decoys that come and
		// go and promotions upserted twice.
		idx := &Index{}
		shuffled := slices.Clone(ps)
		g.r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i, p := range shuffled {
			decoy := g.promotion(fmt.Sprintf("decoy-%d", i))
			idx.Upsert(decoy)
			if i%2 == 0 {
				stale := g.promotion(p.ID)
				idx.Upsert(stale)
			}
			idx.Upsert(p)
		}
		for i := range shuffled {
			idx.Delete(fmt.Sprintf("decoy-%d", i))
		}
		// Shuffle the cart's lines too: they are evaluated by SKU.
		c2 := c
		c2.Lines = slices.Clone(c.Lines)
		g.r.Shuffle(len(c2.Lines), func(i, j int) { c2.Lines[i], c2.Lines[j] = c2.Lines[j], c2.Lines[i] })
		o3, err := reused.Evaluate(cat, idx, c2, t0, Options{Rounding: rounding})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(t, o3); !bytes.Equal(got, want) {
			t.Fatalf("seed %d: index order changes the offer:\n%s\n%s", seed, got, want)
		}
	}
}

// Percent discounts are monotone in bps: more basis points never give less.
func TestPercentMonotoneInBps(t *testing.T) {
	for seed := range uint64(500) {
		g := newGen(seed)
		cat, c := g.catalog(), g.cart()
		rounding := money.Rounding(g.r.IntN(3))
		prev := money.Amount(-1)
		for _, bps := range []int32{0, 1, 2, 333, 334, 1000, 4999, 5000, 5001, 9999, 10000} {
			p := schemas.Promotion{ID: "P", Active: true, Stacking: schemas.StackingStackable, Currency: "USD",
				Effect: schemas.Effect{Type: schemas.EffectPercentOff, Bps: bps}}
			o, err := Evaluate(cat, NewIndex(p), c, t0, Options{Rounding: rounding})
			if err != nil {
				t.Fatal(err)
			}
			if o.DiscountTotal < prev {
				t.Fatalf("seed %d: %d bps gives %d, less than %d", seed, bps, o.DiscountTotal, prev)
			}
			prev = o.DiscountTotal
			if bps == 10000 && o.DiscountTotal != o.Subtotal {
				t.Fatalf("seed %d: 100%% off gives %d of %d", seed, o.DiscountTotal, o.Subtotal)
			}
		}
	}
}

// refUnitEffect computes a fixed_price or buy_x_get_y promotion alone on
// the undiscounted cart unit by unit, literally as DESIGN §5 words it, with
// money.Allocate for the proportional spread: an independent check of the
// engine's run-based arithmetic.
func refUnitEffect(cat Catalog, p schemas.Promotion, c Cart, r money.Rounding) map[string]int64 {
	type unit struct {
		sku   string
		price int64
	}
	qty := map[string]int64{}
	for _, l := range c.Lines {
		qty[l.SKU] += l.Qty
	}
	e := newEntry(p)
	var units []unit
	for sku, q := range qty {
		pr, ok := cat.Product(sku)
		if !ok || !pr.Active || pr.Currency != c.Currency {
			continue
		}
		l := wline{sku: sku, cat: pr.Category, brand: pr.Brand, avail: true}
		if !targets(e, &l) {
			continue
		}
		for range q {
			units = append(units, unit{sku, int64(pr.PriceMinor)})
		}
	}
	slices.SortFunc(units, func(a, b unit) int {
		if c := cmp.Compare(b.price, a.price); c != 0 {
			return c
		}
		return cmp.Compare(a.sku, b.sku)
	})
	out := map[string]int64{}
	fx := p.Effect
	switch fx.Type {
	case schemas.EffectFixedPrice:
		q := int(fx.Quantity)
		for start := 0; start+q <= len(units); start += q {
			group := units[start : start+q]
			var sum int64
			w := map[string]int64{}
			for _, u := range group {
				sum += u.price
				w[u.sku] += u.price
			}
			d := max(0, sum-int64(fx.PriceMinor))
			var skus []string
			var weights []int64
			for sku, v := range w {
				skus = append(skus, sku)
				weights = append(weights, v)
			}
			parts, err := money.Allocate(d, weights, skus)
			if err != nil {
				panic(err)
			}
			for i, sku := range skus {
				out[sku] += parts[i]
			}
		}
	case schemas.EffectBuyXGetY:
		free := map[string]int64{}
		rem := units
		apps := 0
		for len(rem) >= int(fx.Buy+fx.Get) && (fx.MaxApplications == 0 || apps < int(fx.MaxApplications)) {
			rem = rem[fx.Buy:]
			for _, u := range rem[len(rem)-int(fx.Get):] {
				free[u.sku] += u.price
			}
			rem = rem[:len(rem)-int(fx.Get)]
			apps++
		}
		for sku, v := range free {
			d, err := money.MulDivRound(v, int64(fx.Bps), 10000, r)
			if err != nil {
				panic(err)
			}
			out[sku] = d
		}
	}
	// Capped at the line.
	for sku, v := range out {
		pr, _ := cat.Product(sku)
		out[sku] = min(v, qty[sku]*int64(pr.PriceMinor))
		if out[sku] == 0 {
			delete(out, sku)
		}
	}
	return out
}

func TestUnitEffectsMatchUnitByUnitReference(t *testing.T) {
	for seed := range uint64(3000) {
		g := newGen(seed)
		cat, c := g.catalog(), g.cart()
		var p schemas.Promotion
		for p.Effect.Type != schemas.EffectFixedPrice && p.Effect.Type != schemas.EffectBuyXGetY {
			p = g.promotion("P")
		}
		p.Active, p.Currency, p.CouponCode, p.ValidFrom, p.ValidUntil, p.Segments = true, "USD", nil, nil, nil, nil
		p.Condition, p.MaxDiscountMinor = schemas.Condition{}, nil
		rounding := money.Rounding(g.r.IntN(3))
		o, err := Evaluate(cat, NewIndex(p), c, t0, Options{Rounding: rounding})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, l := range o.Lines {
			for _, a := range l.Allocations {
				got[l.SKU] += int64(a.Amount)
			}
		}
		want := refUnitEffect(cat, p, c, rounding)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: %+v on %+v:\ngot  %v\nwant %v", seed, p.Effect, c.Lines, got, want)
		}
	}
}

// spread agrees with money.Allocate (largest remainder, ties to the first
// key) for every total up to the weights' sum.
func TestSpreadMatchesMoneyAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 5000 {
		n := 1 + r.IntN(6)
		weights := make([]int64, n)
		keys := make([]string, n)
		var sum int64
		for i := range weights {
			weights[i] = int64(r.IntN(4)) * int64([]int{1, 7, 100, 1_000_000_007}[r.IntN(4)])
			keys[i] = fmt.Sprintf("k%d", i)
			sum += weights[i]
		}
		if sum == 0 {
			continue
		}
		total := r.Int64N(sum + 1)
		want, err := money.Allocate(total, weights, keys)
		if err != nil {
			t.Fatal(err)
		}
		var shares []share
		for i, w := range weights {
			if w > 0 {
				shares = append(shares, share{line: i, w: w})
			}
		}
		spread(total, shares)
		got := make([]int64, n)
		for _, s := range shares {
			got[s.line] = s.part
		}
		if !slices.Equal(got, want) {
			t.Fatalf("spread %d over %v = %v, money.Allocate %v", total, weights, got, want)
		}
	}
}

// The index can change while carts are evaluated (run with -race).
func TestIndexConcurrentUse(t *testing.T) {
	g := newGen(1)
	cat := g.catalog()
	idx := NewIndex(g.promotions()...)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGen(uint64(100 + w))
			var ev Evaluator
			for range 300 {
				o, err := ev.Evaluate(cat, idx, g.cart(), t0, Options{})
				if err != nil {
					t.Error(err)
					return
				}
				checkInvariants(t, o)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		g := newGen(99)
		for i := range 2000 {
			id := fmt.Sprintf("P%02d", i%20)
			if i%3 == 0 {
				idx.Delete(id)
				continue
			}
			idx.Upsert(g.promotion(id))
		}
	}()
	wg.Wait()
}
