package money

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// Amount is an amount of money in minor units of a currency that travels
// beside it (cents for USD, yen for JPY, fils for BHD). It carries no
// currency itself: the caller keeps the two together.
type Amount int64

// pow10 holds 10^i for i in [0, MaxExponent]. Read-only.
var pow10 = [MaxExponent + 1]uint64{
	1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000,
	1_000_000_000, 10_000_000_000, 100_000_000_000, 1_000_000_000_000,
	10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
	10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000,
}

// magnitudeLimit returns the largest magnitude an Amount may have with the
// given sign: 2^63-1 for positive values, 2^63 for negative ones.
func magnitudeLimit(neg bool) uint64 {
	if neg {
		return 1 << 63
	}
	return math.MaxInt64
}

// fromMagnitude turns a sign and a magnitude already checked against
// magnitudeLimit into an int64.
func fromMagnitude(neg bool, mag uint64) int64 {
	if neg {
		return int64(-mag) // two's complement: also right for mag == 2^63
	}
	return int64(mag)
}

// Parse converts a decimal string in major units of c into minor units,
// exactly.
//
// Accepted form, and nothing else:
//
//	amount   = [ "-" ] integer [ "." fraction ]
//	integer  = "0" | nonzero-digit { digit }
//	fraction = digit { digit }
//
// So "19.99", "-0.50", "0", "1000" and "19.990" are accepted; "+1", " 1",
// "1 ", "1.", ".5", "01", "1e3", "1,000", "" and "-" are [ErrSyntax]. The
// fraction may have any number of digits, but digits beyond c's exponent must
// all be zero: "19.990" is 1999 cents, "19.995" is [ErrInexact]. "-0" and
// "-0.00" are zero. A value outside int64 minor units is [ErrOverflow]; the
// whole int64 range, including math.MinInt64, is accepted. A currency whose
// exponent is outside [0, MaxExponent] gives [ErrUnknownCurrency].
//
// The syntax is that of a JSON number without exponent, so any amount
// cartstream writes (see Amount.Format) parses back to itself.
func Parse(s string, c Currency) (Amount, error) {
	if !c.validExponent() {
		return 0, fmt.Errorf("money: parse %q: currency %q exponent %d: %w", s, c.Code, c.Exponent, ErrUnknownCurrency)
	}
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := s[intStart:i]
	if len(intDigits) == 0 || (len(intDigits) > 1 && intDigits[0] == '0') {
		return 0, fmt.Errorf("money: parse %q: %w", s, ErrSyntax)
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		frac = s[fracStart:i]
		if len(frac) == 0 {
			return 0, fmt.Errorf("money: parse %q: %w", s, ErrSyntax)
		}
	}
	if i != len(s) {
		return 0, fmt.Errorf("money: parse %q: %w", s, ErrSyntax)
	}
	// Digits past the exponent must be zeros.
	if len(frac) > c.Exponent {
		for j := c.Exponent; j < len(frac); j++ {
			if frac[j] != '0' {
				return 0, fmt.Errorf("money: parse %q as %s: %w", s, c.Code, ErrInexact)
			}
		}
		frac = frac[:c.Exponent]
	}
	limit := magnitudeLimit(neg)
	var mag uint64
	// Accumulate integer digits then the kept fraction digits, padded with
	// zeros to exactly c.Exponent digits, checking for overflow at each step.
	push := func(d byte) bool {
		if mag > (limit-uint64(d))/10 {
			return false
		}
		mag = mag*10 + uint64(d)
		return true
	}
	for j := 0; j < len(intDigits); j++ {
		if !push(intDigits[j] - '0') {
			return 0, fmt.Errorf("money: parse %q as %s: %w", s, c.Code, ErrOverflow)
		}
	}
	for j := 0; j < c.Exponent; j++ {
		d := byte(0)
		if j < len(frac) {
			d = frac[j] - '0'
		}
		if !push(d) {
			return 0, fmt.Errorf("money: parse %q as %s: %w", s, c.Code, ErrOverflow)
		}
	}
	return Amount(fromMagnitude(neg, mag)), nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// FromDecimal converts the decimal unscaled × 10^-scale (the representation
// of a Debezium Decimal or VariableScaleDecimal, and of SQL numeric) into
// minor units of c, exactly. A value with non-zero digits below c's minor
// unit is [ErrInexact]; one outside int64 minor units is [ErrOverflow]. A
// negative scale multiplies. A nil unscaled value is [ErrSyntax].
func FromDecimal(unscaled *big.Int, scale int32, c Currency) (Amount, error) {
	if unscaled == nil {
		return 0, fmt.Errorf("money: decimal: nil unscaled value: %w", ErrSyntax)
	}
	if !c.validExponent() {
		return 0, fmt.Errorf("money: decimal: currency %q exponent %d: %w", c.Code, c.Exponent, ErrUnknownCurrency)
	}
	if unscaled.Sign() == 0 {
		return 0, nil
	}
	// minor = unscaled × 10^shift
	shift := int64(c.Exponent) - int64(scale)
	if unscaled.IsInt64() {
		if a, ok, err := fromDecimalInt64(unscaled.Int64(), shift); ok {
			if err != nil {
				return 0, fmt.Errorf("money: decimal %se-%d as %s: %w", unscaled, scale, c.Code, err)
			}
			return a, nil
		}
	}
	// A non-zero integer with d digits has magnitude ≥ 10^(d-1), so
	// multiplying by 10^19 or more always leaves int64, and dividing by 10^d
	// or more never leaves an integer. Both bounds keep big.Int work small
	// whatever the scale.
	digits := int64(len(unscaled.Text(10)))
	if unscaled.Sign() < 0 {
		digits--
	}
	v := new(big.Int)
	switch {
	case shift >= 0:
		if shift > 19 {
			return 0, fmt.Errorf("money: decimal %se-%d as %s: %w", unscaled, scale, c.Code, ErrOverflow)
		}
		v.Mul(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(shift), nil))
	default:
		if -shift >= digits {
			return 0, fmt.Errorf("money: decimal %se-%d as %s: %w", unscaled, scale, c.Code, ErrInexact)
		}
		div := new(big.Int).Exp(big.NewInt(10), big.NewInt(-shift), nil)
		rem := new(big.Int)
		v.QuoRem(unscaled, div, rem)
		if rem.Sign() != 0 {
			return 0, fmt.Errorf("money: decimal %se-%d as %s: %w", unscaled, scale, c.Code, ErrInexact)
		}
	}
	if !v.IsInt64() {
		return 0, fmt.Errorf("money: decimal %se-%d as %s: %w", unscaled, scale, c.Code, ErrOverflow)
	}
	return Amount(v.Int64()), nil
}

// fromDecimalInt64 is FromDecimal's allocation-free path for an unscaled
// value that fits an int64 and a shift within the pow10 table. ok is false
// when the shift is out of the table's range and the caller must use big.Int.
func fromDecimalInt64(u int64, shift int64) (a Amount, ok bool, err error) {
	neg := u < 0
	mag := uint64(u)
	if neg {
		mag = uint64(-u) // right for math.MinInt64 too
	}
	switch {
	case shift >= 0 && shift <= MaxExponent:
		p := pow10[shift]
		if mag > magnitudeLimit(neg)/p {
			return 0, true, ErrOverflow
		}
		return Amount(fromMagnitude(neg, mag*p)), true, nil
	case shift < 0 && -shift <= MaxExponent:
		p := pow10[-shift]
		if mag%p != 0 {
			return 0, true, ErrInexact
		}
		return Amount(fromMagnitude(neg, mag/p)), true, nil
	}
	return 0, false, nil
}

// Format returns a in major units of c as a decimal string with exactly c's
// exponent of fraction digits: "19.99", "-0.50", JPY "1000", BHD "1.250". The
// result is in the form Parse accepts, and Parse(a.Format(c), c) == a for
// every Amount. An exponent above MaxExponent is formatted as MaxExponent, a
// negative one as 0.
func (a Amount) Format(c Currency) string {
	var buf [48]byte
	return string(a.AppendFormat(buf[:0], c))
}

// AppendFormat appends a.Format(c) to dst and returns the extended slice.
func (a Amount) AppendFormat(dst []byte, c Currency) []byte {
	exp := min(max(c.Exponent, 0), MaxExponent)
	mag := uint64(a)
	if a < 0 {
		dst = append(dst, '-')
		mag = uint64(-a)
	}
	if exp == 0 {
		return strconv.AppendUint(dst, mag, 10)
	}
	p := pow10[exp]
	dst = strconv.AppendUint(dst, mag/p, 10)
	dst = append(dst, '.')
	frac := mag % p
	// Zero-pad the fraction to exactly exp digits.
	for q := p / 10; q > 1 && frac < q; q /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendUint(dst, frac, 10)
}
