package shopsim

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// demoRows decodes the after rows of a snapshot, by topic.
func demoRows(t *testing.T, recs []Record) map[string][]map[string]any {
	t.Helper()
	rows := map[string][]map[string]any{}
	for _, r := range recs {
		p := decodeMessage(t, r.Value).Payload.(map[string]any)
		rows[r.Topic] = append(rows[r.Topic], p["after"].(map[string]any))
	}
	return rows
}

func TestDemoCatalogCoversEveryPromotionFeature(t *testing.T) {
	s := New(11, Options{})
	now := s.Now()
	rows := demoRows(t, s.SnapshotCatalog(DemoProducts, DemoPromotions))
	promos := rows["shop.public.promotions"]
	if len(promos) != DemoPromotions {
		t.Fatalf("%d promotions, want %d", len(promos), DemoPromotions)
	}

	seen := map[string]bool{}
	mark := func(feature string, cond bool) {
		if cond {
			seen[feature] = true
		}
	}
	for _, p := range promos {
		var effect map[string]any
		if err := json.Unmarshal([]byte(p["effect"].(string)), &effect); err != nil {
			t.Fatalf("%s: effect %q: %v", p["id"], p["effect"], err)
		}
		typ, _ := effect["type"].(string)
		mark("effect "+typ, true)
		if typ == "amount_off" {
			mark("amount_off per "+effect["per"].(string), true)
		}
		for _, doc := range []string{"condition", "target"} {
			var v map[string]any
			if err := json.Unmarshal([]byte(p[doc].(string)), &v); err != nil {
				t.Fatalf("%s: %s %q: %v", p["id"], doc, p[doc], err)
			}
			for k := range v {
				mark(doc+" "+k, true)
			}
		}
		mark("coupon", p["coupon_code"] != nil)
		mark("automatic", p["coupon_code"] == nil)
		mark("stacking "+p["stacking"].(string), true)
		mark("segments", len(p["segments"].([]any)) > 0)
		mark("max_discount", p["max_discount"] != nil)
		mark("inactive", p["active"] == false)
		mark("other currency", p["currency"] != DemoCurrency)
		from, until := optionalTime(t, p["valid_from"]), optionalTime(t, p["valid_until"])
		mark("expired", until != nil && !until.After(now))
		mark("not started", from != nil && from.After(now))
		mark("current window", from != nil && until != nil && !from.After(now) && until.After(now))
	}
	want := []string{"automatic", "coupon", "segments", "max_discount", "inactive", "other currency", "expired", "not started", "current window",
		"amount_off per cart", "amount_off per unit", "stacking stackable", "stacking exclusive", "stacking stop",
		"condition min_subtotal", "condition min_quantity", "condition requires_skus", "condition requires_categories",
		"target skus", "target categories", "target brands"}
	for _, typ := range EffectTypes() {
		want = append(want, "effect "+typ)
	}
	for _, f := range want {
		if !seen[f] {
			t.Errorf("demo catalog has no promotion with %s", f)
		}
	}
}

func optionalTime(t *testing.T, v any) *time.Time {
	t.Helper()
	if v == nil {
		return nil
	}
	ts, err := time.Parse(time.RFC3339Nano, v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return &ts
}

func TestDemoCatalogProductsAndInventory(t *testing.T) {
	s := New(12, Options{})
	rows := demoRows(t, s.SnapshotCatalog(DemoProducts, 0))
	products, inventory := rows["shop.public.products"], rows["shop.public.inventory"]
	if len(products) != DemoProducts || len(inventory) != DemoProducts {
		t.Fatalf("%d products, %d inventory rows; want %d each", len(products), len(inventory), DemoProducts)
	}
	categories, brands := map[string]bool{}, map[string]bool{}
	var inactive, outOfStock int
	for i, p := range products {
		if p["sku"] != SKU(i+1) || inventory[i]["sku"] != SKU(i+1) {
			t.Fatalf("row %d: sku %v / %v, want %s", i, p["sku"], inventory[i]["sku"], SKU(i+1))
		}
		raw, _ := base64.StdEncoding.DecodeString(p["price"].(string))
		price, err := DecodeDecimal(raw, 2)
		if err != nil || strings.HasPrefix(price, "-") || price == "0.00" {
			t.Errorf("%v: price %q %v", p["sku"], price, err)
		}
		if p["currency"] != "USD" || p["name"] == "" {
			t.Errorf("%v: currency %v name %v", p["sku"], p["currency"], p["name"])
		}
		categories[p["category"].(string)] = true
		brands[p["brand"].(string)] = true
		if p["active"] == false {
			inactive++
		}
		if v := inventory[i]["version"].(json.Number).String(); v != "1" {
			t.Errorf("%v: inventory version %s, want 1", p["sku"], v)
		}
		if inventory[i]["on_hand"].(json.Number).String() == "0" {
			outOfStock++
		}
	}
	if len(categories) < 8 || len(brands) < 8 || inactive == 0 || outOfStock == 0 {
		t.Errorf("%d categories, %d brands, %d inactive, %d out of stock: the demo is too uniform", len(categories), len(brands), inactive, outOfStock)
	}
}

func TestSnapshotCatalogKeepsExistingRows(t *testing.T) {
	s := New(5, Options{})
	if _, err := s.AddProduct(Product{SKU: SKU(2), Name: "mine", Category: "c", Brand: "b", Price: 1, Currency: "EUR", Active: true}, 1); err != nil {
		t.Fatal(err)
	}
	s.SnapshotCatalog(3, 1)
	if p, _ := s.Product(SKU(2)); p.Name != "mine" {
		t.Errorf("existing product replaced: %+v", p)
	}
	if len(s.Products()) != 3 || len(s.Inventory()) != 3 || len(s.Promotions()) != 1 {
		t.Errorf("%d products %d inventory %d promotions", len(s.Products()), len(s.Inventory()), len(s.Promotions()))
	}
}
