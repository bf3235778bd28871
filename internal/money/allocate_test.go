package money

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		total   int64
		weights []int64
		keys    []string
		want    []int64
		err     error
	}{
		{"even split", 100, []int64{1, 1}, []string{"a", "b"}, []int64{50, 50}, nil},
		{"thirds: tie goes to first key", 100, []int64{1, 1, 1}, []string{"b", "a", "c"}, []int64{33, 34, 33}, nil},
		{"thirds: two leftovers", 200, []int64{1, 1, 1}, []string{"c", "b", "a"}, []int64{66, 67, 67}, nil},
		{"largest remainder wins over key", 10, []int64{3, 3, 4}, []string{"a", "b", "c"}, []int64{3, 3, 4}, nil},
		{"proportional", 500, []int64{1999, 999, 2}, []string{"x", "y", "z"}, []int64{333, 167, 0}, nil},
		{"nil keys: index order", 100, []int64{1, 1, 1}, nil, []int64{34, 33, 33}, nil},
		{"duplicate keys: index order", 100, []int64{1, 1, 1}, []string{"k", "k", "k"}, []int64{34, 33, 33}, nil},
		{"zero weight gets nothing", 7, []int64{0, 1, 0, 1}, []string{"a", "b", "c", "d"}, []int64{0, 4, 0, 3}, nil},
		{"single", 12345, []int64{7}, []string{"a"}, []int64{12345}, nil},
		{"zero total", 0, []int64{3, 4}, []string{"a", "b"}, []int64{0, 0}, nil},
		{"zero total zero weights", 0, []int64{0, 0}, nil, []int64{0, 0}, nil},
		{"zero total no weights", 0, nil, nil, []int64{}, nil},
		{"zero weights", 5, []int64{0, 0}, nil, nil, ErrZeroWeight},
		{"no weights", 5, nil, nil, nil, ErrZeroWeight},
		{"negative total", -5, []int64{1}, nil, nil, ErrNegative},
		{"negative weight", 5, []int64{1, -1}, nil, nil, ErrNegative},
		{"weights overflow", 5, []int64{math.MaxInt64, 1}, nil, nil, ErrOverflow},
		{"max weights", math.MaxInt64, []int64{math.MaxInt64 / 2, math.MaxInt64 / 2}, nil, []int64{math.MaxInt64/2 + 1, math.MaxInt64 / 2}, nil},
		{"key count mismatch", 5, []int64{1, 1}, []string{"a"}, nil, ErrMismatchedLengths},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Allocate(tt.total, tt.weights, tt.keys)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if err == nil && !slices.Equal(got, tt.want) {
				t.Fatalf("Allocate(%d, %v, %v) = %v, want %v", tt.total, tt.weights, tt.keys, got, tt.want)
			}
		})
	}
}

// checkAllocation verifies every documented guarantee of Allocate for one
// successful call.
func checkAllocation(t *testing.T, total int64, weights []int64, keys []string, parts []int64) {
	t.Helper()
	if len(parts) != len(weights) {
		t.Fatalf("%d parts for %d weights", len(parts), len(weights))
	}
	var sumW, sumP big.Int
	for i := range weights {
		sumW.Add(&sumW, big.NewInt(weights[i]))
		sumP.Add(&sumP, big.NewInt(parts[i]))
	}
	if sumP.Cmp(big.NewInt(total)) != 0 {
		t.Fatalf("Allocate(%d, %v) = %v: sums to %s", total, weights, parts, &sumP)
	}
	if total == 0 {
		return
	}
	for i, w := range weights {
		// floor(share) <= part <= ceil(share), share = total*w/sumW
		num := new(big.Int).Mul(big.NewInt(total), big.NewInt(w))
		fl, rem := new(big.Int).QuoRem(num, &sumW, new(big.Int))
		p := big.NewInt(parts[i])
		ce := new(big.Int).Set(fl)
		if rem.Sign() != 0 {
			ce.Add(ce, big.NewInt(1))
		}
		if p.Cmp(fl) < 0 || p.Cmp(ce) > 0 {
			t.Fatalf("part[%d] = %d outside [%s, %s]", i, parts[i], fl, ce)
		}
		if w == 0 && parts[i] != 0 {
			t.Fatalf("zero weight %d got %d", i, parts[i])
		}
		if big.NewInt(total).Cmp(&sumW) <= 0 && parts[i] > w {
			t.Fatalf("total %d <= sum of weights, but part[%d] = %d > weight %d", total, i, parts[i], w)
		}
		for j, v := range weights {
			if w > v && parts[i] < parts[j] {
				t.Fatalf("weight[%d]=%d > weight[%d]=%d but part %d < %d", i, w, j, v, parts[i], parts[j])
			}
			// Same weight: the earlier key never gets less.
			if w == v && keys != nil && keys[i] < keys[j] && parts[i] < parts[j] {
				t.Fatalf("equal weights: key %q got %d < key %q got %d", keys[i], parts[i], keys[j], parts[j])
			}
		}
	}
}

func TestAllocateProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20_000; i++ {
		n := 1 + rng.IntN(8)
		weights := make([]int64, n)
		keys := make([]string, n)
		for j := range weights {
			switch rng.IntN(4) {
			case 0:
				weights[j] = 0
			case 1:
				weights[j] = rng.Int64N(10)
			case 2:
				weights[j] = rng.Int64N(1_000_000)
			default:
				weights[j] = rng.Int64N(math.MaxInt64 / 8)
			}
			keys[j] = string(rune('a' + rng.IntN(26)))
		}
		var total int64
		switch rng.IntN(3) {
		case 0:
			total = rng.Int64N(100)
		case 1:
			total = rng.Int64N(10_000_000)
		default:
			total = rng.Int64N(math.MaxInt64)
		}
		parts, err := Allocate(total, weights, keys)
		if err != nil {
			if errors.Is(err, ErrZeroWeight) || errors.Is(err, ErrOverflow) {
				continue
			}
			t.Fatalf("Allocate(%d, %v): %v", total, weights, err)
		}
		checkAllocation(t, total, weights, keys, parts)
	}
}

func FuzzAllocate(f *testing.F) {
	f.Add(int64(100), int64(1), int64(1), int64(1), "b", "a", "c")
	f.Add(int64(500), int64(1999), int64(999), int64(2), "x", "y", "z")
	f.Add(int64(7), int64(0), int64(0), int64(0), "", "", "")
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64/3), int64(math.MaxInt64/3), int64(1), "a", "a", "a")
	f.Add(int64(-1), int64(1), int64(-1), int64(1), "a", "b", "c")
	f.Fuzz(func(t *testing.T, total, w0, w1, w2 int64, k0, k1, k2 string) {
		weights := []int64{w0, w1, w2}
		keys := []string{k0, k1, k2}
		parts, err := Allocate(total, weights, keys)
		if err != nil {
			var sum big.Int
			neg := total < 0
			for _, w := range weights {
				neg = neg || w < 0
				sum.Add(&sum, big.NewInt(w))
			}
			switch {
			case neg:
				if !errors.Is(err, ErrNegative) {
					t.Fatalf("negative input: %v", err)
				}
			case !sum.IsInt64():
				if !errors.Is(err, ErrOverflow) {
					t.Fatalf("weights overflow: %v", err)
				}
			case sum.Sign() == 0 && total > 0:
				if !errors.Is(err, ErrZeroWeight) {
					t.Fatalf("zero weight: %v", err)
				}
			default:
				t.Fatalf("Allocate(%d, %v): unexpected %v", total, weights, err)
			}
			return
		}
		checkAllocation(t, total, weights, keys, parts)
	})
}
