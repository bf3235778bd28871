package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	thousand := make([]float64, 1000)
	for i := range thousand {
		thousand[i] = float64(i + 1)
	}
	for name, tc := range map[string]struct {
		sorted []float64
		q      float64
		want   float64
	}{
		"empty":             {nil, 99, 0},
		"one value":         {[]float64{7}, 50, 7},
		"one value p99.9":   {[]float64{7}, 99.9, 7},
		"median of two":     {[]float64{1, 2}, 50, 1},
		"median of three":   {[]float64{1, 2, 3}, 50, 2},
		"p100 is the max":   {[]float64{1, 2, 3}, 100, 3},
		"tiny q is the min": {[]float64{1, 2, 3}, 0.001, 1},
		"p50 of 1..100":     {hundred, 50, 50},
		"p99 of 1..100":     {hundred, 99, 99},
		"p99.9 of 1..100":   {hundred, 99.9, 100},
		"p99.9 of 1..1000":  {thousand, 99.9, 999},
		"p99 of 1..1000":    {thousand, 99, 990},
		"ties":              {[]float64{5, 5, 5, 9}, 75, 5},
	} {
		if got := Percentile(tc.sorted, tc.q); got != tc.want {
			t.Errorf("%s: Percentile(q=%v) = %v, want %v", name, tc.q, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	for name, tc := range map[string]struct {
		in   []time.Duration
		want Latencies
	}{
		"none":     {nil, Latencies{}},
		"unsorted": {[]time.Duration{ms(3), ms(1), ms(2)}, Latencies{N: 3, P50: 2, P99: 3, P999: 3, Max: 3}},
		"fraction": {[]time.Duration{ms(0.5), ms(1.5)}, Latencies{N: 2, P50: 0.5, P99: 1.5, P999: 1.5, Max: 1.5}},
	} {
		if got := Summarize(tc.in); got != tc.want {
			t.Errorf("%s: Summarize = %+v, want %+v", name, got, tc.want)
		}
	}
}

func TestRate(t *testing.T) {
	for name, tc := range map[string]struct {
		n    int
		d    time.Duration
		want float64
	}{
		"per second":   {1000, 2 * time.Second, 500},
		"sub-second":   {10, 100 * time.Millisecond, 100},
		"no time":      {10, 0, 0},
		"negative":     {10, -time.Second, 0},
		"none in time": {0, time.Second, 0},
	} {
		if got := Rate(tc.n, tc.d); got != tc.want {
			t.Errorf("%s: Rate(%d, %s) = %v, want %v", name, tc.n, tc.d, got, tc.want)
		}
	}
}
