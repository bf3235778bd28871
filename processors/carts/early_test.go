package carts

import (
	"testing"
	"time"

	"cartstream/schemas"
)

// TestEarlyResultsDuringReplay: replaying from the earliest offsets, the
// result of a checkout's reserve is read before the cart events that open
// the checkout; kept in the cart, it is applied when checkout_started is
// re-read, so the checkout ends reserved as it was, not pending for ever.
func TestEarlyResultsDuringReplay(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	exp := t0.Add(10 * time.Minute)
	res := schemas.ReservationResult{CommandID: "co-1:A:reserve", RequestID: "co-1:A", Op: schemas.OpReserve, SKU: "A", Qty: 2,
		CartID: "c-1", CheckoutID: "co-1", Status: schemas.ResultReserved, Available: 8, ExpiresAt: &exp, EventTime: t0.Add(time.Second)}
	c := holdEarly(nil, "c-1", res)
	if c.ID != "c-1" || c.Version != 0 || len(c.EarlyResults) != 1 {
		t.Fatalf("shell cart %+v", c)
	}
	for i, e := range []Event{
		{ID: "e1", CartID: "c-1", Type: ItemAdded, SKU: "A", Qty: 2, Currency: "USD"},
		{ID: "e2", CartID: "c-1", Type: CheckoutStarted, CheckoutID: "co-1"},
	} {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		out, err := ApplyEvent(c, e, at, at)
		if err != nil {
			t.Fatal(err)
		}
		c = applyEarly(out.Cart, at)
	}
	if c.Checkout == nil || c.Checkout.Status != StatusReserved || len(c.EarlyResults) != 0 || c.Version != 2 {
		t.Fatalf("after the replayed events: checkout %+v, early %d, version %d", c.Checkout, len(c.EarlyResults), c.Version)
	}
	// A result kept for a checkout never re-read is dropped past the
	// boundary.
	c = holdEarly(c, "c-1", schemas.ReservationResult{CheckoutID: "co-9", SKU: "B", Op: schemas.OpReserve})
	if c = dropEarly(c); len(c.EarlyResults) != 0 {
		t.Errorf("kept results after the boundary: %+v", c.EarlyResults)
	}
	// The cap.
	var k *Cart
	for i := 0; i < EarlyResultsMax+5; i++ {
		k = holdEarly(k, "c-2", schemas.ReservationResult{CheckoutID: "co", Qty: int32(i)})
	}
	if len(k.EarlyResults) != EarlyResultsMax || k.EarlyResults[0].Qty != 5 {
		t.Errorf("cap: %d results, first qty %d", len(k.EarlyResults), k.EarlyResults[0].Qty)
	}
}
