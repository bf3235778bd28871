// Package normalize turns loosely typed field maps into cartstream's
// normalized catalog records (DESIGN §5): products and promotions with money
// as exact minor units of their currency, effects, conditions and targets
// checked for shape and range.
//
// The same rules serve every way a record enters: CDC rows (processors/cdc
// converts a Debezium row into a field map), the JSON lines `cartstream
// evaluate` reads, and the HTTP API's extra promotions. Every error wraps
// ErrInvalid and names the field. The package does no I/O and never reads a
// clock.
package normalize

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// ErrInvalid is wrapped by every error of this package: the input is not a
// valid normalized record. Callers dead-letter such records as "validation".
var ErrInvalid = errors.New("invalid record")

// Decimal is an exact decimal value as the decoder hands it over.
type Decimal interface {
	// String renders the exact decimal text, e.g. "19.99".
	String() string
}

func fieldErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// Product validates a normalized product's fields (sku, name, category,
// brand, price, currency, active). price may be a decimal string, a
// json.Number, or a Decimal; it must convert exactly to the currency's minor
// units. Absent or null name, category and brand are empty; active defaults
// to false when null.
func Product(f map[string]any) (schemas.Product, error) {
	var p schemas.Product
	var err error
	if p.SKU, err = requiredString(f, "sku"); err != nil {
		return p, err
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{{"name", &p.Name}, {"category", &p.Category}, {"brand", &p.Brand}} {
		if *s.dst, err = optionalString(f, s.name); err != nil {
			return p, err
		}
	}
	cur, err := currency(f, "currency")
	if err != nil {
		return p, err
	}
	p.Currency = cur.Code
	price, err := amount(f, "price", cur, true)
	if err != nil {
		return p, err
	}
	if *price < 0 {
		return p, fieldErr("price", "negative price %s", price.Format(cur))
	}
	p.PriceMinor = *price
	if p.Active, err = optionalBool(f, "active"); err != nil {
		return p, err
	}
	return p, nil
}

// Promotion validates a normalized promotion's fields. condition, target and
// effect are JSON objects (map[string]any as encoding/json decodes them, with
// numbers as json.Number or float64); money inside them is in the
// promotion's currency.
func Promotion(f map[string]any) (schemas.Promotion, error) {
	var p schemas.Promotion
	var err error
	if p.ID, err = requiredString(f, "id"); err != nil {
		return p, err
	}
	if p.Name, err = optionalString(f, "name"); err != nil {
		return p, err
	}
	if p.Active, err = optionalBool(f, "active"); err != nil {
		return p, err
	}
	prio, err := integer(f, "priority", false, math.MinInt32, math.MaxInt32)
	if err != nil {
		return p, err
	}
	p.Priority = int32(prio)
	stacking, err := optionalString(f, "stacking")
	if err != nil {
		return p, err
	}
	switch stacking {
	case schemas.StackingStackable, schemas.StackingExclusive, schemas.StackingStop:
		p.Stacking = stacking
	case "":
		p.Stacking = schemas.StackingStackable
	default:
		return p, fieldErr("stacking", "%q: want stackable, exclusive or stop", stacking)
	}
	if code, ok := f["coupon_code"]; ok && code != nil {
		s, ok := code.(string)
		if !ok {
			return p, fieldErr("coupon_code", "want a string or null, got %T", code)
		}
		if strings.TrimSpace(s) != "" {
			p.CouponCode = &s
		}
	}
	if p.ValidFrom, err = optionalTime(f, "valid_from"); err != nil {
		return p, err
	}
	if p.ValidUntil, err = optionalTime(f, "valid_until"); err != nil {
		return p, err
	}
	if p.ValidFrom != nil && p.ValidUntil != nil && !p.ValidFrom.Before(*p.ValidUntil) {
		return p, fieldErr("valid_until", "%s is not after valid_from %s", p.ValidUntil.Format(time.RFC3339), p.ValidFrom.Format(time.RFC3339))
	}
	if p.Segments, err = stringList(f, "segments"); err != nil {
		return p, err
	}
	cur, err := currency(f, "currency")
	if err != nil {
		return p, err
	}
	p.Currency = cur.Code
	if p.Condition, err = condition(f["condition"], cur); err != nil {
		return p, err
	}
	if p.Target, err = target(f["target"]); err != nil {
		return p, err
	}
	if p.Effect, err = effect(f["effect"], cur); err != nil {
		return p, err
	}
	if p.MaxDiscountMinor, err = amount(f, "max_discount", cur, false); err != nil {
		return p, err
	}
	if p.MaxDiscountMinor != nil && *p.MaxDiscountMinor < 0 {
		return p, fieldErr("max_discount", "negative")
	}
	return p, nil
}

func object(v any, field string) (map[string]any, error) {
	switch o := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return o, nil
	default:
		return nil, fieldErr(field, "want a JSON object, got %T", v)
	}
}

func condition(v any, cur money.Currency) (schemas.Condition, error) {
	var c schemas.Condition
	o, err := object(v, "condition")
	if err != nil {
		return c, err
	}
	if err := onlyKeys(o, "condition", "min_subtotal", "min_quantity", "requires_skus", "requires_categories"); err != nil {
		return c, err
	}
	if c.MinSubtotalMinor, err = amount(o, "condition.min_subtotal", cur, false, "min_subtotal"); err != nil {
		return c, err
	}
	if _, ok := o["min_quantity"]; ok && o["min_quantity"] != nil {
		q, err := integer(o, "min_quantity", true, 0, math.MaxInt32)
		if err != nil {
			return c, err
		}
		q32 := int32(q)
		c.MinQuantity = &q32
	}
	if c.RequiresSKUs, err = stringList(o, "requires_skus"); err != nil {
		return c, err
	}
	if c.RequiresCategories, err = stringList(o, "requires_categories"); err != nil {
		return c, err
	}
	return c, nil
}

func target(v any) (schemas.Target, error) {
	var t schemas.Target
	o, err := object(v, "target")
	if err != nil {
		return t, err
	}
	if err := onlyKeys(o, "target", "skus", "categories", "brands"); err != nil {
		return t, err
	}
	if t.SKUs, err = stringList(o, "skus"); err != nil {
		return t, err
	}
	if t.Categories, err = stringList(o, "categories"); err != nil {
		return t, err
	}
	if t.Brands, err = stringList(o, "brands"); err != nil {
		return t, err
	}
	return t, nil
}

// bpsMax is 100 % in basis points.
const bpsMax = 10000

func effect(v any, cur money.Currency) (schemas.Effect, error) {
	var e schemas.Effect
	if v == nil {
		return e, fieldErr("effect", "required")
	}
	o, err := object(v, "effect")
	if err != nil {
		return e, err
	}
	if e.Type, err = requiredString(o, "type"); err != nil {
		return e, fmt.Errorf("effect: %w", err)
	}
	bps := func() error {
		b, err := integer(o, "bps", true, 0, bpsMax)
		e.Bps = int32(b)
		return err
	}
	positive := func(name string, dst *int32) error {
		n, err := integer(o, name, true, 1, math.MaxInt32)
		*dst = int32(n)
		return err
	}
	switch e.Type {
	case schemas.EffectPercentOff:
		if err := onlyKeys(o, "effect", "type", "bps"); err != nil {
			return e, err
		}
		return e, bps()
	case schemas.EffectAmountOff:
		if err := onlyKeys(o, "effect", "type", "amount", "per"); err != nil {
			return e, err
		}
		a, err := amount(o, "effect.amount", cur, true, "amount")
		if err != nil {
			return e, err
		}
		if *a <= 0 {
			return e, fieldErr("effect.amount", "must be positive")
		}
		e.AmountMinor = *a
		per, err := optionalString(o, "per")
		if err != nil {
			return e, err
		}
		switch per {
		case schemas.PerCart, schemas.PerUnit:
			e.Per = per
		case "":
			e.Per = schemas.PerCart
		default:
			return e, fieldErr("effect.per", "%q: want cart or unit", per)
		}
		return e, nil
	case schemas.EffectFixedPrice:
		if err := onlyKeys(o, "effect", "type", "quantity", "price"); err != nil {
			return e, err
		}
		if err := positive("quantity", &e.Quantity); err != nil {
			return e, err
		}
		p, err := amount(o, "effect.price", cur, true, "price")
		if err != nil {
			return e, err
		}
		if *p < 0 {
			return e, fieldErr("effect.price", "negative")
		}
		e.PriceMinor = *p
		return e, nil
	case schemas.EffectBuyXGetY:
		if err := onlyKeys(o, "effect", "type", "buy", "get", "bps", "max_applications"); err != nil {
			return e, err
		}
		if err := positive("buy", &e.Buy); err != nil {
			return e, err
		}
		if err := positive("get", &e.Get); err != nil {
			return e, err
		}
		if _, ok := o["bps"]; ok {
			if err := bps(); err != nil {
				return e, err
			}
		} else {
			e.Bps = bpsMax // "get" means free unless said otherwise
		}
		if o["max_applications"] != nil {
			m, err := integer(o, "max_applications", true, 0, math.MaxInt32)
			if err != nil {
				return e, err
			}
			e.MaxApplications = int32(m)
		}
		return e, nil
	case schemas.EffectTieredPercent:
		if err := onlyKeys(o, "effect", "type", "tiers"); err != nil {
			return e, err
		}
		list, ok := o["tiers"].([]any)
		if !ok || len(list) == 0 {
			return e, fieldErr("effect.tiers", "want a non-empty list")
		}
		for i, item := range list {
			to, ok := item.(map[string]any)
			if !ok {
				return e, fieldErr(fmt.Sprintf("effect.tiers[%d]", i), "want an object")
			}
			floor, err := amount(to, fmt.Sprintf("effect.tiers[%d].min_subtotal", i), cur, true, "min_subtotal")
			if err != nil {
				return e, err
			}
			b, err := integer(to, "bps", true, 0, bpsMax)
			if err != nil {
				return e, fmt.Errorf("effect.tiers[%d]: %w", i, err)
			}
			e.Tiers = append(e.Tiers, schemas.Tier{MinSubtotalMinor: *floor, Bps: int32(b)})
		}
		sort.SliceStable(e.Tiers, func(i, j int) bool { return e.Tiers[i].MinSubtotalMinor < e.Tiers[j].MinSubtotalMinor })
		return e, nil
	case schemas.EffectFreeShipping:
		return e, onlyKeys(o, "effect", "type")
	default:
		return e, fieldErr("effect.type", "unknown effect %q", e.Type)
	}
}

func onlyKeys(o map[string]any, field string, allowed ...string) error {
	for k := range o {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return fieldErr(field, "unknown key %q", k)
		}
	}
	return nil
}

func requiredString(f map[string]any, name string) (string, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return "", fieldErr(name, "required")
	}
	s, ok := v.(string)
	if !ok {
		return "", fieldErr(name, "want a string, got %T", v)
	}
	if strings.TrimSpace(s) == "" {
		return "", fieldErr(name, "empty")
	}
	return s, nil
}

func optionalString(f map[string]any, name string) (string, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fieldErr(name, "want a string, got %T", v)
	}
	return s, nil
}

func optionalBool(f map[string]any, name string) (bool, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fieldErr(name, "want a boolean, got %T", v)
	}
	return b, nil
}

func stringList(f map[string]any, name string) ([]string, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return nil, nil
	}
	var items []any
	switch l := v.(type) {
	case []any:
		items = l
	case []string:
		return append([]string(nil), l...), nil
	default:
		return nil, fieldErr(name, "want a list of strings, got %T", v)
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", name, i), "want a string, got %T", it)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func currency(f map[string]any, name string) (money.Currency, error) {
	s, err := requiredString(f, name)
	if err != nil {
		return money.Currency{}, err
	}
	c, err := money.Lookup(strings.TrimSpace(s))
	if err != nil {
		return c, fieldErr(name, "%v", err)
	}
	return c, nil
}

// integer reads a whole number within [lo, hi]; required says whether an
// absent value is an error (else it is 0).
func integer(f map[string]any, name string, required bool, lo, hi int64) (int64, error) {
	v, ok := f[name]
	if !ok || v == nil {
		if required {
			return 0, fieldErr(name, "required")
		}
		return 0, nil
	}
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case json.Number:
		i, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			return 0, fieldErr(name, "want a whole number, got %s", x)
		}
		n = i
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, fieldErr(name, "want a whole number, got %v", x)
		}
		n = int64(x)
	default:
		return 0, fieldErr(name, "want a number, got %T", v)
	}
	if n < lo || n > hi {
		return 0, fieldErr(name, "%d out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}

// amount reads money: a decimal string, json.Number, Decimal or whole
// number, exactly in cur's minor units. key is the map key when it differs
// from the field name used in messages. nil means absent and not required.
func amount(f map[string]any, field string, cur money.Currency, required bool, key ...string) (*money.Amount, error) {
	k := field
	if len(key) > 0 {
		k = key[0]
	}
	v, ok := f[k]
	if !ok || v == nil {
		if required {
			return nil, fieldErr(field, "required")
		}
		return nil, nil
	}
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = string(x)
	case Decimal:
		text = x.String()
	case int64:
		text = strconv.FormatInt(x, 10)
	case float64:
		// JSON decoded without UseNumber: accept only values whose
		// shortest text is exact.
		text = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return nil, fieldErr(field, "want a decimal string, got %T", v)
	}
	a, err := money.Parse(text, cur)
	if err != nil {
		return nil, fieldErr(field, "%q in %s: %v", text, cur.Code, err)
	}
	return &a, nil
}

func optionalTime(f map[string]any, name string) (*time.Time, error) {
	v, ok := f[name]
	if !ok || v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case time.Time:
		t := x.UTC()
		return &t, nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return nil, fieldErr(name, "want RFC 3339, got %q", x)
		}
		t = t.UTC()
		return &t, nil
	default:
		return nil, fieldErr(name, "want a timestamp, got %T", v)
	}
}
