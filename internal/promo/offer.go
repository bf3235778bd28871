package promo

import (
	"strconv"
	"time"
	"unicode/utf8"

	"cartstream/internal/money"
)

// OfferSchemaVersion is the schema_version of the offers this package writes
// (schemas/json/offer.schema.json).
const OfferSchemaVersion = 1

// Reason says why a promotion did not apply (DESIGN §5 not_applied).
type Reason string

// Reason codes, exactly as DESIGN §5 lists them.
const (
	// ReasonCouponUnknown: no promotion has the cart's coupon code; the
	// entry's promotion_id is null.
	ReasonCouponUnknown Reason = "coupon_unknown"
	// ReasonInactive: a coupon's promotion is not active.
	ReasonInactive Reason = "inactive"
	// ReasonNotStarted: event time is before the promotion's valid_from.
	ReasonNotStarted Reason = "not_started"
	// ReasonExpired: event time is at or after the promotion's valid_until.
	ReasonExpired Reason = "expired"
	// ReasonCurrencyMismatch: the promotion is in another currency.
	ReasonCurrencyMismatch Reason = "currency_mismatch"
	// ReasonSegmentMismatch: the customer is in none of its segments.
	ReasonSegmentMismatch Reason = "segment_mismatch"
	// ReasonMinSubtotalNotMet: the cart subtotal is below min_subtotal, or
	// a tiered_percent reached no tier.
	ReasonMinSubtotalNotMet Reason = "min_subtotal_not_met"
	// ReasonMinQuantityNotMet: the cart has fewer units than min_quantity,
	// or too few targeted units for one fixed_price group or one
	// buy_x_get_y application.
	ReasonMinQuantityNotMet Reason = "min_quantity_not_met"
	// ReasonRequiredItemsMissing: a requires_skus or requires_categories
	// item is not among the cart's available lines.
	ReasonRequiredItemsMissing Reason = "required_items_missing"
	// ReasonNoTargetLines: the promotion qualifies but computes nothing: no
	// available line is targeted, the targeted lines are already at zero,
	// or the effect gives nothing on them.
	ReasonNoTargetLines Reason = "no_target_lines"
	// ReasonExcludedByExclusive: it would have applied, but an exclusive
	// promotion won.
	ReasonExcludedByExclusive Reason = "excluded_by_exclusive"
	// ReasonStoppedByPriority: a stop promotion earlier in the order applied.
	ReasonStoppedByPriority Reason = "stopped_by_priority"
)

// HintKind is the kind of a hint.
type HintKind string

// Hint kinds.
const (
	// HintSpendMore: spend Amount more (a missed min_subtotal, or the next
	// tier of a tiered_percent).
	HintSpendMore HintKind = "spend_more"
	// HintAddQuantity: add Qty more units (a missed min_quantity, or a
	// buy_x_get_y one unit short of its next application).
	HintAddQuantity HintKind = "add_quantity"
)

// MaxNotApplied caps Offer.NotApplied (DESIGN §5), after sorting.
const MaxNotApplied = 20

// Offer is an evaluated offer (DESIGN §5, schemas/json/offer.schema.json).
// Money is in minor units of Currency. MarshalJSON writes every field in the
// design's order, null where absent.
type Offer struct {
	SchemaVersion int
	CartID        string
	// CartVersion counts the cart events applied; nil (null) when the
	// offer does not answer a cart event (cartstream evaluate). The engine
	// leaves it nil: the caller sets it.
	CartVersion *int64
	// EventTime is the time the promotions' validity was judged at; it is
	// written in UTC, RFC 3339 with as many fraction digits as needed.
	EventTime time.Time
	Currency  money.Currency
	// Lines are by SKU ascending.
	Lines         []Line
	Subtotal      money.Amount
	DiscountTotal money.Amount
	Total         money.Amount
	FreeShipping  bool
	// Applied is in application order.
	Applied []Applied
	// NotApplied is coupons in cart order first, then priority descending,
	// id ascending; at most MaxNotApplied entries.
	NotApplied []NotApplied
	// Hints are in promotion order (priority descending, id ascending).
	Hints []Hint
	// Source is the cart event the offer answers; nil (null) for
	// cartstream evaluate. The engine leaves it nil: the caller sets it.
	Source *Source

	// allocs backs every line's Allocations, for EvaluateInto to reuse.
	allocs []Allocation
}

// Line is one line of an offer.
type Line struct {
	SKU string
	Qty int64
	// UnitPrice is the list price; written as null when !Available.
	UnitPrice money.Amount
	// Subtotal is Qty×UnitPrice; Discount the sum of Allocations; Total
	// Subtotal−Discount, never negative. All zero when !Available.
	Subtotal money.Amount
	Discount money.Amount
	Total    money.Amount
	// Available is false for an unknown or inactive product, or one priced
	// in another currency: such a line is excluded from totals and
	// conditions and never targeted.
	Available bool
	// Allocations are the promotions' shares of Discount, in application
	// order; promotions that took nothing from this line are not listed.
	Allocations []Allocation
}

// Allocation is one promotion's discount on one line.
type Allocation struct {
	PromotionID string
	Amount      money.Amount
}

// Applied is a promotion that applied: its discount is Amount (zero for
// free shipping alone).
type Applied struct {
	PromotionID string
	Name        string
	Amount      money.Amount
	// CouponCode is the cart's spelling of the coupon that unlocked it; ""
	// (null) for an automatic promotion.
	CouponCode string
}

// NotApplied is a promotion (or an unknown coupon) that did not apply.
type NotApplied struct {
	// PromotionID is "" (null) for an unknown coupon.
	PromotionID string
	// CouponCode is the cart's spelling of the coupon; "" (null) for an
	// automatic promotion.
	CouponCode string
	Reason     Reason
	// Detail explains the reason for people (not for parsing); "" is null.
	Detail string
}

// Hint tells the customer how to get (more of) a promotion.
type Hint struct {
	PromotionID string
	Kind        HintKind
	// Amount is the amount still missing, for HintSpendMore (else null).
	Amount money.Amount
	// Qty is the units still missing, for HintAddQuantity (else null).
	Qty int64
}

// MarshalJSON writes the offer as DESIGN §5 lists it, byte-identical for
// identical offers. It does not escape <, > and &; json.Marshal(offer)
// re-escapes them as \u003c etc. (equivalent JSON, other bytes), so call
// MarshalJSON or AppendJSON where bytes matter.
func (o Offer) MarshalJSON() ([]byte, error) {
	return o.AppendJSON(make([]byte, 0, 512+256*len(o.Lines))), nil
}

// AppendJSON appends the JSON of MarshalJSON to dst.
func (o *Offer) AppendJSON(dst []byte) []byte {
	c := o.Currency
	b := append(dst, `{"schema_version":`...)
	b = strconv.AppendInt(b, int64(o.SchemaVersion), 10)
	b = append(b, `,"cart_id":`...)
	b = appendString(b, o.CartID)
	b = append(b, `,"cart_version":`...)
	if o.CartVersion == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *o.CartVersion, 10)
	}
	b = append(b, `,"event_time":"`...)
	b = o.EventTime.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","currency":`...)
	b = appendString(b, c.Code)
	b = append(b, `,"lines":[`...)
	for i := range o.Lines {
		l := &o.Lines[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sku":`...)
		b = appendString(b, l.SKU)
		b = append(b, `,"qty":`...)
		b = strconv.AppendInt(b, l.Qty, 10)
		b = append(b, `,"unit_price":`...)
		if l.Available {
			b = appendMoney(b, l.UnitPrice, c)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"subtotal":`...)
		b = appendMoney(b, l.Subtotal, c)
		b = append(b, `,"discount":`...)
		b = appendMoney(b, l.Discount, c)
		b = append(b, `,"total":`...)
		b = appendMoney(b, l.Total, c)
		b = append(b, `,"available":`...)
		b = strconv.AppendBool(b, l.Available)
		b = append(b, `,"allocations":[`...)
		for j, a := range l.Allocations {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"promotion_id":`...)
			b = appendString(b, a.PromotionID)
			b = append(b, `,"amount":`...)
			b = appendMoney(b, a.Amount, c)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"subtotal":`...)
	b = appendMoney(b, o.Subtotal, c)
	b = append(b, `,"discount_total":`...)
	b = appendMoney(b, o.DiscountTotal, c)
	b = append(b, `,"total":`...)
	b = appendMoney(b, o.Total, c)
	b = append(b, `,"free_shipping":`...)
	b = strconv.AppendBool(b, o.FreeShipping)
	b = append(b, `,"applied":[`...)
	for i, a := range o.Applied {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"promotion_id":`...)
		b = appendString(b, a.PromotionID)
		b = append(b, `,"name":`...)
		b = appendString(b, a.Name)
		b = append(b, `,"amount":`...)
		b = appendMoney(b, a.Amount, c)
		b = append(b, `,"coupon_code":`...)
		b = appendNullableString(b, a.CouponCode)
		b = append(b, '}')
	}
	b = append(b, `],"not_applied":[`...)
	for i, n := range o.NotApplied {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"promotion_id":`...)
		b = appendNullableString(b, n.PromotionID)
		b = append(b, `,"coupon_code":`...)
		b = appendNullableString(b, n.CouponCode)
		b = append(b, `,"reason":`...)
		b = appendString(b, string(n.Reason))
		b = append(b, `,"detail":`...)
		b = appendNullableString(b, n.Detail)
		b = append(b, '}')
	}
	b = append(b, `],"hints":[`...)
	for i, h := range o.Hints {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"promotion_id":`...)
		b = appendString(b, h.PromotionID)
		b = append(b, `,"kind":`...)
		b = appendString(b, string(h.Kind))
		b = append(b, `,"amount":`...)
		if h.Kind == HintSpendMore {
			b = appendMoney(b, h.Amount, c)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"qty":`...)
		if h.Kind == HintAddQuantity {
			b = strconv.AppendInt(b, h.Qty, 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, '}')
	}
	b = append(b, `],"source":`...)
	if o.Source == nil {
		b = append(b, "null"...)
	} else {
		s := o.Source
		b = append(b, `{"topic":`...)
		b = appendString(b, s.Topic)
		b = append(b, `,"partition":`...)
		b = strconv.AppendInt(b, int64(s.Partition), 10)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, s.Offset, 10)
		b = append(b, `,"event_id":`...)
		b = appendString(b, s.EventID)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendMoney(b []byte, a money.Amount, c money.Currency) []byte {
	b = append(b, '"')
	b = a.AppendFormat(b, c)
	return append(b, '"')
}

func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Like encoding/json it escapes
// control characters, U+2028 and U+2029 and replaces invalid UTF-8 with
// U+FFFD; unlike its default it leaves <, > and & alone.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
