package carts

import (
	"cartstream/schemas"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Retention bounds of a cart's state (DESIGN §5).
const (
	// DedupWindow is how long, in stream time, a cart remembers the event
	// ids it applied.
	DedupWindow = 48 * time.Hour
	// DedupMax caps the remembered event ids per cart; the oldest go first.
	DedupMax = 1024
	// DefaultIdleTTL deletes a cart idle this long in stream time.
	DefaultIdleTTL = 30 * 24 * time.Hour
)

// Line is one cart line.
type Line struct {
	SKU string `json:"sku"`
	Qty int32  `json:"qty"`
}

// Applied is an event id the cart applied and its event time.
type Applied struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// Cart is the state of one cart, the carts table's value. Its contents are a
// function of the cart's own events; its checkouts also of reservation
// results and stream time.
type Cart struct {
	ID         string   `json:"cart_id"`
	Version    int64    `json:"cart_version"`
	Currency   string   `json:"currency"`
	CustomerID *string  `json:"customer_id"`
	Segments   []string `json:"segments"`
	Coupons    []string `json:"coupons"` // cart order, the spelling first applied
	Lines      []Line   `json:"lines"`   // by sku
	// LastEventTime is the event time of the last applied event, for idle
	// expiry.
	LastEventTime time.Time `json:"last_event_time"`
	// Applied are the event ids applied within DedupWindow, oldest first.
	Applied []Applied `json:"applied"`
	// Checkout is the current checkout (DESIGN §6), nil when the cart has
	// none.
	Checkout *Checkout `json:"checkout"`
	// PastCheckouts are earlier checkouts, oldest first: at most
	// PastCheckoutsMax, each kept PastCheckoutsWindow of stream time after
	// its last change. They answer a repeated checkout id the same way and
	// take the results still in flight for them. None is open.
	PastCheckouts []Checkout `json:"past_checkouts,omitempty"`
	// EarlyResults are reservation results read during a replay before
	// the checkout they answer was re-read (see holdEarly).
	EarlyResults []schemas.ReservationResult `json:"early_results,omitempty"`
	// Origins are, per input topic, the offset of the last record whose
	// effect the cart holds (in the partition the cart lives in), so that
	// a record read again after a crash is told from a new one (see
	// ReadAgain and Resend). Written by the group, not the state machine.
	Origins map[string]int64 `json:"origins,omitempty"`
}

// DecodeCart reads a stored cart: the binary form Encode writes (see
// codec.go), or the JSON earlier builds wrote. Errors wrap ErrCorruptCart for
// a binary value that does not decode. The strings of a cart decoded from
// the binary form share one allocation, the size of data: a caller that keeps
// one of them long after the cart (rare) should strings.Clone it.
func DecodeCart(data []byte) (*Cart, error) {
	if len(data) > 0 && data[0] >= cartFormatV1 && data[0] <= cartFormatMax {
		if data[0] > cartFormat {
			return nil, fmt.Errorf("carts: stored cart: format %d, newer than this build reads (%d)", data[0], cartFormat)
		}
		c, err := decodeBinary(data)
		if err != nil {
			return nil, fmt.Errorf("carts: stored cart: %w", err)
		}
		return c, nil
	}
	var c Cart
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("carts: stored cart: %w", err)
	}
	return &c, nil
}

// Seen reports whether the cart applied the event id (within its window).
func (c *Cart) Seen(id string) bool {
	for _, a := range c.Applied {
		if a.ID == id {
			return true
		}
	}
	return false
}

// Apply applies a validated event at its event time to the cart (nil for a
// new cart) and returns the new cart. A duplicate (an event id the cart
// remembers) returns applied false and the cart unchanged, unless its
// checkout's holds expired meanwhile. streamTime is the partition's stream
// time, which bounds the dedup window. Apply is pure: it never reads a clock
// and never mutates its input.
//
// Apply is ApplyEvent without its commands and statuses, for callers that
// need only the cart.
func Apply(c *Cart, e Event, at, streamTime time.Time) (next *Cart, applied bool, err error) {
	out, err := ApplyEvent(c, e, at, streamTime)
	if err != nil {
		return c, false, err
	}
	return out.Cart, out.Applied, nil
}

// applyContents applies a new (not duplicate) event to the cart's contents,
// version and dedup memory; the checkout saga is ApplyEvent's.
func applyContents(c *Cart, e Event, at, streamTime time.Time) (*Cart, error) {
	n := clone(c)
	if n.ID == "" {
		n.ID = e.CartID
	}
	if e.Currency != "" {
		if n.Currency != "" && n.Currency != e.Currency {
			return nil, invalid("currency %s differs from the cart's %s", e.Currency, n.Currency)
		}
		n.Currency = e.Currency
	}
	if n.Currency == "" {
		return nil, invalid("currency: required on a cart's first event")
	}
	if e.CustomerID != nil {
		id := *e.CustomerID
		n.CustomerID = &id
	}
	if e.Segments != nil {
		n.Segments = append([]string{}, e.Segments...)
	}
	switch e.Type {
	case ItemAdded:
		n.setQty(e.SKU, n.qty(e.SKU)+int64(e.Qty))
	case ItemRemoved:
		if e.Qty < 0 {
			n.setQty(e.SKU, 0)
		} else {
			n.setQty(e.SKU, n.qty(e.SKU)-int64(e.Qty))
		}
	case QuantitySet:
		n.setQty(e.SKU, int64(e.Qty))
	case CouponApplied:
		if n.couponIndex(e.Code) < 0 {
			n.Coupons = append(n.Coupons, e.Code)
		}
	case CouponRemoved:
		if i := n.couponIndex(e.Code); i >= 0 {
			n.Coupons = append(n.Coupons[:i:i], n.Coupons[i+1:]...)
		}
	case CartCleared:
		n.Lines = nil
		n.Coupons = nil
	case CheckoutStarted, CheckoutCompleted, CheckoutAbandoned:
		// The checkout saga (ApplyEvent) owns these; the cart's contents
		// do not change.
	}
	n.Version++
	if at.After(n.LastEventTime) {
		n.LastEventTime = at
	}
	n.Applied = append(n.Applied, Applied{ID: e.ID, At: at})
	n.prune(streamTime)
	return n, nil
}

// Idle reports whether the cart has been idle for ttl of stream time.
func (c *Cart) Idle(streamTime time.Time, ttl time.Duration) bool {
	return !c.LastEventTime.IsZero() && streamTime.Sub(c.LastEventTime) >= ttl
}

func clone(c *Cart) *Cart {
	if c == nil {
		return &Cart{}
	}
	n := *c
	n.Segments = append([]string(nil), c.Segments...)
	n.Coupons = append([]string(nil), c.Coupons...)
	n.Lines = append([]Line(nil), c.Lines...)
	n.Applied = append([]Applied(nil), c.Applied...)
	n.EarlyResults = append([]schemas.ReservationResult(nil), c.EarlyResults...)
	if c.Checkout != nil {
		k := c.Checkout.clone()
		n.Checkout = &k
	}
	if c.PastCheckouts != nil {
		n.PastCheckouts = make([]Checkout, len(c.PastCheckouts), len(c.PastCheckouts)+1)
		for i := range c.PastCheckouts {
			n.PastCheckouts[i] = c.PastCheckouts[i].clone()
		}
	}
	return &n
}

func (c *Cart) qty(sku string) int64 {
	for _, l := range c.Lines {
		if l.SKU == sku {
			return int64(l.Qty)
		}
	}
	return 0
}

// setQty sets a line's quantity, removing it at zero or below and capping at
// MaxQty; lines stay sorted by sku.
func (c *Cart) setQty(sku string, q int64) {
	q = min(q, MaxQty)
	i := sort.Search(len(c.Lines), func(i int) bool { return c.Lines[i].SKU >= sku })
	found := i < len(c.Lines) && c.Lines[i].SKU == sku
	switch {
	case q <= 0 && found:
		c.Lines = append(c.Lines[:i:i], c.Lines[i+1:]...)
	case q <= 0:
	case found:
		c.Lines[i].Qty = int32(q)
	default:
		c.Lines = append(c.Lines, Line{})
		copy(c.Lines[i+1:], c.Lines[i:])
		c.Lines[i] = Line{SKU: sku, Qty: int32(q)}
	}
}

func (c *Cart) couponIndex(code string) int {
	for i, k := range c.Coupons {
		if strings.EqualFold(k, code) {
			return i
		}
	}
	return -1
}

// prune forgets event ids older than DedupWindow of stream time and keeps
// at most DedupMax.
func (c *Cart) prune(streamTime time.Time) {
	cut := 0
	for cut < len(c.Applied) && streamTime.Sub(c.Applied[cut].At) > DedupWindow {
		cut++
	}
	if over := len(c.Applied) - cut - DedupMax; over > 0 {
		cut += over
	}
	if cut > 0 {
		c.Applied = append(c.Applied[:0:0], c.Applied[cut:]...)
	}
}
