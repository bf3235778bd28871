package promo

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// renderSchemas compiles the product and promotion JSON Schemas once per
// test binary: compiling is slow, validating is not.
var renderSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	out := map[string]*jsonschema.Schema{}
	for _, name := range []string{schemas.JSONProduct, schemas.JSONPromotion} {
		sch, err := schemas.CompileJSONSchema(name)
		if err != nil {
			return nil, err
		}
		out[name] = sch
	}
	return out, nil
})

// validateJSON checks doc against the named JSON Schema.
func validateJSON(t testing.TB, name string, doc []byte) {
	t.Helper()
	all, err := renderSchemas()
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("rendered %s is not JSON: %v\n%s", name, err, doc)
	}
	if err := all[name].Validate(v); err != nil {
		t.Fatalf("rendered %s does not validate: %v\n%s", name, err, doc)
	}
}

func ptr[T any](v T) *T { return &v }

func usdAmount(t testing.TB, s string) money.Amount {
	t.Helper()
	a, err := money.Parse(s, usd)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAppendProductJSON(t *testing.T) {
	tests := []struct {
		name string
		p    schemas.Product
		want string
	}{
		{name: "design example",
			p:    schemas.Product{SKU: "SKU-1", Name: "Mug", Category: "coffee", Brand: "Acme", PriceMinor: 1999, Currency: "USD", Active: true},
			want: `{"sku":"SKU-1","name":"Mug","category":"coffee","brand":"Acme","price":"19.99","currency":"USD","active":true}`},
		{name: "zero exponent currency has no fraction",
			p:    schemas.Product{SKU: "A", PriceMinor: 1500, Currency: "JPY"},
			want: `{"sku":"A","name":"","category":"","brand":"","price":"1500","currency":"JPY","active":false}`},
		{name: "three digit exponent pads the fraction",
			p:    schemas.Product{SKU: "B", PriceMinor: 1250, Currency: "BHD", Active: true},
			want: `{"sku":"B","name":"","category":"","brand":"","price":"1.250","currency":"BHD","active":true}`},
		{name: "free item and a price below one unit",
			p:    schemas.Product{SKU: "C", PriceMinor: 5, Currency: "USD", Active: true},
			want: `{"sku":"C","name":"","category":"","brand":"","price":"0.05","currency":"USD","active":true}`},
		{name: "strings are escaped but <>& kept",
			p:    schemas.Product{SKU: "S\"1\\", Name: "Tea <&> \u00e9\n", PriceMinor: 0, Currency: "EUR", Active: true},
			want: `{"sku":"S\"1\\","name":"Tea <&> é\n","category":"","brand":"","price":"0.00","currency":"EUR","active":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendProductJSON([]byte("prefix:"), tt.p)
			if !bytes.HasPrefix(got, []byte("prefix:")) {
				t.Fatalf("dst not kept: %s", got)
			}
			got = got[len("prefix:"):]
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			validateJSON(t, schemas.JSONProduct, got)
			back, err := ParseProduct(got)
			if err != nil {
				t.Fatalf("ParseProduct of the rendering: %v", err)
			}
			if !reflect.DeepEqual(back, tt.p) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v", back, tt.p)
			}
		})
	}
}

func TestAppendProductJSONDropsEventTimeAndSource(t *testing.T) {
	p := schemas.Product{SKU: "A", PriceMinor: 100, Currency: "USD", EventTime: t0, Source: schemas.Source{Topic: "x", Partition: 1, Offset: 2}}
	want := `{"sku":"A","name":"","category":"","brand":"","price":"1.00","currency":"USD","active":false}`
	if got := string(AppendProductJSON(nil, p)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// basePromotion is a complete automatic promotion as ParsePromotion returns
// it; cases change one part of it.
func basePromotion() schemas.Promotion {
	return schemas.Promotion{ID: "P-1", Name: "Ten off", Active: true, Priority: 10, Stacking: schemas.StackingStackable,
		Currency: "USD", Effect: schemas.Effect{Type: schemas.EffectPercentOff, Bps: 1000}}
}

// promotionCases cover every effect type and every optional field, set and
// absent. Each record is canonical: what ParsePromotion would return.
func promotionCases(t testing.TB) []struct {
	name string
	p    schemas.Promotion
} {
	with := func(f func(p *schemas.Promotion)) schemas.Promotion {
		p := basePromotion()
		f(&p)
		return p
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return []struct {
		name string
		p    schemas.Promotion
	}{
		{"percent_off with nothing optional", basePromotion()},
		{"amount_off per cart", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: usdAmount(t, "5.00"), Per: schemas.PerCart}
		})},
		{"amount_off per unit", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: usdAmount(t, "0.50"), Per: schemas.PerUnit}
		})},
		{"fixed_price", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectFixedPrice, Quantity: 3, PriceMinor: usdAmount(t, "25.00")}
		})},
		{"fixed_price for nothing", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectFixedPrice, Quantity: 2}
		})},
		{"buy_x_get_y unlimited", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectBuyXGetY, Buy: 2, Get: 1, Bps: 10000}
		})},
		{"buy_x_get_y capped, half off", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectBuyXGetY, Buy: 1, Get: 1, Bps: 5000, MaxApplications: 3}
		})},
		{"tiered_percent", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectTieredPercent, Tiers: []schemas.Tier{
				{MinSubtotalMinor: usdAmount(t, "50.00"), Bps: 500}, {MinSubtotalMinor: usdAmount(t, "100.00"), Bps: 1000}}}
		})},
		{"tiered_percent with equal floors keeps their order", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectTieredPercent, Tiers: []schemas.Tier{
				{MinSubtotalMinor: 0, Bps: 300}, {MinSubtotalMinor: 0, Bps: 100}}}
		})},
		{"free_shipping", with(func(p *schemas.Promotion) {
			p.Effect = schemas.Effect{Type: schemas.EffectFreeShipping}
		})},
		{"exclusive coupon", with(func(p *schemas.Promotion) {
			p.Stacking = schemas.StackingExclusive
			p.CouponCode = ptr("Save10")
		})},
		{"stop, inactive, negative priority, empty name", with(func(p *schemas.Promotion) {
			p.Stacking, p.Active, p.Priority, p.Name = schemas.StackingStop, false, -2147483648, ""
		})},
		{"valid_from only", with(func(p *schemas.Promotion) { p.ValidFrom = &from })},
		{"valid_until only", with(func(p *schemas.Promotion) { p.ValidUntil = &until })},
		{"both bounds with fractions", with(func(p *schemas.Promotion) {
			p.ValidFrom = ptr(from.Add(123456 * time.Microsecond))
			p.ValidUntil = ptr(until.Add(time.Nanosecond))
		})},
		{"segments", with(func(p *schemas.Promotion) { p.Segments = []string{"vip", "staff"} })},
		{"min_subtotal", with(func(p *schemas.Promotion) { p.Condition.MinSubtotalMinor = ptr(usdAmount(t, "50.00")) })},
		{"min_quantity", with(func(p *schemas.Promotion) { p.Condition.MinQuantity = ptr[int32](15) })},
		{"min_quantity zero is kept", with(func(p *schemas.Promotion) { p.Condition.MinQuantity = ptr[int32](0) })},
		{"requires_skus and requires_categories", with(func(p *schemas.Promotion) {
			p.Condition.RequiresSKUs = []string{"SKU-1", "SKU-2"}
			p.Condition.RequiresCategories = []string{"garden"}
		})},
		{"target skus, categories, brands", with(func(p *schemas.Promotion) {
			p.Target = schemas.Target{SKUs: []string{"SKU-1"}, Categories: []string{"coffee", "tea"}, Brands: []string{"Acme"}}
		})},
		{"max_discount", with(func(p *schemas.Promotion) { p.MaxDiscountMinor = ptr(usdAmount(t, "25.00")) })},
		{"max_discount zero", with(func(p *schemas.Promotion) { p.MaxDiscountMinor = ptr[money.Amount](0) })},
		{"every optional field at once, in JPY", with(func(p *schemas.Promotion) {
			p.Currency = "JPY"
			p.CouponCode = ptr("WINTER")
			p.ValidFrom, p.ValidUntil = &from, &until
			p.Segments = []string{"vip"}
			p.Condition = schemas.Condition{MinSubtotalMinor: ptr[money.Amount](5000), MinQuantity: ptr[int32](2),
				RequiresSKUs: []string{"A"}, RequiresCategories: []string{"c"}}
			p.Target = schemas.Target{SKUs: []string{"A"}, Categories: []string{"c"}, Brands: []string{"b"}}
			p.Effect = schemas.Effect{Type: schemas.EffectTieredPercent, Tiers: []schemas.Tier{{MinSubtotalMinor: 1000, Bps: 500}}}
			p.MaxDiscountMinor = ptr[money.Amount](300)
		})},
		{"strings needing escapes", with(func(p *schemas.Promotion) {
			p.ID, p.Name = "id\"\\\u2028", "<b>&\t</b>"
			p.CouponCode = ptr("ÉTÉ")
			p.Segments = []string{"a\x01b"}
		})},
	}
}

func TestAppendPromotionJSONRoundTrips(t *testing.T) {
	for _, tt := range promotionCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendPromotionJSON(nil, tt.p)
			validateJSON(t, schemas.JSONPromotion, got)
			back, err := ParsePromotion(got)
			if err != nil {
				t.Fatalf("ParsePromotion of the rendering: %v\n%s", err, got)
			}
			if !reflect.DeepEqual(back, tt.p) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v\njson %s", back, tt.p, got)
			}
			if again := AppendPromotionJSON(nil, back); !bytes.Equal(again, got) {
				t.Fatalf("rendering is not stable:\n%s\n%s", got, again)
			}
		})
	}
}

// TestAppendPromotionJSONShape pins the exact bytes: DESIGN §5's field
// order, null where absent, complete condition and target, and each effect
// with only its own parameters.
func TestAppendPromotionJSONShape(t *testing.T) {
	const (
		head = `{"id":"P-1","name":"Ten off","active":true,"priority":10,"stacking":"stackable",`
		auto = head + `"coupon_code":null,"valid_from":null,"valid_until":null,"segments":[],"currency":"USD",` +
			`"condition":{"min_subtotal":null,"min_quantity":null,"requires_skus":[],"requires_categories":[]},` +
			`"target":{"skus":[],"categories":[],"brands":[]},"effect":{"type":"percent_off","bps":1000},"max_discount":null}`
	)
	// withEffect is auto with another effect: only the effect differs.
	withEffect := func(e schemas.Effect, want string) (schemas.Promotion, string) {
		p := basePromotion()
		p.Effect = e
		return p, strings.Replace(auto, `{"type":"percent_off","bps":1000}`, want, 1)
	}
	full := basePromotion()
	full.CouponCode = ptr("SAVE10")
	full.ValidFrom = ptr(time.Date(2026, 11, 1, 0, 0, 0, 500_000_000, time.UTC))
	full.ValidUntil = ptr(time.Date(2026, 12, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)))
	full.Segments = []string{"vip"}
	full.Condition = schemas.Condition{MinSubtotalMinor: ptr[money.Amount](5000), MinQuantity: ptr[int32](2),
		RequiresSKUs: []string{"A"}, RequiresCategories: []string{"c"}}
	full.Target = schemas.Target{SKUs: []string{"A"}, Categories: []string{"c"}, Brands: []string{"b"}}
	full.MaxDiscountMinor = ptr[money.Amount](2500)

	type tc struct {
		name string
		p    schemas.Promotion
		want string
	}
	tests := []tc{
		{"automatic, nothing optional", basePromotion(), auto},
		{"every optional field, times in UTC", full, head +
			`"coupon_code":"SAVE10","valid_from":"2026-11-01T00:00:00.5Z","valid_until":"2026-12-01T00:00:00Z",` +
			`"segments":["vip"],"currency":"USD",` +
			`"condition":{"min_subtotal":"50.00","min_quantity":2,"requires_skus":["A"],"requires_categories":["c"]},` +
			`"target":{"skus":["A"],"categories":["c"],"brands":["b"]},"effect":{"type":"percent_off","bps":1000},"max_discount":"25.00"}`},
	}
	for _, e := range []struct {
		name string
		e    schemas.Effect
		want string
	}{
		{"amount_off per cart", schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: 500, Per: schemas.PerCart},
			`{"type":"amount_off","amount":"5.00","per":"cart"}`},
		{"amount_off per unit", schemas.Effect{Type: schemas.EffectAmountOff, AmountMinor: 100, Per: schemas.PerUnit},
			`{"type":"amount_off","amount":"1.00","per":"unit"}`},
		{"fixed_price", schemas.Effect{Type: schemas.EffectFixedPrice, Quantity: 3, PriceMinor: 2500},
			`{"type":"fixed_price","quantity":3,"price":"25.00"}`},
		{"buy_x_get_y unlimited is null", schemas.Effect{Type: schemas.EffectBuyXGetY, Buy: 2, Get: 1, Bps: 10000},
			`{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000,"max_applications":null}`},
		{"buy_x_get_y capped", schemas.Effect{Type: schemas.EffectBuyXGetY, Buy: 2, Get: 1, Bps: 5000, MaxApplications: 1},
			`{"type":"buy_x_get_y","buy":2,"get":1,"bps":5000,"max_applications":1}`},
		{"tiered_percent", schemas.Effect{Type: schemas.EffectTieredPercent, Tiers: []schemas.Tier{{MinSubtotalMinor: 5000, Bps: 500}, {MinSubtotalMinor: 10000, Bps: 1000}}},
			`{"type":"tiered_percent","tiers":[{"min_subtotal":"50.00","bps":500},{"min_subtotal":"100.00","bps":1000}]}`},
		{"free_shipping", schemas.Effect{Type: schemas.EffectFreeShipping}, `{"type":"free_shipping"}`},
	} {
		p, want := withEffect(e.e, e.want)
		tests = append(tests, tc{"effect " + e.name, p, want})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendPromotionJSON(nil, tt.p))
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			validateJSON(t, schemas.JSONPromotion, []byte(got))
		})
	}
}

// promotionFixtures are promotion lines in the forms people write: short
// (absent fields, {} parts), with offsets, surplus zeros and defaults. The
// first ones are the lines of cmd/cartstream/testdata/evaluate.
var promotionFixtures = []string{
	`{"id":"P-10","name":"10% off coffee","active":true,"priority":30,"stacking":"stackable","coupon_code":"SAVE10","valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{"categories":["coffee"]},"effect":{"type":"percent_off","bps":1000},"max_discount":null}`,
	`{"id":"coupon-spring","name":"SPRING5: $5 off $50","active":true,"priority":60,"stacking":"stackable","coupon_code":"SPRING5","valid_from":"2026-11-01T00:00:00Z","valid_until":"2026-12-01T00:00:00Z","segments":[],"currency":"USD","condition":{"min_subtotal":"50.00"},"target":{},"effect":{"type":"amount_off","amount":"5.00","per":"cart"},"max_discount":null}`,
	`{"id":"tiered-all","name":"Spend $60 save 5%, $100 save 10% (at most $3)","active":true,"priority":50,"stacking":"stackable","coupon_code":null,"valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{},"effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"60.00","bps":500},{"min_subtotal":"100.00","bps":1000}]},"max_discount":"3.00"}`,
	`{"id":"excl-mug","name":"Second mug free, alone","active":true,"priority":95,"stacking":"exclusive","coupon_code":null,"valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{"skus":["MUG-1"]},"effect":{"type":"buy_x_get_y","buy":1,"get":1,"bps":10000,"max_applications":1},"max_discount":null}`,
	`{"id":"fixed-apparel","name":"Any 3 apparel for $30","active":true,"priority":90,"stacking":"stackable","coupon_code":null,"valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{"categories":["apparel"]},"effect":{"type":"fixed_price","quantity":3,"price":"30.00"},"max_discount":null}`,
	`{"id":"ship-free","name":"Free shipping over $75","active":true,"priority":45,"stacking":"stop","coupon_code":null,"valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{"min_subtotal":"75.00","min_quantity":1,"requires_skus":["A"],"requires_categories":["garden"]},"target":{},"effect":{"type":"free_shipping"},"max_discount":null}`,
	// Short forms and defaults: stacking, per and bps left out.
	`{"id":"T","active":true,"currency":"JPY","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"5000","bps":900},{"min_subtotal":"1000","bps":500}]}}`,
	`{"id":"U","currency":"USD","effect":{"type":"amount_off","amount":"1.5"}}`,
	`{"id":"B","currency":"BHD","effect":{"type":"buy_x_get_y","buy":2,"get":1},"max_discount":"1.5000"}`,
	// Offsets, numbers for money, whitespace coupon (none), empty lists.
	`{"id":"O","name":null,"active":null,"priority":-3,"coupon_code":"  ","valid_from":"2026-11-01T01:30:00.250+01:30","valid_until":"2026-12-01T00:00:00-05:00","segments":["vip"],"currency":"EUR","condition":{"min_subtotal":10,"min_quantity":null,"requires_skus":[]},"target":{"skus":[],"brands":["Acme"]},"effect":{"type":"fixed_price","quantity":2,"price":19.9},"max_discount":0}`,
	// Instants RFC 3339 can only write with an offset.
	`{"id":"Y","currency":"USD","valid_from":"0000-01-01T00:00:00+01:00","valid_until":"9999-12-31T23:59:59.999999999-23:59","effect":{"type":"free_shipping"}}`,
}

var productFixtures = []string{
	`{"sku":"SKU-1","name":"Mug","category":"coffee","brand":"Acme","price":"19.99","currency":"USD","active":true}`,
	`{"sku":"A","price":"1500","currency":"JPY","active":true}`,
	`{"sku":"B","name":null,"price":1.25,"currency":"BHD"}`,
	`{"sku":"C","price":"19.990","currency":"USD","active":false,"extra":1}`,
}

// TestParsedFixturesRoundTrip: Parse(fixture) → render → Parse gives the
// same record, the rendering validates, and rendering is a fixed point.
func TestParsedFixturesRoundTrip(t *testing.T) {
	for _, line := range promotionFixtures {
		p, err := ParsePromotion([]byte(line))
		if err != nil {
			t.Fatalf("fixture %s: %v", line, err)
		}
		t.Run("promotion "+p.ID, func(t *testing.T) {
			out := AppendPromotionJSON(nil, p)
			validateJSON(t, schemas.JSONPromotion, out)
			back, err := ParsePromotion(out)
			if err != nil {
				t.Fatalf("ParsePromotion of %s: %v", out, err)
			}
			if !reflect.DeepEqual(back, p) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v\njson %s", back, p, out)
			}
			if again := AppendPromotionJSON(nil, back); !bytes.Equal(again, out) {
				t.Fatalf("rendering is not stable:\n%s\n%s", out, again)
			}
		})
	}
	for _, line := range productFixtures {
		p, err := ParseProduct([]byte(line))
		if err != nil {
			t.Fatalf("fixture %s: %v", line, err)
		}
		t.Run("product "+p.SKU, func(t *testing.T) {
			out := AppendProductJSON(nil, p)
			validateJSON(t, schemas.JSONProduct, out)
			back, err := ParseProduct(out)
			if err != nil {
				t.Fatalf("ParseProduct of %s: %v", out, err)
			}
			if !reflect.DeepEqual(back, p) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v\njson %s", back, p, out)
			}
		})
	}
}

// TestRenderTimesOutsideFourDigitYears: instants ParsePromotion accepts
// through an offset but whose UTC year RFC 3339 cannot write are written at
// the smallest offset that fits, not as an unparseable UTC text.
func TestRenderTimesOutsideFourDigitYears(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59-01:00"},
		{"9999-12-31T23:30:00.5-00:45", "9999-12-31T23:59:00.5-00:16"},
		{"9999-12-31T23:59:59.999999999-23:59", "9999-12-31T23:59:59.999999999-23:59"},
		{"0000-01-01T00:00:00+01:00", "0000-01-01T00:00:00+01:00"},
		{"0000-01-01T00:00:30+00:01", "0000-01-01T00:00:30+00:01"},
		{"0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"},
	}
	for _, tt := range tests {
		line := `{"id":"Y","currency":"USD","valid_from":"` + tt.in + `","effect":{"type":"free_shipping"}}`
		p, err := ParsePromotion([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		out := AppendPromotionJSON(nil, p)
		if !bytes.Contains(out, []byte(`"valid_from":"`+tt.want+`"`)) {
			t.Errorf("%s: want valid_from %s in %s", tt.in, tt.want, out)
		}
		validateJSON(t, schemas.JSONPromotion, out)
		back, err := ParsePromotion(out)
		if err != nil || !back.ValidFrom.Equal(*p.ValidFrom) {
			t.Errorf("%s: parsed back %v, %v; want %v", tt.in, back.ValidFrom, err, p.ValidFrom)
		}
	}
}

// FuzzRenderRoundTrip: whatever ParsePromotion (ParseProduct) accepts
// renders to a line it accepts again, with an equal record, and rendering
// that record gives the same bytes.
func FuzzRenderRoundTrip(f *testing.F) {
	for _, line := range promotionFixtures {
		f.Add([]byte(line))
	}
	for _, line := range productFixtures {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if p, err := ParsePromotion(line); err == nil {
			out := AppendPromotionJSON(nil, p)
			back, err := ParsePromotion(out)
			if err != nil {
				t.Fatalf("ParsePromotion rejects its own rendering: %v\nin  %s\nout %s", err, line, out)
			}
			if !reflect.DeepEqual(back, p) {
				t.Fatalf("round trip changed the record:\ngot  %+v\nwant %+v\nout %s", back, p, out)
			}
			if again := AppendPromotionJSON(nil, back); !bytes.Equal(again, out) {
				t.Fatalf("rendering is not stable:\n%s\n%s", out, again)
			}
		}
		if p, err := ParseProduct(line); err == nil {
			out := AppendProductJSON(nil, p)
			back, err := ParseProduct(out)
			if err != nil {
				t.Fatalf("ParseProduct rejects its own rendering: %v\nin  %s\nout %s", err, line, out)
			}
			if !reflect.DeepEqual(back, p) {
				t.Fatalf("round trip changed the record:\ngot  %+v\nwant %+v\nout %s", back, p, out)
			}
		}
	})
}
