package money

import (
	"fmt"
	"math/bits"
)

// Rounding is how a quotient that is not a whole number is turned into one.
// All modes round to the nearest integer and differ only on exact ties
// (a fraction of exactly one half).
type Rounding int

const (
	// HalfEven rounds ties to the even neighbour (banker's rounding):
	// 2.5 → 2, 3.5 → 4, -2.5 → -2. The default (DESIGN §2, principle 5):
	// it has no bias up or down over many roundings.
	HalfEven Rounding = iota
	// HalfUp rounds ties away from zero: 2.5 → 3, -2.5 → -3. This is the
	// "half up" of most commerce rules and of Java's RoundingMode.HALF_UP.
	HalfUp
	// HalfDown rounds ties towards zero: 2.5 → 2, -2.5 → -2.
	HalfDown
)

// String returns the mode's configuration name ("half_even", "half_up",
// "half_down").
func (r Rounding) String() string {
	switch r {
	case HalfEven:
		return "half_even"
	case HalfUp:
		return "half_up"
	case HalfDown:
		return "half_down"
	}
	return fmt.Sprintf("Rounding(%d)", int(r))
}

// ParseRounding returns the mode named s: "half_even", "half_up" or
// "half_down" (exact, lower case). Anything else wraps [ErrUnknownRounding].
func ParseRounding(s string) (Rounding, error) {
	switch s {
	case "half_even":
		return HalfEven, nil
	case "half_up":
		return HalfUp, nil
	case "half_down":
		return HalfDown, nil
	}
	return 0, fmt.Errorf("money: rounding %q (want half_even, half_up or half_down): %w", s, ErrUnknownRounding)
}

// MulDivRound returns x×num/den rounded once to an integer with mode r. The
// product is computed in 128 bits, so it never overflows on the way; only a
// result outside int64 is [ErrOverflow]. den == 0 is [ErrDivisionByZero]; an
// unknown mode is [ErrUnknownRounding]. Any signs are allowed; ties are
// judged on the exact quotient, so HalfUp and HalfDown are symmetric around
// zero.
//
// Typical use: a percentage of an amount in basis points,
// MulDivRound(amount, bps, 10_000, HalfEven).
func MulDivRound(x, num, den int64, r Rounding) (int64, error) {
	if den == 0 {
		return 0, fmt.Errorf("money: %d×%d/%d: %w", x, num, den, ErrDivisionByZero)
	}
	if r != HalfEven && r != HalfUp && r != HalfDown {
		return 0, fmt.Errorf("money: %d×%d/%d: %v: %w", x, num, den, r, ErrUnknownRounding)
	}
	neg := (x < 0) != (num < 0) != (den < 0)
	ux, un, ud := absU(x), absU(num), absU(den)
	hi, lo := bits.Mul64(ux, un)
	if hi >= ud {
		// The quotient needs more than 64 bits.
		return 0, fmt.Errorf("money: %d×%d/%d: %w", x, num, den, ErrOverflow)
	}
	q, rem := bits.Div64(hi, lo, ud)
	limit := magnitudeLimit(neg)
	if roundsUp(q, rem, ud, r) {
		if q >= limit {
			return 0, fmt.Errorf("money: %d×%d/%d: %w", x, num, den, ErrOverflow)
		}
		q++
	}
	if q > limit {
		return 0, fmt.Errorf("money: %d×%d/%d: %w", x, num, den, ErrOverflow)
	}
	return fromMagnitude(neg, q), nil
}

// roundsUp reports whether the magnitude quotient q with remainder rem over
// den moves to q+1 under mode r. rem < den ≤ 2^63, so 2×rem cannot overflow.
func roundsUp(q, rem, den uint64, r Rounding) bool {
	if rem == 0 {
		return false
	}
	twice := rem * 2
	switch {
	case twice > den:
		return true
	case twice < den:
		return false
	}
	switch r {
	case HalfUp:
		return true
	case HalfEven:
		return q%2 == 1
	}
	return false
}

// absU returns |v| as a uint64, right for math.MinInt64 too.
func absU(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}
