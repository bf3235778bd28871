package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
)

// Results are a run's figures by name, in the order they were measured. It
// is safe for concurrent use.
type Results struct {
	mu    sync.Mutex
	out   io.Writer // where each figure is printed as name=value
	names []string
	vals  map[string]float64
}

// NewResults returns empty results that print each figure to out (nil:
// nowhere).
func NewResults(out io.Writer) *Results {
	if out == nil {
		out = io.Discard
	}
	return &Results{out: out, vals: map[string]float64{}}
}

// Set records a figure and prints it as name=value. A NaN or infinite
// value is not a measurement and is refused (the caller has a bug).
func (r *Results) Set(name string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		panic(fmt.Sprintf("bench: figure %s is %v", name, v))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.vals[name]; !ok {
		r.names = append(r.names, name)
	}
	r.vals[name] = v
	fmt.Fprintf(r.out, "%s=%s\n", name, FormatValue(v))
}

// Get returns a figure and whether it was measured.
func (r *Results) Get(name string) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.vals[name]
	return v, ok
}

// Names returns the figures' names in the order they were measured.
func (r *Results) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// FormatValue prints a figure: integers without a fraction, other values
// with up to four significant decimals (3 decimals below 10).
func FormatValue(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// JSON returns the one-line JSON object of every figure, keys sorted, with
// no trailing newline. Values are numbers, formatted as FormatValue does.
func (r *Results) JSON() string {
	r.mu.Lock()
	names := append([]string(nil), r.names...)
	vals := make(map[string]float64, len(r.vals))
	for k, v := range r.vals {
		vals[k] = v
	}
	r.mu.Unlock()
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(n)
		b.Write(key)
		b.WriteByte(':')
		b.WriteString(FormatValue(vals[n]))
	}
	b.WriteByte('}')
	return b.String()
}
