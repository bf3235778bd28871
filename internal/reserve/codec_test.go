package reserve_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

// Times that exercise every branch of the time encoding: zero,
// millisecond, nanosecond, pre-1970, far-future and beyond year 9999.
var (
	tNS   = t0.Add(123456789 * time.Nanosecond)
	tOld  = time.Date(1903, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	tFar  = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	tHuge = time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// richState exercises every branch of the state encoding: derivable and
// stored ids and the times above.
func richState() *reserve.State {
	return &reserve.State{
		SKU: sku, Known: true, OnHand: -3, Version: 1 << 40,
		Holds: []reserve.Hold{
			{RequestID: "co1:" + sku, CartID: "c1", CheckoutID: "co1", Qty: 2, State: reserve.Held, ExpiresAt: t0.Add(10 * time.Minute)},
			{RequestID: "co2:" + sku, CartID: "c2", CheckoutID: "co2", Qty: 1 << 30, State: reserve.Committed, ExpiresAt: tNS, CommittedAt: tOld, InventoryVersion: 7, HasInventoryVersion: true},
			{RequestID: "odd-request", CartID: "", CheckoutID: "co3", Qty: -1, State: reserve.Committed, CommittedAt: tHuge, InventoryVersion: -9},
		},
		Pending: []reserve.Pending{
			{RequestID: "co4:" + sku, InventoryVersion: 12, At: tFar},
			{RequestID: "co5:" + sku, InventoryVersion: 0, At: time.Time{}},
		},
	}
}

// richHandled exercises every branch of the dedup entry encoding: derivable
// and stored ids, an empty SKU, known and unknown ops, statuses and
// reasons, and the times above.
func richHandled() []reserve.Handled {
	return []reserve.Handled{
		{At: t0, Result: schemas.ReservationResult{CommandID: "co1:" + sku + ":reserve", RequestID: "co1:" + sku, Op: schemas.OpReserve, SKU: sku, Qty: 2,
			CartID: "c1", CheckoutID: "co1", Status: schemas.ResultReserved, Available: 8, ExpiresAt: ptr(t0.Add(10 * time.Minute)), EventTime: t0}},
		{At: tNS, Result: schemas.ReservationResult{CommandID: "co2:" + sku + ":commit", RequestID: "co2:" + sku, Op: schemas.OpCommit, SKU: sku, Qty: 1,
			CartID: "c2", CheckoutID: "co2", Status: schemas.ResultCommitted, Reason: ptr(reserve.ReasonLateCommit), Available: -1 << 40, EventTime: tOld}},
		{At: tFar, Result: schemas.ReservationResult{CommandID: "x", RequestID: "y", Op: "cancel", SKU: "SKU-9", Qty: -7,
			CartID: "c9", CheckoutID: "z", Status: "weird", Reason: ptr("some release reason"), Available: 0, ExpiresAt: ptr(time.Time{}), EventTime: tHuge}},
		{At: tOld, Result: schemas.ReservationResult{CommandID: "co6:SKU-2:release", RequestID: "co6:SKU-2", Op: schemas.OpRelease, SKU: "SKU-2",
			CartID: "c6", CheckoutID: "co6", Status: schemas.ResultReleased, Reason: ptr(""), EventTime: time.Time{}}},
		{At: time.Time{}, Result: schemas.ReservationResult{CommandID: "co7::release", RequestID: "co7:", Op: schemas.OpRelease,
			CheckoutID: "co7", Status: schemas.ResultRejected, Reason: ptr(reserve.ReasonInvalidCommand)}},
		{},
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

func TestHandledRoundTrip(t *testing.T) {
	for i, h := range richHandled() {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkHandledRoundTrip(t, h) })
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

// goldenRun is the run the golden tests encode: a stock row, a reserve and
// its commit.
func goldenRun(t testing.TB) (*reserve.State, []reserve.Handled) {
	t.Helper()
	cfg := reserve.DefaultConfig()
	log := reserve.MemoryLog{}
	var entries []reserve.Handled
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	for _, c := range []schemas.ReservationCommand{
		command(schemas.OpReserve, "co1", 3, t0),
		command(schemas.OpCommit, "co1", 3, t0.Add(time.Second)),
	} {
		var res schemas.ReservationResult
		var store bool
		s, res, store = reserve.ApplyCommand(s, c, c.EventTime, cfg, log)
		if !store {
			t.Fatalf("%s: not to be stored", c.CommandID)
		}
		h := reserve.Handled{At: c.EventTime.UTC(), Result: res}
		log.Put(c.CommandID, h)
		entries = append(entries, h)
	}
	return s, entries
}

// TestEncodeGolden pins the formats: a change to these bytes is a change
// of the table encoding and needs a new format version.
func TestEncodeGolden(t *testing.T) {
	s, entries := goldenRun(t)
	const want = "020105534b552d31140201" + // header: version 2, known, SKU-1, on_hand 10, version 1, one hold
		"0109636f313a534b552d3108636172742d636f3106818cb2e5fea103bdbda40200" + // committed hold co1
		"00" // no pending
	got := hex.EncodeToString(mustEncode(t, s))
	if got != want {
		t.Errorf("state encoding changed:\n got %s\nwant %s", got, want)
	}
	for i, want := range []string{
		"81" + "81908de3fea103" + // version, At t0 (ms since 1970)
			"12" + "00" + "00" + // flags: ExpiresAt set, SKU stored; reserve; reserved
			"11636f313a534b552d313a72657365727665" + "08636172742d636f31" + "05534b552d31" + // co1:SKU-1:reserve, cart-co1, SKU-1
			"06" + "0e" + "81fca402" + "fdfba402", // qty 3, available 7, ExpiresAt +10 min, EventTime −10 min
		"81" + "c1ce8de3fea103" + // version, At t0+1s
			"10" + "02" + "03" + // flags: SKU stored; commit; committed
			"10636f313a534b552d313a636f6d6d6974" + "08636172742d636f31" + "05534b552d31" + // co1:SKU-1:commit, cart-co1, SKU-1
			"06" + "0e" + "01", // qty 3, available 7, EventTime +0
	} {
		got := hex.EncodeToString(reserve.AppendHandled(nil, entries[i]))
		if got != want {
			t.Errorf("entry %d encoding changed:\n got %s\nwant %s", i, got, want)
		}
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
	// Version 1, which held the dedup entries: TestEncodeGolden's run
	// before they left the state.
	v1, _ := hex.DecodeString("010105534b552d31140201" +
		"0109636f313a534b552d3108636172742d636f3106818cb2e5fea103bdbda40200" + "0002" +
		"bd3e02000011636f313a534b552d313a7265736572766508636172742d636f31060e81fca402fdfba402" +
		"c13e00020310636f313a534b552d313a636f6d6d697408636172742d636f31060e01")
	_, entries := goldenRun(t)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "format version: unexpected end"},
		{"version 1", v1, "format version 1, want 2"},
		{"a dedup entry", reserve.AppendHandled(nil, entries[0]), "format version 129, want 2"},
		{"state flags", []byte{2, 2, 0, 0, 0, 0, 0}, "unknown state flags 0x2"},
		{"trailing bytes", append(mustEncode(t, &reserve.State{}), 0), "1 trailing bytes"},
		{"huge count", []byte{2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "holds: 4294967295 items in 0 bytes"},
		{"unsorted holds", unsorted, "holds not strictly sorted"},
		{"bad time tag", []byte{2, 0, 0, 0, 0, 0, 1, 3, 'a', ':', 'x', 0, 3}, "pending at: bad time tag 3"},
		{"hold flags", []byte{2, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0}, "unknown hold flags 0x8"},
		{"hold request id", []byte{2, 0, 1, 'x', 0, 0, 1, 0, 1, 'y', 0, 0, 0, 0, 0, 0}, `hold request_id "y" does not end in :x`},
		{"hold qty", []byte{2, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0, 0}, "hold qty: -4294967296 out of int32 range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reserve.Decode(tc.data)
			if !errors.Is(err, reserve.ErrBadEncoding) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "state at byte") {
				t.Fatalf("Decode = %v, want ErrBadEncoding about a state: %s", err, tc.want)
			}
		})
	}
}

func TestDecodeHandledErrors(t *testing.T) {
	for _, h := range richHandled() {
		good := reserve.AppendHandled(nil, h)
		// Every strict prefix is an error, never a panic.
		for n := range len(good) {
			if _, err := reserve.DecodeHandled(good[:n]); !errors.Is(err, reserve.ErrBadEncoding) {
				t.Fatalf("DecodeHandled of %d of %d bytes: %v", n, len(good), err)
			}
		}
	}
	_, entries := goldenRun(t)
	good := reserve.AppendHandled(nil, entries[0]) // a reserve: no reason, derived ids
	late := reserve.AppendHandled(nil, richHandled()[1])
	// with returns a copy of data with old, found at its last occurrence,
	// replaced by new.
	with := func(data []byte, old, new string) []byte {
		i := bytes.LastIndex(data, []byte(old))
		if i < 0 || len(old) != len(new) {
			t.Fatalf("%q not in %x", old, data)
		}
		d := bytes.Clone(data)
		copy(d[i:], new)
		return d
	}
	// set returns a copy of data with data[i] = b.
	set := func(data []byte, i int, b byte) []byte {
		d := bytes.Clone(data)
		d[i] = b
		return d
	}
	f, fl := flagsAt(entries[0]), flagsAt(richHandled()[1])
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "format version: unexpected end"},
		{"a state", mustEncode(t, richState()), "format version 0x2, want 0x81"},
		{"trailing bytes", append(bytes.Clone(good), 0), "1 trailing bytes"},
		{"bad time tag", []byte{0x81, 3}, "at: bad time tag 3"},
		{"flags", set(good, f, 0x20), "unknown result flags 0x20"},
		{"op code", set(good, f+1, 4), "bad op code 4"},
		{"status code", set(good, f+2, 5), "bad status code 5"},
		{"reason code", set(late, fl+3, 99), "bad reason code 99"},
		{"command id", with(good, "co1:SKU-1:reserve", "co1:SKU-1:reservX"), `command_id "co1:SKU-1:reservX" does not end in :reserve`},
		{"request id", with(good, "SKU-1", "SKU-2"), `request_id "co1:SKU-1" does not end in :SKU-2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reserve.DecodeHandled(tc.data)
			if !errors.Is(err, reserve.ErrBadEncoding) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "dedup entry at byte") {
				t.Fatalf("DecodeHandled = %v, want ErrBadEncoding about a dedup entry: %s", err, tc.want)
			}
		})
	}
}

// flagsAt returns the offset of the result flags in h's encoding: after
// the version byte and At.
func flagsAt(h reserve.Handled) int {
	return len(reserve.AppendHandled(nil, reserve.Handled{At: h.At})) - len(reserve.AppendHandled(nil, reserve.Handled{})) + 2
}

// FuzzDecodeState: Decode never panics; whatever it accepts re-encodes, and
// decodes again to the same state with the same bytes.
func FuzzDecodeState(f *testing.F) {
	f.Add(mustEncode(f, richState()))
	f.Add(mustEncode(f, nil))
	f.Add(mustEncode(f, &reserve.State{SKU: sku, Known: true, OnHand: 5, Version: 2}))
	cfg := reserve.DefaultConfig()
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	s, _, _ = reserve.ApplyCommand(s, command(schemas.OpReserve, "co1", 3, t0), t0, cfg, nil)
	s = reserve.ApplyOrderLine(s, orderLine("co2", 1, 2, t0), t0, cfg, nil)
	s, _, _ = reserve.ApplyCommand(s, command(schemas.OpCommit, "co1", 3, t0), t0, cfg, nil)
	f.Add(mustEncode(f, s))
	f.Add([]byte{2, 1, 0, 0, 0, 0, 0})
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

// FuzzDecodeHandled: DecodeHandled never panics; whatever it accepts
// re-encodes to the same bytes (the encoding has one form per entry) and
// decodes again to the same entry.
func FuzzDecodeHandled(f *testing.F) {
	for _, h := range richHandled() {
		f.Add(reserve.AppendHandled(nil, h))
	}
	_, entries := goldenRun(f)
	for _, h := range entries {
		f.Add(reserve.AppendHandled(nil, h))
	}
	f.Add([]byte{0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := reserve.DecodeHandled(data)
		if err != nil {
			if !errors.Is(err, reserve.ErrBadEncoding) {
				t.Fatalf("error %v does not wrap ErrBadEncoding", err)
			}
			return
		}
		b := reserve.AppendHandled(nil, h)
		h2, err := reserve.DecodeHandled(b)
		if err != nil {
			t.Fatalf("DecodeHandled(AppendHandled(DecodeHandled(data))): %v", err)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("entry changed through AppendHandled:\n%+v\n%+v", h, h2)
		}
		if b2 := reserve.AppendHandled(nil, h2); !bytes.Equal(b, b2) {
			t.Fatalf("encoding not stable:\n%x\n%x", b, b2)
		}
		// A decoded entry is usable as a stored result.
		c := command(schemas.OpReserve, "co1", 1, t0)
		log := reserve.MemoryLog{c.CommandID: h, reserve.CommandID(c.RequestID, schemas.OpRelease): h}
		_, _, _ = reserve.ApplyCommand(nil, c, t0, reserve.DefaultConfig(), log)
	})
}
