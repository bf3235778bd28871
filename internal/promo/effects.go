package promo

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// bpsWhole is 100 % in basis points.
const bpsWhole = 10_000

// share is one entry of a largest-remainder spread: a line, its weight,
// and (after spread) its part.
type share struct {
	line int
	w    int64
	part int64
	rem  uint64
}

// compute fills res with what promotion e gives on the line amounts left
// (the undiscounted subtotals when judged alone). Every per-line amount is
// at most left[line]; res.total is their sum, after max_discount.
func (ev *Evaluator) compute(e *entry, left []int64, r money.Rounding, res *result) error {
	p := &e.p
	clear(res.amt)
	var nT, leftT, subT, unitsT int64
	for i := range ev.lines {
		l := &ev.lines[i]
		t := targets(e, l)
		ev.tgt[i] = t
		if t {
			nT++
			leftT += left[i]
			subT += l.sub
			unitsT += l.qty
		}
	}
	if nT == 0 {
		res.zero, res.det = ReasonNoTargetLines, detail{kind: detNoTarget}
		return nil
	}
	fx := &p.Effect
	switch fx.Type {
	case schemas.EffectPercentOff:
		if err := ev.percent(left, int64(fx.Bps), r, res); err != nil {
			return fmt.Errorf("promo: promotion %s: %w", p.ID, err)
		}
	case schemas.EffectTieredPercent:
		reached := false
		var best schemas.Tier
		for _, t := range e.tiers {
			if int64(t.MinSubtotalMinor) <= subT {
				// The highest tier reached; of equal thresholds, the larger
				// discount. Tiers are by threshold ascending.
				if !reached || t.MinSubtotalMinor > best.MinSubtotalMinor || t.Bps > best.Bps {
					best, reached = t, true
				}
				continue
			}
			if res.nextTier == 0 {
				res.nextTier = int64(t.MinSubtotalMinor) - subT
			}
		}
		if !reached {
			res.zero, res.det = ReasonMinSubtotalNotMet, detail{kind: detTier, a: subT, b: int64(e.tiers[0].MinSubtotalMinor)}
			return nil
		}
		if err := ev.percent(left, int64(best.Bps), r, res); err != nil {
			return fmt.Errorf("promo: promotion %s: %w", p.ID, err)
		}
	case schemas.EffectAmountOff:
		a := int64(fx.AmountMinor)
		if fx.Per == schemas.PerUnit {
			for i, t := range ev.tgt {
				if !t {
					continue
				}
				// min(qty×a, left) without overflowing qty×a.
				q := ev.lines[i].qty
				if a > 0 && q > left[i]/a {
					res.amt[i] = left[i]
				} else {
					res.amt[i] = min(q*a, left[i])
				}
			}
			break
		}
		// per cart: never more than what is left of the targeted lines,
		// spread in proportion to the current amounts.
		ev.spreadLines(min(a, leftT), left, res.amt)
	case schemas.EffectFixedPrice:
		if unitsT < int64(fx.Quantity) {
			res.zero, res.det = ReasonMinQuantityNotMet, detail{kind: detUnits, a: unitsT, b: int64(fx.Quantity)}
			return nil
		}
		ev.fixedPrice(int64(fx.Quantity), int64(fx.PriceMinor), res.amt)
		for i, t := range ev.tgt {
			if t {
				res.amt[i] = min(res.amt[i], left[i])
			}
		}
	case schemas.EffectBuyXGetY:
		group := int64(fx.Buy) + int64(fx.Get)
		apps := unitsT / group
		unlimited := fx.MaxApplications <= 0
		if !unlimited {
			apps = min(apps, int64(fx.MaxApplications))
		}
		// One more unit makes one more application.
		res.short = (unitsT+1)%group == 0 && (unlimited || unitsT/group < int64(fx.MaxApplications)) && fx.Bps > 0
		if apps == 0 {
			res.zero, res.det = ReasonMinQuantityNotMet, detail{kind: detUnits, a: unitsT, b: group}
			return nil
		}
		if err := ev.buyXGetY(apps*int64(fx.Get), int64(fx.Bps), left, r, res.amt); err != nil {
			return fmt.Errorf("promo: promotion %s: %w", p.ID, err)
		}
	case schemas.EffectFreeShipping:
		res.fs = true
	default: // Upsert indexes no other type
		return fmt.Errorf("promo: promotion %s: unknown effect type %q", p.ID, fx.Type)
	}
	var total int64
	for _, a := range res.amt {
		total += a
	}
	if m := p.MaxDiscountMinor; m != nil && total > int64(*m) {
		// The capped amount is re-spread over the same lines in proportion
		// to their uncapped shares.
		w := append(ev.capw[:0], res.amt...)
		ev.capw = w
		ev.spreadLines(int64(*m), w, res.amt)
		total = int64(*m)
	}
	res.total = total
	if total == 0 && !res.fs {
		switch {
		case leftT == 0:
			res.zero, res.det = ReasonNoTargetLines, detail{kind: detLinesZero}
		default:
			res.zero, res.det = ReasonNoTargetLines, detail{kind: detNoDiscount}
		}
	}
	return nil
}

// percent takes bps/10000 of each targeted line's amount left, rounded once
// per line.
func (ev *Evaluator) percent(left []int64, bps int64, r money.Rounding, res *result) error {
	for i, t := range ev.tgt {
		if !t {
			continue
		}
		d, err := money.MulDivRound(left[i], bps, bpsWhole, r)
		if err != nil {
			return err
		}
		res.amt[i] = min(d, left[i])
	}
	return nil
}

// spreadLines spreads total over the targeted lines in proportion to
// weights[line] by the largest remainder, ties to the SKU that sorts first,
// writing each line's part to out. total must not exceed the weights' sum.
func (ev *Evaluator) spreadLines(total int64, weights, out []int64) {
	ev.shares = ev.shares[:0]
	for i, t := range ev.tgt {
		if t && weights[i] > 0 {
			ev.shares = append(ev.shares, share{line: i, w: weights[i]})
		}
	}
	spread(total, ev.shares)
	for i := range out {
		if ev.tgt[i] {
			out[i] = 0
		}
	}
	for _, s := range ev.shares {
		out[s.line] = s.part
	}
}

// spread sets each share's part: floor(total×w/W) plus one unit for the
// largest remainders (ties: lower line index, i.e. the SKU that sorts
// first), so that the parts sum exactly to total. W is the weights' sum and
// must be ≥ total when total > 0; weights are non-negative. The order of
// shares may change.
func spread(total int64, shares []share) {
	var sum uint64
	for _, s := range shares {
		sum += uint64(s.w)
	}
	if total <= 0 || sum == 0 {
		for i := range shares {
			shares[i].part = 0
		}
		return
	}
	if uint64(total) > sum {
		// Callers never ask for more than the weights; keep every part
		// within its weight regardless.
		total = int64(min(sum, math.MaxInt64))
	}
	var given uint64
	for i := range shares {
		hi, lo := bits.Mul64(uint64(total), uint64(shares[i].w))
		q, rem := bits.Div64(hi, lo, sum)
		shares[i].part, shares[i].rem = int64(q), rem
		given += q
	}
	left := uint64(total) - given
	if left == 0 {
		return
	}
	slices.SortFunc(shares, func(a, b share) int {
		if c := cmp.Compare(b.rem, a.rem); c != 0 {
			return c
		}
		return cmp.Compare(a.line, b.line)
	})
	for i := range shares[:left] {
		shares[i].part++
	}
}

// fixedPrice adds to out[line] each line's part of the fixed_price
// discount: the targeted units by unit price descending (ties SKU
// ascending) form consecutive groups of qty; a group's discount is
// max(0, sum − price), spread over its lines in proportion to their list
// prices in the group; leftover units pay full price. Lines are walked as
// runs, so the cost is per line, not per unit.
func (ev *Evaluator) fixedPrice(qty, price int64, out []int64) {
	var (
		members []share // lines of the open group
		filled  int64   // units in the open group
		sum     int64   // their list prices
	)
	members = ev.shares[:0]
	closeGroup := func() {
		if d := sum - price; d > 0 {
			spread(d, members)
			for _, m := range members {
				out[m.line] += m.part
			}
		}
		members, filled, sum = members[:0], 0, 0
	}
	for _, i := range ev.unit {
		if !ev.tgt[i] {
			continue
		}
		l := &ev.lines[i]
		n := l.qty
		if filled > 0 {
			take := min(qty-filled, n)
			members = append(members, share{line: i, w: take * l.price})
			filled += take
			sum += take * l.price
			n -= take
			if filled < qty {
				continue
			}
			closeGroup()
		}
		// Whole groups inside this line.
		if k := n / qty; k > 0 {
			if d := qty*l.price - price; d > 0 {
				out[i] += k * d
			}
			n -= k * qty
		}
		if n > 0 {
			members = append(members, share{line: i, w: n * l.price})
			filled, sum = n, n*l.price
		}
	}
	ev.shares = members[:0]
}

// buyXGetY gives bps off the free units: the last free units of the
// targeted units by unit price descending (the cheapest), rounded once per
// line and capped at what is left of the line.
func (ev *Evaluator) buyXGetY(free, bps int64, left []int64, r money.Rounding, out []int64) error {
	for k := len(ev.unit) - 1; k >= 0 && free > 0; k-- {
		i := ev.unit[k]
		if !ev.tgt[i] {
			continue
		}
		l := &ev.lines[i]
		u := min(free, l.qty)
		free -= u
		d, err := money.MulDivRound(u*l.price, bps, bpsWhole, r)
		if err != nil {
			return err
		}
		out[i] = min(d, left[i])
	}
	return nil
}
