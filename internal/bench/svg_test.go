package bench

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// wellFormed parses the SVG as XML and counts its elements by name.
func wellFormed(t *testing.T, svg string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
	return counts
}

func TestChartSVG(t *testing.T) {
	for name, tc := range map[string]struct {
		chart     Chart
		polylines int
		circles   int
		texts     []string
	}{
		"log x, one series": {
			chart: Chart{Title: "p99 vs catalog", X: Axis{Label: "promotions", Log: true}, Y: Axis{Label: "ms"},
				Series: []Series{{Name: "p99", Color: "red", Points: []Point{{100, 4}, {10_000, 4.5}, {100_000, 5}}}}},
			polylines: 1, circles: 3,
			texts: []string{"p99 vs catalog", "promotions", ">100<", ">10k<", ">100k<", ">4.5<"},
		},
		"two axes and a dashed line": {
			chart: Chart{Title: "load", X: Axis{Label: "offered"}, Y: Axis{Label: "achieved"}, YRight: Axis{Label: "p99 ms", Log: true},
				Series: []Series{
					{Name: "ideal", Points: []Point{{1000, 1000}, {5000, 5000}}, Dashed: true},
					{Name: "achieved", Points: []Point{{1000, 990}, {5000, 3100}}},
					{Name: "p99 & co", Points: []Point{{1000, 8}, {5000, 2400}}, Right: true},
				}},
			polylines: 3, circles: 4,
			texts: []string{"p99 ms", "stroke-dasharray", "p99 &amp; co", ">2400<"},
		},
		"one point": {
			chart:     Chart{Title: "single", Series: []Series{{Name: "s", Points: []Point{{5000, 4498}}}}},
			polylines: 1, circles: 1, texts: []string{">4498<"},
		},
		"escapes the title": {
			chart:     Chart{Title: `a <b> & "c"`, Series: []Series{{Name: "s", Points: []Point{{1, 1}, {2, 2}}}}},
			polylines: 1, circles: 2, texts: []string{"a &lt;b&gt; &amp; &#34;c&#34;"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			svg, err := tc.chart.SVG()
			if err != nil {
				t.Fatal(err)
			}
			counts := wellFormed(t, svg)
			if counts["svg"] != 1 || counts["polyline"] != tc.polylines || counts["circle"] != tc.circles {
				t.Errorf("elements %v, want %d polylines and %d circles", counts, tc.polylines, tc.circles)
			}
			for _, want := range tc.texts {
				if !strings.Contains(svg, want) {
					t.Errorf("SVG lacks %q", want)
				}
			}
			again, _ := tc.chart.SVG()
			if again != svg {
				t.Error("the same chart rendered differently")
			}
		})
	}
}

func TestChartSVGRefuses(t *testing.T) {
	for name, c := range map[string]Chart{
		"no points":       {Title: "empty", Series: []Series{{Name: "s"}}},
		"zero on log x":   {X: Axis{Log: true}, Series: []Series{{Points: []Point{{0, 1}}}}},
		"negative log y":  {Y: Axis{Log: true}, Series: []Series{{Points: []Point{{1, -1}}}}},
		"NaN":             {Series: []Series{{Points: []Point{{1, 0}, {2, nan()}}}}},
		"right log, zero": {YRight: Axis{Log: true}, Series: []Series{{Points: []Point{{1, 0}}, Right: true}}},
	} {
		if _, err := c.SVG(); !errors.Is(err, ErrChart) {
			t.Errorf("%s: error %v, want ErrChart", name, err)
		}
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func TestNiceStepAndTickLabel(t *testing.T) {
	for raw, want := range map[float64]float64{0.3: 0.5, 1: 1, 1.1: 2, 3: 5, 7: 10, 120: 200, 0: 1} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0", 5: "5", 2.5: "2.5", 0.25: "0.25", 250: "250", 10_000: "10k", 15_500: "15.5k", 1_000_000: "1M"} {
		if got := tickLabel(v); got != want {
			t.Errorf("tickLabel(%v) = %q, want %q", v, got, want)
		}
	}
}
