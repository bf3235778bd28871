package carts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"strings"
	"time"
)

// ErrInvalidEvent is wrapped by every cart-event validation error; such
// events are dead-lettered with class validation.
var ErrInvalidEvent = errors.New("invalid cart event")

// Event types of DESIGN §5.
const (
	ItemAdded         = "item_added"
	ItemRemoved       = "item_removed"
	QuantitySet       = "quantity_set"
	CouponApplied     = "coupon_applied"
	CouponRemoved     = "coupon_removed"
	CheckoutStarted   = "checkout_started"
	CheckoutCompleted = "checkout_completed"
	CheckoutAbandoned = "checkout_abandoned"
	CartCleared       = "cart_cleared"
)

// SchemaVersion is the cart-event schema version this build reads.
const SchemaVersion = 1

// MaxQty bounds a line's quantity; larger values are rejected rather than
// risking overflow in money arithmetic.
const MaxQty = 1_000_000

// Event is a validated cart event.
type Event struct {
	SchemaVersion int
	ID            string
	CartID        string
	Type          string
	TS            time.Time // zero when absent
	CustomerID    *string   // nil when absent
	Segments      []string  // nil when absent (keep the cart's); non-nil replaces
	Currency      string    // "" when absent
	SKU           string
	Qty           int32 // item_removed: -1 when absent (remove all)
	Code          string
	CheckoutID    string
	OrderID       string
}

// wireEvent is the JSON shape; pointers tell absent from zero.
type wireEvent struct {
	SchemaVersion *int            `json:"schema_version"`
	EventID       *string         `json:"event_id"`
	CartID        *string         `json:"cart_id"`
	Type          *string         `json:"type"`
	TS            *string         `json:"ts"`
	CustomerID    *string         `json:"customer_id"`
	Segments      json.RawMessage `json:"segments"`
	Currency      *string         `json:"currency"`
	SKU           *string         `json:"sku"`
	Qty           *json.Number    `json:"qty"`
	Code          *string         `json:"code"`
	CheckoutID    *string         `json:"checkout_id"`
	OrderID       *string         `json:"order_id"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
}

// ParseEvent decodes and validates one cart event (JSON). Unknown fields are
// ignored. Errors wrap ErrInvalidEvent and name the field.
func ParseEvent(data []byte) (Event, error) {
	var w wireEvent
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&w); err != nil {
		return Event{}, invalid("not a JSON object: %v", err)
	}
	if d.More() {
		return Event{}, invalid("trailing data after the JSON object")
	}
	e := Event{SchemaVersion: SchemaVersion, Qty: -1}
	if w.SchemaVersion != nil {
		if *w.SchemaVersion != SchemaVersion {
			return Event{}, invalid("schema_version %d: this build reads %d", *w.SchemaVersion, SchemaVersion)
		}
	}
	req := func(name string, p *string) (string, error) {
		if p == nil || strings.TrimSpace(*p) == "" {
			return "", invalid("%s: required", name)
		}
		return *p, nil
	}
	var err error
	if e.ID, err = req("event_id", w.EventID); err != nil {
		return Event{}, err
	}
	if e.CartID, err = req("cart_id", w.CartID); err != nil {
		return Event{}, err
	}
	if e.Type, err = req("type", w.Type); err != nil {
		return Event{}, err
	}
	if w.TS != nil {
		t, err := time.Parse(time.RFC3339Nano, *w.TS)
		if err != nil {
			return Event{}, invalid("ts: want RFC 3339, got %q", *w.TS)
		}
		e.TS = t.UTC()
	}
	e.CustomerID = w.CustomerID
	if len(w.Segments) > 0 && string(w.Segments) != "null" {
		var segs []string
		if err := json.Unmarshal(w.Segments, &segs); err != nil {
			return Event{}, invalid("segments: want a list of strings")
		}
		if segs == nil {
			segs = []string{}
		}
		e.Segments = segs
	}
	if w.Currency != nil {
		if len(*w.Currency) != 3 {
			return Event{}, invalid("currency: want an ISO 4217 code, got %q", *w.Currency)
		}
		e.Currency = *w.Currency
	}
	qty := func(allowZero bool) (int32, error) {
		if w.Qty == nil {
			return 0, invalid("qty: required for %s", e.Type)
		}
		n, err := w.Qty.Int64()
		if err != nil {
			return 0, invalid("qty: want a whole number, got %s", *w.Qty)
		}
		if n < 0 || (n == 0 && !allowZero) || n > MaxQty {
			return 0, invalid("qty %d out of range for %s", n, e.Type)
		}
		return int32(n), nil
	}
	switch e.Type {
	case ItemAdded:
		if e.SKU, err = req("sku", w.SKU); err != nil {
			return Event{}, err
		}
		if e.Qty, err = qty(false); err != nil {
			return Event{}, err
		}
	case ItemRemoved:
		if e.SKU, err = req("sku", w.SKU); err != nil {
			return Event{}, err
		}
		if w.Qty != nil {
			if e.Qty, err = qty(false); err != nil {
				return Event{}, err
			}
		}
	case QuantitySet:
		if e.SKU, err = req("sku", w.SKU); err != nil {
			return Event{}, err
		}
		if e.Qty, err = qty(true); err != nil {
			return Event{}, err
		}
	case CouponApplied, CouponRemoved:
		if e.Code, err = req("code", w.Code); err != nil {
			return Event{}, err
		}
	case CheckoutStarted, CheckoutAbandoned:
		if e.CheckoutID, err = req("checkout_id", w.CheckoutID); err != nil {
			return Event{}, err
		}
	case CheckoutCompleted:
		if e.CheckoutID, err = req("checkout_id", w.CheckoutID); err != nil {
			return Event{}, err
		}
		if e.OrderID, err = req("order_id", w.OrderID); err != nil {
			return Event{}, err
		}
	case CartCleared:
	default:
		return Event{}, invalid("type: unknown %q", e.Type)
	}
	return e, nil
}
