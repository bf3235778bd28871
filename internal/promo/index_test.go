package promo

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// reached returns the ids of the promotions the last evaluation touched.
func reached(ev *Evaluator) []string {
	var ids []string
	for _, c := range ev.cands {
		ids = append(ids, c.e.p.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestIndexTouchesOnlyWhatConcernsTheCart(t *testing.T) {
	cat := testProducts(t)
	idx := NewIndex(promos(t,
		`{"id":"bySKU","target":{"skus":["A","ZZ"]},"effect":{"type":"percent_off","bps":100}}`,
		`{"id":"byCat","target":{"categories":["books"]},"effect":{"type":"percent_off","bps":100}}`,
		`{"id":"byBrand","target":{"brands":["Acme"]},"effect":{"type":"percent_off","bps":100}}`,
		`{"id":"all","effect":{"type":"percent_off","bps":100}}`,
		`{"id":"allNeedsSKU","condition":{"requires_skus":["Q"]},"effect":{"type":"percent_off","bps":100}}`,
		`{"id":"coupon","coupon_code":"Yes","effect":{"type":"percent_off","bps":100}}`,
		`{"id":"otherCoupon","coupon_code":"NO","effect":{"type":"percent_off","bps":100}}`,
		`{"id":"couponOnA","coupon_code":"NO","target":{"skus":["A"]},"effect":{"type":"percent_off","bps":100}}`,
		`{"id":"emptyKey","target":{"categories":[""]},"effect":{"type":"percent_off","bps":100}}`,
		`{"id":"unavailableOnly","target":{"skus":["OFF","GONE"]},"effect":{"type":"percent_off","bps":100}}`,
	)...)
	for i := range 1000 {
		idx.Upsert(promo(t, fmt.Sprintf(`{"id":"other-%d","target":{"skus":["S%d"],"categories":["cat%d"],"brands":["brand%d"]},"effect":{"type":"percent_off","bps":100}}`, i, i, i, i)))
	}
	var ev Evaluator
	c := cart("A:1", "OFF:1", "GONE:1")
	c.Coupons = []string{"yes"}
	if _, err := ev.Evaluate(cat, idx, c, t0, Options{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"all", "allNeedsSKU", "byBrand", "bySKU", "coupon"}
	if got := reached(&ev); !slices.Equal(got, want) {
		t.Errorf("reached %v, want %v", got, want)
	}
	// A cart of only unavailable lines reaches no automatic promotion.
	if _, err := ev.Evaluate(cat, idx, cart("OFF:1", "GONE:1"), t0, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := reached(&ev); len(got) != 0 {
		t.Errorf("reached %v", got)
	}
}

func TestIndexUpsertAndDelete(t *testing.T) {
	cat := testProducts(t)
	idx := &Index{}
	if idx.Len() != 0 {
		t.Fatal("zero index not empty")
	}
	eval := func() string {
		t.Helper()
		c := cart("A:1", "C:1")
		c.Coupons = []string{"code"}
		o, err := Evaluate(cat, idx, c, t0, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range o.Applied {
			ids = append(ids, a.PromotionID)
		}
		return fmt.Sprint(ids)
	}
	idx.Upsert(promo(t, `{"id":"P1","target":{"skus":["A"]},"effect":{"type":"percent_off","bps":100}}`))
	idx.Upsert(promo(t, `{"id":"P2","target":{"skus":["A"]},"effect":{"type":"percent_off","bps":100}}`))
	idx.Upsert(promo(t, `{"id":"P3","target":{"skus":["A"]},"effect":{"type":"percent_off","bps":100}}`))
	if got := eval(); got != "[P1 P2 P3]" {
		t.Fatalf("applied %s", got)
	}
	// Retarget P1 away from the cart, P2 to a coupon, P3 to every line.
	idx.Upsert(promo(t, `{"id":"P1","target":{"skus":["B"]},"effect":{"type":"percent_off","bps":100}}`))
	idx.Upsert(promo(t, `{"id":"P2","coupon_code":"CODE","target":{"skus":["A"]},"effect":{"type":"percent_off","bps":100}}`))
	idx.Upsert(promo(t, `{"id":"P3","effect":{"type":"percent_off","bps":100}}`))
	if got := eval(); got != "[P2 P3]" {
		t.Fatalf("applied %s", got)
	}
	if idx.Len() != 3 {
		t.Fatalf("Len %d", idx.Len())
	}
	idx.Delete("P3")
	idx.Delete("P3")
	idx.Delete("never")
	if got := eval(); got != "[P2]" {
		t.Fatalf("applied %s", got)
	}
	idx.Delete("P2")
	idx.Delete("P1")
	if got := eval(); got != "[]" || idx.Len() != 0 {
		t.Fatalf("applied %s, Len %d", got, idx.Len())
	}
	if len(idx.bySKU)+len(idx.byCat)+len(idx.byBrand)+len(idx.byCoupon)+len(idx.cartWide.items) != 0 {
		t.Errorf("postings left behind: %v %v %v %v %v", idx.bySKU, idx.byCat, idx.byBrand, idx.byCoupon, idx.cartWide.items)
	}
}

// Removing from the middle of a posting list keeps every other entry
// findable (the moved entry's position is updated).
func TestIndexPostingListsStayConsistent(t *testing.T) {
	idx := &Index{}
	free := schemas.Effect{Type: schemas.EffectFreeShipping}
	for i := range 50 {
		idx.Upsert(schemas.Promotion{ID: fmt.Sprintf("P%02d", i), Target: schemas.Target{SKUs: []string{"A", fmt.Sprintf("S%d", i%3)}, Brands: []string{"b"}}, Effect: free})
	}
	for i := 0; i < 50; i += 3 {
		idx.Delete(fmt.Sprintf("P%02d", i))
	}
	for i := 1; i < 50; i += 3 {
		idx.Upsert(schemas.Promotion{ID: fmt.Sprintf("P%02d", i), Target: schemas.Target{SKUs: []string{"A"}}, Effect: free})
	}
	for _, m := range []map[string]*postingList{idx.bySKU, idx.byBrand} {
		for key, pl := range m {
			for pos, e := range pl.items {
				found := false
				for _, r := range e.refs {
					if r.pl == pl {
						found = r.pos == pos && r.key == key
					}
				}
				if !found {
					t.Errorf("%s in list %q at %d: refs %+v", e.p.ID, key, pos, e.refs)
				}
				if idx.byID[e.p.ID] != e {
					t.Errorf("stale entry %s in list %q", e.p.ID, key)
				}
			}
		}
	}
	if n := len(idx.bySKU["A"].items); n != idx.Len() {
		t.Errorf("%d under A, %d promotions", n, idx.Len())
	}
}

// The index keeps its own copy of what it is given.
func TestIndexCopiesPromotions(t *testing.T) {
	p := promo(t, `{"id":"P","coupon_code":"X","segments":["vip"],"target":{"skus":["A"]},"effect":{"type":"percent_off","bps":100}}`)
	idx := NewIndex(p)
	p.Target.SKUs[0] = "B"
	p.Segments[0] = "staff"
	*p.CouponCode = "Y"
	got, ok := idx.Get("P")
	if !ok || got.Target.SKUs[0] != "A" || got.Segments[0] != "vip" || *got.CouponCode != "X" {
		t.Errorf("index shares the caller's memory: %+v", got)
	}
}

// Upsert refuses what normalize would refuse, and the promotion it would
// have replaced is gone.
func TestIndexRejectsInvalidPromotions(t *testing.T) {
	good := promo(t, `{"id":"P","effect":{"type":"percent_off","bps":1000}}`)
	q := int32(-1)
	m := money.Amount(-1)
	for _, bad := range []func(p *schemas.Promotion){
		func(p *schemas.Promotion) { p.Stacking = "sometimes" },
		func(p *schemas.Promotion) { p.Effect.Type = "bogo" },
		func(p *schemas.Promotion) { p.Effect.Bps = 10001 },
		func(p *schemas.Promotion) { p.Effect.Bps = -1 },
		func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: 0, Per: schemas.PerCart}
		},
		func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: 1, Per: "line"}
		},
		func(p *schemas.Promotion) { p.Effect = schemas.Effect{Type: schemas.EffectFixedPrice, Quantity: 0} },
		func(p *schemas.Promotion) { p.Effect = schemas.Effect{Type: schemas.EffectBuyXGetY, Buy: 1, Get: 0} },
		func(p *schemas.Promotion) { p.Effect = schemas.Effect{Type: schemas.EffectTieredPercent} },
		func(p *schemas.Promotion) { p.MaxDiscountMinor = &m },
		func(p *schemas.Promotion) { p.Condition.MinQuantity = &q },
	} {
		idx := NewIndex(good)
		p := promo(t, `{"id":"P","effect":{"type":"percent_off","bps":1000}}`)
		bad(&p)
		if err := idx.Upsert(p); !errors.Is(err, ErrInvalidPromotion) {
			t.Errorf("Upsert(%+v) = %v", p, err)
		}
		if _, ok := idx.Get("P"); ok || idx.Len() != 0 {
			t.Errorf("invalid %+v left P indexed", p.Effect)
		}
	}
}
