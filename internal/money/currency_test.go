package money

import (
	"errors"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		code string
		exp  int
		err  error
	}{
		{"USD", 2, nil},
		{"EUR", 2, nil},
		{"GBP", 2, nil},
		{"JPY", 0, nil},
		{"KRW", 0, nil},
		{"CLP", 0, nil},
		{"ISK", 0, nil},
		{"BHD", 3, nil},
		{"KWD", 3, nil},
		{"JOD", 3, nil},
		{"IQD", 3, nil},
		{"CLF", 4, nil},
		{"UYW", 4, nil},
		{"XCG", 2, nil},
		{"ZWG", 2, nil},
		{"usd", 0, ErrUnknownCurrency},  // case-sensitive
		{"Usd", 0, ErrUnknownCurrency},  // case-sensitive
		{"US", 0, ErrUnknownCurrency},   // too short
		{"USDD", 0, ErrUnknownCurrency}, // too long
		{"", 0, ErrUnknownCurrency},
		{"ABC", 0, ErrUnknownCurrency}, // well-formed, not ISO
		{"HRK", 0, ErrUnknownCurrency}, // withdrawn 2023
		{"XAU", 0, ErrUnknownCurrency}, // gold: no minor unit
		{"XXX", 0, ErrUnknownCurrency}, // no currency
		{"XTS", 0, ErrUnknownCurrency}, // testing code
		{"US1", 0, ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			c, err := Lookup(tt.code)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Lookup(%q) error = %v, want %v", tt.code, err, tt.err)
			}
			if err != nil {
				return
			}
			if c.Code != tt.code || c.Exponent != tt.exp {
				t.Fatalf("Lookup(%q) = %+v, want exponent %d", tt.code, c, tt.exp)
			}
		})
	}
}

func TestTableIsWellFormed(t *testing.T) {
	if n := len(Codes()); n < 150 {
		t.Fatalf("only %d currencies in the ISO 4217 table", n)
	}
	for code, exp := range iso4217 {
		if !isCodeShape(code) {
			t.Errorf("code %q is not three upper-case letters", code)
		}
		if exp > 4 {
			t.Errorf("%s: exponent %d; no ISO 4217 currency has more than 4", code, exp)
		}
	}
}
