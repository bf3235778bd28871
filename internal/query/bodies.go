package query

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"cartstream/internal/reserve"
	"cartstream/processors/carts"
	"cartstream/processors/inventory"
	"cartstream/topology"
)

// cartBody is GET /v1/carts/{id} (DESIGN §7).
type cartBody struct {
	CartID      string        `json:"cart_id"`
	CartVersion int64         `json:"cart_version"`
	Currency    string        `json:"currency"`
	CustomerID  *string       `json:"customer_id"`
	Segments    []string      `json:"segments"`
	Coupons     []string      `json:"coupons"`
	Lines       []carts.Line  `json:"lines"`
	Checkout    *checkoutBody `json:"checkout"`
}

// checkoutBody is a cart's current checkout, shaped like its status on
// cartstream.checkouts.
type checkoutBody struct {
	CheckoutID string             `json:"checkout_id"`
	Status     string             `json:"status"`
	Reason     *string            `json:"reason"`
	OrderID    *string            `json:"order_id"`
	Lines      []checkoutLineBody `json:"lines"`
	EventTime  time.Time          `json:"event_time"`
}

type checkoutLineBody struct {
	SKU       string     `json:"sku"`
	Qty       int32      `json:"qty"`
	Status    string     `json:"status"`
	Reason    *string    `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func renderCart(_ int32, data []byte) (any, error) {
	c, err := carts.DecodeCart(data)
	if err != nil {
		return nil, err
	}
	if c.Version == 0 {
		// Only results kept during a replay, no event applied yet.
		return nil, errAbsent
	}
	b := cartBody{CartID: c.ID, CartVersion: c.Version, Currency: c.Currency, CustomerID: c.CustomerID,
		Segments: nonNil(c.Segments), Coupons: nonNil(c.Coupons), Lines: nonNil(c.Lines)}
	if co := c.Checkout; co != nil {
		cb := &checkoutBody{CheckoutID: co.ID, Status: co.Status, Reason: co.Reason, OrderID: co.OrderID,
			EventTime: co.EventTime.UTC(), Lines: []checkoutLineBody{}}
		for _, l := range co.Lines {
			cb.Lines = append(cb.Lines, checkoutLineBody{SKU: l.SKU, Qty: l.Qty, Status: l.Status, Reason: l.Reason, ExpiresAt: l.ExpiresAt})
		}
		b.Checkout = cb
	}
	return b, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// inventoryBody is GET /v1/inventory/{sku} (DESIGN §7).
type inventoryBody struct {
	SKU        string     `json:"sku"`
	Known      bool       `json:"known"`
	OnHand     int64      `json:"on_hand"`
	Version    int64      `json:"version"`
	Available  int64      `json:"available"`
	StreamTime *time.Time `json:"stream_time"`
	Holds      []holdBody `json:"holds"`
}

type holdBody struct {
	RequestID  string     `json:"request_id"`
	CartID     string     `json:"cart_id"`
	CheckoutID string     `json:"checkout_id"`
	Qty        int32      `json:"qty"`
	State      string     `json:"state"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

// renderInventory renders a SKU at stream time now(p) (the partition's, or
// the value's when later): holds that no longer count are left out, as
// Available leaves them out.
func renderInventory(now func(int32) time.Time) func(int32, []byte) (any, error) {
	return func(p int32, data []byte) (any, error) {
		st, written, err := inventory.DecodeSKUValue(data)
		if err != nil {
			return nil, err
		}
		t := now(p)
		if written.After(t) {
			t = written
		}
		b := inventoryBody{Holds: []holdBody{}}
		if !t.IsZero() {
			tt := t.UTC()
			b.StreamTime = &tt
		}
		if st == nil {
			return b, nil
		}
		st = reserve.Tick(st, t, reserve.DefaultConfig())
		b.SKU, b.Known, b.OnHand, b.Version = st.SKU, st.Known, st.OnHand, st.Version
		b.Available = reserve.Available(st, t)
		for _, h := range st.Holds {
			hb := holdBody{RequestID: h.RequestID, CartID: h.CartID, CheckoutID: h.CheckoutID, Qty: h.Qty, State: h.State.String()}
			if !h.ExpiresAt.IsZero() {
				e := h.ExpiresAt.UTC()
				hb.ExpiresAt = &e
			}
			b.Holds = append(b.Holds, hb)
		}
		return b, nil
	}
}

func (s *Service) cart(w http.ResponseWriter, r *http.Request) {
	s.keyed(w, r, topology.GroupCarts, r.PathValue("id"), renderCart)
}

func (s *Service) inventory(w http.ResponseWriter, r *http.Request) {
	sku := r.PathValue("sku")
	if err := inventory.ValidateSKU(sku); err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	g, _ := s.cfg.Topology.Group(topology.GroupInventory)
	now := func(p int32) time.Time {
		if s.cfg.StreamTime == nil {
			return time.Time{}
		}
		return s.cfg.StreamTime(g.ID, p)
	}
	s.keyed(w, r, topology.GroupInventory, sku, renderInventory(now))
}

func (s *Service) topology(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	if err := s.cfg.Topology.Describe(&buf); err != nil {
		writeError(w, http.StatusInternalServerError, CodeInternal, fmt.Sprintf("describe: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
