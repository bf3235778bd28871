package reserve_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

// richState exercises every branch of the encoding: derivable and stored
// ids, known and unknown ops, statuses and reasons, zero, millisecond,
// nanosecond, pre-1970 and far-future times.
func richState() *reserve.State {
	ns := t0.Add(123456789 * time.Nanosecond)
	old := time.Date(1903, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	far := time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	huge := time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)
	return &reserve.State{
		SKU: sku, Known: true, OnHand: -3, Version: 1 << 40,
		Holds: []reserve.Hold{
			{RequestID: "co1:" + sku, CartID: "c1", CheckoutID: "co1", Qty: 2, State: reserve.Held, ExpiresAt: t0.Add(10 * time.Minute)},
			{RequestID: "co2:" + sku, CartID: "c2", CheckoutID: "co2", Qty: 1 << 30, State: reserve.Committed, ExpiresAt: ns, CommittedAt: old, InventoryVersion: 7, HasInventoryVersion: true},
			{RequestID: "odd-request", CartID: "", CheckoutID: "co3", Qty: -1, State: reserve.Committed, CommittedAt: huge, InventoryVersion: -9},
		},
		Pending: []reserve.Pending{
			{RequestID: "co4:" + sku, InventoryVersion: 12, At: far},
			{RequestID: "co5:" + sku, InventoryVersion: 0, At: time.Time{}},
		},
		Dedup: []reserve.Handled{
			{At: t0, Result: schemas.ReservationResult{CommandID: "co1:" + sku + ":reserve", RequestID: "co1:" + sku, Op: schemas.OpReserve, SKU: sku, Qty: 2,
				CartID: "c1", CheckoutID: "co1", Status: schemas.ResultReserved, Available: 8, ExpiresAt: ptr(t0.Add(10 * time.Minute)), EventTime: t0}},
			{At: ns, Result: schemas.ReservationResult{CommandID: "co2:" + sku + ":commit", RequestID: "co2:" + sku, Op: schemas.OpCommit, SKU: sku, Qty: 1,
				CartID: "c2", CheckoutID: "co2", Status: schemas.ResultCommitted, Reason: ptr(reserve.ReasonLateCommit), Available: -1 << 40, EventTime: old}},
			{At: far, Result: schemas.ReservationResult{CommandID: "x", RequestID: "y", Op: "cancel", SKU: "SKU-9", Qty: -7,
				CartID: "c9", CheckoutID: "z", Status: "weird", Reason: ptr("some release reason"), Available: 0, ExpiresAt: ptr(time.Time{}), EventTime: huge}},
			{At: old, Result: schemas.ReservationResult{CommandID: "co6:SKU-2:release", RequestID: "co6:SKU-2", Op: schemas.OpRelease, SKU: "SKU-2",
				CartID: "c6", CheckoutID: "co6", Status: schemas.ResultReleased, Reason: ptr(""), EventTime: time.Time{}}},
		},
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for name, s := range map[string]*reserve.State{
		"nil":   nil,
		"empty": {},
		"known": {SKU: sku, Known: true, OnHand: 5, Version: 2},
		"rich":  richState(),
	} {
		t.Run(name, func(t *testing.T) { checkRoundTrip(t, s) })
	}
}

func TestAppendEncode(t *testing.T) {
	s := richState()
	want := mustEncode(t, s)
	got, err := reserve.AppendEncode([]byte("prefix"), s)
	if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendEncode = %x, %v", got, err)
	}
}

// TestEncodeGolden pins the format: a change to these bytes is a change of
// the table encoding and needs a new format version.
func TestEncodeGolden(t *testing.T) {
	cfg := reserve.DefaultConfig()
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	s, _ = reserve.ApplyCommand(s, command(schemas.OpReserve, "co1", 3, t0), t0, cfg)
	s, _ = reserve.ApplyCommand(s, command(schemas.OpCommit, "co1", 3, t0.Add(time.Second)), t0.Add(time.Second), cfg)
	const want = "010105534b552d31140201" + // header: known, SKU-1, on_hand 10, version 1, one hold
		"0109636f313a534b552d3108636172742d636f3106818cb2e5fea103bdbda40200" + // committed hold co1
		"0002" + // no pending, two dedup entries
		"bd3e02000011636f313a534b552d313a7265736572766508636172742d636f31060e81fca402fdfba402" + // reserve
		"c13e00020310636f313a534b552d313a636f6d6d697408636172742d636f31060e01" // commit
	got := hex.EncodeToString(mustEncode(t, s))
	if got != want {
		t.Errorf("encoding changed:\n got %s\nwant %s", got, want)
	}
	if len(got)/2 > 128 {
		t.Errorf("encoding of one committed hold and two results is %d bytes", len(got)/2)
	}
}

func TestEncodeErrors(t *testing.T) {
	bad := []*reserve.State{
		{SKU: sku, Holds: []reserve.Hold{{RequestID: "a"}}},
		{SKU: sku, Holds: []reserve.Hold{{RequestID: "b", State: reserve.Held}, {RequestID: "a", State: reserve.Held}}},
		{SKU: sku, Holds: []reserve.Hold{{RequestID: "a", State: reserve.Held}, {RequestID: "a", State: reserve.Held}}},
		{SKU: sku, Pending: []reserve.Pending{{RequestID: "b"}, {RequestID: "a"}}},
	}
	for i, s := range bad {
		if _, err := reserve.Encode(s); err == nil || !strings.Contains(err.Error(), sku) {
			t.Errorf("case %d: Encode = %v, want an error naming the sku", i, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustEncode(t, richState())
	// Every strict prefix is an error, never a panic.
	for n := range len(good) {
		if _, err := reserve.Decode(good[:n]); !errors.Is(err, reserve.ErrBadEncoding) {
			t.Fatalf("Decode of %d of %d bytes: %v", n, len(good), err)
		}
	}
	unsorted := mustEncode(t, &reserve.State{SKU: sku, Holds: []reserve.Hold{{RequestID: "a", State: reserve.Held}, {RequestID: "b", State: reserve.Held}}})
	i := bytes.LastIndexByte(unsorted, 'b')
	unsorted[i] = 'a'
	for name, data := range map[string][]byte{
		"empty":          nil,
		"format version": {2, 0, 0, 0, 0, 0, 0, 0},
		"state flags":    {1, 2, 0, 0, 0, 0, 0, 0},
		"trailing bytes": append(mustEncode(t, &reserve.State{}), 0),
		"huge count":     {1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unsorted holds": unsorted,
		"bad time tag":   {1, 0, 0, 0, 0, 0, 1, 3, 'a', ':', 'x', 0, 0, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := reserve.Decode(data)
			if !errors.Is(err, reserve.ErrBadEncoding) {
				t.Fatalf("Decode = %v, want ErrBadEncoding", err)
			}
		})
	}
}

// FuzzDecodeState: Decode never panics; whatever it accepts re-encodes, and
// decodes again to the same state with the same bytes.
func FuzzDecodeState(f *testing.F) {
	f.Add(mustEncode(f, richState()))
	f.Add(mustEncode(f, nil))
	f.Add(mustEncode(f, &reserve.State{SKU: sku, Known: true, OnHand: 5, Version: 2}))
	cfg := reserve.DefaultConfig()
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	s, _ = reserve.ApplyCommand(s, command(schemas.OpReserve, "co1", 3, t0), t0, cfg)
	s = reserve.ApplyOrderLine(s, orderLine("co2", 1, 2, t0), t0, cfg)
	s, _ = reserve.ApplyCommand(s, command(schemas.OpCommit, "co1", 3, t0), t0, cfg)
	f.Add(mustEncode(f, s))
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := reserve.Decode(data)
		if err != nil {
			if !errors.Is(err, reserve.ErrBadEncoding) {
				t.Fatalf("error %v does not wrap ErrBadEncoding", err)
			}
			return
		}
		b, err := reserve.Encode(s)
		if err != nil {
			t.Fatalf("Encode of a decoded state: %v", err)
		}
		s2, err := reserve.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(data))): %v", err)
		}
		if !reflect.DeepEqual(normalize(s), normalize(s2)) {
			t.Fatalf("state changed through Encode:\n%+v\n%+v", s, s2)
		}
		if b2 := mustEncode(t, s2); !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable:\n%x\n%x", b, b2)
		}
		// A decoded state is usable: the functions never panic on it.
		_ = reserve.Available(s, t0)
		_ = reserve.Tick(s, t0, cfg)
	})
}
