package shopsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// demoCategory is one category of the demo catalog: its product nouns and
// its price range in whole dollars.
type demoCategory struct {
	name   string
	nouns  []string
	lo, hi int
}

// demoCategories returns the demo catalog's categories (a function, not a
// package variable, so no caller can change them for another).
func demoCategories() []demoCategory {
	return []demoCategory{
		{"shoes", []string{"Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes"}, 39, 189},
		{"apparel", []string{"T-Shirt", "Hoodie", "Jeans", "Dress", "Polo"}, 12, 99},
		{"outerwear", []string{"Jacket", "Parka", "Raincoat", "Fleece", "Vest"}, 49, 299},
		{"accessories", []string{"Socks", "Belt", "Cap", "Scarf", "Gloves"}, 4, 49},
		{"electronics", []string{"Headphones", "Charger", "Speaker", "Keyboard", "Mouse"}, 9, 399},
		{"home", []string{"Lamp", "Pillow", "Blanket", "Vase", "Candle"}, 7, 149},
		{"kitchen", []string{"Mug", "Pan", "Knife Set", "Kettle", "Cutting Board"}, 6, 179},
		{"books", []string{"Novel", "Cookbook", "Atlas", "Notebook", "Planner"}, 5, 45},
		{"toys", []string{"Puzzle", "Building Set", "Plush Bear", "Kite", "Board Game"}, 6, 79},
		{"beauty", []string{"Lip Balm", "Shampoo", "Face Cream", "Perfume", "Soap"}, 3, 89},
		{"sports", []string{"Yoga Mat", "Dumbbell", "Water Bottle", "Tennis Balls", "Jump Rope"}, 5, 129},
	}
}

func demoBrands() []string {
	return []string{"Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wonka", "Tyrell", "Vandelay", "Soylent", "Pied Piper"}
}

func demoAdjectives() []string {
	return []string{"Classic", "Essential", "Premium", "Everyday", "Pro", "Lite", "Urban", "Trail", "Eco", "Deluxe", "Compact", "Vintage"}
}

func demoSegments() []string {
	return []string{"vip", "loyalty_gold", "new_customer", "staff"}
}

// Demo catalog defaults, used by `cartstream demo seed`.
const (
	// DemoProducts is the default number of demo products.
	DemoProducts = 300
	// DemoPromotions is the default number of demo promotions: enough for
	// every fixed template plus random ones.
	DemoPromotions = 36
	// DemoCurrency is the currency of every demo product.
	DemoCurrency = "USD"
)

// EffectTypes lists every promotion effect type of the design (§5).
// amount_off appears once; the demo catalog has it both per cart and per
// unit.
func EffectTypes() []string {
	return []string{"percent_off", "amount_off", "fixed_price", "buy_x_get_y", "tiered_percent", "free_shipping"}
}

// SKU returns the demo catalog's SKU number i (1-based): SKU-00001.
func SKU(i int) string { return fmt.Sprintf("SKU-%05d", i) }

// PromotionID returns the demo catalog's promotion id number i (1-based):
// promo-0001.
func PromotionID(i int) string { return fmt.Sprintf("promo-%04d", i) }

// SnapshotCatalog fills the tables with a demo catalog and returns the
// records of the connector's initial snapshot of them (see Snapshot).
//
// Products are SKU(1) to SKU(products), priced in USD across a dozen
// categories and brands, about 3% inactive; every product gets an
// inventory row at version 1 (about 5% out of stock). The first
// promotions are fixed templates (see DemoPromotionTemplates) covering
// every effect type, coupons and automatic promotions, each stacking mode,
// segments, validity windows (current, expired, not started), an inactive
// one, another currency and max_discount; the rest are random. Rows whose
// key already exists are left as they are.
func (s *Sim) SnapshotCatalog(products, promotions int) []Record {
	s.generateCatalog(products, promotions)
	return s.Snapshot()
}

// DemoPromotionTemplates is the number of fixed promotions at the start of
// the demo catalog; a catalog with at least this many promotions has every
// template.
const DemoPromotionTemplates = 20

func (s *Sim) generateCatalog(products, promotions int) {
	load := s.now
	cats, brands, adjectives := demoCategories(), demoBrands(), demoAdjectives()
	for i := 1; i <= products; i++ {
		sku := SKU(i)
		if _, ok := s.products[sku]; ok {
			continue
		}
		c := cats[s.rng.IntN(len(cats))]
		brand := brands[s.rng.IntN(len(brands))]
		name := brand + " " + adjectives[s.rng.IntN(len(adjectives))] + " " + c.nouns[s.rng.IntN(len(c.nouns))]
		cents := []int{99, 99, 99, 49, 0, 95}[s.rng.IntN(6)]
		price := Amount((c.lo+s.rng.IntN(c.hi-c.lo+1))*100 + cents)
		s.products[sku] = Product{
			SKU: sku, Name: name, Category: c.name, Brand: brand, Price: price,
			Currency: DemoCurrency, Active: s.rng.IntN(100) >= 3, UpdatedAt: load,
		}
		if _, ok := s.inventory[sku]; ok {
			continue
		}
		var onHand int32
		switch r := s.rng.IntN(100); {
		case r < 5:
			onHand = 0
		case r < 15:
			onHand = 1 + s.rng.Int32N(5)
		default:
			onHand = 10 + s.rng.Int32N(391)
		}
		s.inventory[sku] = Stock{SKU: sku, OnHand: onHand, Version: 1, UpdatedAt: load}
	}
	templates := s.promotionTemplates(load)
	for i := 1; i <= promotions; i++ {
		id := PromotionID(i)
		if _, ok := s.promotions[id]; ok {
			continue
		}
		var p Promotion
		if i <= len(templates) {
			p = templates[i-1]
		} else {
			p = s.randomPromotion(load, products)
		}
		p.ID = id
		np, err := normalizePromotion(p)
		if err != nil {
			panic(fmt.Sprintf("shopsim: demo promotion %s is invalid: %v", id, err))
		}
		s.promotions[id] = np
	}
	// The snapshot starts a little after the catalog was loaded.
	s.Advance(time.Minute)
}

// doc renders a Go value as a JSON document for a jsonb column.
func doc(v any) json.RawMessage {
	return json.RawMessage(mustMarshal(v))
}

// obj is a JSON object literal.
type obj = map[string]any

func ptr[T any](v T) *T { return &v }

// promotionTemplates returns the fixed demo promotions, relative to now.
func (s *Sim) promotionTemplates(now time.Time) []Promotion {
	day := 24 * time.Hour
	cats := func(c ...string) json.RawMessage { return doc(obj{"categories": c}) }
	every := doc(obj{})
	t := []Promotion{
		{Name: "10% off shoes", Active: true, Priority: 50, Stacking: StackingStackable,
			Target: cats("shoes"), Effect: doc(obj{"type": "percent_off", "bps": 1000})},
		{Name: "$5 off orders of $50 or more", Active: true, Priority: 40, Stacking: StackingStackable, CouponCode: ptr("SAVE5"),
			Condition: doc(obj{"min_subtotal": "50.00"}), Target: every, Effect: doc(obj{"type": "amount_off", "amount": "5.00", "per": "cart"})},
		{Name: "$1 off every Acme item", Active: true, Priority: 30, Stacking: StackingStackable,
			Target: doc(obj{"brands": []string{"Acme"}}), Effect: doc(obj{"type": "amount_off", "amount": "1.00", "per": "unit"})},
		{Name: "Any 3 accessories for $25", Active: true, Priority: 60, Stacking: StackingStackable,
			Target: cats("accessories"), Effect: doc(obj{"type": "fixed_price", "quantity": 3, "price": "25.00"})},
		{Name: "Buy 2 books, get 1 free", Active: true, Priority: 55, Stacking: StackingStackable,
			Target: cats("books"), Effect: doc(obj{"type": "buy_x_get_y", "buy": 2, "get": 1, "bps": 10000, "max_applications": nil})},
		{Name: "Spend more, save more", Active: true, Priority: 10, Stacking: StackingStackable, MaxDiscount: ptr(MustAmount("40.00")),
			Target: every, Effect: doc(obj{"type": "tiered_percent", "tiers": []obj{
				{"min_subtotal": "50.00", "bps": 500}, {"min_subtotal": "100.00", "bps": 1000}, {"min_subtotal": "200.00", "bps": 1500}}})},
		{Name: "Free shipping over $75", Active: true, Priority: 5, Stacking: StackingStackable,
			Condition: doc(obj{"min_subtotal": "75.00"}), Target: every, Effect: doc(obj{"type": "free_shipping"})},
		{Name: "Free shipping with FREESHIP", Active: true, Priority: 6, Stacking: StackingStackable, CouponCode: ptr("FREESHIP"),
			Target: every, Effect: doc(obj{"type": "free_shipping"})},
		{Name: "VIP: 20% off everything", Active: true, Priority: 90, Stacking: StackingExclusive, Segments: []string{"vip"},
			MaxDiscount: ptr(MustAmount("100.00")), Target: every, Effect: doc(obj{"type": "percent_off", "bps": 2000})},
		{Name: "Staff: 30% off, nothing else", Active: true, Priority: 100, Stacking: StackingStop, Segments: []string{"staff"},
			Target: every, Effect: doc(obj{"type": "percent_off", "bps": 3000})},
		{Name: "WELCOME10: 10% off two or more items", Active: true, Priority: 45, Stacking: StackingStackable, CouponCode: ptr("WELCOME10"),
			Segments: []string{"new_customer"}, Condition: doc(obj{"min_quantity": 2}), Target: every, Effect: doc(obj{"type": "percent_off", "bps": 1000})},
		{Name: "Summer sale (ended)", Active: true, Priority: 20, Stacking: StackingStackable,
			ValidFrom: ptr(now.Add(-90 * day)), ValidUntil: ptr(now.Add(-30 * day)),
			Target: cats("apparel"), Effect: doc(obj{"type": "percent_off", "bps": 1500})},
		{Name: "Black Friday preview (not started)", Active: true, Priority: 95, Stacking: StackingExclusive, CouponCode: ptr("BLACKFRIDAY"),
			ValidFrom: ptr(now.Add(7 * day)), ValidUntil: ptr(now.Add(10 * day)),
			Target: every, Effect: doc(obj{"type": "percent_off", "bps": 2500})},
		{Name: "Retired: $10 off", Active: false, Priority: 15, Stacking: StackingStackable, CouponCode: ptr("OLD10"),
			Target: every, Effect: doc(obj{"type": "amount_off", "amount": "10.00", "per": "cart"})},
		{Name: "Bundle: SKU-00001 with SKU-00002, 15% off both", Active: true, Priority: 35, Stacking: StackingStackable,
			Condition: doc(obj{"requires_skus": []string{SKU(1), SKU(2)}}), Target: doc(obj{"skus": []string{SKU(1), SKU(2)}}),
			Effect: doc(obj{"type": "percent_off", "bps": 1500})},
		{Name: "Kitchen and home: $10 off four or more items", Active: true, Priority: 25, Stacking: StackingStackable,
			Condition: doc(obj{"requires_categories": []string{"home", "kitchen"}, "min_quantity": 4}), Target: cats("home", "kitchen"),
			Effect: doc(obj{"type": "amount_off", "amount": "10.00", "per": "cart"})},
		{Name: "Electronics: second item half price (twice at most)", Active: true, Priority: 52, Stacking: StackingStackable,
			ValidFrom: ptr(now.Add(-day)), ValidUntil: ptr(now.Add(30 * day)),
			Target: cats("electronics"), Effect: doc(obj{"type": "buy_x_get_y", "buy": 1, "get": 1, "bps": 5000, "max_applications": 2})},
		{Name: "EURO5: 5 EUR off", Active: true, Priority: 40, Stacking: StackingStackable, CouponCode: ptr("EURO5"), Currency: "EUR",
			Target: every, Effect: doc(obj{"type": "amount_off", "amount": "5.00", "per": "cart"})},
		{Name: "WINTER25: 25% off outerwear, alone", Active: true, Priority: 80, Stacking: StackingExclusive, CouponCode: ptr("WINTER25"),
			MaxDiscount: ptr(MustAmount("60.00")), Target: cats("outerwear"), Effect: doc(obj{"type": "percent_off", "bps": 2500})},
		{Name: "SAVE5 on sports: $3 off each item", Active: true, Priority: 41, Stacking: StackingStackable, CouponCode: ptr("SAVE5"),
			Target: cats("sports"), Effect: doc(obj{"type": "amount_off", "amount": "3.00", "per": "unit"})},
	}
	for i := range t {
		if t[i].Currency == "" {
			t[i].Currency = DemoCurrency
		}
		if t[i].Condition == nil {
			t[i].Condition = doc(obj{})
		}
	}
	if len(t) != DemoPromotionTemplates {
		panic("shopsim: DemoPromotionTemplates is out of date")
	}
	return t
}

// randomPromotion returns a promotion of random shape; products is the
// catalog size its SKU targets draw from.
func (s *Sim) randomPromotion(now time.Time, products int) Promotion {
	r := s.rng
	day := 24 * time.Hour
	p := Promotion{Active: r.IntN(100) >= 5, Priority: 1 + r.Int32N(80), Stacking: StackingStackable, Currency: DemoCurrency}
	switch x := r.IntN(10); {
	case x == 0:
		p.Stacking = StackingExclusive
	case x == 1:
		p.Stacking = StackingStop
	}

	var what string
	switch x := r.IntN(100); {
	case x < 40:
		cats := demoCategories()
		c := cats[r.IntN(len(cats))].name
		p.Target, what = doc(obj{"categories": []string{c}}), c
	case x < 60:
		brands := demoBrands()
		b := brands[r.IntN(len(brands))]
		p.Target, what = doc(obj{"brands": []string{b}}), b
	case x < 75 && products >= 3:
		skus := []string{SKU(1 + r.IntN(products)), SKU(1 + r.IntN(products))}
		p.Target, what = doc(obj{"skus": skus}), strings.Join(skus, " and ")
	default:
		p.Target, what = doc(obj{}), "everything"
	}

	switch x := r.IntN(100); {
	case x < 30:
		p.Condition = doc(obj{"min_subtotal": fmt.Sprintf("%d.00", 25+5*r.IntN(26))})
	case x < 45:
		p.Condition = doc(obj{"min_quantity": 2 + r.IntN(4)})
	default:
		p.Condition = doc(obj{})
	}

	types := EffectTypes()
	switch typ := types[r.IntN(len(types))]; typ {
	case "percent_off":
		bps := []int{500, 1000, 1500, 2000, 2500}[r.IntN(5)]
		p.Effect, p.Name = doc(obj{"type": typ, "bps": bps}), fmt.Sprintf("%d%% off %s", bps/100, what)
	case "amount_off":
		if r.IntN(2) == 0 {
			amt := []string{"2.00", "5.00", "10.00", "15.00"}[r.IntN(4)]
			p.Effect, p.Name = doc(obj{"type": typ, "amount": amt, "per": "cart"}), fmt.Sprintf("$%s off %s", amt, what)
		} else {
			amt := []string{"0.50", "1.00", "2.00"}[r.IntN(3)]
			p.Effect, p.Name = doc(obj{"type": typ, "amount": amt, "per": "unit"}), fmt.Sprintf("$%s off each unit of %s", amt, what)
		}
	case "fixed_price":
		q := 2 + r.IntN(3)
		price := fmt.Sprintf("%d.00", 10*q+5*r.IntN(5))
		p.Effect, p.Name = doc(obj{"type": typ, "quantity": q, "price": price}), fmt.Sprintf("Any %d of %s for $%s", q, what, price)
	case "buy_x_get_y":
		buy, bps := 1+r.IntN(3), []int{5000, 10000}[r.IntN(2)]
		var maxApps any
		if n := r.IntN(3); n > 0 {
			maxApps = n
		}
		p.Effect = doc(obj{"type": typ, "buy": buy, "get": 1, "bps": bps, "max_applications": maxApps})
		p.Name = fmt.Sprintf("Buy %d of %s, get 1 at %d%% off", buy, what, bps/100)
	case "tiered_percent":
		lo := 30 + 10*r.IntN(5)
		p.Effect = doc(obj{"type": typ, "tiers": []obj{
			{"min_subtotal": fmt.Sprintf("%d.00", lo), "bps": 500},
			{"min_subtotal": fmt.Sprintf("%d.00", 2*lo), "bps": 1000}}})
		p.Name = fmt.Sprintf("Spend $%d on %s, save 5%%; $%d, save 10%%", lo, what, 2*lo)
	default:
		p.Effect, p.Name = doc(obj{"type": "free_shipping"}), "Free shipping on "+what
	}

	if r.IntN(4) == 0 {
		p.CouponCode = ptr(fmt.Sprintf("DEAL%03d", r.IntN(1000)))
	}
	if r.IntN(7) == 0 {
		segs := demoSegments()
		p.Segments = []string{segs[r.IntN(len(segs))]}
	}
	if r.IntN(10) < 3 {
		from := now.Add(-time.Duration(r.IntN(20)) * day)
		p.ValidFrom, p.ValidUntil = ptr(from), ptr(from.Add(time.Duration(7+r.IntN(40))*day))
	}
	if r.IntN(5) == 0 {
		p.MaxDiscount = ptr(Amount((10 + 10*r.IntN(8)) * 100))
	}
	return p
}
