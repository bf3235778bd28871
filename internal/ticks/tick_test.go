package ticks_test

import (
	"errors"
	"testing"
	"time"

	"cartstream/internal/ticks"
)

func TestTickEncodeDecode(t *testing.T) {
	tests := []struct {
		name string
		tick ticks.Tick
		want string
	}{
		{"ordinary", ticks.Tick{Instance: "cartstream-1", TSMillis: 1795255200123}, `{"instance":"cartstream-1","ts_ms":1795255200123}`},
		{"epoch", ticks.Tick{Instance: "i", TSMillis: 0}, `{"instance":"i","ts_ms":0}`},
		{"before the epoch", ticks.Tick{Instance: "i", TSMillis: -1}, `{"instance":"i","ts_ms":-1}`},
		{"escaped instance", ticks.Tick{Instance: "a\"b\\c<é>", TSMillis: 5}, `{"instance":"a\"b\\c\u003cé\u003e","ts_ms":5}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.tick.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(b) != tc.want {
				t.Fatalf("Encode = %s, want %s", b, tc.want)
			}
			got, err := ticks.Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if got != tc.tick {
				t.Fatalf("Decode(Encode(%+v)) = %+v", tc.tick, got)
			}
		})
	}
}

func TestTickTime(t *testing.T) {
	want := time.Date(2026, 11, 21, 10, 0, 0, 123_000_000, time.UTC)
	if got := (ticks.Tick{Instance: "i", TSMillis: want.UnixMilli()}).Time(); got != want {
		t.Fatalf("Time = %v, want %v", got, want)
	}
}

func TestTickEncodeRejects(t *testing.T) {
	for name, tick := range map[string]ticks.Tick{
		"empty instance":   {TSMillis: 1},
		"invalid UTF-8 id": {Instance: "a\xffb", TSMillis: 1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tick.Encode(); !errors.Is(err, ticks.ErrBadTick) {
				t.Fatalf("Encode(%+v) = %v, want ErrBadTick", tick, err)
			}
		})
	}
}

func TestDecodeTick(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ticks.Tick
		wantErr bool
	}{
		{"unknown fields ignored", `{"instance":"x","ts_ms":7,"v":2}`, ticks.Tick{Instance: "x", TSMillis: 7}, false},
		{"field order free", `{"ts_ms":7,"instance":"x"}`, ticks.Tick{Instance: "x", TSMillis: 7}, false},
		{"largest int64", `{"instance":"x","ts_ms":9223372036854775807}`, ticks.Tick{Instance: "x", TSMillis: 1<<63 - 1}, false},
		{"empty", ``, ticks.Tick{}, true},
		{"null", `null`, ticks.Tick{}, true},
		{"not an object", `[1]`, ticks.Tick{}, true},
		{"missing instance", `{"ts_ms":7}`, ticks.Tick{}, true},
		{"missing ts_ms", `{"instance":"x"}`, ticks.Tick{}, true},
		{"null ts_ms", `{"instance":"x","ts_ms":null}`, ticks.Tick{}, true},
		{"empty instance", `{"instance":"","ts_ms":7}`, ticks.Tick{}, true},
		{"fractional ts_ms", `{"instance":"x","ts_ms":7.5}`, ticks.Tick{}, true},
		{"ts_ms overflows int64", `{"instance":"x","ts_ms":9223372036854775808}`, ticks.Tick{}, true},
		{"string ts_ms", `{"instance":"x","ts_ms":"7"}`, ticks.Tick{}, true},
		{"numeric instance", `{"instance":1,"ts_ms":7}`, ticks.Tick{}, true},
		{"trailing garbage", `{"instance":"x","ts_ms":7}x`, ticks.Tick{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ticks.Decode([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ticks.ErrBadTick) {
					t.Fatalf("Decode(%s) = %+v, %v; want ErrBadTick", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Decode(%s) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzDecodeTick(f *testing.F) {
	for _, seed := range []string{
		`{"instance":"cartstream-1","ts_ms":1795255200123}`,
		`{"ts_ms":-1,"instance":"\u00e9"}`,
		`{"instance":"x","ts_ms":7,"extra":[1,{"a":null}]}`,
		`{"instance":"x"}`,
		`null`,
		``,
		"{\"instance\":\"\xff\",\"ts_ms\":1}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tick, err := ticks.Decode(data)
		if err != nil {
			if !errors.Is(err, ticks.ErrBadTick) {
				t.Fatalf("Decode error %v does not wrap ErrBadTick", err)
			}
			return
		}
		// Whatever decodes re-encodes, and decodes again to the same tick.
		b, err := tick.Encode()
		if err != nil {
			t.Fatalf("decoded %+v from %q but cannot encode it: %v", tick, data, err)
		}
		again, err := ticks.Decode(b)
		if err != nil || again != tick {
			t.Fatalf("round trip of %+v via %s gave %+v, %v", tick, b, again, err)
		}
	})
}
