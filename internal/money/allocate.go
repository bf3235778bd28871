package money

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Allocate splits total into parts proportional to weights by the largest
// remainder method: each entry first gets floor(total×wᵢ/W), where W is the
// sum of the weights, and the units left over go one each to the entries
// with the largest remainders (total×wᵢ mod W). Equal remainders go to the
// entry whose tie key sorts first (byte-wise string order), then to the
// lower index. tieKeys may be nil, meaning index order; otherwise it must be
// as long as weights.
//
// Guarantees, for a nil error:
//   - the parts sum exactly to total;
//   - each part is floor or ceil of its exact share total×wᵢ/W, so it is
//     never more than one unit from that share;
//   - an entry with weight 0 gets 0;
//   - a larger weight never gets a smaller part than a smaller weight;
//   - when total ≤ W, no part exceeds its own weight (so spreading a discount
//     over line amounts, capped at their sum, takes no line below zero).
//
// total == 0 gives all zeros, whatever the weights (also for no weights). A
// positive total over weights that sum to zero (or no weights) is
// [ErrZeroWeight]. A negative total or weight is [ErrNegative]; weights whose
// sum exceeds math.MaxInt64 are [ErrOverflow]; tieKeys of the wrong length
// are [ErrMismatchedLengths]. The arithmetic is exact (128-bit products); nothing is
// rounded except by the stated rule.
func Allocate(total int64, weights []int64, tieKeys []string) ([]int64, error) {
	if tieKeys != nil && len(tieKeys) != len(weights) {
		return nil, fmt.Errorf("money: allocate: %d tie keys for %d weights: %w", len(tieKeys), len(weights), ErrMismatchedLengths)
	}
	if total < 0 {
		return nil, fmt.Errorf("money: allocate total %d: %w", total, ErrNegative)
	}
	var sum uint64
	for i, w := range weights {
		if w < 0 {
			return nil, fmt.Errorf("money: allocate: weight[%d] = %d: %w", i, w, ErrNegative)
		}
		sum += uint64(w) // two non-negative int64s never overflow a uint64
		if sum > math.MaxInt64 {
			return nil, fmt.Errorf("money: allocate: sum of weights: %w", ErrOverflow)
		}
	}
	parts := make([]int64, len(weights))
	if total == 0 {
		return parts, nil
	}
	if sum == 0 {
		return nil, fmt.Errorf("money: allocate %d over %d weights: %w", total, len(weights), ErrZeroWeight)
	}
	rems := make([]uint64, len(weights))
	var given uint64
	for i, w := range weights {
		hi, lo := bits.Mul64(uint64(total), uint64(w))
		// total×w/sum ≤ total because w ≤ sum, so hi < sum and Div64 is safe.
		q, r := bits.Div64(hi, lo, sum)
		parts[i] = int64(q)
		rems[i] = r
		given += q
	}
	left := uint64(total) - given // < number of entries with a non-zero remainder
	if left == 0 {
		return parts, nil
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(rems[b], rems[a]); c != 0 {
			return c // larger remainder first
		}
		if tieKeys != nil {
			if c := cmp.Compare(tieKeys[a], tieKeys[b]); c != 0 {
				return c
			}
		}
		return cmp.Compare(a, b)
	})
	for _, i := range order[:left] {
		parts[i]++
	}
	return parts, nil
}
