package inventory

import (
	"bytes"
	"sort"
	"testing"
	"time"

	"github.com/lovoo/goka/storage"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func sampleEntry(id string) entry {
	reason := reserve.ReasonInsufficientStock
	return entry{CommandID: id, Partition: 3, Offset: 12345, Handled: reserve.Handled{At: t0, Result: schemas.ReservationResult{
		CommandID: id, RequestID: "co-1:SKU-1", Op: schemas.OpReserve, SKU: "SKU-1", Qty: 2,
		CartID: "c-1", CheckoutID: "co-1", Status: schemas.ResultRejected, Reason: &reason, Available: 1, EventTime: t0,
	}}}
}

func sampleState() *reserve.State {
	return &reserve.State{SKU: "SKU-1", Known: true, OnHand: 10, Version: 4, Holds: []reserve.Hold{
		{RequestID: "co-1:SKU-1", CartID: "c-1", CheckoutID: "co-1", Qty: 2, State: reserve.Held, ExpiresAt: t0.Add(10 * time.Minute)},
	}}
}

func TestValueRoundTrip(t *testing.T) {
	e := sampleEntry("co-1:SKU-1:reserve")
	cases := []struct {
		name string
		v    skuValue
	}{
		{"empty", skuValue{}},
		{"state only", skuValue{State: sampleState()}},
		{"everything", skuValue{State: sampleState(), Last: &e, StreamTime: t0.Add(time.Second)}},
		{"before 1970", skuValue{State: sampleState(), StreamTime: time.Unix(-5, 0).UTC()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := appendValue(nil, c.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeValue(b)
			if err != nil {
				t.Fatal(err)
			}
			again, err := appendValue(nil, got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Errorf("re-encoding differs:\n%x\n%x", b, again)
			}
			if !got.StreamTime.Equal(c.v.StreamTime) || (got.Last == nil) != (c.v.Last == nil) {
				t.Errorf("got %+v, want %+v", got, c.v)
			}
			if c.v.Last != nil && (got.Last.CommandID != e.CommandID || got.Last.Offset != e.Offset || got.Last.Partition != e.Partition ||
				outcome(got.Last.Handled.Result) != outcome(e.Handled.Result)) {
				t.Errorf("last entry %+v, want %+v", got.Last, e)
			}
		})
	}
}

func TestDecodeRejectsBadValues(t *testing.T) {
	good, err := appendValue(nil, skuValue{State: sampleState(), StreamTime: t0})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"nil":       nil,
		"magic":     append([]byte{'X'}, good[1:]...),
		"version":   append([]byte{'V', 9}, good[2:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte{}, good...), 0),
		"flags":     append([]byte{'V', 1, 0x80}, good[3:]...),
	} {
		if _, err := decodeValue(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := decodeEntry("x", []byte{'D', 1}); err == nil {
		t.Error("decoded a truncated entry")
	}
}

func TestIndexKeysSortByTime(t *testing.T) {
	times := []time.Time{t0, time.Unix(-100, 0), t0.Add(-time.Nanosecond), time.Unix(0, 0), t0.Add(48 * time.Hour)}
	var keys []string
	for i, at := range times {
		keys = append(keys, indexKey(at, string(rune('a'+i))))
	}
	sort.Strings(keys)
	var prev time.Time
	for i, k := range keys {
		id, at, ok := indexCommand([]byte(k))
		if !ok || len(id) != 1 {
			t.Fatalf("index key %q: %q %v", k, id, ok)
		}
		if i > 0 && at.Before(prev) {
			t.Errorf("key order puts %v after %v", at, prev)
		}
		prev = at
		if k < indexPrefix || k >= indexLimit || IsSKUKey(k) || IsSKUKey(dedupKey(id)) {
			t.Errorf("key %q outside the index range or taken for a SKU", k)
		}
	}
}

// TestLogPrefersLast: after a crash lost a dedup entry but not the value
// written before it, the value's Last answers the lookup; otherwise the
// stored entry does.
func TestLogPrefersLast(t *testing.T) {
	st := storage.NewMemory()
	stored := sampleEntry("co-1:SKU-1:reserve")
	if err := st.Set(dedupKey(stored.CommandID), appendEntry(nil, stored)); err != nil {
		t.Fatal(err)
	}
	last := sampleEntry("co-2:SKU-1:reserve")
	last.Offset = 99
	l := &partitionLog{st: st, last: &last}
	for _, c := range []struct {
		id     string
		found  bool
		offset int64
	}{
		{"co-2:SKU-1:reserve", true, 99},
		{"co-1:SKU-1:reserve", true, 12345},
		{"co-3:SKU-1:reserve", false, 0},
	} {
		l.hit = nil
		_, ok := l.Handled(c.id)
		if ok != c.found || ok && (l.hit.CommandID != c.id || l.hit.Offset != c.offset) {
			t.Errorf("%s: found %v hit %+v", c.id, ok, l.hit)
		}
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
}

func FuzzDecodeValue(f *testing.F) {
	e := sampleEntry("co-1:SKU-1:reserve")
	for _, v := range []skuValue{{}, {State: sampleState(), Last: &e, StreamTime: t0}} {
		b, err := appendValue(nil, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(appendEntry(nil, e))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := decodeValue(data); err == nil {
			if _, err := appendValue(nil, v); err != nil {
				t.Fatalf("decoded value does not encode: %v", err)
			}
		}
		if e, err := decodeEntry("id", data); err == nil {
			if _, err := decodeEntry("id", appendEntry(nil, e)); err != nil {
				t.Fatalf("decoded entry does not round-trip: %v", err)
			}
		}
	})
}

// TestExpiredSelectsOldEntries: a tick deletes the entries stored before the
// cutoff, oldest first, at most PruneBatch of them, and their index keys.
func TestExpiredSelectsOldEntries(t *testing.T) {
	st := storage.NewMemory()
	for i, at := range []time.Time{t0.Add(3 * time.Hour), t0, t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
		id := string(rune('a' + i))
		if err := st.Set(dedupKey(id), appendEntry(nil, sampleEntry(id))); err != nil {
			t.Fatal(err)
		}
		if err := st.Set(indexKey(at, id), indexMark); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Set("SKU-1", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cutoff time.Time
		batch  int
		want   string
	}{
		{t0, 10, ""},
		{t0.Add(time.Hour), 10, "b"},
		{t0.Add(150 * time.Minute), 10, "bcd"},
		{t0.Add(150 * time.Minute), 2, "bc"},
		{t0.Add(24 * time.Hour), 10, "bcda"},
	} {
		h := &handler{cfg: Config{PruneBatch: c.batch}}
		recs, err := h.expired(st, c.cutoff)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for i := 0; i < len(recs); i += 2 {
			id, _, ok := indexCommand([]byte(recs[i].key))
			if !ok || recs[i+1].key != dedupKey(id) || recs[i].value != nil || recs[i+1].value != nil {
				t.Fatalf("records %+v", recs)
			}
			got += id
		}
		if got != c.want {
			t.Errorf("cutoff %v batch %d: pruned %q, want %q", c.cutoff, c.batch, got, c.want)
		}
	}
}
