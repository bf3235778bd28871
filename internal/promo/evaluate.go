package promo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// Evaluate evaluates cart against the products of cat and the promotions of
// idx at event time at (DESIGN §5). It is Evaluator.Evaluate on a fresh
// Evaluator; code that evaluates often should keep an Evaluator per
// goroutine and reuse it.
func Evaluate(cat Catalog, idx *Index, cart Cart, at time.Time, opts Options) (Offer, error) {
	var ev Evaluator
	return ev.Evaluate(cat, idx, cart, at, opts)
}

// Evaluator evaluates carts, reusing its working memory from one evaluation
// to the next so that the hot path allocates little more than the offer it
// returns. The zero value is ready to use. An Evaluator is not safe for
// concurrent use; the Index and Catalog it reads may be shared.
type Evaluator struct {
	lines   []wline
	unit    []int // available line indices by unit price desc, SKU asc
	cats    []string
	tgt     []bool
	autos   []*entry
	coupons []cartCoupon
	cands   []cand
	qual    []cand
	res     []result
	arena   []int64
	left    []int64
	applied []appliedRec
	na      []naRec
	hints   []hintRec
	shares  []share
	work    []int64 // the undiscounted line amounts, during apply
	capw    []int64 // uncapped shares, during a max_discount re-spread
}

// wline is a cart line being evaluated.
type wline struct {
	sku        string
	qty        int64
	price, sub int64 // list unit price and qty×price; 0 when unavailable
	cat, brand string
	avail      bool
}

// cartCoupon is one distinct coupon of the cart.
type cartCoupon struct {
	key, spelling string
}

// cand is a promotion reached by the cart: automatic (pos < 0) or through
// the cart's coupon number pos.
type cand struct {
	e      *entry
	pos    int
	coupon string // the cart's spelling; "" for automatic
	res    int    // index into Evaluator.res once computed, else -1
}

// result is one promotion's computed discount.
type result struct {
	total int64
	fs    bool
	amt   []int64 // per line
	zero  Reason
	det   detail
	// Hint facts, judged on the undiscounted cart: the amount missing to
	// the next tier (0: none) and whether a buy_x_get_y is one unit short
	// of its next application.
	nextTier int64
	short    bool
}

func (r *result) effective() bool { return r.total > 0 || r.fs }

type appliedRec struct {
	c   cand
	res int
}

type naRec struct {
	e      *entry // nil for an unknown coupon
	pos    int
	coupon string
	reason Reason
	det    detail
}

type hintRec struct {
	e      *entry
	kind   HintKind
	amount int64
	qty    int64
}

// detailKind selects the human-readable detail of a not_applied entry; the
// text is built only for the entries that make it into the offer.
type detailKind int

const (
	detNone detailKind = iota
	detInactive
	detCurrency
	detNotStarted
	detExpired
	detSegment
	detSubtotal
	detQuantity
	detRequired
	detNoTarget
	detLinesZero
	detNoDiscount
	detTier
	detUnits
	detExcluded
	detStopped
)

type detail struct {
	kind detailKind
	a, b int64
	s    string
}

// Evaluate evaluates cart at event time at; see the package documentation
// and DESIGN §5 for the semantics, and docs/promotions.md for the choices
// made where §5 leaves room. A nil idx has no promotions. The offer's
// CartVersion and Source are left nil for the caller to set. The offer
// shares no memory with the Evaluator. Errors: the cart's currency is
// unknown, a line has no SKU or a quantity below 1 (ErrInvalidCart), the
// amounts overflow int64 (ErrOverflow), or the rounding mode is unknown.
func (ev *Evaluator) Evaluate(cat Catalog, idx *Index, cart Cart, at time.Time, opts Options) (Offer, error) {
	var o Offer
	err := ev.EvaluateInto(&o, cat, idx, cart, at, opts)
	return o, err
}

// EvaluateInto is Evaluate writing into *dst and reusing the memory of its
// slices, which it overwrites: with one dst per goroutine, the steady state
// allocates only small strings (the detail texts of not_applied entries and
// coupon codes that need lower-casing). dst's CartVersion and Source are
// kept. On error *dst is unchanged.
func (ev *Evaluator) EvaluateInto(dst *Offer, cat Catalog, idx *Index, cart Cart, at time.Time, opts Options) error {
	cur, err := money.Lookup(cart.Currency)
	if err != nil {
		return fmt.Errorf("promo: cart %q: %w: %w", cart.CartID, ErrInvalidCart, err)
	}
	if _, err := money.MulDivRound(1, 1, 2, opts.Rounding); err != nil {
		return fmt.Errorf("promo: cart %q: %w", cart.CartID, err)
	}
	subtotal, units, err := ev.loadLines(cat, cart)
	if err != nil {
		return err
	}
	ev.reset()
	ev.collect(idx, cart)
	ev.qualify(cart, at, subtotal, units)
	if err := ev.apply(opts.Rounding); err != nil {
		return err
	}
	ev.offer(dst, cart, cur, at, subtotal)
	return nil
}

// loadLines merges, sorts and prices the cart's lines and returns the
// subtotal and unit count of the available ones.
func (ev *Evaluator) loadLines(cat Catalog, cart Cart) (subtotal, units int64, err error) {
	ev.lines = ev.lines[:0]
	for i, l := range cart.Lines {
		if l.SKU == "" {
			return 0, 0, fmt.Errorf("promo: cart %q: lines[%d]: %w: empty sku", cart.CartID, i, ErrInvalidCart)
		}
		if l.Qty < 1 {
			return 0, 0, fmt.Errorf("promo: cart %q: lines[%d] (%s): %w: qty %d < 1", cart.CartID, i, l.SKU, ErrInvalidCart, l.Qty)
		}
		ev.lines = append(ev.lines, wline{sku: l.SKU, qty: l.Qty})
	}
	slices.SortStableFunc(ev.lines, func(a, b wline) int { return strings.Compare(a.sku, b.sku) })
	// Two lines with one SKU are one line.
	out := ev.lines[:0]
	for _, l := range ev.lines {
		if n := len(out); n > 0 && out[n-1].sku == l.sku {
			if out[n-1].qty > math.MaxInt64-l.qty {
				return 0, 0, fmt.Errorf("promo: cart %q: sku %s: quantity: %w", cart.CartID, l.sku, ErrOverflow)
			}
			out[n-1].qty += l.qty
			continue
		}
		out = append(out, l)
	}
	ev.lines = out
	ev.unit = ev.unit[:0]
	ev.cats = ev.cats[:0]
	for i := range ev.lines {
		l := &ev.lines[i]
		p, ok := cat.Product(l.sku)
		// A negative price cannot come through normalize; such a product
		// is treated as unavailable rather than priced.
		if !ok || !p.Active || p.Currency != cart.Currency || p.PriceMinor < 0 {
			continue
		}
		price := int64(p.PriceMinor)
		if price > 0 && l.qty > math.MaxInt64/price {
			return 0, 0, fmt.Errorf("promo: cart %q: sku %s: %d × %d: %w", cart.CartID, l.sku, l.qty, price, ErrOverflow)
		}
		l.avail, l.price, l.sub, l.cat, l.brand = true, price, l.qty*price, p.Category, p.Brand
		if subtotal > math.MaxInt64-l.sub || units > math.MaxInt64-l.qty {
			return 0, 0, fmt.Errorf("promo: cart %q: subtotal: %w", cart.CartID, ErrOverflow)
		}
		subtotal += l.sub
		units += l.qty
		ev.unit = append(ev.unit, i)
		if l.cat != "" {
			ev.cats = append(ev.cats, l.cat)
		}
	}
	slices.Sort(ev.cats)
	ev.cats = slices.Compact(ev.cats)
	// Unit-based effects take units by list unit price descending, ties by
	// SKU ascending (line indices are in SKU order).
	slices.SortFunc(ev.unit, func(a, b int) int {
		if c := cmp.Compare(ev.lines[b].price, ev.lines[a].price); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return subtotal, units, nil
}

func (ev *Evaluator) reset() {
	n := len(ev.lines)
	ev.autos = ev.autos[:0]
	ev.coupons = ev.coupons[:0]
	ev.cands = ev.cands[:0]
	ev.qual = ev.qual[:0]
	ev.res = ev.res[:0]
	ev.arena = ev.arena[:0]
	ev.applied = ev.applied[:0]
	ev.na = ev.na[:0]
	ev.hints = ev.hints[:0]
	ev.tgt = slices.Grow(ev.tgt[:0], n)[:n]
	ev.left = slices.Grow(ev.left[:0], n)[:n]
	ev.work = slices.Grow(ev.work[:0], n)[:n]
}

// byPriority orders promotions by priority descending, then id ascending:
// the order of DESIGN §5.
func byPriority(a, b *entry) int {
	if c := cmp.Compare(b.p.Priority, a.p.Priority); c != 0 {
		return c
	}
	return strings.Compare(a.p.ID, b.p.ID)
}

// collect gathers the promotions the cart reaches: automatic ones indexed
// under an available line's SKU, category or brand, the cart-wide ones
// (when some line is available), and those of the cart's coupons. Nothing
// else in the index is touched.
func (ev *Evaluator) collect(idx *Index, cart Cart) {
	for _, code := range cart.Coupons {
		k := couponKey(code)
		if k == "" || slices.ContainsFunc(ev.coupons, func(c cartCoupon) bool { return c.key == k }) {
			continue
		}
		ev.coupons = append(ev.coupons, cartCoupon{key: k, spelling: code})
	}
	if idx != nil {
		idx.mu.RLock()
		if len(ev.unit) > 0 {
			ev.autos = append(ev.autos, idx.cartWide.items...)
		}
		for _, i := range ev.unit {
			l := &ev.lines[i]
			if pl := idx.bySKU[l.sku]; pl != nil {
				ev.autos = append(ev.autos, pl.items...)
			}
			if l.cat != "" {
				if pl := idx.byCat[l.cat]; pl != nil {
					ev.autos = append(ev.autos, pl.items...)
				}
			}
			if l.brand != "" {
				if pl := idx.byBrand[l.brand]; pl != nil {
					ev.autos = append(ev.autos, pl.items...)
				}
			}
		}
		for pos, c := range ev.coupons {
			if pl := idx.byCoupon[c.key]; pl != nil {
				for _, e := range pl.items {
					ev.cands = append(ev.cands, cand{e: e, pos: pos, coupon: c.spelling, res: -1})
				}
			}
		}
		idx.mu.RUnlock()
	}
	// A promotion may be reached through several lines and keys: sort and
	// drop the repeats.
	slices.SortFunc(ev.autos, byPriority)
	ev.autos = slices.Compact(ev.autos)
	for _, e := range ev.autos {
		ev.cands = append(ev.cands, cand{e: e, pos: -1, res: -1})
	}
	// Coupons no promotion has.
	for pos, c := range ev.coupons {
		if !slices.ContainsFunc(ev.cands, func(x cand) bool { return x.pos == pos }) {
			ev.na = append(ev.na, naRec{pos: pos, coupon: c.spelling, reason: ReasonCouponUnknown})
		}
	}
}

// qualify runs the candidate checks and conditions. Coupons report the
// first failing check (inactive, currency, not started, expired, segment,
// then the conditions); automatic promotions report only conditions, and
// only target a cart line by construction of collect.
func (ev *Evaluator) qualify(cart Cart, at time.Time, subtotal, units int64) {
	for _, c := range ev.cands {
		p := &c.e.p
		var reason Reason
		var det detail
		switch notStarted, expired := validAt(p.ValidFrom, p.ValidUntil, at); {
		case !p.Active:
			reason, det = ReasonInactive, detail{kind: detInactive}
		case p.Currency != cart.Currency:
			reason, det = ReasonCurrencyMismatch, detail{kind: detCurrency, s: p.Currency}
		case notStarted:
			reason, det = ReasonNotStarted, detail{kind: detNotStarted}
		case expired:
			reason, det = ReasonExpired, detail{kind: detExpired}
		case len(p.Segments) > 0 && !segmentsMatch(p.Segments, cart.Segments):
			reason, det = ReasonSegmentMismatch, detail{kind: detSegment}
		}
		if reason != "" {
			if c.pos >= 0 {
				ev.na = append(ev.na, naRec{e: c.e, pos: c.pos, coupon: c.coupon, reason: reason, det: det})
			}
			continue
		}
		cond := &p.Condition
		// Every missed numeric condition gets its hint, whatever else is
		// missing.
		if m := cond.MinSubtotalMinor; m != nil && subtotal < int64(*m) {
			ev.hints = append(ev.hints, hintRec{e: c.e, kind: HintSpendMore, amount: int64(*m) - subtotal})
			if reason == "" {
				reason, det = ReasonMinSubtotalNotMet, detail{kind: detSubtotal, a: subtotal, b: int64(*m)}
			}
		}
		if m := cond.MinQuantity; m != nil && units < int64(*m) {
			ev.hints = append(ev.hints, hintRec{e: c.e, kind: HintAddQuantity, qty: int64(*m) - units})
			if reason == "" {
				reason, det = ReasonMinQuantityNotMet, detail{kind: detQuantity, a: units, b: int64(*m)}
			}
		}
		if reason == "" && !ev.hasRequired(c.e) {
			reason, det = ReasonRequiredItemsMissing, detail{kind: detRequired}
		}
		if reason != "" {
			ev.na = append(ev.na, naRec{e: c.e, pos: c.pos, coupon: c.coupon, reason: reason, det: det})
			continue
		}
		ev.qual = append(ev.qual, c)
	}
	slices.SortFunc(ev.qual, func(a, b cand) int { return byPriority(a.e, b.e) })
}

// segmentsMatch reports whether the customer is in one of the promotion's
// segments (exact, case-sensitive).
func segmentsMatch(promo, customer []string) bool {
	for _, s := range customer {
		if slices.Contains(promo, s) {
			return true
		}
	}
	return false
}

// hasRequired reports whether every required SKU and category is among the
// available lines.
func (ev *Evaluator) hasRequired(e *entry) bool {
	for _, sku := range e.reqSKUs {
		i, ok := slices.BinarySearchFunc(ev.lines, sku, func(l wline, s string) int { return strings.Compare(l.sku, s) })
		if !ok || !ev.lines[i].avail {
			return false
		}
	}
	for _, c := range e.reqCats {
		if _, ok := slices.BinarySearch(ev.cats, c); !ok {
			return false
		}
	}
	return true
}

// targets reports whether the promotion targets the available line l.
func targets(e *entry, l *wline) bool {
	if !l.avail {
		return false
	}
	if e.everyLine {
		return true
	}
	return contains(e.skus, l.sku) || contains(e.cats, l.cat) || contains(e.brands, l.brand)
}

// newResult computes the promotion on the given line amounts and keeps the
// result; it returns its index in ev.res.
func (ev *Evaluator) newResult(e *entry, left []int64, r money.Rounding) (int, error) {
	n := len(ev.lines)
	start := len(ev.arena)
	ev.arena = slices.Grow(ev.arena, n)[:start+n]
	res := result{amt: ev.arena[start : start+n : start+n]}
	if err := ev.compute(e, left, r, &res); err != nil {
		return 0, err
	}
	ev.res = append(ev.res, res)
	return len(ev.res) - 1, nil
}

// apply decides what applies: the best exclusive alone, or else the
// stackable and stop promotions in order on the amounts left.
func (ev *Evaluator) apply(r money.Rounding) error {
	sub := ev.work
	for i := range ev.lines {
		sub[i] = ev.lines[i].sub
	}
	// Arena slices must not move while results point into them.
	ev.arena = slices.Grow(ev.arena[:0], len(ev.qual)*len(ev.lines))
	winner := -1
	for qi := range ev.qual {
		c := &ev.qual[qi]
		if c.e.p.Stacking != schemas.StackingExclusive {
			continue
		}
		ri, err := ev.newResult(c.e, sub, r)
		if err != nil {
			return err
		}
		c.res = ri
		res := &ev.res[ri]
		// Free shipping alone counts as a zero discount; in ties the order
		// (priority, then id) decides, so only a strictly larger discount
		// replaces the first.
		if res.effective() && (winner < 0 || res.total > ev.res[ev.qual[winner].res].total) {
			winner = qi
		}
	}
	copy(ev.left, sub)
	if winner >= 0 {
		w := ev.qual[winner]
		for qi := range ev.qual {
			c := &ev.qual[qi]
			if qi == winner {
				ev.take(*c)
				ev.effectHints(*c)
				continue
			}
			if c.res < 0 {
				ri, err := ev.newResult(c.e, sub, r)
				if err != nil {
					return err
				}
				c.res = ri
			}
			if ev.res[c.res].effective() {
				ev.na = append(ev.na, naRec{e: c.e, pos: c.pos, coupon: c.coupon, reason: ReasonExcludedByExclusive, det: detail{kind: detExcluded, s: w.e.p.ID}})
				continue
			}
			ev.notApplied(*c)
		}
		return nil
	}
	stopper := ""
	for qi := range ev.qual {
		c := &ev.qual[qi]
		if c.e.p.Stacking == schemas.StackingExclusive {
			ev.notApplied(*c) // computed above: zero
			continue
		}
		if stopper != "" {
			ev.na = append(ev.na, naRec{e: c.e, pos: c.pos, coupon: c.coupon, reason: ReasonStoppedByPriority, det: detail{kind: detStopped, s: stopper}})
			continue
		}
		ri, err := ev.newResult(c.e, ev.left, r)
		if err != nil {
			return err
		}
		c.res = ri
		if !ev.res[ri].effective() {
			ev.notApplied(*c)
			continue
		}
		ev.take(*c)
		ev.effectHints(*c)
		if c.e.p.Stacking == schemas.StackingStop {
			stopper = c.e.p.ID
		}
	}
	return nil
}

// take applies a computed promotion: its allocations come off the lines.
func (ev *Evaluator) take(c cand) {
	res := &ev.res[c.res]
	for i, a := range res.amt {
		ev.left[i] -= a
	}
	ev.applied = append(ev.applied, appliedRec{c: c, res: c.res})
}

// notApplied records a qualifying promotion that computed nothing, with its
// effect hints. Only a coupon is listed: an automatic promotion is listed
// for a missed condition (qualify), an exclusive winner or a stop, and a
// qualifying one that computes nothing gives only its hints (DESIGN §5 lists
// "automatic promotions that target a cart line but missed a condition").
func (ev *Evaluator) notApplied(c cand) {
	res := &ev.res[c.res]
	if c.pos >= 0 {
		ev.na = append(ev.na, naRec{e: c.e, pos: c.pos, coupon: c.coupon, reason: res.zero, det: res.det})
	}
	ev.effectHints(c)
}

func (ev *Evaluator) effectHints(c cand) {
	res := &ev.res[c.res]
	if res.nextTier > 0 {
		ev.hints = append(ev.hints, hintRec{e: c.e, kind: HintSpendMore, amount: res.nextTier})
	}
	if res.short {
		ev.hints = append(ev.hints, hintRec{e: c.e, kind: HintAddQuantity, qty: 1})
	}
}

// offer writes the result into o, reusing its slices' memory.
func (ev *Evaluator) offer(o *Offer, cart Cart, cur money.Currency, at time.Time, subtotal int64) {
	o.SchemaVersion = OfferSchemaVersion
	o.CartID = cart.CartID
	o.EventTime = at.UTC()
	o.Currency = cur
	o.Subtotal, o.DiscountTotal, o.FreeShipping = money.Amount(subtotal), 0, false
	o.Lines = resize(o.Lines, len(ev.lines))
	nAlloc := 0
	for _, a := range ev.applied {
		for _, v := range ev.res[a.res].amt {
			if v > 0 {
				nAlloc++
			}
		}
	}
	o.allocs = resize(o.allocs, nAlloc)
	allocs := o.allocs
	for i := range ev.lines {
		l := &ev.lines[i]
		k := 0
		for _, a := range ev.applied {
			if v := ev.res[a.res].amt[i]; v > 0 {
				allocs[k] = Allocation{PromotionID: a.c.e.p.ID, Amount: money.Amount(v)}
				k++
			}
		}
		total := money.Amount(ev.left[i])
		o.Lines[i] = Line{SKU: l.sku, Qty: l.qty, UnitPrice: money.Amount(l.price), Subtotal: money.Amount(l.sub),
			Discount: money.Amount(l.sub) - total, Total: total, Available: l.avail, Allocations: allocs[:k:k]}
		allocs = allocs[k:]
	}
	o.Applied = resize(o.Applied, len(ev.applied))
	for i, a := range ev.applied {
		res := &ev.res[a.res]
		o.Applied[i] = Applied{PromotionID: a.c.e.p.ID, Name: a.c.e.p.Name, Amount: money.Amount(res.total), CouponCode: a.c.coupon}
		o.DiscountTotal += money.Amount(res.total)
		o.FreeShipping = o.FreeShipping || res.fs
	}
	o.Total = o.Subtotal - o.DiscountTotal

	slices.SortFunc(ev.na, func(a, b naRec) int {
		ac, bc := a.pos >= 0, b.pos >= 0
		switch {
		case ac && !bc:
			return -1
		case !ac && bc:
			return 1
		case ac && bc && a.pos != b.pos:
			return cmp.Compare(a.pos, b.pos)
		case a.e == nil || b.e == nil: // an unknown coupon is alone at its position
			return 0
		}
		return byPriority(a.e, b.e)
	})
	na := ev.na
	if len(na) > MaxNotApplied {
		na = na[:MaxNotApplied]
	}
	o.NotApplied = resize(o.NotApplied, len(na))
	for i, n := range na {
		out := NotApplied{CouponCode: n.coupon, Reason: n.reason, Detail: ev.detailText(n, cart, cur)}
		if n.e != nil {
			out.PromotionID = n.e.p.ID
		}
		o.NotApplied[i] = out
	}
	slices.SortStableFunc(ev.hints, func(a, b hintRec) int { return byPriority(a.e, b.e) })
	o.Hints = resize(o.Hints, len(ev.hints))
	for i, h := range ev.hints {
		o.Hints[i] = Hint{PromotionID: h.e.p.ID, Kind: h.kind, Amount: money.Amount(h.amount), Qty: h.qty}
	}
}

// resize returns s with length n, reusing its memory when it is large
// enough; never nil, so that empty lists are written as [].
func resize[T any](s []T, n int) []T {
	if cap(s) >= n && s != nil {
		return s[:n]
	}
	return make([]T, n, max(n, 1))
}

// detailText renders a not_applied entry's detail; "" is null.
func (ev *Evaluator) detailText(n naRec, cart Cart, cur money.Currency) string {
	f := func(v int64) string { return money.Amount(v).Format(cur) }
	d := n.det
	switch d.kind {
	case detInactive:
		return "promotion is not active"
	case detCurrency:
		return fmt.Sprintf("promotion is in %s, cart in %s", d.s, cart.Currency)
	case detNotStarted:
		return "valid from " + n.e.p.ValidFrom.UTC().Format(time.RFC3339Nano)
	case detExpired:
		return "valid until " + n.e.p.ValidUntil.UTC().Format(time.RFC3339Nano)
	case detSegment:
		return "for segments " + strings.Join(n.e.p.Segments, ", ")
	case detSubtotal:
		b := make([]byte, 0, 48)
		b = append(b, "subtotal "...)
		b = money.Amount(d.a).AppendFormat(b, cur)
		b = append(b, " < "...)
		return string(money.Amount(d.b).AppendFormat(b, cur))
	case detQuantity:
		return fmt.Sprintf("quantity %d < %d", d.a, d.b)
	case detRequired:
		var missing []string
		for _, sku := range n.e.reqSKUs {
			i, ok := slices.BinarySearchFunc(ev.lines, sku, func(l wline, s string) int { return strings.Compare(l.sku, s) })
			if !ok || !ev.lines[i].avail {
				missing = append(missing, "sku "+sku)
			}
		}
		for _, c := range n.e.reqCats {
			if _, ok := slices.BinarySearch(ev.cats, c); !ok {
				missing = append(missing, "category "+c)
			}
		}
		return "missing " + strings.Join(missing, ", ")
	case detNoTarget:
		return "no available cart line is targeted"
	case detLinesZero:
		return "the targeted lines are already at zero"
	case detNoDiscount:
		return "the effect gives no discount on the targeted lines"
	case detTier:
		return fmt.Sprintf("targeted subtotal %s < lowest tier %s", f(d.a), f(d.b))
	case detUnits:
		return fmt.Sprintf("%d targeted units < %d needed", d.a, d.b)
	case detExcluded:
		return "exclusive promotion " + d.s + " applied"
	case detStopped:
		return "stop promotion " + d.s + " applied first"
	}
	return ""
}
