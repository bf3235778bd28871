package normalize

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"cartstream/schemas"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func TestProduct(t *testing.T) {
	tests := []struct {
		name, in  string
		wantPrice int64
		wantErr   string
	}{
		{name: "design example", in: `{"sku":"SKU-1","name":"Mug","category":"kitchen","brand":"Acme","price":"19.99","currency":"USD","active":true}`, wantPrice: 1999},
		{name: "yen has no minor unit", in: `{"sku":"S","price":"1500","currency":"JPY"}`, wantPrice: 1500},
		{name: "dinar has three", in: `{"sku":"S","price":"1.250","currency":"BHD"}`, wantPrice: 1250},
		{name: "trailing zeros are exact", in: `{"sku":"S","price":"10.0000","currency":"USD"}`, wantPrice: 1000},
		{name: "inexact price rejected", in: `{"sku":"S","price":"19.995","currency":"USD"}`, wantErr: "price"},
		{name: "yen with cents rejected", in: `{"sku":"S","price":"15.5","currency":"JPY"}`, wantErr: "price"},
		{name: "negative price", in: `{"sku":"S","price":"-1.00","currency":"USD"}`, wantErr: "negative"},
		{name: "missing sku", in: `{"price":"1.00","currency":"USD"}`, wantErr: "sku: required"},
		{name: "unknown currency", in: `{"sku":"S","price":"1.00","currency":"XYZ"}`, wantErr: "currency"},
		{name: "missing price", in: `{"sku":"S","currency":"USD"}`, wantErr: "price: required"},
		{name: "number price", in: `{"sku":"S","price":19.99,"currency":"USD"}`, wantPrice: 1999},
		{name: "active not bool", in: `{"sku":"S","price":"1","currency":"USD","active":"yes"}`, wantErr: "active"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Product(decode(t, tc.in))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if int64(p.PriceMinor) != tc.wantPrice {
				t.Errorf("price = %d, want %d", p.PriceMinor, tc.wantPrice)
			}
		})
	}
}

func TestPromotionEffects(t *testing.T) {
	base := `"id":"P1","name":"n","active":true,"priority":10,"stacking":"stackable","coupon_code":null,"valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{},"max_discount":null`
	tests := []struct {
		name, effect string
		check        func(t *testing.T, e schemas.Effect)
		wantErr      string
	}{
		{name: "percent_off", effect: `{"type":"percent_off","bps":1000}`, check: func(t *testing.T, e schemas.Effect) {
			if e.Bps != 1000 {
				t.Errorf("bps %d", e.Bps)
			}
		}},
		{name: "amount_off cart", effect: `{"type":"amount_off","amount":"5.00","per":"cart"}`, check: func(t *testing.T, e schemas.Effect) {
			if e.AmountMinor != 500 || e.Per != "cart" {
				t.Errorf("%+v", e)
			}
		}},
		{name: "amount_off unit", effect: `{"type":"amount_off","amount":"1.00","per":"unit"}`, check: func(t *testing.T, e schemas.Effect) {
			if e.AmountMinor != 100 || e.Per != "unit" {
				t.Errorf("%+v", e)
			}
		}},
		{name: "fixed_price", effect: `{"type":"fixed_price","quantity":3,"price":"25.00"}`, check: func(t *testing.T, e schemas.Effect) {
			if e.Quantity != 3 || e.PriceMinor != 2500 {
				t.Errorf("%+v", e)
			}
		}},
		{name: "buy_x_get_y", effect: `{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000,"max_applications":null}`, check: func(t *testing.T, e schemas.Effect) {
			if e.Buy != 2 || e.Get != 1 || e.Bps != 10000 || e.MaxApplications != 0 {
				t.Errorf("%+v", e)
			}
		}},
		{name: "tiered sorted by threshold", effect: `{"type":"tiered_percent","tiers":[{"min_subtotal":"100.00","bps":1000},{"min_subtotal":"50.00","bps":500}]}`, check: func(t *testing.T, e schemas.Effect) {
			if len(e.Tiers) != 2 || e.Tiers[0].MinSubtotalMinor != 5000 || e.Tiers[1].Bps != 1000 {
				t.Errorf("%+v", e.Tiers)
			}
		}},
		{name: "free_shipping", effect: `{"type":"free_shipping"}`},
		{name: "unknown type", effect: `{"type":"bogo"}`, wantErr: "unknown effect"},
		{name: "bps above 100%", effect: `{"type":"percent_off","bps":10001}`, wantErr: "bps"},
		{name: "unknown key", effect: `{"type":"percent_off","bps":10,"pct":5}`, wantErr: "unknown key"},
		{name: "inexact amount", effect: `{"type":"amount_off","amount":"0.001","per":"cart"}`, wantErr: "effect.amount"},
		{name: "zero quantity", effect: `{"type":"fixed_price","quantity":0,"price":"1.00"}`, wantErr: "quantity"},
		{name: "fractional buy", effect: `{"type":"buy_x_get_y","buy":1.5,"get":1}`, wantErr: "buy"},
		{name: "empty tiers", effect: `{"type":"tiered_percent","tiers":[]}`, wantErr: "tiers"},
		{name: "no effect", effect: `null`, wantErr: "effect: required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Promotion(decode(t, `{`+base+`,"effect":`+tc.effect+`}`))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, p.Effect)
			}
		})
	}
}

func TestPromotionFields(t *testing.T) {
	p, err := Promotion(decode(t, `{"id":"P2","name":"Launch","active":true,"priority":5,"stacking":"exclusive",
		"coupon_code":"LAUNCH","valid_from":"2026-11-21T00:00:00+01:00","valid_until":"2026-11-22T00:00:00Z",
		"segments":["vip"],"currency":"USD","condition":{"min_subtotal":"50.00","min_quantity":2,"requires_skus":["A"],"requires_categories":[]},
		"target":{"skus":[],"categories":["shoes"]},"effect":{"type":"percent_off","bps":500},"max_discount":"25.00"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.CouponCode == nil || *p.CouponCode != "LAUNCH" || p.Stacking != "exclusive" || p.Priority != 5 {
		t.Errorf("%+v", p)
	}
	if !p.ValidFrom.Equal(time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC)) || p.ValidFrom.Location() != time.UTC {
		t.Errorf("valid_from %v", p.ValidFrom)
	}
	if *p.Condition.MinSubtotalMinor != 5000 || *p.Condition.MinQuantity != 2 || len(p.Condition.RequiresSKUs) != 1 || p.Condition.RequiresCategories != nil {
		t.Errorf("condition %+v", p.Condition)
	}
	if p.Target.SKUs != nil || len(p.Target.Categories) != 1 {
		t.Errorf("empty lists must mean absent: %+v", p.Target)
	}
	if *p.MaxDiscountMinor != 2500 || len(p.Segments) != 1 {
		t.Errorf("%+v", p)
	}

	bad := []struct{ in, want string }{
		{`{"id":"x","currency":"USD","stacking":"greedy","effect":{"type":"free_shipping"}}`, "stacking"},
		{`{"id":"x","currency":"USD","effect":{"type":"free_shipping"},"valid_from":"2026-01-02T00:00:00Z","valid_until":"2026-01-01T00:00:00Z"}`, "valid_until"},
		{`{"id":"x","currency":"USD","effect":{"type":"free_shipping"},"segments":[1]}`, "segments[0]"},
		{`{"id":"x","currency":"USD","effect":{"type":"free_shipping"},"condition":{"min_total":"1"}}`, "unknown key"},
		{`{"id":"x","currency":"USD","effect":{"type":"free_shipping"},"valid_from":"yesterday"}`, "valid_from"},
	}
	for _, b := range bad {
		if _, err := Promotion(decode(t, b.in)); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err = %v, want mention of %q", b.in, err, b.want)
		}
	}
}

func FuzzPromotion(f *testing.F) {
	f.Add(`{"id":"P","currency":"USD","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"1.00","bps":5}]}}`)
	f.Add(`{"id":"P","currency":"JPY","effect":{"type":"buy_x_get_y","buy":2,"get":1},"condition":{"min_quantity":3}}`)
	f.Add(`{"sku":"S","price":"1.00","currency":"USD"}`)
	f.Fuzz(func(t *testing.T, s string) {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) != nil {
			return
		}
		if _, err := Promotion(m); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error without ErrInvalid: %v", err)
		}
		if _, err := Product(m); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error without ErrInvalid: %v", err)
		}
	})
}
