package promo

import (
	"strconv"
	"time"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// This file writes catalog records back as DESIGN §5's normalized JSON: the
// inverse of ParseProduct and ParsePromotion, for GET /v1/products/{sku} and
// GET /v1/promotions/{id}. What must stay true: for every record those
// parsers return, parsing the rendered JSON gives the same record
// (FuzzRenderRoundTrip), and the output validates against
// schemas/json/product.schema.json and promotion.schema.json whenever the
// record's values are within what the schemas allow.

// AppendProductJSON appends the normalized JSON of p to dst, every field in
// DESIGN §5's order:
//
//	{"sku":"SKU-1","name":"Mug","category":"coffee","brand":"Acme","price":"19.99","currency":"USD","active":true}
//
// price is a decimal string with exactly the currency's ISO 4217 exponent of
// fraction digits (JPY "1500", BHD "1.250"). EventTime and Source are not
// part of the normalized JSON and are not written. A currency money.Lookup
// does not know (never so for a record ParseProduct or the CDC processor
// made) writes the price in minor units. Like Offer.AppendJSON it leaves <,
// > and & unescaped.
func AppendProductJSON(dst []byte, p schemas.Product) []byte {
	cur := currencyOf(p.Currency)
	b := append(dst, `{"sku":`...)
	b = appendString(b, p.SKU)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"category":`...)
	b = appendString(b, p.Category)
	b = append(b, `,"brand":`...)
	b = appendString(b, p.Brand)
	b = append(b, `,"price":`...)
	b = appendMoney(b, p.PriceMinor, cur)
	b = append(b, `,"currency":`...)
	b = appendString(b, p.Currency)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, p.Active)
	return append(b, '}')
}

// AppendPromotionJSON appends the normalized JSON of p to dst: every field of
// DESIGN §5 present, in its order, null or empty where absent.
//
//   - coupon_code, valid_from, valid_until and max_discount are null when
//     nil; segments is [] when empty.
//   - Money is a decimal string with the currency's ISO 4217 exponent of
//     fraction digits, as in AppendProductJSON.
//   - Times are RFC 3339 in UTC with as many fraction digits as needed. The
//     one exception: a time whose UTC year falls outside 0000–9999, which
//     RFC 3339 cannot write in UTC (ParsePromotion accepts one through an
//     offset, e.g. "9999-12-31T23:30:00-01:00"), is written with the
//     smallest whole-minute offset that brings it into range, so it still
//     parses back to the same instant.
//   - condition is complete: {"min_subtotal","min_quantity",
//     "requires_skus","requires_categories"}, null or [] where absent;
//     target likewise {"skus","categories","brands"}.
//   - effect is {"type":…} with only that type's parameters, all of them:
//     amount_off writes per, buy_x_get_y writes bps and max_applications
//     (null for 0, unlimited). An effect type this package does not know is
//     written as {"type":…} alone.
//
// EventTime and Source are not written. Like Offer.AppendJSON it leaves <, >
// and & unescaped.
func AppendPromotionJSON(dst []byte, p schemas.Promotion) []byte {
	cur := currencyOf(p.Currency)
	b := append(dst, `{"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, p.Active)
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, int64(p.Priority), 10)
	b = append(b, `,"stacking":`...)
	b = appendString(b, p.Stacking)
	b = append(b, `,"coupon_code":`...)
	if p.CouponCode == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *p.CouponCode)
	}
	b = append(b, `,"valid_from":`...)
	b = appendTime(b, p.ValidFrom)
	b = append(b, `,"valid_until":`...)
	b = appendTime(b, p.ValidUntil)
	b = append(b, `,"segments":`...)
	b = appendStrings(b, p.Segments)
	b = append(b, `,"currency":`...)
	b = appendString(b, p.Currency)

	c := &p.Condition
	b = append(b, `,"condition":{"min_subtotal":`...)
	b = appendMoneyPtr(b, c.MinSubtotalMinor, cur)
	b = append(b, `,"min_quantity":`...)
	if c.MinQuantity == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*c.MinQuantity), 10)
	}
	b = append(b, `,"requires_skus":`...)
	b = appendStrings(b, c.RequiresSKUs)
	b = append(b, `,"requires_categories":`...)
	b = appendStrings(b, c.RequiresCategories)

	t := &p.Target
	b = append(b, `},"target":{"skus":`...)
	b = appendStrings(b, t.SKUs)
	b = append(b, `,"categories":`...)
	b = appendStrings(b, t.Categories)
	b = append(b, `,"brands":`...)
	b = appendStrings(b, t.Brands)

	b = append(b, `},"effect":`...)
	b = appendEffect(b, &p.Effect, cur)
	b = append(b, `,"max_discount":`...)
	b = appendMoneyPtr(b, p.MaxDiscountMinor, cur)
	return append(b, '}')
}

// appendEffect writes e as {"type":…} with exactly the parameters of its
// type (schemas.Effect lists them).
func appendEffect(b []byte, e *schemas.Effect, cur money.Currency) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, e.Type)
	switch e.Type {
	case schemas.EffectPercentOff:
		b = appendIntField(b, "bps", e.Bps)
	case schemas.EffectAmountOff:
		b = append(b, `,"amount":`...)
		b = appendMoney(b, e.AmountMinor, cur)
		b = append(b, `,"per":`...)
		b = appendString(b, e.Per)
	case schemas.EffectFixedPrice:
		b = appendIntField(b, "quantity", e.Quantity)
		b = append(b, `,"price":`...)
		b = appendMoney(b, e.PriceMinor, cur)
	case schemas.EffectBuyXGetY:
		b = appendIntField(b, "buy", e.Buy)
		b = appendIntField(b, "get", e.Get)
		b = appendIntField(b, "bps", e.Bps)
		if e.MaxApplications == 0 {
			b = append(b, `,"max_applications":null`...)
		} else {
			b = appendIntField(b, "max_applications", e.MaxApplications)
		}
	case schemas.EffectTieredPercent:
		b = append(b, `,"tiers":[`...)
		for i, t := range e.Tiers {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"min_subtotal":`...)
			b = appendMoney(b, t.MinSubtotalMinor, cur)
			b = appendIntField(b, "bps", t.Bps)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendIntField appends `,"name":n`.
func appendIntField(b []byte, name string, n int32) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, int64(n), 10)
}

func appendMoneyPtr(b []byte, a *money.Amount, cur money.Currency) []byte {
	if a == nil {
		return append(b, "null"...)
	}
	return appendMoney(b, *a, cur)
}

// appendStrings appends l as a JSON list; nil is [].
func appendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// RFC 3339 writes four-digit years: the UTC instants it can write.
var (
	rfc3339First = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	rfc3339End   = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxOffset is the largest UTC offset RFC 3339 writes (±23:59).
const maxOffset = 23*time.Hour + 59*time.Minute

// appendTime appends t as a JSON string in RFC 3339, UTC, or null when nil.
// An instant whose UTC year has five digits or is negative is written at
// the smallest whole-minute offset that gives it a four-digit year; one
// beyond ±23:59 of the range cannot be written in RFC 3339 and is written
// in UTC anyway.
func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	u := t.UTC()
	var off time.Duration // Sub saturates, so far-off instants stay out
	if d := u.Sub(rfc3339End); d >= 0 && d < maxOffset {
		off = -(d/time.Minute + 1) * time.Minute
	} else if d := rfc3339First.Sub(u); d > 0 && d <= maxOffset {
		off = (d + time.Minute - 1) / time.Minute * time.Minute
	}
	if off != 0 {
		u = u.In(time.FixedZone("", int(off/time.Second)))
	}
	b = append(b, '"')
	b = u.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// currencyOf looks up code for formatting money; an unknown code formats
// minor units (exponent 0) rather than fail a read of a stored record.
func currencyOf(code string) money.Currency {
	c, err := money.Lookup(code)
	if err != nil {
		return money.Currency{Code: code}
	}
	return c
}
