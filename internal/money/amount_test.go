package money

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

var (
	usd = MustLookup("USD")
	jpy = MustLookup("JPY")
	bhd = MustLookup("BHD")
	clf = MustLookup("CLF")
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		cur  Currency
		want Amount
		err  error
	}{
		{"cents", "19.99", usd, 1999, nil},
		{"trailing zero beyond exponent", "19.990", usd, 1999, nil},
		{"many trailing zeros", "19.99000000000000000000000", usd, 1999, nil},
		{"one fraction digit", "19.9", usd, 1990, nil},
		{"no fraction", "19", usd, 1900, nil},
		{"zero", "0", usd, 0, nil},
		{"zero with fraction", "0.00", usd, 0, nil},
		{"negative zero", "-0", usd, 0, nil},
		{"negative zero fraction", "-0.00", usd, 0, nil},
		{"negative", "-0.50", usd, -50, nil},
		{"negative whole", "-12", usd, -1200, nil},
		{"yen", "1000", jpy, 1000, nil},
		{"yen trailing zero", "1000.0", jpy, 1000, nil},
		{"yen inexact", "1000.5", jpy, 0, ErrInexact},
		{"dinar", "1.250", bhd, 1250, nil},
		{"dinar short", "1.25", bhd, 1250, nil},
		{"dinar inexact", "1.2505", bhd, 0, ErrInexact},
		{"unidad de fomento", "1.2345", clf, 12345, nil},
		{"inexact", "19.995", usd, 0, ErrInexact},
		{"inexact far digit", "19.9900001", usd, 0, ErrInexact},
		{"max", "92233720368547758.07", usd, math.MaxInt64, nil},
		{"min", "-92233720368547758.08", usd, math.MinInt64, nil},
		{"max+1", "92233720368547758.08", usd, 0, ErrOverflow},
		{"min-1", "-92233720368547758.09", usd, 0, ErrOverflow},
		{"huge", "100000000000000000000", usd, 0, ErrOverflow},
		{"max yen", "9223372036854775807", jpy, math.MaxInt64, nil},
		{"max yen+1", "9223372036854775808", jpy, 0, ErrOverflow},
		{"empty", "", usd, 0, ErrSyntax},
		{"minus only", "-", usd, 0, ErrSyntax},
		{"plus sign", "+1", usd, 0, ErrSyntax},
		{"leading space", " 1", usd, 0, ErrSyntax},
		{"trailing space", "1 ", usd, 0, ErrSyntax},
		{"trailing dot", "1.", usd, 0, ErrSyntax},
		{"leading dot", ".5", usd, 0, ErrSyntax},
		{"minus dot", "-.5", usd, 0, ErrSyntax},
		{"exponent", "1e3", usd, 0, ErrSyntax},
		{"exponent after fraction", "1.0e3", usd, 0, ErrSyntax},
		{"leading zero", "01", usd, 0, ErrSyntax},
		{"leading zeros before fraction", "00.5", usd, 0, ErrSyntax},
		{"thousands separator", "1,000", usd, 0, ErrSyntax},
		{"comma decimal", "1,5", usd, 0, ErrSyntax},
		{"double dot", "1.2.3", usd, 0, ErrSyntax},
		{"double minus", "--1", usd, 0, ErrSyntax},
		{"hex", "0x10", usd, 0, ErrSyntax},
		{"unicode digit", "١", usd, 0, ErrSyntax},
		{"NaN", "NaN", usd, 0, ErrSyntax},
		{"Inf", "Inf", usd, 0, ErrSyntax},
		{"underscore", "1_000", usd, 0, ErrSyntax},
		{"bad exponent currency", "1", Currency{Code: "ZZZ", Exponent: -1}, 0, ErrUnknownCurrency},
		{"exponent too large", "1", Currency{Code: "ZZZ", Exponent: 19}, 0, ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, tt.cur)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse(%q, %s) error = %v, want %v", tt.in, tt.cur.Code, err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Fatalf("Parse(%q, %s) = %d, want %d", tt.in, tt.cur.Code, got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		a    Amount
		cur  Currency
		want string
	}{
		{1999, usd, "19.99"},
		{-50, usd, "-0.50"},
		{5, usd, "0.05"},
		{-5, usd, "-0.05"},
		{0, usd, "0.00"},
		{100, usd, "1.00"},
		{1000, jpy, "1000"},
		{-1000, jpy, "-1000"},
		{0, jpy, "0"},
		{1250, bhd, "1.250"},
		{1, bhd, "0.001"},
		{12345, clf, "1.2345"},
		{math.MaxInt64, usd, "92233720368547758.07"},
		{math.MinInt64, usd, "-92233720368547758.08"},
		{math.MinInt64, jpy, "-9223372036854775808"},
		{1, Currency{Code: "T18", Exponent: 18}, "0.000000000000000001"},
	}
	for _, tt := range tests {
		if got := tt.a.Format(tt.cur); got != tt.want {
			t.Errorf("Amount(%d).Format(%s) = %q, want %q", tt.a, tt.cur.Code, got, tt.want)
		}
	}
}

func TestAppendFormatAppends(t *testing.T) {
	got := string(Amount(-1999).AppendFormat([]byte(`{"amount":"`), usd))
	if want := `{"amount":"-19.99`; got != want {
		t.Fatalf("AppendFormat = %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() {
		var buf [32]byte
		_ = Amount(1999).AppendFormat(buf[:0], usd)
	}); n != 0 {
		t.Fatalf("AppendFormat into a large enough buffer allocates %v times", n)
	}
}

func TestFormatParseRoundTripEveryExponent(t *testing.T) {
	values := []Amount{0, 1, -1, 9, 10, 99, 100, 101, 1999, -1999, 123456789, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	for exp := 0; exp <= MaxExponent; exp++ {
		c := Currency{Code: "TST", Exponent: exp}
		for _, v := range values {
			s := v.Format(c)
			back, err := Parse(s, c)
			if err != nil || back != v {
				t.Fatalf("exp %d: Parse(Format(%d)) = %q → %d, %v", exp, v, s, back, err)
			}
		}
	}
}

func bigInt(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad big int %q", s)
	}
	return v
}

func TestFromDecimal(t *testing.T) {
	tests := []struct {
		name     string
		unscaled string
		scale    int32
		cur      Currency
		want     Amount
		err      error
	}{
		{"numeric(12,2)", "1999", 2, usd, 1999, nil},
		{"scale above exponent, zeros", "19990", 3, usd, 1999, nil},
		{"scale above exponent, inexact", "19995", 3, usd, 0, ErrInexact},
		{"scale below exponent", "1999", 0, usd, 199900, nil},
		{"negative scale", "2", -3, usd, 200000, nil},
		{"negative", "-50", 2, usd, -50, nil},
		{"negative inexact", "-55", 3, usd, 0, ErrInexact},
		{"zero any scale", "0", 2147483647, usd, 0, nil},
		{"yen from scale 2", "100000", 2, jpy, 1000, nil},
		{"yen from scale 2 inexact", "100050", 2, jpy, 0, ErrInexact},
		{"dinar", "1250", 3, bhd, 1250, nil},
		{"dinar from scale 2", "125", 2, bhd, 1250, nil},
		{"max", "9223372036854775807", 2, usd, math.MaxInt64, nil},
		{"min", "-9223372036854775808", 2, usd, math.MinInt64, nil},
		{"overflow by scaling", "9223372036854775807", 1, usd, 0, ErrOverflow},
		{"overflow big", "92233720368547758080", 3, usd, 0, ErrOverflow},
		{"big exact", "92233720368547758070", 3, usd, math.MaxInt64, nil},
		{"big with zeros", "922337203685477580700000000000000000000", 22, usd, math.MaxInt64, nil},
		{"huge scale inexact", "1", 2147483647, usd, 0, ErrInexact},
		{"huge negative scale", "1", -2147483648, usd, 0, ErrOverflow},
		{"big huge scale", "100000000000000000000000", 2147483647, usd, 0, ErrInexact},
		{"big huge negative scale", "100000000000000000000000", -2147483648, usd, 0, ErrOverflow},
		{"scale beyond table, exact", "1000000000000000000000", 21, usd, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromDecimal(bigInt(t, tt.unscaled), tt.scale, tt.cur)
			if !errors.Is(err, tt.err) {
				t.Fatalf("FromDecimal(%s, %d) error = %v, want %v", tt.unscaled, tt.scale, err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Fatalf("FromDecimal(%s, %d) = %d, want %d", tt.unscaled, tt.scale, got, tt.want)
			}
		})
	}
	if _, err := FromDecimal(nil, 2, usd); !errors.Is(err, ErrSyntax) {
		t.Fatalf("FromDecimal(nil) error = %v, want ErrSyntax", err)
	}
}

// FromDecimal and Parse agree on every decimal both can express.
func TestFromDecimalAgreesWithParse(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "19.99", "19.995", "-0.001", "1.2500", "92233720368547758.07", "92233720368547758.08", "123.4"} {
		for _, c := range []Currency{usd, jpy, bhd, clf} {
			// unscaled and scale from the text itself.
			scale := int32(0)
			digits := s
			if i := indexByte(s, '.'); i >= 0 {
				scale = int32(len(s) - i - 1)
				digits = s[:i] + s[i+1:]
			}
			u := bigInt(t, digits)
			a1, e1 := Parse(s, c)
			a2, e2 := FromDecimal(u, scale, c)
			if a1 != a2 || !sameSentinel(e1, e2) {
				t.Errorf("%s %s: Parse = %d, %v; FromDecimal = %d, %v", s, c.Code, a1, e1, a2, e2)
			}
		}
	}
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

func sameSentinel(a, b error) bool {
	for _, s := range []error{nil, ErrSyntax, ErrInexact, ErrOverflow} {
		if (s == nil && a == nil && b == nil) || (s != nil && errors.Is(a, s) && errors.Is(b, s)) {
			return true
		}
	}
	return false
}

func TestParseErrorContext(t *testing.T) {
	_, err := Parse("19.995", usd)
	if err == nil || err.Error() != `money: parse "19.995" as USD: not a whole number of minor units` {
		t.Fatalf("error = %v", err)
	}
}
