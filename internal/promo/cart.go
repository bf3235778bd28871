package promo

import (
	"errors"
	"time"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// Sentinel errors. Functions return them wrapped with context; test with
// errors.Is.
var (
	// ErrInvalidCart: the cart cannot be evaluated (unknown currency, a line
	// without SKU or with a quantity below 1) or its JSON is malformed.
	ErrInvalidCart = errors.New("invalid cart")
	// ErrOverflow: the cart's amounts do not fit int64 minor units.
	ErrOverflow = errors.New("amount overflows int64")
)

// Cart is what the engine evaluates: the state of a cart at an event.
type Cart struct {
	// CartID is the cart's key; it is copied into the offer.
	CartID string
	// Currency is the cart's ISO 4217 code. Products and promotions in
	// another currency never apply to it.
	Currency string
	// CustomerID is the customer, or "" for none. The engine does not use
	// it; segments decide.
	CustomerID string
	// Segments are the customer's segments, matched exactly
	// (case-sensitive) against a promotion's segments.
	Segments []string
	// Coupons are the coupon codes in the order they were applied, in the
	// customer's spelling. Matching is case-insensitive and ignores
	// surrounding white space; a code given twice (in any case) counts once,
	// with its first spelling. Empty codes are ignored.
	Coupons []string
	// Lines are the cart's lines in any order. Two lines with the same SKU
	// are one line with the summed quantity.
	Lines []CartLine
}

// CartLine is one line of a cart.
type CartLine struct {
	SKU string
	// Qty is the number of units, at least 1.
	Qty int64
}

// Catalog gives the engine the products it prices lines with.
type Catalog interface {
	// Product returns the product with the given SKU, and false when there
	// is none (a deleted or never-seen product). It must be safe to call
	// while the same Index is evaluated from other goroutines if the caller
	// does that.
	Product(sku string) (schemas.Product, bool)
}

// MapCatalog is a Catalog over a map of products by SKU.
type MapCatalog map[string]schemas.Product

// Product implements Catalog.
func (m MapCatalog) Product(sku string) (schemas.Product, bool) {
	p, ok := m[sku]
	return p, ok
}

// Options tune an evaluation.
type Options struct {
	// Rounding rounds each percentage discount once per line. The zero
	// value is money.HalfEven, the default of DESIGN §2 principle 5.
	Rounding money.Rounding
}

// Source names the cart event an offer answers (DESIGN §5 "source"). The
// engine never sets it: the carts processor does.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
	EventID   string
}

// validAt reports whether t lies in [from, until), nil bounds being open.
func validAt(from, until *time.Time, t time.Time) (notStarted, expired bool) {
	if from != nil && t.Before(*from) {
		return true, false
	}
	if until != nil && !t.Before(*until) {
		return false, true
	}
	return false, false
}
