package promo

import (
	"fmt"
	"testing"
	"time"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// testProducts is the catalog of the table tests (USD, active):
//
//	A 10.00 shoes Acme     H 12.00 acc   K 5.00 bags   E 0.35 misc
//	B  5.00 shoes Brio     I 10.00 acc   L 4.00 books  F 0.25 misc
//	C  2.50 books Acme     J  8.00 acc                 G 0.05 misc
//	D  1.00 books Brio
//
// plus OFF (inactive), EUR (priced in EUR), and X1/X2/X3 at 1.00 for tie
// tests.
func testProducts(t testing.TB) MapCatalog {
	m := catalog(t,
		"A 10.00 shoes Acme", "B 5.00 shoes Brio", "C 2.50 books Acme", "D 1.00 books Brio",
		"H 12.00 acc", "I 10.00 acc", "J 8.00 acc", "K 5.00 bags", "L 4.00 books",
		"E 0.35 misc", "F 0.25 misc", "G 0.05 misc",
		"X1 1.00 tie", "X2 1.00 tie", "X3 1.00 tie",
		"OFF 3.00 shoes Acme")
	off := m["OFF"]
	off.Active = false
	m["OFF"] = off
	m["EUR"] = schemas.Product{SKU: "EUR", Category: "shoes", PriceMinor: 300, Currency: "EUR", Active: true}
	return m
}

type evalCase struct {
	name     string
	promos   []string
	lines    []string
	coupons  []string
	segments []string
	at       time.Time // zero: t0
	rounding money.Rounding
	want     string
}

func runCases(t *testing.T, cases []evalCase) {
	t.Helper()
	cat := testProducts(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx := NewIndex(promos(t, tc.promos...)...)
			c := cart(tc.lines...)
			c.Coupons = tc.coupons
			c.Segments = tc.segments
			at := tc.at
			if at.IsZero() {
				at = t0
			}
			o, err := Evaluate(cat, idx, c, at, Options{Rounding: tc.rounding})
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, o)
			if got, want := summary(o), dedent(tc.want); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestEffects(t *testing.T) {
	runCases(t, []evalCase{
		{
			name:   "percent_off: bps of each targeted line",
			promos: []string{`{"id":"P1","target":{"categories":["shoes"]},"effect":{"type":"percent_off","bps":1000}}`},
			lines:  []string{"A:2", "B:1", "C:1"},
			want: `
				subtotal 27.50 discount 2.50 total 25.00
				line A 2x10.00=20.00 -2.00 =18.00 P1:2.00
				line B 1x5.00=5.00 -0.50 =4.50 P1:0.50
				line C 1x2.50=2.50 -0.00 =2.50
				applied P1 2.50`,
		},
		{
			name:   "percent_off: 100% takes the whole line",
			promos: []string{`{"id":"P1","target":{"skus":["C"]},"effect":{"type":"percent_off","bps":10000}}`},
			lines:  []string{"C:3", "D:1"},
			want: `
				subtotal 8.50 discount 7.50 total 1.00
				line C 3x2.50=7.50 -7.50 =0.00 P1:7.50
				line D 1x1.00=1.00 -0.00 =1.00
				applied P1 7.50`,
		},
		{
			name:   "target by brand matches across categories",
			promos: []string{`{"id":"P1","target":{"brands":["Acme"]},"effect":{"type":"percent_off","bps":2000}}`},
			lines:  []string{"A:1", "B:1", "C:2"},
			want: `
				subtotal 20.00 discount 3.00 total 17.00
				line A 1x10.00=10.00 -2.00 =8.00 P1:2.00
				line B 1x5.00=5.00 -0.00 =5.00
				line C 2x2.50=5.00 -1.00 =4.00 P1:1.00
				applied P1 3.00`,
		},
		{
			name:   "target lists are alternatives; empty lists mean every line",
			promos: []string{`{"id":"P1","target":{"skus":["D"],"categories":["shoes"],"brands":[]},"effect":{"type":"percent_off","bps":5000}}`, `{"id":"P2","priority":-1,"target":{"skus":[],"categories":[]},"effect":{"type":"amount_off","amount":"0.10","per":"unit"}}`},
			lines:  []string{"B:1", "C:1", "D:1"},
			want: `
				subtotal 8.50 discount 3.30 total 5.20
				line B 1x5.00=5.00 -2.60 =2.40 P1:2.50 P2:0.10
				line C 1x2.50=2.50 -0.10 =2.40 P2:0.10
				line D 1x1.00=1.00 -0.60 =0.40 P1:0.50 P2:0.10
				applied P1 3.00
				applied P2 0.30`,
		},
		{
			// 500 over weights 1000:500 → 333 r500, 166 r1000 → B gets the odd cent.
			name:   "amount_off per cart: spread by current amounts, largest remainder",
			promos: []string{`{"id":"P1","target":{"categories":["shoes"]},"effect":{"type":"amount_off","amount":"5.00","per":"cart"}}`},
			lines:  []string{"A:1", "B:1", "D:1"},
			want: `
				subtotal 16.00 discount 5.00 total 11.00
				line A 1x10.00=10.00 -3.33 =6.67 P1:3.33
				line B 1x5.00=5.00 -1.67 =3.33 P1:1.67
				line D 1x1.00=1.00 -0.00 =1.00
				applied P1 5.00`,
		},
		{
			name:   "amount_off per cart: equal remainders go to the sku that sorts first",
			promos: []string{`{"id":"P1","target":{"categories":["tie"]},"effect":{"type":"amount_off","amount":"0.05","per":"cart"}}`},
			lines:  []string{"X3:1", "X2:1", "X1:1"},
			want: `
				subtotal 3.00 discount 0.05 total 2.95
				line X1 1x1.00=1.00 -0.02 =0.98 P1:0.02
				line X2 1x1.00=1.00 -0.02 =0.98 P1:0.02
				line X3 1x1.00=1.00 -0.01 =0.99 P1:0.01
				applied P1 0.05`,
		},
		{
			name:   "amount_off per cart: never more than the targeted lines",
			promos: []string{`{"id":"P1","target":{"skus":["A"]},"effect":{"type":"amount_off","amount":"50.00","per":"cart"}}`},
			lines:  []string{"A:1", "B:1"},
			want: `
				subtotal 15.00 discount 10.00 total 5.00
				line A 1x10.00=10.00 -10.00 =0.00 P1:10.00
				line B 1x5.00=5.00 -0.00 =5.00
				applied P1 10.00`,
		},
		{
			name: "amount_off per cart: never more than what is left after earlier promotions",
			promos: []string{
				`{"id":"P1","priority":2,"effect":{"type":"percent_off","bps":8000}}`,
				`{"id":"P2","priority":1,"effect":{"type":"amount_off","amount":"5.00","per":"cart"}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 10.00 total 0.00
				line A 1x10.00=10.00 -10.00 =0.00 P1:8.00 P2:2.00
				applied P1 8.00
				applied P2 2.00`,
		},
		{
			name:   "amount_off per unit: off each unit, capped at the line",
			promos: []string{`{"id":"P1","target":{"categories":["books"]},"effect":{"type":"amount_off","amount":"1.50","per":"unit"}}`},
			lines:  []string{"C:3", "D:2", "A:1"},
			want: `
				subtotal 19.50 discount 6.50 total 13.00
				line A 1x10.00=10.00 -0.00 =10.00
				line C 3x2.50=7.50 -4.50 =3.00 P1:4.50
				line D 2x1.00=2.00 -2.00 =0.00 P1:2.00
				applied P1 6.50`,
		},
		{
			name: "amount_off per unit: capped at what earlier promotions left",
			promos: []string{
				`{"id":"P1","priority":2,"effect":{"type":"percent_off","bps":5000}}`,
				`{"id":"P2","priority":1,"effect":{"type":"amount_off","amount":"2.00","per":"unit"}}`,
			},
			lines: []string{"C:2"},
			want: `
				subtotal 5.00 discount 5.00 total 0.00
				line C 2x2.50=5.00 -5.00 =0.00 P1:2.50 P2:2.50
				applied P1 2.50
				applied P2 2.50`,
		},
		{
			// Units H H I I J J J: groups [H H I] 34.00 → 9.00 (H 6.35, I 2.65)
			// and [I J J] 26.00 → 1.00 (I 0.38, J 0.62); the last J pays full.
			name:   "fixed_price: consecutive groups across lines, spread by list prices",
			promos: []string{`{"id":"P1","target":{"categories":["acc"]},"effect":{"type":"fixed_price","quantity":3,"price":"25.00"}}`},
			lines:  []string{"J:3", "I:2", "H:2"},
			want: `
				subtotal 68.00 discount 10.00 total 58.00
				line H 2x12.00=24.00 -6.35 =17.65 P1:6.35
				line I 2x10.00=20.00 -3.03 =16.97 P1:3.03
				line J 3x8.00=24.00 -0.62 =23.38 P1:0.62
				applied P1 10.00`,
		},
		{
			name:   "fixed_price: whole groups inside one line, leftover at full price",
			promos: []string{`{"id":"P1","target":{"skus":["K"]},"effect":{"type":"fixed_price","quantity":2,"price":"8.00"}}`},
			lines:  []string{"K:7"},
			want: `
				subtotal 35.00 discount 6.00 total 29.00
				line K 7x5.00=35.00 -6.00 =29.00 P1:6.00
				applied P1 6.00`,
		},
		{
			name:    "fixed_price: a group costing less than the price gives nothing",
			promos:  []string{`{"id":"P1","coupon_code":"TWO","target":{"skus":["K"]},"effect":{"type":"fixed_price","quantity":2,"price":"12.00"}}`},
			lines:   []string{"K:2"},
			coupons: []string{"two"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00
				line K 2x5.00=10.00 -0.00 =10.00
				not_applied P1 no_target_lines coupon=two`,
		},
		{
			name: "fixed_price: capped at what is left of each line",
			promos: []string{
				`{"id":"P1","priority":2,"target":{"skus":["H"]},"effect":{"type":"percent_off","bps":9000}}`,
				`{"id":"P2","priority":1,"target":{"categories":["acc"]},"effect":{"type":"fixed_price","quantity":2,"price":"2.00"}}`,
			},
			lines: []string{"H:1", "J:1"},
			// group H+J 20.00 → 18.00 spread 12:8 → H 10.80, J 7.20; H has 1.20 left.
			want: `
				subtotal 20.00 discount 19.20 total 0.80
				line H 1x12.00=12.00 -12.00 =0.00 P1:10.80 P2:1.20
				line J 1x8.00=8.00 -7.20 =0.80 P2:7.20
				applied P1 10.80
				applied P2 8.40`,
		},
		{
			// Units L L L C C D: buy L L get D, buy L C get C.
			name:   "buy_x_get_y: buy from the most expensive, get the cheapest",
			promos: []string{`{"id":"P1","target":{"categories":["books"]},"effect":{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000,"max_applications":null}}`},
			lines:  []string{"C:2", "D:1", "L:3"},
			want: `
				subtotal 18.00 discount 3.50 total 14.50
				line C 2x2.50=5.00 -2.50 =2.50 P1:2.50
				line D 1x1.00=1.00 -1.00 =0.00 P1:1.00
				line L 3x4.00=12.00 -0.00 =12.00
				applied P1 3.50`,
		},
		{
			name:   "buy_x_get_y: max_applications",
			promos: []string{`{"id":"P1","target":{"categories":["books"]},"effect":{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000,"max_applications":1}}`},
			lines:  []string{"C:2", "D:1", "L:3"},
			want: `
				subtotal 18.00 discount 1.00 total 17.00
				line C 2x2.50=5.00 -0.00 =5.00
				line D 1x1.00=1.00 -1.00 =0.00 P1:1.00
				line L 3x4.00=12.00 -0.00 =12.00
				applied P1 1.00`,
		},
		{
			name:   "buy_x_get_y: max_applications 0 is unlimited; one unit short of the next gives a hint",
			promos: []string{`{"id":"P1","target":{"skus":["K"]},"effect":{"type":"buy_x_get_y","buy":1,"get":1,"bps":10000,"max_applications":0}}`},
			lines:  []string{"K:5"},
			want: `
				subtotal 25.00 discount 10.00 total 15.00
				line K 5x5.00=25.00 -10.00 =15.00 P1:10.00
				applied P1 10.00
				hint P1 add_quantity 1`,
		},
		{
			name:   "buy_x_get_y: no hint once max_applications is reached",
			promos: []string{`{"id":"P1","target":{"skus":["K"]},"effect":{"type":"buy_x_get_y","buy":1,"get":1,"bps":10000,"max_applications":2}}`},
			lines:  []string{"K:5"},
			want: `
				subtotal 25.00 discount 10.00 total 15.00
				line K 5x5.00=25.00 -10.00 =15.00 P1:10.00
				applied P1 10.00`,
		},
		{
			name: "buy_x_get_y: too few units — an automatic one only hints, a coupon is listed",
			promos: []string{
				`{"id":"P1","target":{"skus":["K"]},"effect":{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000}}`,
				`{"id":"P2","coupon_code":"B2G1","target":{"skus":["K"]},"effect":{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000}}`,
				`{"id":"P3","coupon_code":"B3G1","target":{"skus":["K"]},"effect":{"type":"buy_x_get_y","buy":3,"get":1,"bps":10000}}`,
			},
			lines:   []string{"K:2"},
			coupons: []string{"B3G1", "B2G1"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00
				line K 2x5.00=10.00 -0.00 =10.00
				not_applied P3 min_quantity_not_met coupon=B3G1
				not_applied P2 min_quantity_not_met coupon=B2G1
				hint P1 add_quantity 1
				hint P2 add_quantity 1`,
		},
		{
			name:   "tiered_percent: highest tier reached, next-tier hint",
			promos: []string{`{"id":"P1","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"100.00","bps":1000},{"min_subtotal":"50.00","bps":500},{"min_subtotal":"200.00","bps":1500}]}}`},
			lines:  []string{"A:6"},
			want: `
				subtotal 60.00 discount 3.00 total 57.00
				line A 6x10.00=60.00 -3.00 =57.00 P1:3.00
				applied P1 3.00
				hint P1 spend_more 40.00`,
		},
		{
			name:   "tiered_percent: top tier, no hint",
			promos: []string{`{"id":"P1","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"50.00","bps":500},{"min_subtotal":"100.00","bps":1000},{"min_subtotal":"200.00","bps":1500}]}}`},
			lines:  []string{"A:25"},
			want: `
				subtotal 250.00 discount 37.50 total 212.50
				line A 25x10.00=250.00 -37.50 =212.50 P1:37.50
				applied P1 37.50`,
		},
		{
			name:   "tiered_percent: threshold reached exactly",
			promos: []string{`{"id":"P1","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"50.00","bps":500},{"min_subtotal":"100.00","bps":1000}]}}`},
			lines:  []string{"A:10"},
			want: `
				subtotal 100.00 discount 10.00 total 90.00
				line A 10x10.00=100.00 -10.00 =90.00 P1:10.00
				applied P1 10.00`,
		},
		{
			name: "tiered_percent: no tier reached — automatic hints only, coupon listed",
			promos: []string{
				`{"id":"P1","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"50.00","bps":500}]}}`,
				`{"id":"P2","coupon_code":"TIER","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"45.00","bps":500}]}}`,
			},
			lines:   []string{"A:4"},
			coupons: []string{"TIER"},
			want: `
				subtotal 40.00 discount 0.00 total 40.00
				line A 4x10.00=40.00 -0.00 =40.00
				not_applied P2 min_subtotal_not_met coupon=TIER
				hint P1 spend_more 10.00
				hint P2 spend_more 5.00`,
		},
		{
			name: "tiered_percent: tier judged on the undiscounted targeted subtotal, bps on the amount left",
			promos: []string{
				`{"id":"P1","priority":2,"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"P2","priority":1,"target":{"skus":["A"]},"effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"60.00","bps":500}]}}`,
			},
			lines: []string{"A:6", "B:1"},
			want: `
				subtotal 65.00 discount 9.20 total 55.80
				line A 6x10.00=60.00 -8.70 =51.30 P1:6.00 P2:2.70
				line B 1x5.00=5.00 -0.50 =4.50 P1:0.50
				applied P1 6.50
				applied P2 2.70`,
		},
		{
			name:   "free_shipping: applies with a zero amount",
			promos: []string{`{"id":"P1","condition":{"min_subtotal":"20.00"},"effect":{"type":"free_shipping"}}`},
			lines:  []string{"A:2"},
			want: `
				subtotal 20.00 discount 0.00 total 20.00 free_shipping
				line A 2x10.00=20.00 -0.00 =20.00
				applied P1 0.00`,
		},
		{
			name:    "free_shipping: a coupon targeting no cart line does not apply",
			promos:  []string{`{"id":"P1","coupon_code":"SHIP","target":{"categories":["books"]},"effect":{"type":"free_shipping"}}`},
			lines:   []string{"A:2"},
			coupons: []string{"SHIP"},
			want: `
				subtotal 20.00 discount 0.00 total 20.00
				line A 2x10.00=20.00 -0.00 =20.00
				not_applied P1 no_target_lines coupon=SHIP`,
		},
		{
			// 875 uncapped (500, 250, 125) → 500: 285 r625, 142 r750, 71 r375,
			// two cents left go to B then A.
			name:   "max_discount: the cap is re-spread in proportion to the uncapped shares",
			promos: []string{`{"id":"P1","max_discount":"5.00","effect":{"type":"percent_off","bps":5000}}`},
			lines:  []string{"A:1", "B:1", "C:1"},
			want: `
				subtotal 17.50 discount 5.00 total 12.50
				line A 1x10.00=10.00 -2.86 =7.14 P1:2.86
				line B 1x5.00=5.00 -1.43 =3.57 P1:1.43
				line C 1x2.50=2.50 -0.71 =1.79 P1:0.71
				applied P1 5.00`,
		},
		{
			name:   "max_discount above the discount changes nothing",
			promos: []string{`{"id":"P1","max_discount":"50.00","effect":{"type":"percent_off","bps":5000}}`},
			lines:  []string{"A:1"},
			want: `
				subtotal 10.00 discount 5.00 total 5.00
				line A 1x10.00=10.00 -5.00 =5.00 P1:5.00
				applied P1 5.00`,
		},
	})
}

func TestRounding(t *testing.T) {
	// E 0.35 × 10% = 3.5 cents, F 0.25 × 10% = 2.5 cents, G 5 × 0.05 = 0.25
	// × 10% = 2.5 cents (rounded once per line, not per unit).
	percent := `{"id":"P1","target":{"categories":["misc"]},"effect":{"type":"percent_off","bps":1000}}`
	// buy 1 get 1 at 50%: the free E is 17.5 cents off, the free F 12.5.
	bogoHalf := `{"id":"P1","target":{"categories":["misc"]},"effect":{"type":"buy_x_get_y","buy":1,"get":1,"bps":5000}}`
	tiered := `{"id":"P1","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"0.10","bps":1000}]}}`
	runCases(t, []evalCase{
		{name: "percent half_even", promos: []string{percent}, lines: []string{"E:1", "F:1", "G:5"}, rounding: money.HalfEven, want: `
			subtotal 0.85 discount 0.08 total 0.77
			line E 1x0.35=0.35 -0.04 =0.31 P1:0.04
			line F 1x0.25=0.25 -0.02 =0.23 P1:0.02
			line G 5x0.05=0.25 -0.02 =0.23 P1:0.02
			applied P1 0.08`},
		{name: "percent half_up", promos: []string{percent}, lines: []string{"E:1", "F:1", "G:5"}, rounding: money.HalfUp, want: `
			subtotal 0.85 discount 0.10 total 0.75
			line E 1x0.35=0.35 -0.04 =0.31 P1:0.04
			line F 1x0.25=0.25 -0.03 =0.22 P1:0.03
			line G 5x0.05=0.25 -0.03 =0.22 P1:0.03
			applied P1 0.10`},
		{name: "percent half_down", promos: []string{percent}, lines: []string{"E:1", "F:1", "G:5"}, rounding: money.HalfDown, want: `
			subtotal 0.85 discount 0.07 total 0.78
			line E 1x0.35=0.35 -0.03 =0.32 P1:0.03
			line F 1x0.25=0.25 -0.02 =0.23 P1:0.02
			line G 5x0.05=0.25 -0.02 =0.23 P1:0.02
			applied P1 0.07`},
		{name: "buy_x_get_y bps half_even", promos: []string{bogoHalf}, lines: []string{"E:2"}, want: `
			subtotal 0.70 discount 0.18 total 0.52
			line E 2x0.35=0.70 -0.18 =0.52 P1:0.18
			applied P1 0.18`},
		{name: "buy_x_get_y bps half_down", promos: []string{bogoHalf}, lines: []string{"E:2"}, rounding: money.HalfDown, want: `
			subtotal 0.70 discount 0.17 total 0.53
			line E 2x0.35=0.70 -0.17 =0.53 P1:0.17
			applied P1 0.17`},
		{name: "buy_x_get_y bps half_even to even below", promos: []string{bogoHalf}, lines: []string{"F:2"}, want: `
			subtotal 0.50 discount 0.12 total 0.38
			line F 2x0.25=0.50 -0.12 =0.38 P1:0.12
			applied P1 0.12`},
		{name: "buy_x_get_y bps half_up", promos: []string{bogoHalf}, lines: []string{"F:2"}, rounding: money.HalfUp, want: `
			subtotal 0.50 discount 0.13 total 0.37
			line F 2x0.25=0.50 -0.13 =0.37 P1:0.13
			applied P1 0.13`},
		{name: "tiered half_even", promos: []string{tiered}, lines: []string{"F:1"}, want: `
			subtotal 0.25 discount 0.02 total 0.23
			line F 1x0.25=0.25 -0.02 =0.23 P1:0.02
			applied P1 0.02`},
		{name: "tiered half_up", promos: []string{tiered}, lines: []string{"F:1"}, rounding: money.HalfUp, want: `
			subtotal 0.25 discount 0.03 total 0.22
			line F 1x0.25=0.25 -0.03 =0.22 P1:0.03
			applied P1 0.03`},
		{
			name:   "a percentage that rounds to zero gives nothing",
			promos: []string{`{"id":"P1","coupon_code":"TINY","effect":{"type":"percent_off","bps":100}}`},
			lines:  []string{"G:1"}, coupons: []string{"TINY"}, want: `
			subtotal 0.05 discount 0.00 total 0.05
			line G 1x0.05=0.05 -0.00 =0.05
			not_applied P1 no_target_lines coupon=TINY`,
		},
	})
}

func TestStacking(t *testing.T) {
	runCases(t, []evalCase{
		{
			name: "stackables apply in priority order on the amounts left",
			promos: []string{
				`{"id":"P1","priority":2,"effect":{"type":"amount_off","amount":"5.00","per":"cart"}}`,
				`{"id":"P2","priority":1,"effect":{"type":"percent_off","bps":5000}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 7.50 total 2.50
				line A 1x10.00=10.00 -7.50 =2.50 P1:5.00 P2:2.50
				applied P1 5.00
				applied P2 2.50`,
		},
		{
			name: "equal priority: lower id first",
			promos: []string{
				`{"id":"Pb","priority":1,"effect":{"type":"amount_off","amount":"5.00","per":"cart"}}`,
				`{"id":"Pa","priority":1,"effect":{"type":"percent_off","bps":5000}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 10.00 total 0.00
				line A 1x10.00=10.00 -10.00 =0.00 Pa:5.00 Pb:5.00
				applied Pa 5.00
				applied Pb 5.00`,
		},
		{
			name: "the best exclusive alone; the others that would have applied are excluded",
			promos: []string{
				`{"id":"E1","priority":1,"stacking":"exclusive","effect":{"type":"percent_off","bps":2000}}`,
				`{"id":"E2","priority":0,"stacking":"exclusive","effect":{"type":"amount_off","amount":"7.00","per":"cart"}}`,
				`{"id":"S1","priority":5,"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"S2","priority":4,"stacking":"stop","effect":{"type":"amount_off","amount":"5.00","per":"cart"}}`,
				`{"id":"S3","priority":3,"target":{"skus":["A"]},"effect":{"type":"buy_x_get_y","buy":5,"get":1}}`,
			},
			lines: []string{"A:3"},
			want: `
				subtotal 30.00 discount 7.00 total 23.00
				line A 3x10.00=30.00 -7.00 =23.00 E2:7.00
				applied E2 7.00
				not_applied S1 excluded_by_exclusive
				not_applied S2 excluded_by_exclusive
				not_applied E1 excluded_by_exclusive`,
		},
		{
			name: "exclusive tie: higher priority wins",
			promos: []string{
				`{"id":"E1","priority":1,"stacking":"exclusive","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"E2","priority":2,"stacking":"exclusive","effect":{"type":"amount_off","amount":"3.00","per":"cart"}}`,
			},
			lines: []string{"A:3"},
			want: `
				subtotal 30.00 discount 3.00 total 27.00
				line A 3x10.00=30.00 -3.00 =27.00 E2:3.00
				applied E2 3.00
				not_applied E1 excluded_by_exclusive`,
		},
		{
			name: "exclusive tie at equal priority: lower id wins",
			promos: []string{
				`{"id":"E2","stacking":"exclusive","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"E1","stacking":"exclusive","effect":{"type":"amount_off","amount":"3.00","per":"cart"}}`,
			},
			lines: []string{"A:3"},
			want: `
				subtotal 30.00 discount 3.00 total 27.00
				line A 3x10.00=30.00 -3.00 =27.00 E1:3.00
				applied E1 3.00
				not_applied E2 excluded_by_exclusive`,
		},
		{
			name: "exclusives are compared after their own max_discount",
			promos: []string{
				`{"id":"E1","priority":9,"stacking":"exclusive","max_discount":"2.00","effect":{"type":"percent_off","bps":5000}}`,
				`{"id":"E2","stacking":"exclusive","effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"A:3"},
			want: `
				subtotal 30.00 discount 3.00 total 27.00
				line A 3x10.00=30.00 -3.00 =27.00 E2:3.00
				applied E2 3.00
				not_applied E1 excluded_by_exclusive`,
		},
		{
			name: "an exclusive giving only free shipping wins when it is the only one and excludes the rest",
			promos: []string{
				`{"id":"E1","stacking":"exclusive","effect":{"type":"free_shipping"}}`,
				`{"id":"S1","priority":5,"effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00 free_shipping
				line A 1x10.00=10.00 -0.00 =10.00
				applied E1 0.00
				not_applied S1 excluded_by_exclusive`,
		},
		{
			name: "free shipping alone counts as a zero discount",
			promos: []string{
				`{"id":"E1","priority":9,"stacking":"exclusive","effect":{"type":"free_shipping"}}`,
				`{"id":"E2","stacking":"exclusive","effect":{"type":"amount_off","amount":"0.01","per":"cart"}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 0.01 total 9.99
				line A 1x10.00=10.00 -0.01 =9.99 E2:0.01
				applied E2 0.01
				not_applied E1 excluded_by_exclusive`,
		},
		{
			name: "an exclusive that computes nothing does not block the stackables",
			promos: []string{
				`{"id":"E1","priority":9,"stacking":"exclusive","coupon_code":"EX","target":{"skus":["A"]},"effect":{"type":"buy_x_get_y","buy":3,"get":1}}`,
				`{"id":"S1","effect":{"type":"percent_off","bps":1000}}`,
			},
			lines:   []string{"A:1"},
			coupons: []string{"EX"},
			want: `
				subtotal 10.00 discount 1.00 total 9.00
				line A 1x10.00=10.00 -1.00 =9.00 S1:1.00
				applied S1 1.00
				not_applied E1 min_quantity_not_met coupon=EX`,
		},
		{
			name: "an excluded promotion that would compute nothing keeps its own reason",
			promos: []string{
				`{"id":"E1","stacking":"exclusive","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"C1","coupon_code":"B3","target":{"skus":["A"]},"effect":{"type":"buy_x_get_y","buy":3,"get":1}}`,
				`{"id":"C2","coupon_code":"TEN","effect":{"type":"amount_off","amount":"1.00","per":"cart"}}`,
			},
			lines:   []string{"A:1"},
			coupons: []string{"ten", "b3"},
			want: `
				subtotal 10.00 discount 1.00 total 9.00
				line A 1x10.00=10.00 -1.00 =9.00 E1:1.00
				applied E1 1.00
				not_applied C2 excluded_by_exclusive coupon=ten
				not_applied C1 min_quantity_not_met coupon=b3`,
		},
		{
			name: "stop blocks everything after it",
			promos: []string{
				`{"id":"S0","priority":9,"effect":{"type":"amount_off","amount":"1.00","per":"cart"}}`,
				`{"id":"S1","priority":5,"stacking":"stop","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"S2","priority":3,"effect":{"type":"percent_off","bps":500}}`,
				`{"id":"S3","priority":3,"stacking":"stop","effect":{"type":"free_shipping"}}`,
				`{"id":"C1","priority":1,"coupon_code":"LATE","effect":{"type":"percent_off","bps":500}}`,
			},
			lines:   []string{"A:2"},
			coupons: []string{"LATE"},
			want: `
				subtotal 20.00 discount 2.90 total 17.10
				line A 2x10.00=20.00 -2.90 =17.10 S0:1.00 S1:1.90
				applied S0 1.00
				applied S1 1.90
				not_applied C1 stopped_by_priority coupon=LATE
				not_applied S2 stopped_by_priority
				not_applied S3 stopped_by_priority`,
		},
		{
			name: "stop at equal priority blocks the higher id",
			promos: []string{
				`{"id":"Pa","stacking":"stop","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"Pb","effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 1.00 total 9.00
				line A 1x10.00=10.00 -1.00 =9.00 Pa:1.00
				applied Pa 1.00
				not_applied Pb stopped_by_priority`,
		},
		{
			name: "a stop that computes nothing blocks nothing",
			promos: []string{
				`{"id":"S1","priority":5,"stacking":"stop","target":{"skus":["A"]},"effect":{"type":"buy_x_get_y","buy":2,"get":1}}`,
				`{"id":"S2","effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 1.00 total 9.00
				line A 1x10.00=10.00 -1.00 =9.00 S2:1.00
				applied S2 1.00`,
		},
		{
			name: "a stop giving free shipping applied, so it blocks",
			promos: []string{
				`{"id":"S1","priority":5,"stacking":"stop","effect":{"type":"free_shipping"}}`,
				`{"id":"S2","effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00 free_shipping
				line A 1x10.00=10.00 -0.00 =10.00
				applied S1 0.00
				not_applied S2 stopped_by_priority`,
		},
		{
			name: "lines already at zero: no_target_lines",
			promos: []string{
				`{"id":"P1","priority":5,"effect":{"type":"percent_off","bps":10000}}`,
				`{"id":"C1","coupon_code":"MORE","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"P2","effect":{"type":"amount_off","amount":"1.00","per":"cart"}}`,
			},
			lines:   []string{"A:1"},
			coupons: []string{"MORE"},
			want: `
				subtotal 10.00 discount 10.00 total 0.00
				line A 1x10.00=10.00 -10.00 =0.00 P1:10.00
				applied P1 10.00
				not_applied C1 no_target_lines coupon=MORE`,
		},
	})
}

func TestCandidates(t *testing.T) {
	at := t0
	runCases(t, []evalCase{
		{
			name: "coupons: case-insensitive, the cart's spelling in the output, a shared code unlocks all its promotions",
			promos: []string{
				`{"id":"P1","priority":2,"coupon_code":"DEAL","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"P2","priority":1,"coupon_code":"deal","effect":{"type":"amount_off","amount":"1.00","per":"cart"}}`,
			},
			lines:   []string{"A:1"},
			coupons: []string{"DeAl", "dEaL"},
			want: `
				subtotal 10.00 discount 2.00 total 8.00
				line A 1x10.00=10.00 -2.00 =8.00 P1:1.00 P2:1.00
				applied P1 1.00 coupon=DeAl
				applied P2 1.00 coupon=DeAl`,
		},
		{
			name:   "a coupon promotion without its coupon is not a candidate",
			promos: []string{`{"id":"P1","coupon_code":"DEAL","effect":{"type":"percent_off","bps":1000}}`},
			lines:  []string{"A:1"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00
				line A 1x10.00=10.00 -0.00 =10.00`,
		},
		{
			name:    "unknown coupons: promotion_id null, in cart order",
			promos:  []string{`{"id":"P1","coupon_code":"REAL","effect":{"type":"percent_off","bps":1000}}`},
			lines:   []string{"A:1"},
			coupons: []string{"NOPE", "Real", "ALSO-NOPE"},
			want: `
				subtotal 10.00 discount 1.00 total 9.00
				line A 1x10.00=10.00 -1.00 =9.00 P1:1.00
				applied P1 1.00 coupon=Real
				not_applied - coupon_unknown coupon=NOPE
				not_applied - coupon_unknown coupon=ALSO-NOPE`,
		},
		{
			name: "coupons: each first failing check, in cart order then priority",
			promos: []string{
				`{"id":"INACTIVE","active":false,"coupon_code":"C1","currency":"EUR","valid_until":"2026-01-01T00:00:00Z","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"EURO","priority":3,"coupon_code":"C1","currency":"EUR","valid_from":"2027-01-01T00:00:00Z","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"LATER","priority":2,"coupon_code":"C1","valid_from":"2026-11-21T10:00:01Z","segments":["vip"],"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"PAST","priority":1,"coupon_code":"C1","valid_until":"2026-11-21T10:00:00Z","segments":["vip"],"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"VIP","coupon_code":"C2","segments":["vip"],"condition":{"min_subtotal":"99.00"},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"BIG","coupon_code":"C2","condition":{"min_subtotal":"99.00","min_quantity":9,"requires_skus":["Q"]},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"MANY","coupon_code":"C0","condition":{"min_quantity":3,"requires_skus":["Q"]},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"NEEDS","coupon_code":"C0","condition":{"requires_skus":["A"],"requires_categories":["books"]},"effect":{"type":"percent_off","bps":1000}}`,
			},
			lines:    []string{"A:1"},
			coupons:  []string{"c2", "C1", "C0"},
			segments: []string{"VIP"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00
				line A 1x10.00=10.00 -0.00 =10.00
				not_applied BIG min_subtotal_not_met coupon=c2
				not_applied VIP segment_mismatch coupon=c2
				not_applied EURO currency_mismatch coupon=C1
				not_applied LATER not_started coupon=C1
				not_applied PAST expired coupon=C1
				not_applied INACTIVE inactive coupon=C1
				not_applied MANY min_quantity_not_met coupon=C0
				not_applied NEEDS required_items_missing coupon=C0
				hint BIG spend_more 89.00
				hint BIG add_quantity 8
				hint MANY add_quantity 2`,
		},
		{
			name: "automatic promotions: candidate failures are silent, condition failures listed",
			promos: []string{
				`{"id":"INACTIVE","active":false,"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"EURO","currency":"EUR","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"LATER","valid_from":"2026-12-01T00:00:00Z","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"PAST","valid_until":"2026-11-01T00:00:00Z","effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"VIP","segments":["vip"],"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"SUB","priority":3,"condition":{"min_subtotal":"10.01"},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"QTY","priority":2,"condition":{"min_quantity":2},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"REQ","priority":1,"condition":{"requires_categories":["books"]},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"ELSEWHERE","condition":{"min_subtotal":"99.00"},"target":{"skus":["B"]},"effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"A:1"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00
				line A 1x10.00=10.00 -0.00 =10.00
				not_applied SUB min_subtotal_not_met
				not_applied QTY min_quantity_not_met
				not_applied REQ required_items_missing
				hint SUB spend_more 0.01
				hint QTY add_quantity 1`,
		},
		{
			name: "conditions met exactly",
			promos: []string{
				`{"id":"P1","condition":{"min_subtotal":"25.00","min_quantity":3,"requires_skus":["A","B"],"requires_categories":["shoes"]},"target":{"skus":["B"]},"effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"A:2", "B:1"},
			want: `
				subtotal 25.00 discount 0.50 total 24.50
				line A 2x10.00=20.00 -0.00 =20.00
				line B 1x5.00=5.00 -0.50 =4.50 P1:0.50
				applied P1 0.50`,
		},
		{
			name: "segments match exactly",
			promos: []string{
				`{"id":"P1","segments":["vip","staff"],"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"P2","segments":["Vip"],"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"P3","segments":[],"effect":{"type":"amount_off","amount":"0.10","per":"cart"}}`,
			},
			lines:    []string{"A:1"},
			segments: []string{"new", "vip"},
			want: `
				subtotal 10.00 discount 1.10 total 8.90
				line A 1x10.00=10.00 -1.10 =8.90 P1:1.00 P3:0.10
				applied P1 1.00
				applied P3 0.10`,
		},
		{
			name:   "validity: valid_from is inclusive",
			promos: []string{`{"id":"P1","valid_from":"2026-11-21T10:00:00Z","valid_until":"2026-11-21T10:00:00.000001Z","effect":{"type":"percent_off","bps":1000}}`},
			lines:  []string{"A:1"},
			at:     at,
			want: `
				subtotal 10.00 discount 1.00 total 9.00
				line A 1x10.00=10.00 -1.00 =9.00 P1:1.00
				applied P1 1.00`,
		},
		{
			name:    "validity: valid_until is exclusive",
			promos:  []string{`{"id":"P1","coupon_code":"X","valid_from":"2026-11-01T00:00:00Z","valid_until":"2026-11-21T10:00:00Z","effect":{"type":"percent_off","bps":1000}}`},
			lines:   []string{"A:1"},
			coupons: []string{"x"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00
				line A 1x10.00=10.00 -0.00 =10.00
				not_applied P1 expired coupon=x`,
		},
		{
			name:    "validity: one microsecond before valid_from",
			promos:  []string{`{"id":"P1","coupon_code":"X","valid_from":"2026-11-21T10:00:00.000001Z","effect":{"type":"percent_off","bps":1000}}`},
			lines:   []string{"A:1"},
			coupons: []string{"x"},
			want: `
				subtotal 10.00 discount 0.00 total 10.00
				line A 1x10.00=10.00 -0.00 =10.00
				not_applied P1 not_started coupon=x`,
		},
		{
			name: "unavailable lines: no price, no totals, no conditions, never targeted",
			promos: []string{
				`{"id":"P1","effect":{"type":"percent_off","bps":5000}}`,
				`{"id":"P2","condition":{"min_quantity":2},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"P3","condition":{"requires_skus":["OFF"]},"effect":{"type":"percent_off","bps":1000}}`,
				`{"id":"P4","target":{"skus":["EUR","GONE"]},"effect":{"type":"percent_off","bps":1000}}`,
			},
			lines: []string{"GONE:3", "OFF:2", "EUR:4", "B:1"},
			want: `
				subtotal 5.00 discount 2.50 total 2.50
				line B 1x5.00=5.00 -2.50 =2.50 P1:2.50
				line EUR 4 unavailable
				line GONE 3 unavailable
				line OFF 2 unavailable
				applied P1 2.50
				not_applied P2 min_quantity_not_met
				not_applied P3 required_items_missing
				hint P2 add_quantity 1`,
		},
		{
			name:    "a coupon on a cart of unavailable lines targets nothing",
			promos:  []string{`{"id":"P1","coupon_code":"X","effect":{"type":"percent_off","bps":5000}}`, `{"id":"P2","effect":{"type":"percent_off","bps":5000}}`},
			lines:   []string{"GONE:1"},
			coupons: []string{"X"},
			want: `
				subtotal 0.00 discount 0.00 total 0.00
				line GONE 1 unavailable
				not_applied P1 no_target_lines coupon=X`,
		},
		{
			name:  "lines with the same sku are one line",
			lines: []string{"A:1", "B:1", "A:2"},
			want: `
				subtotal 35.00 discount 0.00 total 35.00
				line A 3x10.00=30.00 -0.00 =30.00
				line B 1x5.00=5.00 -0.00 =5.00`,
		},
	})
}

func TestHintsInPromotionOrder(t *testing.T) {
	runCases(t, []evalCase{{
		name: "hints by priority descending then id, each promotion's in condition order",
		promos: []string{
			`{"id":"Z","priority":9,"condition":{"min_quantity":5},"effect":{"type":"percent_off","bps":1000}}`,
			`{"id":"M","priority":1,"effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"1.00","bps":100},{"min_subtotal":"50.00","bps":500}]}}`,
			`{"id":"B","priority":1,"condition":{"min_subtotal":"20.00","min_quantity":2},"effect":{"type":"percent_off","bps":1000}}`,
			`{"id":"Q","priority":5,"coupon_code":"Q","target":{"skus":["A"]},"effect":{"type":"buy_x_get_y","buy":1,"get":1}}`,
		},
		lines:   []string{"A:1"},
		coupons: []string{"Q"},
		want: `
			subtotal 10.00 discount 0.10 total 9.90
			line A 1x10.00=10.00 -0.10 =9.90 M:0.10
			applied M 0.10
			not_applied Q min_quantity_not_met coupon=Q
			not_applied Z min_quantity_not_met
			not_applied B min_subtotal_not_met
			hint Z add_quantity 4
			hint Q add_quantity 1
			hint B spend_more 10.00
			hint B add_quantity 1
			hint M spend_more 40.00`,
	}})
}

func TestNotAppliedCap(t *testing.T) {
	var ps []string
	for i := range 30 {
		ps = append(ps, fmt.Sprintf(`{"id":"P%02d","priority":%d,"condition":{"min_quantity":2},"effect":{"type":"percent_off","bps":1000}}`, 99-i, i))
	}
	coupons := []string{"U1", "U2", "U3"}
	cat := testProducts(t)
	idx := NewIndex(promos(t, ps...)...)
	c := cart("A:1")
	c.Coupons = coupons
	o, err := Evaluate(cat, idx, c, t0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.NotApplied) != MaxNotApplied {
		t.Fatalf("%d not_applied entries, want %d", len(o.NotApplied), MaxNotApplied)
	}
	// Coupons first, then priority descending: priorities 29 … 13.
	for i, n := range o.NotApplied[:3] {
		if n.Reason != ReasonCouponUnknown || n.CouponCode != coupons[i] {
			t.Errorf("entry %d = %+v, want unknown coupon %s", i, n, coupons[i])
		}
	}
	for i, n := range o.NotApplied[3:] {
		p, _ := idx.Get(n.PromotionID)
		if want := int32(29 - i); p.Priority != want {
			t.Errorf("entry %d: priority %d, want %d", i+3, p.Priority, want)
		}
	}
	// Hints are not capped.
	if len(o.Hints) != 30 {
		t.Errorf("%d hints, want 30", len(o.Hints))
	}
}
