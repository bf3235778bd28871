package streamtime_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"cartstream/internal/streamtime"
)

// base is an arbitrary record timestamp, as a broker would assign it.
var base = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func TestRuleEventTime(t *testing.T) {
	tests := []struct {
		name        string
		rule        streamtime.Rule
		claimed     time.Time
		wantClaimed bool
	}{
		{"absent claim uses record timestamp", streamtime.Rule{}, time.Time{}, false},
		{"equal times use the claim", streamtime.Rule{}, base, true},
		{"claim a little early is believed", streamtime.Rule{}, base.Add(-90 * time.Second), true},
		{"claim a little late is believed", streamtime.Rule{}, base.Add(4 * time.Minute), true},
		{"claim exactly MaxSkew early is believed (inclusive)", streamtime.Rule{}, base.Add(-streamtime.DefaultMaxSkew), true},
		{"claim exactly MaxSkew late is believed (inclusive)", streamtime.Rule{}, base.Add(streamtime.DefaultMaxSkew), true},
		{"claim 1ns beyond MaxSkew early is rejected", streamtime.Rule{}, base.Add(-streamtime.DefaultMaxSkew - time.Nanosecond), false},
		{"claim 1ns beyond MaxSkew late is rejected", streamtime.Rule{}, base.Add(streamtime.DefaultMaxSkew + time.Nanosecond), false},
		{"claim an hour early is rejected", streamtime.Rule{}, base.Add(-time.Hour), false},
		{"claim a day late is rejected", streamtime.Rule{}, base.Add(24 * time.Hour), false},
		{"claim centuries away is rejected despite Sub saturating", streamtime.Rule{}, base.AddDate(500, 0, 0), false},
		{"claim before the epoch is rejected", streamtime.Rule{}, time.Unix(-1, 0), false},
		{"custom skew widens the window", streamtime.Rule{MaxSkew: time.Hour}, base.Add(-time.Hour), true},
		{"custom skew narrows the window", streamtime.Rule{MaxSkew: time.Second}, base.Add(2 * time.Second), false},
		{"negative skew believes no claim", streamtime.Rule{MaxSkew: -1}, base, false},
		{"claim in another zone compares by instant", streamtime.Rule{}, base.In(time.FixedZone("UTC+9", 9*3600)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, used := tc.rule.EventTime(tc.claimed, base)
			want := base
			if tc.wantClaimed {
				want = tc.claimed
			}
			if used != tc.wantClaimed || !got.Equal(want) {
				t.Fatalf("EventTime(%v, %v) = %v, %v; want %v, %v", tc.claimed, base, got, used, want, tc.wantClaimed)
			}
		})
	}
}

func TestClockStartsAtZero(t *testing.T) {
	var c streamtime.Clock
	if !c.Now().IsZero() {
		t.Fatalf("new clock reads %v, want the zero time", c.Now())
	}
	if c.Observe(time.Time{}) {
		t.Fatal("observing the zero time advanced a new clock")
	}
	if c.Observe(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("observing a time before the zero time advanced a new clock")
	}
	if !c.Now().IsZero() {
		t.Fatalf("clock reads %v after non-advancing observations", c.Now())
	}
}

func TestClockNeverMovesBackwards(t *testing.T) {
	steps := []struct {
		observe time.Duration // offset from base
		advance bool
		now     time.Duration // offset from base after the step
	}{
		{0, true, 0},
		{time.Second, true, time.Second},
		{time.Second, false, time.Second},        // equal: no advance
		{-time.Hour, false, time.Second},         // earlier: ignored
		{time.Nanosecond, false, time.Second},    // still earlier
		{2 * time.Second, true, 2 * time.Second}, // later again
		{-365 * 24 * time.Hour, false, 2 * time.Second},
		{time.Minute + 1, true, time.Minute + 1},
	}
	var c streamtime.Clock
	for i, s := range steps {
		if got := c.Observe(base.Add(s.observe)); got != s.advance {
			t.Fatalf("step %d: Observe(base%+v) = %v, want %v", i, s.observe, got, s.advance)
		}
		if want := base.Add(s.now); c.Now() != want {
			t.Fatalf("step %d: Now = %v, want %v", i, c.Now(), want)
		}
	}
}

func TestClockNormalisesToUTC(t *testing.T) {
	var c streamtime.Clock
	tokyo := time.FixedZone("JST", 9*3600)
	c.Observe(base.In(tokyo))
	if c.Now() != base || c.Now().Location() != time.UTC {
		t.Fatalf("Now = %v (%v), want %v in UTC", c.Now(), c.Now().Location(), base)
	}
}

func TestClockMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time // zero: never observed
	}{
		{"zero clock", time.Time{}},
		{"whole second", base},
		{"nanoseconds kept", base.Add(123456789 * time.Nanosecond)},
		{"before the Unix epoch", time.Date(1900, 2, 3, 4, 5, 6, 7, time.UTC)},
		{"first instant after zero", time.Time{}.Add(time.Nanosecond)},
		{"far future from a bogus millisecond timestamp", time.UnixMilli(1 << 62)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c streamtime.Clock
			c.Observe(tc.at)
			data, err := c.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if len(data) != 13 {
				t.Fatalf("encoding is %d bytes, want 13", len(data))
			}
			var back streamtime.Clock
			back.Observe(base.Add(1000 * time.Hour)) // unmarshal must replace, even backwards
			if err := back.UnmarshalBinary(data); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if back.Now() != c.Now() {
				t.Fatalf("round trip gave %v, want %v", back.Now(), c.Now())
			}
			appended, _ := c.AppendBinary([]byte("x"))
			if !bytes.Equal(appended, append([]byte("x"), data...)) {
				t.Fatalf("AppendBinary = %x, want x followed by %x", appended, data)
			}
		})
	}
}

func TestClockUnmarshalRejects(t *testing.T) {
	valid, _ := (&streamtime.Clock{}).MarshalBinary()
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), valid...)
		f(b)
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", valid[:12]},
		{"long", append(append([]byte(nil), valid...), 0)},
		{"unknown version", mutate(func(b []byte) { b[0] = 2 })},
		{"nanoseconds overflow", mutate(func(b []byte) { copy(b[9:], []byte{0x3b, 0x9a, 0xca, 0x00}) })}, // 1e9
		{"before the zero time", mutate(func(b []byte) {
			binary.BigEndian.PutUint64(b[1:9], binary.BigEndian.Uint64(b[1:9])-1)
		})},
		{"seconds overflow time.Time", mutate(func(b []byte) { copy(b[1:9], []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c streamtime.Clock
			c.Observe(base)
			err := c.UnmarshalBinary(tc.data)
			if !errors.Is(err, streamtime.ErrBadClockEncoding) {
				t.Fatalf("UnmarshalBinary(%x) = %v, want ErrBadClockEncoding", tc.data, err)
			}
			if c.Now() != base {
				t.Fatalf("failed UnmarshalBinary changed the clock to %v", c.Now())
			}
		})
	}
}

func TestClockLatestRepresentableSecond(t *testing.T) {
	// The largest second the decoder accepts must round trip and still
	// compare after every ordinary time.
	data := make([]byte, 13)
	data[0] = 1
	binary.BigEndian.PutUint64(data[1:9], uint64(math.MaxInt64-62135596800))
	var c streamtime.Clock
	if err := c.UnmarshalBinary(data); err != nil {
		t.Fatalf("UnmarshalBinary of the latest second: %v", err)
	}
	if !c.Now().After(base) {
		t.Fatalf("latest representable time %v does not compare after %v", c.Now(), base)
	}
	if again, _ := c.MarshalBinary(); !bytes.Equal(again, data) {
		t.Fatalf("re-encoded to %x, want %x", again, data)
	}
}

func TestZeroEncodingIsTheZeroTime(t *testing.T) {
	// The encoding relies on the zero time's Unix seconds.
	if got := (time.Time{}).Unix(); got != -62135596800 {
		t.Fatalf("time.Time{}.Unix() = %d", got)
	}
	var c streamtime.Clock
	data, _ := c.MarshalBinary()
	c.Observe(base)
	if err := c.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if c.Now() != (time.Time{}) {
		t.Fatalf("zero encoding decoded to %#v, want time.Time{}", c.Now())
	}
}

func FuzzClockUnmarshalBinary(f *testing.F) {
	for _, at := range []time.Time{{}, base, time.Unix(0, 1), time.UnixMilli(1 << 62)} {
		var c streamtime.Clock
		c.Observe(at)
		data, _ := c.MarshalBinary()
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c streamtime.Clock
		if err := c.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, streamtime.ErrBadClockEncoding) {
				t.Fatalf("error %v does not wrap ErrBadClockEncoding", err)
			}
			return
		}
		// Every accepted encoding is canonical: it re-encodes to itself.
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary after a successful UnmarshalBinary: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("decoded %x to %v, which re-encodes to %x", data, c.Now(), again)
		}
		// A restored clock keeps the never-backwards guarantee.
		before := c.Now()
		if c.Observe(before.Add(-time.Nanosecond)) || c.Now() != before {
			t.Fatalf("restored clock at %v moved backwards", before)
		}
	})
}
