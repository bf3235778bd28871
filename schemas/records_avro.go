package schemas

import (
	"fmt"

	"cartstream/internal/money"
)

// avroRecord is implemented by a pointer to each Record type: the
// hand-written Avro binary body of the record's current schema. The field
// order here is the field order of the .avsc file; TestCodecsMatchGoavro
// proves it byte for byte.
type avroRecord interface {
	appendAvro(w *writer)
	readAvro(r *reader)
}

// readRecord and appendRecord call the concrete method for v's type. The
// type switch lets escape analysis see that r and w do not outlive the
// call, so they stay on the caller's stack; a call through the avroRecord
// interface would move them to the heap on every record.
func readRecord(v avroRecord, r *reader) {
	switch x := v.(type) {
	case *Product:
		x.readAvro(r)
	case *Promotion:
		x.readAvro(r)
	case *StockRow:
		x.readAvro(r)
	case *OrderLine:
		x.readAvro(r)
	case *ReservationCommand:
		x.readAvro(r)
	case *ReservationResult:
		x.readAvro(r)
	}
}

func appendRecord(v avroRecord, w *writer) {
	switch x := v.(type) {
	case *Product:
		x.appendAvro(w)
	case *Promotion:
		x.appendAvro(w)
	case *StockRow:
		x.appendAvro(w)
	case *OrderLine:
		x.appendAvro(w)
	case *ReservationCommand:
		x.appendAvro(w)
	case *ReservationResult:
		x.appendAvro(w)
	}
}

func (w *writer) amount(a money.Amount) { w.long(int64(a)) }

func (w *writer) nullAmount(a *money.Amount) {
	if a == nil {
		w.long(0)
		return
	}
	w.long(1)
	w.long(int64(*a))
}

func (r *reader) amount(field string) money.Amount { return money.Amount(r.long(field)) }

func (r *reader) nullAmount(field string) *money.Amount {
	if !r.branch(field) {
		return nil
	}
	a := money.Amount(r.long(field))
	return &a
}

func (w *writer) op(op ReservationOp) {
	for i, o := range reservationOps {
		if o == op {
			w.long(int64(i))
			return
		}
	}
	if w.err == nil {
		w.err = fmt.Errorf("op: %q is not one of reserve, release, commit", op)
	}
}

func (r *reader) op(field string) ReservationOp {
	i := r.long(field)
	if r.err != nil {
		return ""
	}
	if i < 0 || i >= int64(len(reservationOps)) {
		r.fail(field, fmt.Errorf("enum index %d of %d", i, len(reservationOps)))
		return ""
	}
	return reservationOps[i]
}

func (p *Product) appendAvro(w *writer) {
	w.str("sku", p.SKU)
	w.str("name", p.Name)
	w.str("category", p.Category)
	w.str("brand", p.Brand)
	w.amount(p.PriceMinor)
	w.str("currency", p.Currency)
	w.boolean(p.Active)
	w.timeMillis(p.EventTime)
	w.source(&p.Source)
}

func (p *Product) readAvro(r *reader) {
	p.SKU = r.str("sku")
	p.Name = r.str("name")
	p.Category = r.str("category")
	p.Brand = r.str("brand")
	p.PriceMinor = r.amount("price_minor")
	p.Currency = r.str("currency")
	p.Active = r.boolean("active")
	p.EventTime = r.timeMillis("event_time")
	p.Source = r.source()
}

func (p *Promotion) appendAvro(w *writer) {
	w.str("id", p.ID)
	w.str("name", p.Name)
	w.boolean(p.Active)
	w.int(p.Priority)
	w.str("stacking", p.Stacking)
	w.nullStr("coupon_code", p.CouponCode)
	w.nullTimeMicros(p.ValidFrom)
	w.nullTimeMicros(p.ValidUntil)
	w.strArray("segments", p.Segments)
	w.str("currency", p.Currency)

	c := &p.Condition
	w.nullAmount(c.MinSubtotalMinor)
	w.nullInt(c.MinQuantity)
	w.strArray("condition.requires_skus", c.RequiresSKUs)
	w.strArray("condition.requires_categories", c.RequiresCategories)

	t := &p.Target
	w.strArray("target.skus", t.SKUs)
	w.strArray("target.categories", t.Categories)
	w.strArray("target.brands", t.Brands)

	e := &p.Effect
	w.str("effect.type", e.Type)
	w.int(e.Bps)
	w.amount(e.AmountMinor)
	w.str("effect.per", e.Per)
	w.int(e.Quantity)
	w.amount(e.PriceMinor)
	w.int(e.Buy)
	w.int(e.Get)
	w.int(e.MaxApplications)
	if len(e.Tiers) > 0 {
		w.long(int64(len(e.Tiers)))
		for i := range e.Tiers {
			w.amount(e.Tiers[i].MinSubtotalMinor)
			w.int(e.Tiers[i].Bps)
		}
	}
	w.long(0)

	w.nullAmount(p.MaxDiscountMinor)
	w.timeMillis(p.EventTime)
	w.source(&p.Source)
}

// tierMinBytes is the smallest encoding of a Tier: two one-byte varints.
const tierMinBytes = 2

func (p *Promotion) readAvro(r *reader) {
	p.ID = r.str("id")
	p.Name = r.str("name")
	p.Active = r.boolean("active")
	p.Priority = r.int("priority")
	p.Stacking = r.str("stacking")
	p.CouponCode = r.nullStr("coupon_code")
	p.ValidFrom = r.nullTimeMicros("valid_from")
	p.ValidUntil = r.nullTimeMicros("valid_until")
	p.Segments = r.strArray("segments")
	p.Currency = r.str("currency")

	c := &p.Condition
	c.MinSubtotalMinor = r.nullAmount("condition.min_subtotal_minor")
	c.MinQuantity = r.nullInt("condition.min_quantity")
	c.RequiresSKUs = r.strArray("condition.requires_skus")
	c.RequiresCategories = r.strArray("condition.requires_categories")

	t := &p.Target
	t.SKUs = r.strArray("target.skus")
	t.Categories = r.strArray("target.categories")
	t.Brands = r.strArray("target.brands")

	e := &p.Effect
	e.Type = r.str("effect.type")
	e.Bps = r.int("effect.bps")
	e.AmountMinor = r.amount("effect.amount_minor")
	e.Per = r.str("effect.per")
	e.Quantity = r.int("effect.quantity")
	e.PriceMinor = r.amount("effect.price_minor")
	e.Buy = r.int("effect.buy")
	e.Get = r.int("effect.get")
	e.MaxApplications = r.int("effect.max_applications")
	e.Tiers = nil
	for {
		n := r.blockLen("effect.tiers", tierMinBytes)
		if n == 0 || r.err != nil {
			break
		}
		if e.Tiers == nil {
			e.Tiers = make([]Tier, 0, n)
		}
		for i := 0; i < n; i++ {
			e.Tiers = append(e.Tiers, Tier{
				MinSubtotalMinor: r.amount("effect.tiers.min_subtotal_minor"),
				Bps:              r.int("effect.tiers.bps"),
			})
		}
	}

	p.MaxDiscountMinor = r.nullAmount("max_discount_minor")
	p.EventTime = r.timeMillis("event_time")
	p.Source = r.source()
}

func (s *StockRow) appendAvro(w *writer) {
	w.str("sku", s.SKU)
	w.int(s.OnHand)
	w.long(s.Version)
	w.nullTimeMicros(s.UpdatedAt)
	w.boolean(s.Deleted)
	w.timeMillis(s.EventTime)
	w.source(&s.Source)
}

func (s *StockRow) readAvro(r *reader) {
	s.SKU = r.str("sku")
	s.OnHand = r.int("on_hand")
	s.Version = r.long("version")
	s.UpdatedAt = r.nullTimeMicros("updated_at")
	s.Deleted = r.boolean("deleted")
	s.EventTime = r.timeMillis("event_time")
	s.Source = r.source()
}

func (o *OrderLine) appendAvro(w *writer) {
	w.str("order_id", o.OrderID)
	w.str("checkout_id", o.CheckoutID)
	w.str("cart_id", o.CartID)
	w.str("sku", o.SKU)
	w.int(o.Qty)
	w.long(o.InventoryVersion)
	w.timeMillis(o.EventTime)
	w.source(&o.Source)
}

func (o *OrderLine) readAvro(r *reader) {
	o.OrderID = r.str("order_id")
	o.CheckoutID = r.str("checkout_id")
	o.CartID = r.str("cart_id")
	o.SKU = r.str("sku")
	o.Qty = r.int("qty")
	o.InventoryVersion = r.long("inventory_version")
	o.EventTime = r.timeMillis("event_time")
	o.Source = r.source()
}

func (c *ReservationCommand) appendAvro(w *writer) {
	w.str("command_id", c.CommandID)
	w.str("request_id", c.RequestID)
	w.op(c.Op)
	w.str("sku", c.SKU)
	w.int(c.Qty)
	w.str("cart_id", c.CartID)
	w.str("checkout_id", c.CheckoutID)
	w.nullStr("order_id", c.OrderID)
	w.nullStr("reason", c.Reason)
	w.nullLong(c.HoldTTLMillis)
	w.timeMillis(c.EventTime)
}

func (c *ReservationCommand) readAvro(r *reader) {
	c.CommandID = r.str("command_id")
	c.RequestID = r.str("request_id")
	c.Op = r.op("op")
	c.SKU = r.str("sku")
	c.Qty = r.int("qty")
	c.CartID = r.str("cart_id")
	c.CheckoutID = r.str("checkout_id")
	c.OrderID = r.nullStr("order_id")
	c.Reason = r.nullStr("reason")
	c.HoldTTLMillis = r.nullLong("hold_ttl_ms")
	c.EventTime = r.timeMillis("event_time")
}

func (s *ReservationResult) appendAvro(w *writer) {
	w.str("command_id", s.CommandID)
	w.str("request_id", s.RequestID)
	w.op(s.Op)
	w.str("sku", s.SKU)
	w.int(s.Qty)
	w.str("cart_id", s.CartID)
	w.str("checkout_id", s.CheckoutID)
	w.str("status", s.Status)
	w.nullStr("reason", s.Reason)
	w.long(s.Available)
	w.nullTimeMillis(s.ExpiresAt)
	w.timeMillis(s.EventTime)
}

func (s *ReservationResult) readAvro(r *reader) {
	s.CommandID = r.str("command_id")
	s.RequestID = r.str("request_id")
	s.Op = r.op("op")
	s.SKU = r.str("sku")
	s.Qty = r.int("qty")
	s.CartID = r.str("cart_id")
	s.CheckoutID = r.str("checkout_id")
	s.Status = r.str("status")
	s.Reason = r.nullStr("reason")
	s.Available = r.long("available")
	s.ExpiresAt = r.nullTimeMillis("expires_at")
	s.EventTime = r.timeMillis("event_time")
}
