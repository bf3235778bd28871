package carts

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, s string) Event {
	t.Helper()
	e, err := ParseEvent([]byte(s))
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return e
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
		check   func(t *testing.T, e Event)
	}{
		{in: `{"event_id":"e-1","cart_id":"c-9","type":"item_added","sku":"SKU-1","qty":2,"currency":"USD","ts":"2026-11-21T10:00:00Z"}`,
			check: func(t *testing.T, e Event) {
				if e.SKU != "SKU-1" || e.Qty != 2 || e.Currency != "USD" || !e.TS.Equal(t0) || e.Segments != nil {
					t.Errorf("%+v", e)
				}
			}},
		{in: `{"event_id":"e","cart_id":"c","type":"item_removed","sku":"S"}`, check: func(t *testing.T, e Event) {
			if e.Qty != -1 {
				t.Errorf("absent qty = %d, want -1 (all)", e.Qty)
			}
		}},
		{in: `{"event_id":"e","cart_id":"c","type":"quantity_set","sku":"S","qty":0,"segments":[],"extra":{"x":1}}`, check: func(t *testing.T, e Event) {
			if e.Qty != 0 || e.Segments == nil || len(e.Segments) != 0 {
				t.Errorf("%+v: empty segments must replace, unknown fields ignored", e)
			}
		}},
		{in: `{"event_id":"e","cart_id":"c","type":"checkout_completed","checkout_id":"k","order_id":"o"}`},
		{in: `{"event_id":"e","cart_id":"c","type":"cart_cleared","schema_version":1}`},
		{in: `{"event_id":"e","cart_id":"c","type":"item_added","sku":"S","qty":0}`, wantErr: "qty 0"},
		{in: `{"event_id":"e","cart_id":"c","type":"item_added","sku":"S","qty":1.5}`, wantErr: "whole number"},
		{in: `{"event_id":"e","cart_id":"c","type":"item_added","qty":1}`, wantErr: "sku: required"},
		{in: `{"cart_id":"c","type":"cart_cleared"}`, wantErr: "event_id: required"},
		{in: `{"event_id":"e","type":"cart_cleared"}`, wantErr: "cart_id: required"},
		{in: `{"event_id":"e","cart_id":"c","type":"teleport"}`, wantErr: "unknown"},
		{in: `{"event_id":"e","cart_id":"c","type":"cart_cleared","schema_version":2}`, wantErr: "schema_version"},
		{in: `{"event_id":"e","cart_id":"c","type":"cart_cleared","ts":"yesterday"}`, wantErr: "ts"},
		{in: `{"event_id":"e","cart_id":"c","type":"checkout_completed","checkout_id":"k"}`, wantErr: "order_id"},
		{in: `{"event_id":"e","cart_id":"c","type":"coupon_applied"}`, wantErr: "code"},
		{in: `not json`, wantErr: "JSON"},
		{in: `{"event_id":"e","cart_id":"c","type":"cart_cleared"} {}`, wantErr: "trailing"},
		{in: `{"event_id":"e","cart_id":"c","type":"cart_cleared","currency":"US"}`, wantErr: "currency"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			e, err := ParseEvent([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidEvent mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestApplySequence(t *testing.T) {
	events := []string{
		`{"event_id":"1","cart_id":"c","type":"item_added","sku":"B","qty":2,"currency":"USD","customer_id":"u1","segments":["vip"]}`,
		`{"event_id":"2","cart_id":"c","type":"item_added","sku":"A","qty":1}`,
		`{"event_id":"3","cart_id":"c","type":"item_added","sku":"B","qty":3}`,
		`{"event_id":"4","cart_id":"c","type":"item_removed","sku":"B","qty":1}`,
		`{"event_id":"5","cart_id":"c","type":"coupon_applied","code":"Launch"}`,
		`{"event_id":"6","cart_id":"c","type":"coupon_applied","code":"LAUNCH"}`,
		`{"event_id":"7","cart_id":"c","type":"quantity_set","sku":"C","qty":4}`,
		`{"event_id":"8","cart_id":"c","type":"quantity_set","sku":"A","qty":0}`,
		`{"event_id":"9","cart_id":"c","type":"item_added","sku":"D","qty":1,"segments":[]}`,
		`{"event_id":"10","cart_id":"c","type":"item_removed","sku":"D"}`,
	}
	var c *Cart
	for i, s := range events {
		var applied bool
		var err error
		c, applied, err = Apply(c, mustParse(t, s), t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Duration(i)*time.Minute))
		if err != nil || !applied {
			t.Fatalf("event %d: applied %v, %v", i+1, applied, err)
		}
	}
	want := []Line{{"B", 4}, {"C", 4}}
	if !reflect.DeepEqual(c.Lines, want) || c.Version != 10 || c.Currency != "USD" ||
		*c.CustomerID != "u1" || len(c.Segments) != 0 || !reflect.DeepEqual(c.Coupons, []string{"Launch"}) {
		t.Errorf("cart %+v", c)
	}

	// A duplicate changes nothing, not even the version.
	again, applied, err := Apply(c, mustParse(t, events[2]), t0.Add(time.Hour), t0.Add(time.Hour))
	if err != nil || applied || again != c {
		t.Errorf("duplicate applied=%v err=%v", applied, err)
	}
	// Apply never mutates its input.
	before := fmt.Sprintf("%+v", *c)
	_, _, _ = Apply(c, mustParse(t, `{"event_id":"11","cart_id":"c","type":"cart_cleared"}`), t0.Add(time.Hour), t0.Add(time.Hour))
	if fmt.Sprintf("%+v", *c) != before {
		t.Error("Apply mutated its input cart")
	}
}

func TestApplyRejects(t *testing.T) {
	if _, _, err := Apply(nil, mustParse(t, `{"event_id":"1","cart_id":"c","type":"item_added","sku":"A","qty":1}`), t0, t0); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("first event without currency: %v", err)
	}
	c, _, _ := Apply(nil, mustParse(t, `{"event_id":"1","cart_id":"c","type":"item_added","sku":"A","qty":1,"currency":"USD"}`), t0, t0)
	if _, _, err := Apply(c, mustParse(t, `{"event_id":"2","cart_id":"c","type":"item_added","sku":"A","qty":1,"currency":"EUR"}`), t0, t0); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("currency change: %v", err)
	}
}

func TestDedupWindowAndCap(t *testing.T) {
	c, _, _ := Apply(nil, mustParse(t, `{"event_id":"old","cart_id":"c","type":"cart_cleared","currency":"USD"}`), t0, t0)
	// 48 h later (stream time) the old id is still remembered; past it, not.
	c, _, _ = Apply(c, mustParse(t, `{"event_id":"x","cart_id":"c","type":"cart_cleared"}`), t0.Add(DedupWindow), t0.Add(DedupWindow))
	if !c.Seen("old") {
		t.Error("forgot an id exactly at the window")
	}
	c, _, _ = Apply(c, mustParse(t, `{"event_id":"y","cart_id":"c","type":"cart_cleared"}`), t0.Add(DedupWindow+time.Second), t0.Add(DedupWindow+time.Second))
	if c.Seen("old") {
		t.Error("remembered an id past the window")
	}
	for i := range DedupMax + 10 {
		c, _, _ = Apply(c, mustParse(t, fmt.Sprintf(`{"event_id":"n%d","cart_id":"c","type":"cart_cleared"}`, i)), t0.Add(50*time.Hour), t0.Add(50*time.Hour))
	}
	if len(c.Applied) != DedupMax || c.Seen("n0") || !c.Seen(fmt.Sprintf("n%d", DedupMax+9)) {
		t.Errorf("cap: %d ids remembered", len(c.Applied))
	}
}

func TestIdle(t *testing.T) {
	c, _, _ := Apply(nil, mustParse(t, `{"event_id":"1","cart_id":"c","type":"cart_cleared","currency":"USD"}`), t0, t0)
	if c.Idle(t0.Add(DefaultIdleTTL-time.Second), DefaultIdleTTL) || !c.Idle(t0.Add(DefaultIdleTTL), DefaultIdleTTL) {
		t.Error("idle boundary")
	}
}

func TestCartRoundTrip(t *testing.T) {
	c, _, _ := Apply(nil, mustParse(t, `{"event_id":"1","cart_id":"c","type":"item_added","sku":"A","qty":1,"currency":"USD","customer_id":"u"}`), t0, t0)
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeCart(b)
	if err != nil || !reflect.DeepEqual(d, c) {
		t.Errorf("round trip: %+v, %v", d, err)
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"event_id":"e-1","cart_id":"c-9","type":"item_added","sku":"SKU-1","qty":2,"currency":"USD","ts":"2026-11-21T10:00:00Z"}`))
	f.Add([]byte(`{"event_id":"e","cart_id":"c","type":"item_removed","sku":"S"}`))
	f.Add([]byte(`{"event_id":"e","cart_id":"c","type":"checkout_completed","checkout_id":"k","order_id":"o","segments":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEvent(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("error without ErrInvalidEvent: %v", err)
			}
			return
		}
		// A valid event applies to a cart with a currency without panicking.
		e.Currency = "USD"
		if _, _, err := Apply(nil, e, t0, t0); err != nil && !errors.Is(err, ErrInvalidEvent) {
			t.Fatalf("apply: %v", err)
		}
	})
}
