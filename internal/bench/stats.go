package bench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the q-th percentile (0 < q <= 100) of sorted values by
// the nearest-rank method: the smallest value with at least q% of the
// values at or below it. It returns 0 for no values. sorted must be in
// ascending order.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	// The small epsilon keeps float error from moving an exact rank up
	// (99.9% of 1000 is 999.0000000000001 in floating point).
	rank := int(math.Ceil(q*float64(len(sorted))/100 - 1e-9))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Latencies summarizes durations in milliseconds.
type Latencies struct {
	N                   int
	P50, P99, P999, Max float64
}

// Summarize sorts a copy of the durations and returns their percentiles in
// milliseconds.
func Summarize(ds []time.Duration) Latencies {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	l := Latencies{N: len(ms), P50: Percentile(ms, 50), P99: Percentile(ms, 99), P999: Percentile(ms, 99.9)}
	if len(ms) > 0 {
		l.Max = ms[len(ms)-1]
	}
	return l
}

// Rate is n events over d, per second; 0 when d is not positive.
func Rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
