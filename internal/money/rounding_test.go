package money

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestParseRounding(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Rounding
		err  error
	}{
		{"half_even", HalfEven, nil},
		{"half_up", HalfUp, nil},
		{"half_down", HalfDown, nil},
		{"HALF_EVEN", 0, ErrUnknownRounding},
		{"half-even", 0, ErrUnknownRounding},
		{"", 0, ErrUnknownRounding},
		{"ceiling", 0, ErrUnknownRounding},
	} {
		got, err := ParseRounding(tt.in)
		if !errors.Is(err, tt.err) || (err == nil && got != tt.want) {
			t.Errorf("ParseRounding(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}

// Ties are x/2 for odd x; each row gives the result for x×1/2 per mode.
func TestMulDivRoundTies(t *testing.T) {
	cases := []struct {
		num, den           int64
		halfEven, up, down int64
	}{
		{5, 2, 2, 3, 2},       // 2.5
		{7, 2, 4, 4, 3},       // 3.5
		{-5, 2, -2, -3, -2},   // -2.5
		{-7, 2, -4, -4, -3},   // -3.5
		{1, 2, 0, 1, 0},       // 0.5
		{-1, 2, 0, -1, 0},     // -0.5
		{3, 2, 2, 2, 1},       // 1.5
		{5, -2, -2, -3, -2},   // negative denominator
		{26, 10, 3, 3, 3},     // 2.6: not a tie
		{24, 10, 2, 2, 2},     // 2.4: not a tie
		{-26, 10, -3, -3, -3}, // -2.6
		{-24, 10, -2, -2, -2}, // -2.4
		{6, 3, 2, 2, 2},       // exact
		{0, 7, 0, 0, 0},
	}
	for _, c := range cases {
		for _, m := range []struct {
			r    Rounding
			want int64
		}{{HalfEven, c.halfEven}, {HalfUp, c.up}, {HalfDown, c.down}} {
			got, err := MulDivRound(c.num, 1, c.den, m.r)
			if err != nil || got != m.want {
				t.Errorf("MulDivRound(%d, 1, %d, %v) = %d, %v; want %d", c.num, c.den, m.r, got, err, m.want)
			}
		}
	}
}

func TestMulDivRound(t *testing.T) {
	tests := []struct {
		name        string
		x, num, den int64
		r           Rounding
		want        int64
		err         error
	}{
		{"10% of 19.99", 1999, 1000, 10000, HalfEven, 200, nil}, // 199.9
		{"15% of 0.10", 10, 1500, 10000, HalfEven, 2, nil},      // 1.5 → 2
		{"15% of 0.30", 30, 1500, 10000, HalfEven, 4, nil},      // 4.5 → 4
		{"15% of 0.30 up", 30, 1500, 10000, HalfUp, 5, nil},
		{"15% of 0.30 down", 30, 1500, 10000, HalfDown, 4, nil},
		{"128-bit intermediate", math.MaxInt64, math.MaxInt64, math.MaxInt64, HalfEven, math.MaxInt64, nil},
		{"128-bit intermediate negative", math.MinInt64, math.MaxInt64, math.MaxInt64, HalfEven, math.MinInt64, nil},
		{"min int times one", math.MinInt64, 1, 1, HalfUp, math.MinInt64, nil},
		{"min int negated", math.MinInt64, -1, 1, HalfEven, 0, ErrOverflow},
		{"max plus rounding", math.MaxInt64, 2, 2, HalfUp, math.MaxInt64, nil},
		{"overflow", math.MaxInt64, 2, 1, HalfEven, 0, ErrOverflow},
		{"overflow by rounding", math.MaxInt64, 4, 3, HalfEven, 0, ErrOverflow},
		{"quotient beyond 64 bits", math.MaxInt64, math.MaxInt64, 1, HalfEven, 0, ErrOverflow},
		{"divide by zero", 1, 1, 0, HalfEven, 0, ErrDivisionByZero},
		{"bad mode", 1, 1, 1, Rounding(9), 0, ErrUnknownRounding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MulDivRound(tt.x, tt.num, tt.den, tt.r)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Fatalf("= %d, want %d", got, tt.want)
			}
		})
	}
}

// refMulDivRound is MulDivRound in big.Rat arithmetic, the obviously right
// version used as an oracle.
func refMulDivRound(x, num, den int64, r Rounding) (int64, bool) {
	q := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(x), big.NewInt(num)), big.NewInt(den))
	neg := q.Sign() < 0
	q.Abs(q)
	fl := new(big.Int).Quo(q.Num(), q.Denom())
	frac := new(big.Rat).Sub(q, new(big.Rat).SetInt(fl))
	c := frac.Cmp(big.NewRat(1, 2))
	up := c > 0 || (c == 0 && (r == HalfUp || (r == HalfEven && fl.Bit(0) == 1)))
	if up {
		fl.Add(fl, big.NewInt(1))
	}
	if neg {
		fl.Neg(fl)
	}
	if !fl.IsInt64() {
		return 0, false
	}
	return fl.Int64(), true
}

func TestMulDivRoundMatchesBigRat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return rng.Int64N(21) - 10
		case 1:
			return rng.Int64N(2_000_001) - 1_000_000
		case 2:
			return int64(rng.Uint64())
		default:
			return []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 62, -(1 << 62)}[rng.IntN(6)]
		}
	}
	for i := 0; i < 200_000; i++ {
		x, num, den := gen(), gen(), gen()
		if den == 0 {
			continue
		}
		r := Rounding(rng.IntN(3))
		got, err := MulDivRound(x, num, den, r)
		want, ok := refMulDivRound(x, num, den, r)
		if !ok {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("MulDivRound(%d, %d, %d, %v) = %d, %v; want ErrOverflow", x, num, den, r, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Fatalf("MulDivRound(%d, %d, %d, %v) = %d, %v; want %d", x, num, den, r, got, err, want)
		}
	}
}

func FuzzMulDivRound(f *testing.F) {
	f.Add(int64(5), int64(1), int64(2), uint8(0))
	f.Add(int64(math.MinInt64), int64(-1), int64(1), uint8(1))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64-1), uint8(2))
	f.Fuzz(func(t *testing.T, x, num, den int64, mode uint8) {
		if den == 0 {
			return
		}
		r := Rounding(mode % 3)
		got, err := MulDivRound(x, num, den, r)
		want, ok := refMulDivRound(x, num, den, r)
		if !ok {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("MulDivRound(%d, %d, %d, %v) = %d, %v; want ErrOverflow", x, num, den, r, got, err)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("MulDivRound(%d, %d, %d, %v) = %d, %v; want %d", x, num, den, r, got, err, want)
		}
	})
}
