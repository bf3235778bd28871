package reserve_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

// t0 is an arbitrary stream time origin.
var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

const sku = "SKU-1"

func ptr[T any](v T) *T { return &v }

// command builds a well-formed command of checkout co on sku.
func command(op schemas.ReservationOp, co string, qty int32, at time.Time) schemas.ReservationCommand {
	r := reserve.RequestID(co, sku)
	return schemas.ReservationCommand{
		CommandID: reserve.CommandID(r, op), RequestID: r, Op: op, SKU: sku, Qty: qty,
		CartID: "cart-" + co, CheckoutID: co, EventTime: at,
	}
}

func stockRow(onHand int32, version int64, at time.Time) schemas.StockRow {
	return schemas.StockRow{SKU: sku, OnHand: onHand, Version: version, EventTime: at}
}

func orderLine(co string, qty int32, version int64, at time.Time) schemas.OrderLine {
	return schemas.OrderLine{OrderID: "o-" + co, CheckoutID: co, CartID: "cart-" + co, SKU: sku, Qty: qty, InventoryVersion: version, EventTime: at}
}

// mustEncode encodes s or fails the test.
func mustEncode(t testing.TB, s *reserve.State) []byte {
	t.Helper()
	b, err := reserve.Encode(s)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

// normalize returns a copy of s with empty slices as nil, so states that
// differ only there compare equal.
func normalize(s *reserve.State) *reserve.State {
	if s == nil {
		return nil
	}
	n := *s
	if len(n.Holds) == 0 {
		n.Holds = nil
	}
	if len(n.Pending) == 0 {
		n.Pending = nil
	}
	return &n
}

// checkRoundTrip checks that s survives Encode and Decode exactly and that
// re-encoding gives the same bytes.
func checkRoundTrip(t testing.TB, s *reserve.State) {
	t.Helper()
	b := mustEncode(t, s)
	got, err := reserve.Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode(s)): %v", err)
	}
	want := normalize(s)
	if want == nil {
		want = &reserve.State{}
	}
	if !reflect.DeepEqual(normalize(got), want) {
		t.Fatalf("round trip changed the state:\n got %+v\nwant %+v", got, want)
	}
	if b2 := mustEncode(t, got); !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding differs:\n%x\n%x", b, b2)
	}
}

// checkHandledRoundTrip checks that h survives AppendHandled and
// DecodeHandled exactly, appended after other bytes too, and that
// re-encoding gives the same bytes.
func checkHandledRoundTrip(t testing.TB, h reserve.Handled) {
	t.Helper()
	b := reserve.AppendHandled(nil, h)
	got, err := reserve.DecodeHandled(b)
	if err != nil {
		t.Fatalf("DecodeHandled(AppendHandled(h)): %v", err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("round trip changed the entry:\n got %+v\nwant %+v", got, h)
	}
	if b2 := reserve.AppendHandled([]byte("prefix"), got); !bytes.Equal(b2, append([]byte("prefix"), b...)) {
		t.Fatalf("re-encoding differs:\n%x\n%x", b, b2)
	}
}

// inWindow returns the entry of a command id in log if it counts at
// streamTime: not more than the dedup window before it.
func inWindow(log reserve.MemoryLog, commandID string, streamTime time.Time, cfg reserve.Config) (reserve.Handled, bool) {
	w := cfg.DedupWindow
	if w <= 0 {
		w = reserve.DefaultDedupWindow
	}
	h, ok := log.Handled(commandID)
	if !ok || streamTime.Sub(h.At) > w {
		return reserve.Handled{}, false
	}
	return h, true
}

// reasonOf renders a result's reason for messages and comparisons.
func reasonOf(r schemas.ReservationResult) string {
	if r.Reason == nil {
		return ""
	}
	return *r.Reason
}
