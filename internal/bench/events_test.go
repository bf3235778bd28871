package bench

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"cartstream/internal/shopsim"
	"cartstream/schemas"
)

// Every event the harness writes follows the published cart event schema,
// carries its cart id as key, and each cart's events are in the order the
// generator documents.
func TestCartEventsFollowTheContract(t *testing.T) {
	sch, err := schemas.CompileJSONSchema(schemas.JSONCartEvent)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	gen := cartEvents{Prefix: "t", Carts: 3, Products: 150_000, Seed: 9}
	type ev struct {
		EventID  string `json:"event_id"`
		CartID   string `json:"cart_id"`
		Type     string `json:"type"`
		SKU      string `json:"sku"`
		Qty      int    `json:"qty"`
		Code     string `json:"code"`
		Currency string `json:"currency"`
		TS       string `json:"ts"`
	}
	wantTypes := []string{evItemAdded, evItemAdded, evCouponApplied, evQuantitySet, evItemAdded, evItemAdded}
	for i := range 3 * len(wantTypes) {
		key, value := gen.Event(i, ts)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
		if err != nil {
			t.Fatalf("event %d is not JSON: %v: %s", i, err, value)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("event %d breaks the schema: %v: %s", i, err, value)
		}
		var e ev
		if err := json.Unmarshal(value, &e); err != nil {
			t.Fatal(err)
		}
		k := i / 3
		switch {
		case string(key) != e.CartID || e.CartID != gen.cartID(i%3):
			t.Errorf("event %d: key %s, cart %s", i, key, e.CartID)
		case e.Type != wantTypes[k]:
			t.Errorf("event %d (cart's %d-th): type %s, want %s", i, k, e.Type, wantTypes[k])
		case (k == 0) != (e.Currency == "USD"):
			t.Errorf("event %d: currency %q on the cart's %d-th event", i, e.Currency, k)
		case e.TS != "2026-11-21T10:00:00.123456789Z":
			t.Errorf("event %d: ts %s", i, e.TS)
		}
		if k == 3 && e.Qty != 3 {
			t.Errorf("quantity_set to %d, want 3", e.Qty)
		}
		if e.SKU != "" && e.SKU < shopsim.SKU(1) {
			t.Errorf("event %d: sku %s", i, e.SKU)
		}
	}
	// Deterministic.
	_, a := gen.Event(7, ts)
	_, b := gen.Event(7, ts)
	if !bytes.Equal(a, b) {
		t.Error("the same event differs between calls")
	}
	// The flash sale's two events are valid too.
	key, add, co := flashEvents("fl", 12, flashSKU, ts)
	for _, v := range [][]byte{add, co} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v))
		if err != nil || sch.Validate(doc) != nil {
			t.Errorf("flash event %s: %v", v, err)
		}
	}
	if string(key) != "fl-c0000012" {
		t.Errorf("flash key %s", key)
	}
}

func TestSKUsCoverTheCatalog(t *testing.T) {
	gen := cartEvents{Prefix: "t", Carts: 1000, Products: 10, Seed: 1}
	seen := map[string]bool{}
	for c := range 1000 {
		seen[gen.sku(c, 0)] = true
	}
	if len(seen) != 10 {
		t.Errorf("1000 draws over 10 products reached %d of them", len(seen))
	}
	for s := range seen {
		if s < shopsim.SKU(1) || s > shopsim.SKU(10) {
			t.Errorf("sku %s outside the catalog", s)
		}
	}
}
