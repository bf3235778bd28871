package promo

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"cartstream/schemas"
)

// Index holds the promotions an evaluation may use, indexed so that
// evaluating a cart touches only the promotions that can concern it:
//
//   - automatic promotions (no coupon code) under every SKU, category and
//     brand their target lists, or in the cart-wide list when the target is
//     {} (every line);
//   - coupon promotions under their coupon code, lower-cased and trimmed;
//     several promotions may share a code. A coupon promotion is reached
//     only through a cart's coupon, never through its target.
//
// Upsert and Delete keep the postings current in time proportional to the
// promotion's own target size, whatever the index holds. The zero value is
// an empty index ready to use.
//
// An Index is safe for concurrent use: any number of evaluations may run
// while promotions are upserted or deleted. An evaluation sees each
// promotion either before or after a concurrent change.
type Index struct {
	mu       sync.RWMutex
	byID     map[string]*entry
	bySKU    map[string]*postingList
	byCat    map[string]*postingList
	byBrand  map[string]*postingList
	byCoupon map[string]*postingList
	cartWide postingList
}

// entry is one indexed promotion with what evaluation needs precomputed. It
// is immutable once indexed except for refs, which only writers touch
// (under the Index's write lock).
type entry struct {
	p schemas.Promotion
	// couponKey is the lower-cased, trimmed coupon code; "" for automatic.
	couponKey string
	// Target and condition lists, sorted, without duplicates or empty
	// strings. everyLine is true when the target has no list at all.
	skus, cats, brands []string
	everyLine          bool
	reqSKUs, reqCats   []string
	// tiers are the tiered_percent tiers by min_subtotal ascending.
	tiers []schemas.Tier
	// refs are the posting lists holding this entry and its position in
	// each.
	refs []postingRef
}

type postingList struct {
	items []*entry
}

type postingRef struct {
	pl  *postingList
	m   map[string]*postingList // the map holding pl under key; nil for cartWide
	key string
	pos int
}

// NewIndex returns an index holding the given promotions (later ones with
// the same id replace earlier ones). Invalid promotions are left out, as
// Upsert leaves them out; use Upsert to see why.
func NewIndex(promotions ...schemas.Promotion) *Index {
	x := &Index{}
	for _, p := range promotions {
		_ = x.Upsert(p)
	}
	return x
}

// Len returns the number of promotions held.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// Get returns the promotion with the given id as indexed.
func (x *Index) Get(id string) (schemas.Promotion, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.byID[id]
	if !ok {
		return schemas.Promotion{}, false
	}
	return e.p, true
}

// ErrInvalidPromotion: Upsert was given a promotion that normalize.Promotion
// would have rejected (an unknown stacking or effect type, or a parameter
// out of range).
var ErrInvalidPromotion = errors.New("invalid promotion")

// Upsert adds the promotion, or replaces the one with its ID. The index
// keeps its own copy: the caller may reuse p's slices. A promotion that is
// not valid (see ErrInvalidPromotion; records from internal/normalize always
// are) is not indexed — the one it would replace is removed, since it is no
// longer current — and the error says why.
func (x *Index) Upsert(p schemas.Promotion) error {
	verr := validate(&p)
	var e *entry
	if verr == nil {
		e = newEntry(p)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byID == nil {
		x.byID = make(map[string]*entry)
		x.bySKU = make(map[string]*postingList)
		x.byCat = make(map[string]*postingList)
		x.byBrand = make(map[string]*postingList)
		x.byCoupon = make(map[string]*postingList)
	}
	if old, ok := x.byID[p.ID]; ok {
		x.unlink(old)
		delete(x.byID, p.ID)
	}
	if verr != nil {
		return fmt.Errorf("promo: promotion %q: %w: %w", p.ID, ErrInvalidPromotion, verr)
	}
	x.byID[p.ID] = e
	switch {
	case e.couponKey != "":
		x.link(e, x.byCoupon, e.couponKey)
	case e.everyLine:
		x.link(e, nil, "")
	default:
		for _, k := range e.skus {
			x.link(e, x.bySKU, k)
		}
		for _, k := range e.cats {
			x.link(e, x.byCat, k)
		}
		for _, k := range e.brands {
			x.link(e, x.byBrand, k)
		}
	}
	return nil
}

// validate checks what the engine relies on, with the ranges of
// normalize.Promotion.
func validate(p *schemas.Promotion) error {
	switch p.Stacking {
	case schemas.StackingStackable, schemas.StackingExclusive, schemas.StackingStop, "":
	default:
		return fmt.Errorf("stacking %q", p.Stacking)
	}
	bps := func(b int32) error {
		if b < 0 || b > bpsWhole {
			return fmt.Errorf("bps %d out of [0, %d]", b, bpsWhole)
		}
		return nil
	}
	fx := &p.Effect
	switch fx.Type {
	case schemas.EffectPercentOff:
		if err := bps(fx.Bps); err != nil {
			return err
		}
	case schemas.EffectAmountOff:
		if fx.AmountMinor <= 0 {
			return fmt.Errorf("amount_off amount %d is not positive", fx.AmountMinor)
		}
		if fx.Per != schemas.PerCart && fx.Per != schemas.PerUnit && fx.Per != "" {
			return fmt.Errorf("amount_off per %q", fx.Per)
		}
	case schemas.EffectFixedPrice:
		if fx.Quantity < 1 || fx.PriceMinor < 0 {
			return fmt.Errorf("fixed_price quantity %d, price %d", fx.Quantity, fx.PriceMinor)
		}
	case schemas.EffectBuyXGetY:
		if fx.Buy < 1 || fx.Get < 1 || fx.MaxApplications < 0 {
			return fmt.Errorf("buy_x_get_y buy %d, get %d, max_applications %d", fx.Buy, fx.Get, fx.MaxApplications)
		}
		if err := bps(fx.Bps); err != nil {
			return err
		}
	case schemas.EffectTieredPercent:
		if len(fx.Tiers) == 0 {
			return errors.New("tiered_percent without tiers")
		}
		for _, t := range fx.Tiers {
			if t.MinSubtotalMinor < 0 {
				return fmt.Errorf("tier min_subtotal %d is negative", t.MinSubtotalMinor)
			}
			if err := bps(t.Bps); err != nil {
				return err
			}
		}
	case schemas.EffectFreeShipping:
	default:
		return fmt.Errorf("effect type %q", fx.Type)
	}
	if m := p.MaxDiscountMinor; m != nil && *m < 0 {
		return fmt.Errorf("max_discount %d is negative", *m)
	}
	if m := p.Condition.MinSubtotalMinor; m != nil && *m < 0 {
		return fmt.Errorf("min_subtotal %d is negative", *m)
	}
	if m := p.Condition.MinQuantity; m != nil && *m < 0 {
		return fmt.Errorf("min_quantity %d is negative", *m)
	}
	return nil
}

// Delete removes the promotion with the given id; removing an absent one
// does nothing.
func (x *Index) Delete(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e, ok := x.byID[id]; ok {
		x.unlink(e)
		delete(x.byID, id)
	}
}

// link appends e to the posting list m[key] (the cart-wide list when m is
// nil).
func (x *Index) link(e *entry, m map[string]*postingList, key string) {
	pl := &x.cartWide
	if m != nil {
		pl = m[key]
		if pl == nil {
			pl = &postingList{}
			m[key] = pl
		}
	}
	e.refs = append(e.refs, postingRef{pl: pl, m: m, key: key, pos: len(pl.items)})
	pl.items = append(pl.items, e)
}

// unlink removes e from every posting list holding it, in O(1) per list: the
// last item of a list takes the removed one's place.
func (x *Index) unlink(e *entry) {
	for _, r := range e.refs {
		items := r.pl.items
		last := len(items) - 1
		if r.pos != last {
			moved := items[last]
			items[r.pos] = moved
			for i := range moved.refs {
				if moved.refs[i].pl == r.pl {
					moved.refs[i].pos = r.pos
					break
				}
			}
		}
		items[last] = nil
		r.pl.items = items[:last]
		if last == 0 && r.m != nil {
			delete(r.m, r.key)
		}
	}
	e.refs = nil
}

// couponKey is how coupon codes are compared: trimmed and lower-cased.
func couponKey(code string) string {
	return strings.ToLower(strings.TrimSpace(code))
}

func newEntry(p schemas.Promotion) *entry {
	e := &entry{p: p}
	// Deep-copy what the caller might reuse.
	e.p.Segments = slices.Clone(p.Segments)
	e.p.Target = schemas.Target{SKUs: slices.Clone(p.Target.SKUs), Categories: slices.Clone(p.Target.Categories), Brands: slices.Clone(p.Target.Brands)}
	e.p.Condition.RequiresSKUs = slices.Clone(p.Condition.RequiresSKUs)
	e.p.Condition.RequiresCategories = slices.Clone(p.Condition.RequiresCategories)
	e.p.Effect.Tiers = slices.Clone(p.Effect.Tiers)
	if p.CouponCode != nil {
		code := *p.CouponCode
		e.p.CouponCode = &code
		e.couponKey = couponKey(code)
	}
	if p.ValidFrom != nil {
		t := *p.ValidFrom
		e.p.ValidFrom = &t
	}
	if p.ValidUntil != nil {
		t := *p.ValidUntil
		e.p.ValidUntil = &t
	}
	if p.Condition.MinSubtotalMinor != nil {
		v := *p.Condition.MinSubtotalMinor
		e.p.Condition.MinSubtotalMinor = &v
	}
	if p.Condition.MinQuantity != nil {
		v := *p.Condition.MinQuantity
		e.p.Condition.MinQuantity = &v
	}
	if p.MaxDiscountMinor != nil {
		v := *p.MaxDiscountMinor
		e.p.MaxDiscountMinor = &v
	}
	t := e.p.Target
	// Empty lists mean the part is absent (DESIGN §5 fine print).
	e.everyLine = len(t.SKUs) == 0 && len(t.Categories) == 0 && len(t.Brands) == 0
	e.skus, e.cats, e.brands = keySet(t.SKUs), keySet(t.Categories), keySet(t.Brands)
	e.reqSKUs, e.reqCats = keySet(e.p.Condition.RequiresSKUs), keySet(e.p.Condition.RequiresCategories)
	e.tiers = slices.Clone(e.p.Effect.Tiers)
	slices.SortStableFunc(e.tiers, func(a, b schemas.Tier) int { return cmp.Compare(a.MinSubtotalMinor, b.MinSubtotalMinor) })
	return e
}

// keySet returns the non-empty strings of l sorted without duplicates. An
// empty string in a target or condition list matches nothing and requires
// nothing.
func keySet(l []string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func contains(set []string, s string) bool {
	if s == "" {
		return false
	}
	if len(set) <= 8 {
		for _, v := range set {
			if v == s {
				return true
			}
		}
		return false
	}
	_, ok := slices.BinarySearch(set, s)
	return ok
}
