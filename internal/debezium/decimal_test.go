package debezium

import (
	"encoding/base64"
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

func TestDecimalString(t *testing.T) {
	tests := []struct {
		unscaled int64
		scale    int32
		want     string
	}{
		{1999, 2, "19.99"},
		{100000, 4, "10.0000"},
		{-5, 1, "-0.5"},
		{0, 2, "0.00"},
		{0, 0, "0"},
		{7, 3, "0.007"},
		{-7, 3, "-0.007"},
		{12, -2, "1200"},
		{0, -2, "0"},
		{120000, 2, "1200.00"},
	}
	for _, tc := range tests {
		d := Decimal{Unscaled: big.NewInt(tc.unscaled), Scale: tc.scale}
		if got := d.String(); got != tc.want {
			t.Errorf("Decimal{%d, %d} = %q, want %q", tc.unscaled, tc.scale, got, tc.want)
		}
	}
	if got := (Decimal{}).String(); got != "0" {
		t.Errorf("zero Decimal = %q", got)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in    string
		want  string
		scale int32
	}{
		{"19.99", "19.99", 2},
		{"10.0000", "10.0000", 4},
		{"-0.5", "-0.5", 1},
		{"+3", "3", 0},
		{".5", "0.5", 1},
		{"5.", "5", 0},
		{"1.5E+3", "1500", 0},
		{"1.5e-3", "0.0015", 4},
		{"123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789", 9},
		{"0.1000000000000000055511151231257827", "0.1000000000000000055511151231257827", 34},
	}
	for _, tc := range tests {
		d, err := ParseDecimal(tc.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tc.in, err)
			continue
		}
		if d.String() != tc.want || d.Scale != tc.scale {
			t.Errorf("ParseDecimal(%q) = %s scale %d, want %s scale %d", tc.in, d, d.Scale, tc.want, tc.scale)
		}
	}
	for _, bad := range []string{"", "-", ".", "abc", "1.2.3", "NaN", "Infinity", "1e", "1e+", "1e99999999", "1_000", " 1", "0x10"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded", bad)
		}
	}
}

func TestDecimalFromBytes(t *testing.T) {
	tests := []struct {
		b64   string
		scale int32
		want  string
	}{
		{"AdTA", 2, "1200.00"},
		{"A5lh", 2, "2358.73"},
		{"dzWUAA==", 4, "200000.0000"},
		{"AYag", 4, "10.0000"},
		{"LQ==", 1, "4.5"},
		{"AVk=", 1, "34.5"},
		{"AA==", 0, "0"},
		{"", 2, "0.00"},
		{"/w==", 0, "-1"},
		{"//8=", 2, "-0.01"},
		{"gA==", 0, "-128"},
		{"AIA=", 0, "128"},
	}
	for _, tc := range tests {
		raw, err := base64.StdEncoding.DecodeString(tc.b64)
		if err != nil {
			t.Fatal(err)
		}
		d, err := decimalFromBytes(raw, tc.scale)
		if err != nil {
			t.Fatal(err)
		}
		if d.String() != tc.want {
			t.Errorf("%q scale %d = %s, want %s", tc.b64, tc.scale, d, tc.want)
		}
	}
}

func TestDecimalRescale(t *testing.T) {
	d := dec("10.50")
	if got, err := d.Rescale(1); err != nil || got.String() != "10.5" {
		t.Errorf("10.50 → scale 1 = %v, %v", got, err)
	}
	if got, err := d.Rescale(4); err != nil || got.String() != "10.5000" {
		t.Errorf("10.50 → scale 4 = %v, %v", got, err)
	}
	if _, err := dec("10.55").Rescale(1); err == nil {
		t.Error("10.55 → scale 1 lost a digit without an error")
	}
}

func TestDecimalFromFloat(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{{19.99, "19.99"}, {0.1, "0.1"}, {1e21, "1000000000000000000000"}, {-2.5e-7, "-0.00000025"}, {1200, "1200"}} {
		d, err := DecimalFromFloat(tc.f)
		if err != nil || d.String() != tc.want {
			t.Errorf("DecimalFromFloat(%v) = %v, %v; want %s", tc.f, d, err, tc.want)
		}
	}
	if _, err := DecimalFromFloat(math.NaN()); err == nil {
		t.Error("NaN became a decimal")
	}
}

func TestDecimalMarshalJSON(t *testing.T) {
	b, err := dec("-0.50").MarshalJSON()
	if err != nil || string(b) != `"-0.50"` {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
}

func TestDateAndTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		days int64
		want string
	}{{0, "1970-01-01"}, {-1, "1969-12-31"}, {20644, "2026-07-10"}, {-719528, "0000-01-01"}} {
		if got := DateFromDays(tc.days).String(); got != tc.want {
			t.Errorf("DateFromDays(%d) = %s, want %s", tc.days, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{13*time.Hour + 37*time.Minute + 3*time.Second, "13:37:03"},
		{13*time.Hour + 500*time.Millisecond, "13:00:00.5"},
		{time.Microsecond, "00:00:00.000001"},
		{24 * time.Hour, "24:00:00"},
	} {
		if got := TimeOfDay(tc.d).String(); got != tc.want {
			t.Errorf("TimeOfDay(%v) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		key  any
		want string
	}{
		{"upsert", Record{
			Op: OpUpsert,
			Row: Row{
				"price":      dec("19.99"),
				"scale4":     dec("10.0000"),
				"updated_at": time.Date(2026, 1, 5, 10, 47, 58, 945635000, time.UTC),
				"whole":      time.Date(2026, 1, 5, 10, 47, 58, 0, time.UTC),
				"day":        Date{2026, time.July, 10},
				"effect":     map[string]any{"type": "percent_off", "bps": jsonNumber("1000")},
				"segments":   []any{"gold", "vip"},
				"note":       "<b>&",
				"n":          int64(9007199254740993),
				"none":       nil,
			},
			Unavailable: []string{"description"},
			Source:      map[string]any{"lsn": jsonNumber("34650016"), "snapshot": "false"},
		}, "SKU-1", `{"op":"upsert","key":"SKU-1","row":{"day":"2026-07-10","effect":{"bps":1000,"type":"percent_off"},"n":9007199254740993,"none":null,"note":"<b>&","price":"19.99","scale4":"10.0000","segments":["gold","vip"],"updated_at":"2026-01-05T10:47:58.945635Z","whole":"2026-01-05T10:47:58Z"},"unavailable":["description"],"source":{"lsn":34650016,"snapshot":"false"}}`},
		{"tombstone", Record{Op: OpDelete, Tombstone: true, Key: map[string]any{"sku": "SKU-1"}}, map[string]any{"sku": "SKU-1"},
			`{"op":"delete","key":{"sku":"SKU-1"},"row":null,"unavailable":[],"source":null}`},
		{"nil key map", Record{Op: OpTruncate, Unavailable: []string{}}, map[string]any(nil),
			`{"op":"truncate","key":null,"row":null,"unavailable":[],"source":null}`},
		{"skip", Record{Op: OpSkip, SkipReason: SkipHeartbeat, TsMs: 5}, nil, `{"op":"skip","reason":"heartbeat"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.rec, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Render =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	if errors.Is(ErrDecode, ErrInvalid) || errors.Is(ErrInvalid, ErrTransient) || errors.Is(ErrDecode, ErrTransient) {
		t.Fatal("sentinels overlap")
	}
}
