package promo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"cartstream/internal/normalize"
)

// FuzzEvaluateInput feeds arbitrary bytes through the inputs of
// `cartstream evaluate` — the cart JSON, product and promotion JSON lines —
// and evaluates what parses: parsing never panics, every error wraps its
// sentinel, and every offer keeps the invariants and is valid JSON.
func FuzzEvaluateInput(f *testing.F) {
	f.Add([]byte(`{"cart_id":"c-9","currency":"USD","customer_id":"u","segments":["vip"],"coupons":["Save10","NOPE"],"lines":[{"sku":"SKU-1","qty":2},{"sku":"SKU-9","qty":1}]}`),
		[]byte(`{"sku":"SKU-1","name":"Mug","category":"coffee","brand":"Acme","price":"19.99","currency":"USD","active":true}`+"\n"),
		[]byte(`{"id":"P-10","name":"10%","active":true,"priority":1,"stacking":"stackable","coupon_code":"SAVE10","valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{"categories":["coffee"]},"effect":{"type":"percent_off","bps":1000},"max_discount":null}`+"\n"+
			`{"id":"P-30","active":true,"priority":0,"stacking":"exclusive","currency":"USD","condition":{"min_quantity":1},"target":{},"effect":{"type":"buy_x_get_y","buy":1,"get":1,"bps":5000,"max_applications":1},"max_discount":"1.00"}`),
		int64(0))
	f.Add([]byte(`{"cart_id":"c","currency":"JPY","lines":[{"sku":"A","qty":3}]}`),
		[]byte(`{"sku":"A","price":"1500","currency":"JPY","active":true}`),
		[]byte(`{"id":"T","active":true,"currency":"JPY","stacking":"stop","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"1000","bps":500},{"min_subtotal":"5000","bps":900}]}}`+"\n"+
			`{"id":"F","active":true,"currency":"JPY","effect":{"type":"fixed_price","quantity":2,"price":"2000"}}`+"\n"+
			`{"id":"U","active":true,"currency":"JPY","effect":{"type":"amount_off","amount":"100","per":"unit"}}`),
		int64(3600))
	f.Add([]byte(`{"cart_id":"c","currency":"USD","lines":[{"sku":"A","qty":9223372036854775807}]}`), []byte(`{]`), []byte("\n\n{}"), int64(-1))
	f.Fuzz(func(t *testing.T, cartJSON, products, promotions []byte, offset int64) {
		c, err := ParseCart(cartJSON)
		if err != nil {
			if !errors.Is(err, ErrInvalidCart) {
				t.Fatalf("ParseCart error %v does not wrap ErrInvalidCart", err)
			}
			return
		}
		cat := MapCatalog{}
		for _, line := range bytes.Split(products, []byte("\n")) {
			p, err := ParseProduct(line)
			if err != nil {
				if !errors.Is(err, normalize.ErrInvalid) {
					t.Fatalf("ParseProduct error %v does not wrap normalize.ErrInvalid", err)
				}
				continue
			}
			cat[p.SKU] = p
		}
		idx := &Index{}
		for _, line := range bytes.Split(promotions, []byte("\n")) {
			p, err := ParsePromotion(line)
			if err != nil {
				if !errors.Is(err, normalize.ErrInvalid) {
					t.Fatalf("ParsePromotion error %v does not wrap normalize.ErrInvalid", err)
				}
				continue
			}
			idx.Upsert(p)
		}
		o, err := Evaluate(cat, idx, c, t0.Add(time.Duration(offset)*time.Second), Options{})
		if err != nil {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("Evaluate of a parsed cart: %v", err)
			}
			return
		}
		checkInvariants(t, o)
		b, _ := o.MarshalJSON()
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
	})
}

func TestParseCart(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "full", in: `{"cart_id":"c-9","currency":"USD","customer_id":"u-1","segments":["vip"],"coupons":["Save10"],"lines":[{"sku":"SKU-1","qty":2}],"cart_version":7}`,
			want: `{c-9 USD u-1 [vip] [Save10] [{SKU-1 2}]}`},
		{name: "minimal", in: `{"cart_id":"c","currency":"JPY"}`, want: `{c JPY  [] [] []}`},
		{name: "nulls", in: `{"cart_id":"c","currency":"USD","customer_id":null,"segments":null,"coupons":null,"lines":null}`, want: `{c USD  [] [] []}`},
		{name: "no cart_id", in: `{"currency":"USD"}`, wantErr: "cart_id: required"},
		{name: "empty cart_id", in: `{"cart_id":" ","currency":"USD"}`, wantErr: "cart_id: empty"},
		{name: "bad currency", in: `{"cart_id":"c","currency":"usd"}`, wantErr: "currency"},
		{name: "segments not a list", in: `{"cart_id":"c","currency":"USD","segments":"vip"}`, wantErr: "segments: want a list of strings, got a string"},
		{name: "coupon not a string", in: `{"cart_id":"c","currency":"USD","coupons":[1]}`, wantErr: "coupons[0]: want a string, got a number"},
		{name: "line not an object", in: `{"cart_id":"c","currency":"USD","lines":["A"]}`, wantErr: "lines[0]: want an object, got a string"},
		{name: "line without sku", in: `{"cart_id":"c","currency":"USD","lines":[{"qty":1}]}`, wantErr: "lines[0].sku: required"},
		{name: "zero qty", in: `{"cart_id":"c","currency":"USD","lines":[{"sku":"A","qty":1},{"sku":"B","qty":0}]}`, wantErr: "lines[1].qty: want a whole number in [1, 2147483647], got 0"},
		{name: "fractional qty", in: `{"cart_id":"c","currency":"USD","lines":[{"sku":"A","qty":1.5}]}`, wantErr: "lines[0].qty: want a whole number"},
		{name: "qty as string", in: `{"cart_id":"c","currency":"USD","lines":[{"sku":"A","qty":"1"}]}`, wantErr: "lines[0].qty: want a whole number, got a string"},
		{name: "not an object", in: `[]`, wantErr: "want a JSON object, got a list"},
		{name: "syntax", in: `{"cart_id":`, wantErr: "invalid JSON"},
		{name: "trailing data", in: `{"cart_id":"c","currency":"USD"} {}`, wantErr: "unexpected data after the object"},
		{name: "empty", in: ``, wantErr: "empty input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCart([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidCart) || !bytes.Contains([]byte(err.Error()), []byte(tc.wantErr)) {
					t.Fatalf("err = %v, want ErrInvalidCart with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(c); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParsePromotionErrorsReadPlainly(t *testing.T) {
	_, err := ParsePromotion([]byte(`{"id":"P","active":true,"currency":"USD","effect":{"type":"bogo"}}`))
	if err == nil || err.Error() != `effect.type: unknown effect "bogo"` || !errors.Is(err, normalize.ErrInvalid) {
		t.Errorf("err = %v", err)
	}
	_, err = ParseProduct([]byte(`{"sku":"A","price":"1.001","currency":"USD"}`))
	if err == nil || !errors.Is(err, normalize.ErrInvalid) || bytes.Contains([]byte(err.Error()), []byte("invalid record")) {
		t.Errorf("err = %v", err)
	}
	_, err = ParseProduct([]byte(`{"sku":"A"`))
	var syn *json.SyntaxError
	if err == nil || !errors.As(err, &syn) {
		t.Errorf("err = %v, want a *json.SyntaxError inside", err)
	}
}
