package schemas

import (
	"time"

	"cartstream/internal/money"
)

// Record is the set of internal record types this package encodes: the type
// parameter of [Codec], [Marshal] and [Unmarshal].
type Record interface {
	Product | Promotion | StockRow | OrderLine | ReservationCommand | ReservationResult
}

// Nullable Avro fields (["null", T]) are pointers in Go: nil is null. Times
// are UTC time.Time values; an event_time or other timestamp-millis field
// keeps milliseconds, a timestamp-micros field microseconds, and finer
// precision is dropped on encoding. Empty arrays decode as nil slices.

// Source gives the coordinates of the input record a record was derived from
// (for CDC-derived records: the Debezium or outbox record).
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Product is a normalized product (schemas/avro/product.avsc): the value of
// cartstream.products, keyed by SKU. A deleted product is a tombstone, not a
// Product.
type Product struct {
	SKU      string
	Name     string
	Category string
	Brand    string
	// PriceMinor is the list price in minor units of Currency.
	PriceMinor money.Amount
	// Currency is an ISO 4217 code; it gives the exponent of PriceMinor.
	Currency string
	Active   bool
	// EventTime is the event time of the change this record derives from
	// (milliseconds).
	EventTime time.Time
	Source    Source
}

// Stacking modes of a promotion (Promotion.Stacking).
const (
	StackingStackable = "stackable"
	StackingExclusive = "exclusive"
	StackingStop      = "stop"
)

// Effect types (Effect.Type).
const (
	EffectPercentOff    = "percent_off"
	EffectAmountOff     = "amount_off"
	EffectFixedPrice    = "fixed_price"
	EffectBuyXGetY      = "buy_x_get_y"
	EffectTieredPercent = "tiered_percent"
	EffectFreeShipping  = "free_shipping"
)

// Values of Effect.Per for amount_off.
const (
	PerCart = "cart"
	PerUnit = "unit"
)

// Promotion is a normalized promotion (schemas/avro/promotion.avsc): the value
// of cartstream.promotions, keyed by ID. Every *Minor amount is in minor
// units of Currency.
type Promotion struct {
	ID       string
	Name     string
	Active   bool
	Priority int32
	// Stacking is one of StackingStackable, StackingExclusive, StackingStop.
	Stacking string
	// CouponCode is nil for an automatic promotion.
	CouponCode *string
	// ValidFrom (inclusive) and ValidUntil (exclusive) bound validity; nil
	// is open. Microsecond precision.
	ValidFrom  *time.Time
	ValidUntil *time.Time
	// Segments lists the customer segments it is for; empty is everyone.
	Segments  []string
	Currency  string
	Condition Condition
	Target    Target
	Effect    Effect
	// MaxDiscountMinor caps the promotion's discount; nil is no cap.
	MaxDiscountMinor *money.Amount
	EventTime        time.Time
	Source           Source
}

// Condition is what a cart must satisfy for a promotion to apply. Nil and
// empty parts are absent.
type Condition struct {
	MinSubtotalMinor   *money.Amount
	MinQuantity        *int32
	RequiresSKUs       []string
	RequiresCategories []string
}

// Target selects the lines a promotion works on: lines matching any of the
// lists; all empty means every line.
type Target struct {
	SKUs       []string
	Categories []string
	Brands     []string
}

// Effect is what a promotion does. Type says which parameters matter; the
// others are zero:
//
//	percent_off     Bps
//	amount_off      AmountMinor, Per (PerCart or PerUnit)
//	fixed_price     Quantity, PriceMinor
//	buy_x_get_y     Buy, Get, Bps, MaxApplications (0 = unlimited)
//	tiered_percent  Tiers
//	free_shipping   (none)
type Effect struct {
	Type            string
	Bps             int32
	AmountMinor     money.Amount
	Per             string
	Quantity        int32
	PriceMinor      money.Amount
	Buy             int32
	Get             int32
	MaxApplications int32
	Tiers           []Tier
}

// Tier is one step of a tiered_percent effect: Bps off once the undiscounted
// targeted subtotal reaches MinSubtotalMinor.
type Tier struct {
	MinSubtotalMinor money.Amount
	Bps              int32
}

// StockRow is a normalized inventory row (schemas/avro/stock_row.avsc): a
// record of the cartstream.inventory-changes stream, keyed by SKU.
type StockRow struct {
	SKU     string
	OnHand  int32
	Version int64
	// UpdatedAt is the row's updated_at column; nil when it is null.
	UpdatedAt *time.Time
	// Deleted marks the row's deletion in the database.
	Deleted   bool
	EventTime time.Time
	Source    Source
}

// OrderLine is one line of a placed order from the transactional outbox
// (schemas/avro/order_line.avsc), keyed by SKU on cartstream.order-lines.
type OrderLine struct {
	OrderID    string
	CheckoutID string
	CartID     string
	SKU        string
	Qty        int32
	// InventoryVersion is the inventory row's version after the order's
	// decrement.
	InventoryVersion int64
	EventTime        time.Time
	Source           Source
}

// ReservationOp is the operation of a reservation command: an Avro enum on
// the wire.
type ReservationOp string

// Reservation operations.
const (
	OpReserve ReservationOp = "reserve"
	OpRelease ReservationOp = "release"
	OpCommit  ReservationOp = "commit"
)

// reservationOps lists the ReservationOp enum's symbols in schema order: the
// index is the wire value. Read-only.
var reservationOps = [...]ReservationOp{OpReserve, OpRelease, OpCommit}

// ReservationCommand asks the inventory group to reserve, release or commit
// a hold (schemas/avro/reservation_command.avsc), keyed by SKU on
// cartstream.reservations.
type ReservationCommand struct {
	// CommandID is "<request_id>:<op>"; the dedup store keys on it.
	CommandID string
	// RequestID is "<checkout_id>:<sku>"; it names the hold.
	RequestID  string
	Op         ReservationOp
	SKU        string
	Qty        int32
	CartID     string
	CheckoutID string
	// OrderID is set on commit.
	OrderID *string
	// Reason is set on release.
	Reason *string
	// HoldTTLMillis overrides the inventory group's hold TTL on reserve;
	// nil uses the group's --hold-ttl.
	HoldTTLMillis *int64
	EventTime     time.Time
}

// Reservation result statuses (ReservationResult.Status).
const (
	ResultReserved  = "reserved"
	ResultRejected  = "rejected"
	ResultReleased  = "released"
	ResultCommitted = "committed"
)

// ReservationResult is the inventory group's answer to a ReservationCommand
// (schemas/avro/reservation_result.avsc), keyed by cart ID on
// cartstream.reservation-results.
type ReservationResult struct {
	CommandID  string
	RequestID  string
	Op         ReservationOp
	SKU        string
	Qty        int32
	CartID     string
	CheckoutID string
	// Status is one of ResultReserved, ResultRejected, ResultReleased,
	// ResultCommitted.
	Status string
	// Reason is a DESIGN §6 line reason, or nil.
	Reason *string
	// Available is the SKU's available units after the command.
	Available int64
	// ExpiresAt is when a reserved hold expires, in stream time.
	ExpiresAt *time.Time
	EventTime time.Time
}
