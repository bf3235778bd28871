package bench

import (
	"strconv"
	"time"

	"cartstream/internal/shopsim"
)

// Cart event types the harness writes (DESIGN §5).
const (
	evItemAdded       = "item_added"
	evQuantitySet     = "quantity_set"
	evCouponApplied   = "coupon_applied"
	evCheckoutStarted = "checkout_started"
	benchCurrency     = shopsim.DemoCurrency
)

// couponCodes are the codes carts apply: three of the demo catalog's
// templates (SAVE5, FREESHIP, WELCOME10) and one no promotion has.
func couponCodes() []string { return []string{"SAVE5", "FREESHIP", "WELCOME10", "NOPE"} }

// cartEvents generates the cart events of a run, deterministically by
// index: event i belongs to cart i % Carts, as that cart's (i / Carts)-th
// event, so all carts interleave and every cart's events keep their order
// in its partition. Every event changes its cart, so each one yields
// exactly one offer:
//
//	0: item_added of a SKU (1 or 2 units, with the cart's currency)
//	1: item_added of another SKU
//	2: coupon_applied of one of couponCodes
//	3: quantity_set of the first SKU to 3 units
//	4+: item_added of a further SKU
//
// SKUs are shopsim.SKU(1..Products), drawn uniformly.
type cartEvents struct {
	Prefix   string // of cart and event ids: <prefix>-c0000001, <prefix>-c0000001-e0
	Carts    int
	Products int
	Seed     uint64
}

// cartID is cart c's id.
func (g cartEvents) cartID(c int) string {
	return g.Prefix + "-c" + pad(c, 7)
}

// pad writes n with at least width digits.
func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// draw is a deterministic pseudo-random number for cart c's k-th draw
// (SplitMix64 of the three).
func (g cartEvents) draw(c, k int) uint64 {
	z := g.Seed ^ uint64(c)*0x9e3779b97f4a7c15 ^ uint64(k+1)*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (g cartEvents) sku(c, k int) string {
	return shopsim.SKU(1 + int(g.draw(c, k)%uint64(g.Products)))
}

// Event returns event i's key (the cart id) and JSON value, with ts.
func (g cartEvents) Event(i int, ts time.Time) (key, value []byte) {
	c, k := i%g.Carts, i/g.Carts
	id := g.cartID(c)
	e := cartEvent{EventID: id + "-e" + strconv.Itoa(k), CartID: id}
	switch k {
	case 0:
		e.Type, e.SKU, e.Qty, e.Currency = evItemAdded, g.sku(c, 0), 1+int(g.draw(c, 100)%2), benchCurrency
	case 2:
		codes := couponCodes()
		e.Type, e.Code = evCouponApplied, codes[g.draw(c, 101)%uint64(len(codes))]
	case 3:
		e.Type, e.SKU, e.Qty = evQuantitySet, g.sku(c, 0), 3
	default:
		e.Type, e.SKU, e.Qty = evItemAdded, g.sku(c, k), 1
	}
	return []byte(id), e.appendJSON(nil, ts)
}

// cartEvent is one cart event in the contract's JSON (DESIGN §5); empty
// fields are left out.
type cartEvent struct {
	EventID, CartID, Type string
	SKU                   string
	Qty                   int // 0: absent
	Code                  string
	CheckoutID            string
	Currency              string
}

// appendJSON appends the event's JSON, with ts (RFC 3339, UTC).
func (e cartEvent) appendJSON(b []byte, ts time.Time) []byte {
	field := func(name, v string) {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":`...)
		b = strconv.AppendQuote(b, v)
	}
	b = append(b, `{"event_id":`...)
	b = strconv.AppendQuote(b, e.EventID)
	field("cart_id", e.CartID)
	field("type", e.Type)
	if e.SKU != "" {
		field("sku", e.SKU)
	}
	if e.Qty != 0 {
		b = append(b, `,"qty":`...)
		b = strconv.AppendInt(b, int64(e.Qty), 10)
	}
	if e.Code != "" {
		field("code", e.Code)
	}
	if e.CheckoutID != "" {
		field("checkout_id", e.CheckoutID)
	}
	if e.Currency != "" {
		field("currency", e.Currency)
	}
	field("ts", ts.UTC().Format(time.RFC3339Nano))
	return append(b, '}')
}

// flashEvents are the two events of flash-sale cart c: one unit of sku
// added, then a checkout started.
func flashEvents(prefix string, c int, sku string, ts time.Time) (key []byte, added, checkout []byte) {
	id := prefix + "-c" + pad(c, 7)
	a := cartEvent{EventID: id + "-e0", CartID: id, Type: evItemAdded, SKU: sku, Qty: 1, Currency: benchCurrency}
	k := cartEvent{EventID: id + "-e1", CartID: id, Type: evCheckoutStarted, CheckoutID: id + "-co1"}
	return []byte(id), a.appendJSON(nil, ts), k.appendJSON(nil, ts)
}
