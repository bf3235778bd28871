package money

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that it fails only with its
// sentinel errors, that whatever it accepts formats back to an equivalent
// string which parses to the same amount (Parse∘Format round trip), and that
// every accepted input matches the documented grammar.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"19.99", "19.990", "19.995", "-0.50", "0", "-0", "1000", "1e3", "+1", " 1", "1.", ".5", "", "-", "01",
		"92233720368547758.07", "-92233720368547758.08", "92233720368547758.08", "1.2500000000000000000000001"} {
		for _, exp := range []int{0, 2, 3} {
			f.Add(s, uint8(exp))
		}
	}
	f.Fuzz(func(t *testing.T, s string, exp uint8) {
		c := Currency{Code: "FZZ", Exponent: int(exp % (MaxExponent + 2))} // MaxExponent+1 is invalid on purpose
		a, err := Parse(s, c)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInexact) && !errors.Is(err, ErrOverflow) && !errors.Is(err, ErrUnknownCurrency) {
				t.Fatalf("Parse(%q, exp %d): unexpected error %v", s, c.Exponent, err)
			}
			if errors.Is(err, ErrUnknownCurrency) != (c.Exponent > MaxExponent) {
				t.Fatalf("Parse(%q, exp %d): %v", s, c.Exponent, err)
			}
			return
		}
		if !grammatical(s) {
			t.Fatalf("Parse accepted %q, which is outside the documented grammar", s)
		}
		out := a.Format(c)
		back, err := Parse(out, c)
		if err != nil || back != a {
			t.Fatalf("Parse(%q) = %d; Format = %q; Parse again = %d, %v", s, a, out, back, err)
		}
		// The formatted text is the input up to trailing fraction zeros,
		// a leading minus on zero, and padding to the exponent.
		if norm(s, c.Exponent) != out {
			t.Fatalf("Parse(%q) = %d formats as %q, want %q", s, a, out, norm(s, c.Exponent))
		}
	})
}

// grammatical reports whether s matches -?(0|[1-9][0-9]*)(\.[0-9]+)? .
func grammatical(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') || !allDigits(intPart) {
		return false
	}
	return !hasDot || (frac != "" && allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// norm is the canonical form of an accepted decimal string: exactly exp
// fraction digits, and no minus sign on zero.
func norm(s string, exp int) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) > exp {
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	out := intPart
	if exp > 0 {
		out += "." + frac
	}
	if neg && strings.Trim(intPart+frac, "0") != "" {
		out = "-" + out
	}
	return out
}
