package bench

import (
	"errors"
	"fmt"
	"html"
	"math"
	"strings"
)

// Point is one (x, y) of a series.
type Point struct{ X, Y float64 }

// Series is one line of a chart.
type Series struct {
	Name   string
	Color  string // any SVG colour
	Points []Point
	// Right puts the series on the chart's right-hand axis.
	Right bool
	// Dashed draws the line dashed (a reference line, say).
	Dashed bool
}

// Axis describes one axis.
type Axis struct {
	Label string
	// Log makes the axis logarithmic (every value must be positive).
	Log bool
}

// Chart is a line chart rendered to SVG by SVG.
type Chart struct {
	Title  string
	Note   string // a line under the title (machine, run)
	X      Axis
	Y      Axis // left
	YRight Axis // used when a series is Right
	Series []Series
}

// ErrChart is wrapped by SVG for a chart it cannot draw.
var ErrChart = errors.New("bench: cannot draw chart")

// Chart geometry, in SVG user units.
const (
	chartW, chartH                  = 760.0, 440.0
	padL, padR, padT, padB          = 80.0, 80.0, 64.0, 84.0
	plotW, plotH                    = chartW - padL - padR, chartH - padT - padB
	tickLen, markerR, fontSize, gap = 5.0, 3.5, 12.0, 16.0
)

// SVG renders the chart as a standalone SVG document: axes with ticks,
// one polyline with markers and value labels per series, and a legend. The
// output depends only on the chart, so it can be compared in tests.
func (c Chart) SVG() (string, error) {
	var left, right []Point
	var xs []Point
	hasRight := false
	for _, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		xs = append(xs, s.Points...)
		if s.Right {
			right, hasRight = append(right, s.Points...), true
		} else {
			left = append(left, s.Points...)
		}
	}
	if len(xs) == 0 {
		return "", fmt.Errorf("%w %q: no points", ErrChart, c.Title)
	}
	xr, err := newScale(c.X, xs, func(p Point) float64 { return p.X }, padL, padL+plotW)
	if err != nil {
		return "", err
	}
	var yl, yr scale
	if len(left) > 0 {
		if yl, err = newScale(c.Y, left, func(p Point) float64 { return p.Y }, padT+plotH, padT); err != nil {
			return "", err
		}
	}
	if hasRight {
		if yr, err = newScale(c.YRight, right, func(p Point) float64 { return p.Y }, padT+plotH, padT); err != nil {
			return "", err
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="%g">`+"\n",
		chartW, chartH, chartW, chartH, fontSize)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text x="%g" y="22" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n", chartW/2, esc(c.Title))
	if c.Note != "" {
		fmt.Fprintf(&b, `<text x="%g" y="40" text-anchor="middle" fill="#555">%s</text>`+"\n", chartW/2, esc(c.Note))
	}
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#333"/>`+"\n", padL, padT, plotW, plotH)

	// X ticks and grid.
	for _, t := range xr.ticks() {
		x := xr.pos(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#ddd"/>`+"\n", x, padT, x, padT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x, padT+plotH+tickLen+fontSize, tickLabel(t))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", padL+plotW/2, padT+plotH+2*fontSize+8, esc(c.X.Label))
	if len(left) > 0 {
		for _, t := range yl.ticks() {
			y := yl.pos(t)
			fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", padL, y, padL+plotW, y)
			fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-tickLen-2, y+4, tickLabel(t))
		}
		fmt.Fprintf(&b, `<text transform="translate(18 %g) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padT+plotH/2, esc(c.Y.Label))
	}
	if hasRight {
		for _, t := range yr.ticks() {
			y := yr.pos(t)
			fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#333"/>`+"\n", padL+plotW, y, padL+plotW+tickLen, y)
			fmt.Fprintf(&b, `<text x="%g" y="%.1f">%s</text>`+"\n", padL+plotW+tickLen+2, y+4, tickLabel(t))
		}
		fmt.Fprintf(&b, `<text transform="translate(%g %g) rotate(90)" text-anchor="middle">%s</text>`+"\n", chartW-14, padT+plotH/2, esc(c.YRight.Label))
	}

	// Series, and the legend in a row under the axis label.
	legendX := padL
	for _, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		ys := yl
		if s.Right {
			ys = yr
		}
		color := s.Color
		if color == "" {
			color = "black"
		}
		pts := make([]string, len(s.Points))
		for j, p := range s.Points {
			pts[j] = fmt.Sprintf("%.1f,%.1f", xr.pos(p.X), ys.pos(p.Y))
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), esc(color), dash)
		if !s.Dashed {
			for _, p := range s.Points {
				x, y := xr.pos(p.X), ys.pos(p.Y)
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%g" fill="%s"/>`+"\n", x, y, markerR, esc(color))
				// Left-axis values above their point, right-axis ones
				// below, so two series meeting at a point stay legible.
				ly := y - 8
				if s.Right {
					ly = y + 4 + fontSize
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`+"\n", x, ly, esc(color), tickLabel(p.Y))
			}
		}
		ly := chartH - 12
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"%s/>`+"\n", legendX, ly-4, legendX+24, ly-4, esc(color), dash)
		fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text>`+"\n", legendX+30, ly, esc(s.Name))
		legendX += 30 + float64(len([]rune(s.Name)))*fontSize*0.6 + gap
	}
	b.WriteString("</svg>\n")
	return b.String(), nil
}

func esc(s string) string { return html.EscapeString(s) }

// scale maps data values to SVG coordinates along one axis.
type scale struct {
	log      bool
	lo, hi   float64 // data range (log10 of it when log)
	from, to float64 // SVG coordinates of lo and hi
}

// newScale fits an axis to the points' values with some headroom; linear
// axes start at zero.
func newScale(a Axis, pts []Point, v func(Point) float64, from, to float64) (scale, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		x := v(p)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return scale{}, fmt.Errorf("%w: value %v on axis %q", ErrChart, x, a.Label)
		}
		if a.Log && x <= 0 {
			return scale{}, fmt.Errorf("%w: value %v on logarithmic axis %q", ErrChart, x, a.Label)
		}
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	s := scale{log: a.Log, from: from, to: to}
	if a.Log {
		s.lo, s.hi = math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if s.hi == s.lo {
			s.hi++
		}
		return s, nil
	}
	lo = math.Min(0, lo) // linear axes start at zero
	if hi == lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	s.lo, s.hi = math.Floor(lo/step)*step, math.Ceil(hi*1.08/step)*step
	return s, nil
}

// pos is a value's coordinate.
func (s scale) pos(v float64) float64 {
	if s.log {
		v = math.Log10(v)
	}
	return s.from + (v-s.lo)/(s.hi-s.lo)*(s.to-s.from)
}

// ticks are the values to label: powers of ten on a log axis, round steps
// on a linear one.
func (s scale) ticks() []float64 {
	var out []float64
	if s.log {
		for e := s.lo; e <= s.hi+1e-9; e++ {
			out = append(out, math.Pow(10, e))
		}
		return out
	}
	step := niceStep((s.hi - s.lo) / 5)
	for v := s.lo; v <= s.hi+step/1e6; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// tickLabel prints a value compactly: 100, 10k, 1.5M, 0.25.
func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trimZeros(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e4:
		return trimZeros(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return trimZeros(fmt.Sprintf("%.1f", v))
	default:
		return trimZeros(fmt.Sprintf("%.2f", v))
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
