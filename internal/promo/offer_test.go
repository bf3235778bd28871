package promo

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"cartstream/internal/money"
	"cartstream/schemas"
)

// designExample evaluates the design's example cart (DESIGN §5: cart c-9,
// two SKU-1 at 19.99 in USD, event time 2026-11-21T10:00:00Z) with the
// promotions behind schemas/testdata/json/offer/valid-full.json: the
// coupon Save10 (10% off coffee), an unknown coupon NOPE, a line whose
// product is unknown, an automatic promotion missing min_subtotal 50.00 and
// an automatic buy 2 get 1 one unit short.
func designExample(t testing.TB) Offer {
	t.Helper()
	cat := catalog(t, "SKU-1 19.99 coffee Acme")
	idx := NewIndex(promos(t,
		`{"id":"P-10","name":"10% off coffee","priority":30,"coupon_code":"SAVE10","target":{"categories":["coffee"]},"effect":{"type":"percent_off","bps":1000}}`,
		`{"id":"P-20","name":"5% off orders of $50","priority":20,"condition":{"min_subtotal":"50.00"},"effect":{"type":"percent_off","bps":500}}`,
		`{"id":"P-30","name":"Buy 2 coffees, get 1 free","priority":10,"target":{"categories":["coffee"]},"effect":{"type":"buy_x_get_y","buy":2,"get":1,"bps":10000,"max_applications":null}}`,
	)...)
	c := Cart{CartID: "c-9", Currency: "USD", Coupons: []string{"Save10", "NOPE"},
		Lines: []CartLine{{SKU: "SKU-9", Qty: 1}, {SKU: "SKU-1", Qty: 2}}}
	o, err := Evaluate(cat, idx, c, t0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestDesignExample(t *testing.T) {
	o := designExample(t)
	// MarshalJSON, not json.Marshal: encoding/json would re-escape < > &
	// of a Marshaler's output as \u003c … (equivalent JSON, other bytes).
	got, err := o.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema_version":1,"cart_id":"c-9","cart_version":null,"event_time":"2026-11-21T10:00:00Z","currency":"USD",` +
		`"lines":[{"sku":"SKU-1","qty":2,"unit_price":"19.99","subtotal":"39.98","discount":"4.00","total":"35.98","available":true,"allocations":[{"promotion_id":"P-10","amount":"4.00"}]},` +
		`{"sku":"SKU-9","qty":1,"unit_price":null,"subtotal":"0.00","discount":"0.00","total":"0.00","available":false,"allocations":[]}],` +
		`"subtotal":"39.98","discount_total":"4.00","total":"35.98","free_shipping":false,` +
		`"applied":[{"promotion_id":"P-10","name":"10% off coffee","amount":"4.00","coupon_code":"Save10"}],` +
		`"not_applied":[{"promotion_id":null,"coupon_code":"NOPE","reason":"coupon_unknown","detail":null},` +
		`{"promotion_id":"P-20","coupon_code":null,"reason":"min_subtotal_not_met","detail":"subtotal 39.98 < 50.00"}],` +
		`"hints":[{"promotion_id":"P-20","kind":"spend_more","amount":"10.02","qty":null},{"promotion_id":"P-30","kind":"add_quantity","amount":null,"qty":1}],` +
		`"source":null}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// With the cart version and source the carts processor sets, the offer
	// is byte for byte the schema's full example.
	v := int64(7)
	o.CartVersion = &v
	o.Source = &Source{Topic: "cart-events", Partition: 3, Offset: 12345, EventID: "e-1"}
	fixture, err := os.ReadFile("../../schemas/testdata/json/offer/valid-full.json")
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, fixture); err != nil {
		t.Fatal(err)
	}
	if got, _ := o.MarshalJSON(); !bytes.Equal(got, compact.Bytes()) {
		t.Errorf("got\n%s\nwant\n%s", got, compact.Bytes())
	}
}

func offerSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	sch, err := schemas.CompileJSONSchema(schemas.JSONOffer)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// validateOffer checks the offer's JSON against schemas/json/offer.schema.json.
// The schema describes offers on cartstream.offers, which always carry a
// cart version and a source, so they are filled in when absent.
func validateOffer(t testing.TB, sch *jsonschema.Schema, o Offer) {
	t.Helper()
	if o.CartVersion == nil {
		v := int64(1)
		o.CartVersion = &v
	}
	if o.Source == nil {
		o.Source = &Source{Topic: "cart-events", Partition: 0, Offset: 0, EventID: "e-1"}
	}
	b, _ := o.MarshalJSON()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("offer is not JSON: %v\n%s", err, b)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("offer does not validate: %v\n%s", err, b)
	}
}

func TestOfferValidatesAgainstSchema(t *testing.T) {
	sch := offerSchema(t)
	validateOffer(t, sch, designExample(t))
	// A JPY cart: no minor unit.
	cat := MapCatalog{"T": {SKU: "T", PriceMinor: 1500, Currency: "JPY", Active: true}}
	idx := NewIndex(schemas.Promotion{ID: "P", Name: "P", Active: true, Stacking: schemas.StackingStackable, Currency: "JPY",
		Effect: schemas.Effect{Type: schemas.EffectPercentOff, Bps: 333}})
	o, err := Evaluate(cat, idx, Cart{CartID: "c", Currency: "JPY", Lines: []CartLine{{SKU: "T", Qty: 3}}}, t0.Add(500*time.Millisecond), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(o); got != dedent(`
		subtotal 4500 discount 150 total 4350
		line T 3x1500=4500 -150 =4350 P:150
		applied P 150`) {
		t.Errorf("JPY offer:\n%s", got)
	}
	b, _ := o.MarshalJSON()
	if !bytes.Contains(b, []byte(`"event_time":"2026-11-21T10:00:00.5Z"`)) {
		t.Errorf("event time: %s", b)
	}
	validateOffer(t, sch, o)
}

func TestOfferJSONEscapesLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `quote " backslash \ slash /`, "tab\tnl\ncr\r", "\x00\x01\x1f\x7f", "<&>", "é ü 日本", "\u2028\u2029", "bad \xff utf8 \xc3"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := appendString(nil, s)
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("%q: got %s, want %s", s, got, want.String())
		}
	}
	o := Offer{CartID: "c\"1\n", Currency: money.MustLookup("USD"), Applied: []Applied{{PromotionID: "P", Name: "50% \"off\" <now>"}}}
	b, _ := o.MarshalJSON()
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if back["cart_id"] != "c\"1\n" {
		t.Errorf("cart_id = %q", back["cart_id"])
	}
}

// Every key of the offer and its parts is present, in the order of DESIGN
// §5, whatever is empty.
func TestOfferFieldOrder(t *testing.T) {
	o := designExample(t)
	b, _ := o.MarshalJSON()
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 && dec.More() {
				keys = append(keys, v)
				// Skip the value.
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	want := "schema_version cart_id cart_version event_time currency lines subtotal discount_total total free_shipping applied not_applied hints source"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("keys %s\nwant %s", got, want)
	}
	empty := Offer{CartID: "c", Currency: money.MustLookup("USD")}
	b, _ = empty.MarshalJSON()
	if want := `{"schema_version":0,"cart_id":"c","cart_version":null,"event_time":"0001-01-01T00:00:00Z","currency":"USD","lines":[],"subtotal":"0.00","discount_total":"0.00","total":"0.00","free_shipping":false,"applied":[],"not_applied":[],"hints":[],"source":null}`; string(b) != want {
		t.Errorf("empty offer: %s", b)
	}
}

func TestNotAppliedDetails(t *testing.T) {
	cat := testProducts(t)
	ps := promos(t,
		`{"id":"INACTIVE","active":false,"coupon_code":"C","effect":{"type":"free_shipping"}}`,
		`{"id":"EURO","priority":-1,"coupon_code":"C","currency":"EUR","effect":{"type":"free_shipping"}}`,
		`{"id":"LATER","priority":-2,"coupon_code":"C","valid_from":"2026-12-01T00:00:00Z","effect":{"type":"free_shipping"}}`,
		`{"id":"PAST","priority":-3,"coupon_code":"C","valid_until":"2026-11-01T00:00:00Z","effect":{"type":"free_shipping"}}`,
		`{"id":"SEG","priority":-4,"coupon_code":"C","segments":["vip","staff"],"effect":{"type":"free_shipping"}}`,
		`{"id":"SUB","priority":-5,"coupon_code":"C","condition":{"min_subtotal":"12.50"},"effect":{"type":"free_shipping"}}`,
		`{"id":"QTY","priority":-6,"coupon_code":"C","condition":{"min_quantity":4},"effect":{"type":"free_shipping"}}`,
		`{"id":"REQ","priority":-7,"coupon_code":"C","condition":{"requires_skus":["Z","A","OFF"],"requires_categories":["books","shoes"]},"effect":{"type":"free_shipping"}}`,
		`{"id":"NOT","priority":-8,"coupon_code":"C","target":{"skus":["B"]},"effect":{"type":"free_shipping"}}`,
		`{"id":"TIER","priority":-9,"coupon_code":"C","effect":{"type":"tiered_percent","tiers":[{"min_subtotal":"20.00","bps":100}]}}`,
		`{"id":"UNITS","priority":-10,"coupon_code":"C","effect":{"type":"fixed_price","quantity":3,"price":"1.00"}}`,
		`{"id":"ZERO","priority":-11,"coupon_code":"C","effect":{"type":"percent_off","bps":0}}`,
		`{"id":"STOP","priority":10,"stacking":"stop","effect":{"type":"percent_off","bps":10000}}`,
		`{"id":"ALL","priority":-12,"effect":{"type":"percent_off","bps":10000}}`,
		`{"id":"DRY","priority":-13,"coupon_code":"C","effect":{"type":"percent_off","bps":100}}`,
	)
	idx := NewIndex(ps...)
	c := cart("A:1")
	c.Coupons = []string{"C", "NOPE"}
	o, err := Evaluate(cat, idx, c, t0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range o.NotApplied {
		got = append(got, n.PromotionID+" "+string(n.Reason)+": "+n.Detail)
	}
	want := []string{
		"INACTIVE inactive: promotion is not active",
		"EURO currency_mismatch: promotion is in EUR, cart in USD",
		"LATER not_started: valid from 2026-12-01T00:00:00Z",
		"PAST expired: valid until 2026-11-01T00:00:00Z",
		"SEG segment_mismatch: for segments vip, staff",
		"SUB min_subtotal_not_met: subtotal 10.00 < 12.50",
		"QTY min_quantity_not_met: quantity 1 < 4",
		"REQ required_items_missing: missing sku OFF, sku Z, category books",
		"NOT stopped_by_priority: stop promotion STOP applied first",
		"TIER stopped_by_priority: stop promotion STOP applied first",
		"UNITS stopped_by_priority: stop promotion STOP applied first",
		"ZERO stopped_by_priority: stop promotion STOP applied first",
		"DRY stopped_by_priority: stop promotion STOP applied first",
		" coupon_unknown: ",
		"ALL stopped_by_priority: stop promotion STOP applied first",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Without the stop, the zero cases explain themselves.
	idx.Delete("STOP")
	o, err = Evaluate(cat, idx, c, t0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, n := range o.NotApplied[8:] {
		got = append(got, n.PromotionID+" "+string(n.Reason)+": "+n.Detail)
	}
	want = []string{
		"NOT no_target_lines: no available cart line is targeted",
		"TIER min_subtotal_not_met: targeted subtotal 10.00 < lowest tier 20.00",
		"UNITS min_quantity_not_met: 1 targeted units < 3 needed",
		"ZERO no_target_lines: the effect gives no discount on the targeted lines",
		"DRY no_target_lines: the targeted lines are already at zero",
		" coupon_unknown: ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
