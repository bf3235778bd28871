package shopsim

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

func TestDecimalBytesRoundTripExactly(t *testing.T) {
	cases := []struct {
		name   string
		value  string
		scale  int
		base64 string // "" when only the round trip is checked
		back   string // the canonical rendering; value when empty
	}{
		{"price 19.99", "19.99", 2, "B88=", ""},
		{"fixture 1200.00 (pg 2.5)", "1200.00", 2, "AdTA", ""},
		{"fixture 2358.73 (pg 2.2)", "2358.73", 2, "A5lh", ""},
		{"fixture 200000.0000 (scale 4)", "200000.0000", 4, "dzWUAA==", ""},
		{"fixture 10.0000 (scale 4)", "10.0000", 4, "AYag", ""},
		{"zero is one zero byte", "0", 2, "AA==", "0.00"},
		{"zero with scale digits", "0.00", 2, "AA==", ""},
		{"one cent", "0.01", 2, "AQ==", ""},
		{"127 fits one byte", "1.27", 2, "fw==", ""},
		{"128 needs a sign byte", "1.28", 2, "AIA=", ""},
		{"minus one cent is 0xff", "-0.01", 2, "/w==", ""},
		{"minus 1.28 is 0x80", "-1.28", 2, "gA==", ""},
		{"minus 1.29 needs two bytes", "-1.29", 2, "/38=", ""},
		{"negative price", "-19.99", 2, "+DE=", ""},
		{"numeric(12,2) maximum", "9999999999.99", 2, "", ""},
		{"numeric(12,2) minimum", "-9999999999.99", 2, "", ""},
		{"fewer fraction digits than scale", "5", 2, "AfQ=", "5.00"},
		{"one fraction digit", "-0.5", 2, "zg==", "-0.50"},
		{"scale zero", "42", 0, "Kg==", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeDecimal(c.value, c.scale)
			if err != nil {
				t.Fatal(err)
			}
			enc := base64.StdEncoding.EncodeToString(b)
			if c.base64 != "" && enc != c.base64 {
				t.Errorf("EncodeDecimal(%q, %d) = %s, want %s", c.value, c.scale, enc, c.base64)
			}
			raw, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeDecimal(raw, c.scale)
			if err != nil {
				t.Fatal(err)
			}
			want := c.back
			if want == "" {
				want = c.value
			}
			if got != want {
				t.Errorf("round trip of %q = %q, want %q", c.value, got, want)
			}
		})
	}
}

func TestEncodeDecimalRejectsWhatWouldRound(t *testing.T) {
	for _, v := range []string{"19.999", "", "-", ".", "1.", "abc", "1e5", "1,50", "--1", "0x10"} {
		if b, err := EncodeDecimal(v, 2); err == nil {
			t.Errorf("EncodeDecimal(%q) = %x, want an error", v, b)
		}
	}
	if _, err := DecodeDecimal(nil, 2); err == nil {
		t.Error("DecodeDecimal(nil) succeeded")
	}
}

func TestAmount(t *testing.T) {
	cases := []struct {
		in   string
		want Amount
		str  string
	}{
		{"19.99", 1999, "19.99"},
		{"0", 0, "0.00"},
		{"-0.5", -50, "-0.50"},
		{"25", 2500, "25.00"},
		{"9999999999.99", maxAmount, "9999999999.99"},
	}
	for _, c := range cases {
		got, err := ParseAmount(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseAmount(%q) = %d (%s), %v; want %d (%s)", c.in, got, got, err, c.want, c.str)
		}
		back, err := DecodeDecimal(got.Decimal(), 2)
		if err != nil || back != c.str {
			t.Errorf("Decimal of %s decodes to %q, %v", c.str, back, err)
		}
	}
	for _, bad := range []string{"10000000000.00", "1.001", "x"} {
		if _, err := ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) succeeded", bad)
		}
	}
}

func TestJSONBTextIsPostgresOutput(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty object", `{}`, `{}`},
		{"empty array", `[]`, `[]`},
		{"keys by length then bytes", `{"bb":1,"a":2,"ab":3,"c":4}`, `{"a": 2, "c": 4, "ab": 3, "bb": 1}`},
		{"last duplicate key wins", `{"a":1,"a":2}`, `{"a": 2}`},
		{"nested", `{"tiers":[{"bps":500,"min_subtotal":"50.00"}],"type":"tiered_percent"}`,
			`{"type": "tiered_percent", "tiers": [{"bps": 500, "min_subtotal": "50.00"}]}`},
		{"numbers keep their scale", `[1.50, 0, -0, 1e2, 1.5e1, 1.50e1, 1E-2, -3]`, `[1.50, 0, 0, 100, 15, 15.0, 0.01, -3]`},
		{"literals", `[true,false,null]`, `[true, false, null]`},
		{"escapes as escape_json", "[\"q\\\"b\\\\n\\nt\\t\\u0001/<>&é\"]", "[\"q\\\"b\\\\n\\nt\\t\\u0001/<>&é\"]"},
		{"whitespace dropped", " { \"a\" : [ 1 , 2 ] } ", `{"a": [1, 2]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := jsonbText([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("jsonbText(%s) = %s, want %s", c.in, got, c.want)
			}
		})
	}
	for _, bad := range []string{``, `{`, `{} {}`, `{"a":}`} {
		if _, err := jsonbText([]byte(bad)); err == nil {
			t.Errorf("jsonbText(%q) succeeded", bad)
		}
	}
}

// The router fixture's payload is a jsonb column as PostgreSQL printed it,
// so rendering it again must change nothing.
func TestJSONBTextReproducesRealJSONBOutput(t *testing.T) {
	var v struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(readFixture(t, "outbox-routed.json"), &v); err != nil {
		t.Fatal(err)
	}
	got, err := jsonbText([]byte(v.Payload))
	if err != nil {
		t.Fatal(err)
	}
	if got != v.Payload {
		t.Errorf("re-rendered jsonb differs:\n got %s\nwant %s", got, v.Payload)
	}
}
