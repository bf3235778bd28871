package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Plot file names in the out dir (and docs/benchmarks/).
const (
	PlotCatalog = "latency-vs-catalog.svg"
	PlotLoad    = "throughput-vs-load.svg"
)

// catalogPoint is the latency at one catalog size, at the latency
// figures' offered load and at the light one.
type catalogPoint struct {
	Promotions int
	Lat, Light Latencies
}

// catalogChart is p99 and p50 latency against the promotions in the
// catalog, at both offered loads.
func catalogChart(pts []catalogPoint, offered, light float64, note string) Chart {
	slices.SortFunc(pts, func(a, b catalogPoint) int { return a.Promotions - b.Promotions })
	var p50, p99, lp50, lp99 []Point
	for _, p := range pts {
		x := float64(p.Promotions)
		p50, p99 = append(p50, Point{x, p.Lat.P50}), append(p99, Point{x, p.Lat.P99})
		if p.Light.N > 0 {
			lp50, lp99 = append(lp50, Point{x, p.Light.P50}), append(lp99, Point{x, p.Light.P99})
		}
	}
	all := slices.Concat(p50, p99, lp50, lp99)
	at := func(r float64) string { return group(int64(r)) + " ev/s" }
	return Chart{
		Title: "Cart event → offer latency vs promotions in the catalog",
		Note:  note,
		X:     Axis{Label: "promotions in the catalog", Log: true},
		Y:     Axis{Label: "latency (ms)", Log: spread(all) > 20},
		Series: []Series{
			{Name: "p99 at " + at(offered), Color: "#c0392b", Points: p99},
			{Name: "p50 at " + at(offered), Color: "#2471a3", Points: p50},
			{Name: "p99 at " + at(light), Color: "#e67e22", Points: lp99},
			{Name: "p50 at " + at(light), Color: "#27ae60", Points: lp50},
		},
	}
}

// loadChart is achieved throughput (left axis) and p99 latency (right
// axis) against offered load, with the ideal (achieved = offered) dashed.
func loadChart(pts []loadPoint, note string) Chart {
	slices.SortFunc(pts, func(a, b loadPoint) int {
		switch {
		case a.Offered < b.Offered:
			return -1
		case a.Offered > b.Offered:
			return 1
		}
		return 0
	})
	var ideal, achieved, p99 []Point
	for _, p := range pts {
		ideal = append(ideal, Point{p.Offered, p.Offered})
		achieved = append(achieved, Point{p.Offered, p.Achieved})
		if p.Lat.N > 0 {
			p99 = append(p99, Point{p.Offered, p.Lat.P99})
		}
	}
	logX := spread(ideal) > 8
	return Chart{
		Title:  "Throughput and p99 latency vs offered load",
		Note:   note,
		X:      Axis{Label: "offered load (cart events/s)", Log: logX},
		Y:      Axis{Label: "offers/s achieved", Log: logX},
		YRight: Axis{Label: "p99 latency (ms)", Log: spread(p99) > 20},
		Series: []Series{
			{Name: "offered (ideal)", Color: "#999", Points: ideal, Dashed: true},
			{Name: "achieved offers/s", Color: "#2471a3", Points: achieved},
			{Name: "p99 latency (ms, right)", Color: "#c0392b", Points: p99, Right: true},
		},
	}
}

// spread is the ratio of the largest to the smallest positive Y of the
// points; 0 without positive values.
func spread(pts []Point) float64 {
	lo, hi := 0.0, 0.0
	for _, p := range pts {
		v := p.Y
		if v <= 0 {
			continue
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == 0 {
		return 0
	}
	return hi / lo
}

// writeChart renders a chart to dir/name.
func writeChart(dir, name string, c Chart) error {
	svg, err := c.SVG()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
		return fmt.Errorf("bench: write %s: %w", name, err)
	}
	return nil
}
