package bench

import (
	"strings"
	"testing"
)

func TestCatalogAndLoadCharts(t *testing.T) {
	cat := catalogChart([]catalogPoint{
		{Promotions: 100_000, Lat: Latencies{N: 10, P50: 120, P99: 700}, Light: Latencies{N: 10, P50: 3, P99: 8}},
		{Promotions: 100, Lat: Latencies{N: 10, P50: 4, P99: 9}, Light: Latencies{N: 10, P50: 3, P99: 7}},
		{Promotions: 10_000, Lat: Latencies{N: 10, P50: 5, P99: 11}}, // no light point
	}, 5000, 1000, "quick run")
	if !cat.X.Log || !cat.Y.Log {
		t.Errorf("catalog chart axes %+v %+v: want log x, and log y for values spread 4..700", cat.X, cat.Y)
	}
	if p := cat.Series[0].Points; len(p) != 3 || p[0].X != 100 || p[2].X != 100_000 || p[0].Y != 9 {
		t.Errorf("p99 points %v, want sorted by catalog size", p)
	}
	if p := cat.Series[2].Points; len(p) != 2 || p[1].Y != 8 || !strings.Contains(cat.Series[2].Name, "1 000 ev/s") {
		t.Errorf("light p99 series %+v", cat.Series[2])
	}
	load := loadChart([]loadPoint{
		{Offered: 5000, Achieved: 3100, Lat: Latencies{N: 5, P99: 2400}},
		{Offered: 1000, Achieved: 990, Lat: Latencies{N: 5, P99: 8}},
		{Offered: 2000, Achieved: 1900}, // no latency: no p99 point
	}, "full run")
	if len(load.Series) != 3 || len(load.Series[2].Points) != 2 || !load.Series[2].Right || !load.Series[0].Dashed {
		t.Errorf("load chart series %+v", load.Series)
	}
	if load.Series[1].Points[0].X != 1000 {
		t.Errorf("load points not sorted: %v", load.Series[1].Points)
	}
	for _, c := range []Chart{cat, load} {
		svg, err := c.SVG()
		if err != nil {
			t.Fatal(err)
		}
		wellFormed(t, svg)
		if !strings.Contains(svg, "run") {
			t.Errorf("%s: the note is missing", c.Title)
		}
	}
}

func TestSpread(t *testing.T) {
	for name, tc := range map[string]struct {
		pts  []Point
		want float64
	}{
		"none":         {nil, 0},
		"zeros only":   {[]Point{{1, 0}}, 0},
		"flat":         {[]Point{{1, 5}, {2, 5}}, 1},
		"spread":       {[]Point{{1, 2}, {2, 0}, {3, 50}}, 25},
		"ignores <= 0": {[]Point{{1, -3}, {2, 4}, {3, 8}}, 2},
	} {
		if got := spread(tc.pts); got != tc.want {
			t.Errorf("%s: spread = %v, want %v", name, got, tc.want)
		}
	}
}
