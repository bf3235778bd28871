package schemas

import (
	"time"

	"cartstream/internal/money"
)

// Sample records: for each type a full one (every nullable set, every array
// non-empty, extreme numbers) and a minimal one (nulls, empty arrays, zero
// values).

func ptr[T any](v T) *T { return &v }

var (
	t0        = time.Date(2026, 11, 21, 10, 0, 0, 123_000_000, time.UTC)
	t0Micros  = time.Date(2026, 11, 1, 0, 0, 0, 456_789_000, time.UTC)
	t1Micros  = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	preEpoch  = time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	maxAmount = money.Amount(1<<63 - 1)
	minAmount = money.Amount(-1 << 63)
)

func sampleProducts() []Product {
	return []Product{
		{
			SKU: "SKU-1", Name: "Café au lait — 250 g", Category: "coffee", Brand: "Brand™",
			PriceMinor: 1999, Currency: "USD", Active: true, EventTime: t0,
			Source: Source{Topic: "shop.public.products", Partition: 3, Offset: 1 << 40},
		},
		{},
		{SKU: "x", PriceMinor: minAmount, Currency: "JPY", EventTime: preEpoch, Source: Source{Partition: -1, Offset: -1}},
		{SKU: "y", PriceMinor: maxAmount, Currency: "BHD", Active: true},
	}
}

func samplePromotions() []Promotion {
	return []Promotion{
		{
			ID: "P-10", Name: "10% off coffee", Active: true, Priority: 100, Stacking: StackingStackable,
			CouponCode: ptr("SAVE10"), ValidFrom: ptr(t0Micros), ValidUntil: ptr(t1Micros),
			Segments: []string{"gold", "silver"}, Currency: "USD",
			Condition: Condition{
				MinSubtotalMinor: ptr(money.Amount(5000)), MinQuantity: ptr(int32(2)),
				RequiresSKUs: []string{"SKU-1"}, RequiresCategories: []string{"coffee", "tea"},
			},
			Target: Target{SKUs: []string{"SKU-1", "SKU-2"}, Categories: []string{"coffee"}, Brands: []string{"Acme"}},
			Effect: Effect{
				Type: EffectTieredPercent, Bps: 1000, AmountMinor: 500, Per: PerCart, Quantity: 3, PriceMinor: 2500,
				Buy: 2, Get: 1, MaxApplications: 4,
				Tiers: []Tier{{MinSubtotalMinor: 5000, Bps: 500}, {MinSubtotalMinor: 10000, Bps: 1000}},
			},
			MaxDiscountMinor: ptr(money.Amount(2500)), EventTime: t0,
			Source: Source{Topic: "shop.public.promotions", Partition: 0, Offset: 7},
		},
		{},
		{
			ID: "P-neg", Priority: -1 << 31, Stacking: StackingStop, ValidFrom: ptr(preEpoch), Currency: "JPY",
			Condition: Condition{MinSubtotalMinor: ptr(minAmount), MinQuantity: ptr(int32(1<<31 - 1))},
			Effect:    Effect{Type: EffectBuyXGetY, Bps: 10000, Buy: 2, Get: 1, Tiers: []Tier{{MinSubtotalMinor: maxAmount, Bps: -1}}},
		},
		{ID: "P-free", Stacking: StackingExclusive, Effect: Effect{Type: EffectFreeShipping}, MaxDiscountMinor: ptr(money.Amount(0))},
	}
}

func sampleStockRows() []StockRow {
	return []StockRow{
		{SKU: "SKU-1", OnHand: 42, Version: 7, UpdatedAt: ptr(t0Micros), EventTime: t0,
			Source: Source{Topic: "shop.public.inventory", Partition: 5, Offset: 99}},
		{},
		{SKU: "SKU-2", OnHand: -1 << 31, Version: -1 << 63, Deleted: true, EventTime: preEpoch},
	}
}

func sampleOrderLines() []OrderLine {
	return []OrderLine{
		{OrderID: "o-1", CheckoutID: "co-1", CartID: "c-9", SKU: "SKU-1", Qty: 2, InventoryVersion: 8, EventTime: t0,
			Source: Source{Topic: "outbox.event.order", Partition: 1, Offset: 12}},
		{},
		{SKU: "SKU-3", Qty: 1<<31 - 1, InventoryVersion: 1<<63 - 1},
	}
}

func sampleReservationCommands() []ReservationCommand {
	return []ReservationCommand{
		{CommandID: "co-1:SKU-1:reserve", RequestID: "co-1:SKU-1", Op: OpReserve, SKU: "SKU-1", Qty: 2,
			CartID: "c-9", CheckoutID: "co-1", HoldTTLMillis: ptr(int64(600_000)), EventTime: t0},
		{CommandID: "co-1:SKU-1:release", RequestID: "co-1:SKU-1", Op: OpRelease, SKU: "SKU-1", Qty: 2,
			CartID: "c-9", CheckoutID: "co-1", Reason: ptr("cart_changed"), EventTime: t0},
		{CommandID: "co-1:SKU-1:commit", RequestID: "co-1:SKU-1", Op: OpCommit, SKU: "SKU-1", Qty: 2,
			CartID: "c-9", CheckoutID: "co-1", OrderID: ptr("o-1"), EventTime: t0},
		{Op: OpReserve},
	}
}

func sampleReservationResults() []ReservationResult {
	return []ReservationResult{
		{CommandID: "co-1:SKU-1:reserve", RequestID: "co-1:SKU-1", Op: OpReserve, SKU: "SKU-1", Qty: 2,
			CartID: "c-9", CheckoutID: "co-1", Status: ResultReserved, Available: 40, ExpiresAt: ptr(t0.Add(10 * time.Minute)), EventTime: t0},
		{CommandID: "co-1:SKU-1:reserve", RequestID: "co-1:SKU-1", Op: OpReserve, SKU: "SKU-1", Qty: 50,
			CartID: "c-9", CheckoutID: "co-1", Status: ResultRejected, Reason: ptr("insufficient_stock"), Available: -3, EventTime: t0},
		{Op: OpCommit, Status: ResultCommitted, Reason: ptr("late_commit")},
	}
}

// goavro native forms of the records, built independently of the
// hand-written codecs so that goavro can check them.

func nativeStrings(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func nativeSource(s Source) map[string]any {
	return map[string]any{"topic": s.Topic, "partition": s.Partition, "offset": s.Offset}
}

func nativeStr(p *string) any {
	if p == nil {
		return nil
	}
	return map[string]any{"string": *p}
}

func nativeLong(p *int64) any {
	if p == nil {
		return nil
	}
	return map[string]any{"long": *p}
}

func nativeAmount(p *money.Amount) any {
	if p == nil {
		return nil
	}
	return map[string]any{"long": int64(*p)}
}

func nativeTime(branch string, p *time.Time) any {
	if p == nil {
		return nil
	}
	return map[string]any{branch: *p}
}

func toNative(v any) map[string]any {
	switch r := v.(type) {
	case *Product:
		return map[string]any{
			"sku": r.SKU, "name": r.Name, "category": r.Category, "brand": r.Brand,
			"price_minor": int64(r.PriceMinor), "currency": r.Currency, "active": r.Active,
			"event_time": r.EventTime, "source": nativeSource(r.Source),
		}
	case *Promotion:
		tiers := make([]any, len(r.Effect.Tiers))
		for i, t := range r.Effect.Tiers {
			tiers[i] = map[string]any{"min_subtotal_minor": int64(t.MinSubtotalMinor), "bps": t.Bps}
		}
		var minQty any
		if r.Condition.MinQuantity != nil {
			minQty = map[string]any{"int": *r.Condition.MinQuantity}
		}
		return map[string]any{
			"id": r.ID, "name": r.Name, "active": r.Active, "priority": r.Priority, "stacking": r.Stacking,
			"coupon_code": nativeStr(r.CouponCode),
			"valid_from":  nativeTime("long.timestamp-micros", r.ValidFrom),
			"valid_until": nativeTime("long.timestamp-micros", r.ValidUntil),
			"segments":    nativeStrings(r.Segments), "currency": r.Currency,
			"condition": map[string]any{
				"min_subtotal_minor":  nativeAmount(r.Condition.MinSubtotalMinor),
				"min_quantity":        minQty,
				"requires_skus":       nativeStrings(r.Condition.RequiresSKUs),
				"requires_categories": nativeStrings(r.Condition.RequiresCategories),
			},
			"target": map[string]any{
				"skus": nativeStrings(r.Target.SKUs), "categories": nativeStrings(r.Target.Categories),
				"brands": nativeStrings(r.Target.Brands),
			},
			"effect": map[string]any{
				"type": r.Effect.Type, "bps": r.Effect.Bps, "amount_minor": int64(r.Effect.AmountMinor),
				"per": r.Effect.Per, "quantity": r.Effect.Quantity, "price_minor": int64(r.Effect.PriceMinor),
				"buy": r.Effect.Buy, "get": r.Effect.Get, "max_applications": r.Effect.MaxApplications,
				"tiers": tiers,
			},
			"max_discount_minor": nativeAmount(r.MaxDiscountMinor),
			"event_time":         r.EventTime, "source": nativeSource(r.Source),
		}
	case *StockRow:
		return map[string]any{
			"sku": r.SKU, "on_hand": r.OnHand, "version": r.Version,
			"updated_at": nativeTime("long.timestamp-micros", r.UpdatedAt), "deleted": r.Deleted,
			"event_time": r.EventTime, "source": nativeSource(r.Source),
		}
	case *OrderLine:
		return map[string]any{
			"order_id": r.OrderID, "checkout_id": r.CheckoutID, "cart_id": r.CartID, "sku": r.SKU,
			"qty": r.Qty, "inventory_version": r.InventoryVersion, "event_time": r.EventTime,
			"source": nativeSource(r.Source),
		}
	case *ReservationCommand:
		return map[string]any{
			"command_id": r.CommandID, "request_id": r.RequestID, "op": string(r.Op), "sku": r.SKU,
			"qty": r.Qty, "cart_id": r.CartID, "checkout_id": r.CheckoutID,
			"order_id": nativeStr(r.OrderID), "reason": nativeStr(r.Reason),
			"hold_ttl_ms": nativeLong(r.HoldTTLMillis), "event_time": r.EventTime,
		}
	case *ReservationResult:
		return map[string]any{
			"command_id": r.CommandID, "request_id": r.RequestID, "op": string(r.Op), "sku": r.SKU,
			"qty": r.Qty, "cart_id": r.CartID, "checkout_id": r.CheckoutID, "status": r.Status,
			"reason": nativeStr(r.Reason), "available": r.Available,
			"expires_at": nativeTime("long.timestamp-millis", r.ExpiresAt), "event_time": r.EventTime,
		}
	}
	panic("toNative: unexpected type")
}
