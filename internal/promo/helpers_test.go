package promo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"cartstream/internal/money"
	"cartstream/internal/normalize"
	"cartstream/schemas"
)

// usd is the currency of most tests.
var usd = money.MustLookup("USD")

// t0 is the event time of most tests (the design's example).
var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// prod is a product line "sku price category brand" (category and brand
// optional), active, in USD.
func prod(t testing.TB, spec string) schemas.Product {
	t.Helper()
	f := strings.Fields(spec)
	p := schemas.Product{SKU: f[0], Currency: "USD", Active: true}
	a, err := money.Parse(f[1], usd)
	if err != nil {
		t.Fatalf("prod %q: %v", spec, err)
	}
	p.PriceMinor = a
	if len(f) > 2 {
		p.Category = f[2]
	}
	if len(f) > 3 {
		p.Brand = f[3]
	}
	return p
}

func catalog(t testing.TB, specs ...string) MapCatalog {
	t.Helper()
	m := MapCatalog{}
	for _, s := range specs {
		p := prod(t, s)
		m[p.SKU] = p
	}
	return m
}

// promo parses a normalized promotion given as JSON, with defaults for
// what the JSON leaves out: active, priority 0, stackable, USD, no coupon,
// no validity bounds, everyone, {} condition and target.
func promo(t testing.TB, js string) schemas.Promotion {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("promo %s: %v", js, err)
	}
	defaults := map[string]any{"name": m["id"], "active": true, "priority": json.Number("0"), "stacking": "stackable",
		"currency": "USD", "condition": map[string]any{}, "target": map[string]any{}}
	for k, v := range defaults {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	p, err := normalize.Promotion(m)
	if err != nil {
		t.Fatalf("promo %s: %v", js, err)
	}
	return p
}

func promos(t testing.TB, js ...string) []schemas.Promotion {
	t.Helper()
	out := make([]schemas.Promotion, len(js))
	for i, s := range js {
		out[i] = promo(t, s)
	}
	return out
}

// cart builds a USD cart from "SKU:qty" specs.
func cart(lines ...string) Cart {
	c := Cart{CartID: "c-1", Currency: "USD"}
	for _, l := range lines {
		var sku string
		var qty int64
		i := strings.LastIndexByte(l, ':')
		sku = l[:i]
		fmt.Sscan(l[i+1:], &qty)
		c.Lines = append(c.Lines, CartLine{SKU: sku, Qty: qty})
	}
	return c
}

// summary renders the parts of an offer the tests compare, one fact per
// line, money in the offer's currency.
func summary(o Offer) string {
	var b bytes.Buffer
	f := func(a money.Amount) string { return a.Format(o.Currency) }
	fmt.Fprintf(&b, "subtotal %s discount %s total %s", f(o.Subtotal), f(o.DiscountTotal), f(o.Total))
	if o.FreeShipping {
		b.WriteString(" free_shipping")
	}
	b.WriteByte('\n')
	for _, l := range o.Lines {
		if !l.Available {
			fmt.Fprintf(&b, "line %s %d unavailable\n", l.SKU, l.Qty)
			continue
		}
		fmt.Fprintf(&b, "line %s %dx%s=%s -%s =%s", l.SKU, l.Qty, f(l.UnitPrice), f(l.Subtotal), f(l.Discount), f(l.Total))
		for _, a := range l.Allocations {
			fmt.Fprintf(&b, " %s:%s", a.PromotionID, f(a.Amount))
		}
		b.WriteByte('\n')
	}
	for _, a := range o.Applied {
		fmt.Fprintf(&b, "applied %s %s", a.PromotionID, f(a.Amount))
		if a.CouponCode != "" {
			fmt.Fprintf(&b, " coupon=%s", a.CouponCode)
		}
		b.WriteByte('\n')
	}
	for _, n := range o.NotApplied {
		id := n.PromotionID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(&b, "not_applied %s %s", id, n.Reason)
		if n.CouponCode != "" {
			fmt.Fprintf(&b, " coupon=%s", n.CouponCode)
		}
		b.WriteByte('\n')
	}
	for _, h := range o.Hints {
		if h.Kind == HintSpendMore {
			fmt.Fprintf(&b, "hint %s spend_more %s\n", h.PromotionID, f(h.Amount))
		} else {
			fmt.Fprintf(&b, "hint %s add_quantity %d\n", h.PromotionID, h.Qty)
		}
	}
	return b.String()
}

// dedent trims a raw-string expectation: surrounding blank lines and each
// line's leading tabs.
func dedent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString(strings.TrimLeft(l, "\t "))
		b.WriteByte('\n')
	}
	return b.String()
}

// checkInvariants checks what must hold for every offer: allocations sum to
// each applied amount and to each line's discount, no line below zero,
// unavailable lines all zero, totals consistent, at most MaxNotApplied.
func checkInvariants(t testing.TB, o Offer) {
	t.Helper()
	byPromo := map[string]money.Amount{}
	var subtotal money.Amount
	for i, l := range o.Lines {
		if i > 0 && o.Lines[i-1].SKU >= l.SKU {
			t.Errorf("lines not by sku: %s before %s", o.Lines[i-1].SKU, l.SKU)
		}
		if !l.Available {
			if l.UnitPrice != 0 || l.Subtotal != 0 || l.Discount != 0 || l.Total != 0 || len(l.Allocations) != 0 {
				t.Errorf("unavailable line %s has amounts: %+v", l.SKU, l)
			}
			continue
		}
		if l.Subtotal != l.UnitPrice*money.Amount(l.Qty) {
			t.Errorf("line %s: subtotal %d != %d × %d", l.SKU, l.Subtotal, l.Qty, l.UnitPrice)
		}
		var d money.Amount
		for _, a := range l.Allocations {
			if a.Amount <= 0 {
				t.Errorf("line %s: allocation %+v not positive", l.SKU, a)
			}
			d += a.Amount
			byPromo[a.PromotionID] += a.Amount
		}
		if d != l.Discount {
			t.Errorf("line %s: allocations sum to %d, discount %d", l.SKU, d, l.Discount)
		}
		if l.Total != l.Subtotal-l.Discount || l.Total < 0 {
			t.Errorf("line %s: total %d, subtotal %d, discount %d", l.SKU, l.Total, l.Subtotal, l.Discount)
		}
		subtotal += l.Subtotal
	}
	if subtotal != o.Subtotal {
		t.Errorf("subtotal %d, lines sum to %d", o.Subtotal, subtotal)
	}
	var applied money.Amount
	seen := map[string]bool{}
	for _, a := range o.Applied {
		if seen[a.PromotionID] {
			t.Errorf("promotion %s applied twice", a.PromotionID)
		}
		seen[a.PromotionID] = true
		if byPromo[a.PromotionID] != a.Amount {
			t.Errorf("applied %s: amount %d, allocations sum to %d", a.PromotionID, a.Amount, byPromo[a.PromotionID])
		}
		delete(byPromo, a.PromotionID)
		applied += a.Amount
	}
	if len(byPromo) != 0 {
		t.Errorf("allocations of promotions not applied: %v", byPromo)
	}
	if applied != o.DiscountTotal {
		t.Errorf("discount_total %d, applied sum %d", o.DiscountTotal, applied)
	}
	if o.Total != o.Subtotal-o.DiscountTotal || o.Total < 0 {
		t.Errorf("total %d, subtotal %d, discount_total %d", o.Total, o.Subtotal, o.DiscountTotal)
	}
	if len(o.NotApplied) > MaxNotApplied {
		t.Errorf("%d not_applied entries", len(o.NotApplied))
	}
	for _, n := range o.NotApplied {
		if seen[n.PromotionID] && n.PromotionID != "" {
			t.Errorf("promotion %s both applied and not applied", n.PromotionID)
		}
	}
	for _, h := range o.Hints {
		if (h.Kind == HintSpendMore && h.Amount <= 0) || (h.Kind == HintAddQuantity && h.Qty <= 0) {
			t.Errorf("hint %+v is not positive", h)
		}
	}
}
