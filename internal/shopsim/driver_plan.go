package shopsim

import (
	"fmt"
	"slices"
)

// UnknownCouponPrefix starts the made-up coupon codes carts apply (see
// DriverOptions.UnknownCouponRate), followed by four digits. No demo
// promotion's code has a hyphen, so none of them is ever a real code
// there.
const UnknownCouponPrefix = "NOSUCH-"

// Cart event types the driver writes (DESIGN §5).
const (
	EventItemAdded       = "item_added"
	EventItemRemoved     = "item_removed"
	EventQuantitySet     = "quantity_set"
	EventCouponApplied   = "coupon_applied"
	EventCouponRemoved   = "coupon_removed"
	EventCheckoutStarted = "checkout_started"
)

// planned reports whether carts follow a session plan (plan) rather than
// the plain add-then-check-out of the original driver, whose draws (and so
// whose records, seed for seed) stay exactly as they were.
func (o *DriverOptions) planned() bool {
	return o.BrowseRate > 0 || o.ChangeRate > 0 || o.CouponRate > 0 || o.FlashSKU != "" || o.Paced
}

// plan draws cart c's session from its own generator and schedules it:
// the flash-sale SKU first (if any), then distinct SKUs, each add maybe
// followed by a change of a line; maybe a coupon (maybe removed again);
// then, unless the cart only browses, its checkout. The first event is due
// at once, each next one a think time later. c.lines ends as the contents
// the cart will check out.
func (d *Driver) plan(c *dcart) {
	r, o := c.rng, &d.opts
	c.browse = o.BrowseRate > 0 && r.Float64() < o.BrowseRate
	if c.browse {
		d.ledger.BrowseCarts++
	}
	want := 1 + r.IntN(o.MaxLines)
	t := d.Now()
	steps := 0
	step := func(e cartEvent) {
		if steps > 0 {
			t = t.Add(d.think(c))
		}
		steps++
		d.push(&action{due: t, kind: actStep, cart: c, ev: e})
	}
	add := func(sku string, qty int) {
		c.setQty(sku, c.qty(sku)+qty)
		step(cartEvent{Type: EventItemAdded, SKU: sku, Qty: &qty})
	}
	adds := 0
	if o.FlashSKU != "" {
		add(o.FlashSKU, 1)
		adds++
	}
	for ; adds < want; adds++ {
		// c.lines has at most adds < want <= len(SKUs) lines, so a SKU
		// not in it exists.
		add(d.drawNew(c), 1+r.IntN(o.MaxQty))
		if o.ChangeRate > 0 && r.Float64() < o.ChangeRate {
			d.change(c, step)
		}
	}
	if o.CouponRate > 0 && r.Float64() < o.CouponRate {
		code := d.couponCode(c)
		step(cartEvent{Type: EventCouponApplied, Code: code})
		if o.CouponRemoveRate > 0 && r.Float64() < o.CouponRemoveRate {
			step(cartEvent{Type: EventCouponRemoved, Code: code})
		}
	}
	if c.browse {
		return
	}
	if len(c.lines) == 0 {
		add(d.drawNew(c), 1+r.IntN(o.MaxQty))
	}
	d.push(&action{due: t.Add(d.think(c)), kind: actStart, cart: c})
}

// change alters one line of c (which has at least one): a new quantity
// (0 to MaxQty), its removal, or the removal of some of its units.
func (d *Driver) change(c *dcart, step func(cartEvent)) {
	r := c.rng
	l := c.lines[r.IntN(len(c.lines))]
	switch r.IntN(3) {
	case 0:
		q := r.IntN(d.opts.MaxQty + 1)
		c.setQty(l.SKU, q)
		step(cartEvent{Type: EventQuantitySet, SKU: l.SKU, Qty: &q})
	case 1:
		c.setQty(l.SKU, 0)
		step(cartEvent{Type: EventItemRemoved, SKU: l.SKU})
	default:
		n := 1 + r.IntN(l.Qty)
		c.setQty(l.SKU, l.Qty-n)
		step(cartEvent{Type: EventItemRemoved, SKU: l.SKU, Qty: &n})
	}
}

// drawNew draws a SKU cart c does not hold.
func (d *Driver) drawNew(c *dcart) string {
	for {
		sku := d.opts.SKUs[d.drawSKU(c.rng)]
		if c.qty(sku) == 0 {
			return sku
		}
	}
}

// couponCode draws the code cart c applies.
func (d *Driver) couponCode(c *dcart) string {
	r, codes := c.rng, d.opts.CouponCodes
	if len(codes) == 0 || d.opts.UnknownCouponRate > 0 && r.Float64() < d.opts.UnknownCouponRate {
		return fmt.Sprintf("%s%04d", UnknownCouponPrefix, r.IntN(10_000))
	}
	return codes[r.IntN(len(codes))]
}

// qty returns the units of sku in the cart.
func (c *dcart) qty(sku string) int {
	if i := slices.IndexFunc(c.lines, func(l Line) bool { return l.SKU == sku }); i >= 0 {
		return c.lines[i].Qty
	}
	return 0
}

// setQty sets the units of sku, dropping the line at zero and appending a
// new one at the end, as cartstream's cart does with its (sorted) lines.
func (c *dcart) setQty(sku string, qty int) {
	i := slices.IndexFunc(c.lines, func(l Line) bool { return l.SKU == sku })
	switch {
	case i < 0 && qty > 0:
		c.lines = append(c.lines, Line{SKU: sku, Qty: qty})
	case i >= 0 && qty > 0:
		c.lines[i].Qty = qty
	case i >= 0:
		c.lines = slices.Delete(c.lines, i, i+1)
	}
}
