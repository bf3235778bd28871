package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"cartstream/internal/shopsim"
)

// catalog is a shop database (shopsim) filled with a benchmark catalog,
// and the Debezium records that load it into cartstream.
type catalog struct {
	sim *shopsim.Sim
	// recs are the products and promotions records, in the order
	// Debezium would emit them (the snapshot, then one insert per further
	// promotion). Inventory rows are left out: offers do not read them.
	recs []shopsim.Record
}

// maxTxGap bounds how far one shopsim transaction moves its clock (its
// maxTxGap); the catalog's clock starts this much per transaction in the
// past, so no record of it lies in the future.
const maxTxGap = 2 * time.Second

// newCatalog builds a catalog of products and promotions as of now.
//
// The products and the first shopsim.DemoPromotionTemplates promotions are
// the demo catalog's (shopsim.SnapshotCatalog: a dozen categories and
// brands, every effect type, coupons, segments, stacking modes, validity
// windows); SKUs past 99 999 simply get more digits (SKU-100000). Every
// further promotion is a SKU promotion (benchPromotion): it targets one or
// two SKUs, or needs a coupon no cart uses. So a larger catalog means more
// promotions elsewhere in the catalog, not more promotions for every cart
// — DESIGN §5's cost rule: evaluation must not grow with promotions that
// target none of the cart's lines. (The demo generator's random
// promotions target whole categories, brands or every cart a quarter of
// the time; at 100 000 promotions every cart would then meet some 25 000
// of them.)
func newCatalog(seed int64, products, promotions int, now time.Time) (*catalog, error) {
	templates := min(promotions, shopsim.DemoPromotionTemplates)
	extra := promotions - templates
	start := now.Add(-time.Duration(extra+1)*maxTxGap - 10*time.Minute).UTC().Truncate(time.Second)
	sim := shopsim.New(seed, shopsim.Options{Start: start})
	t := sim.Topics()
	var recs []shopsim.Record
	for _, r := range sim.SnapshotCatalog(products, templates) {
		if r.Topic == t.Products || r.Topic == t.Promotions {
			recs = append(recs, r)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xbe4c))
	for i := templates + 1; i <= promotions; i++ {
		r, err := sim.UpsertPromotion(benchPromotion(rng, i, products))
		if err != nil {
			return nil, fmt.Errorf("bench: catalog: %w", err)
		}
		recs = append(recs, r)
	}
	if sim.Now().After(now) {
		return nil, fmt.Errorf("bench: catalog: the simulated clock (%s) ran past now (%s)", sim.Now(), now)
	}
	return &catalog{sim: sim, recs: recs}, nil
}

// benchPromotion is SKU promotion i: a markdown of one or two SKUs of
// 1..products (percent off, an amount off each unit, buy one get one, or a
// multi-buy price), or a cart-wide discount behind a coupon code no cart
// applies. A few are exclusive or need a minimum quantity.
func benchPromotion(r *rand.Rand, i, products int) shopsim.Promotion {
	doc := func(v any) json.RawMessage {
		b, _ := json.Marshal(v)
		return b
	}
	type obj = map[string]any
	sku := func() string { return shopsim.SKU(1 + r.IntN(products)) }
	p := shopsim.Promotion{
		ID: shopsim.PromotionID(i), Active: true, Priority: 1 + r.Int32N(80),
		Stacking: shopsim.StackingStackable, Currency: benchCurrency, Condition: doc(obj{}),
	}
	if r.IntN(20) == 0 {
		p.Stacking = shopsim.StackingExclusive
	}
	if r.IntN(10) == 0 {
		p.Condition = doc(obj{"min_quantity": 2 + r.IntN(3)})
	}
	switch x := r.IntN(100); {
	case x < 45:
		bps := 500 * (1 + r.IntN(5))
		p.Name = fmt.Sprintf("%d%% off two SKUs", bps/100)
		p.Target = doc(obj{"skus": []string{sku(), sku()}})
		p.Effect = doc(obj{"type": "percent_off", "bps": bps})
	case x < 65:
		p.Name = "$1 off each unit"
		p.Target = doc(obj{"skus": []string{sku()}})
		p.Effect = doc(obj{"type": "amount_off", "amount": "1.00", "per": "unit"})
	case x < 80:
		p.Name = "Buy one, get one half price"
		p.Target = doc(obj{"skus": []string{sku(), sku()}})
		p.Effect = doc(obj{"type": "buy_x_get_y", "buy": 1, "get": 1, "bps": 5000, "max_applications": nil})
	case x < 90:
		p.Name = "Any 3 for $25"
		p.Target = doc(obj{"skus": []string{sku()}})
		p.Effect = doc(obj{"type": "fixed_price", "quantity": 3, "price": "25.00"})
	default:
		code := fmt.Sprintf("BENCH%06d", i)
		p.Name = "Coupon " + code
		p.CouponCode = &code
		p.Target = doc(obj{})
		p.Effect = doc(obj{"type": "percent_off", "bps": 1500})
	}
	return p
}
