package bench

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Sizes is what a run measures and how much of it.
type Sizes struct {
	// Products is the catalog loaded through CDC before every pipeline
	// and latency run.
	Products int
	// Promotions is the catalog of the pipeline run and of the main
	// latency run (p50_ms, p99_ms, p999_ms).
	Promotions int
	// SmallPromotions and LargePromotions are the catalogs of
	// p99_ms_100_promos and p99_ms_100k_promos.
	SmallPromotions, LargePromotions int
	// Events is the cart events of the pipeline run.
	Events int
	// BaselineEvents is the cart events the goka baseline counts.
	BaselineEvents int
	// RoundtripRecords is the records of broker_roundtrip_eps.
	RoundtripRecords int
	// LatencyRate is the offered load of the latency figures (events/s),
	// and LatencyDuration how long each offered load lasts.
	LatencyRate     float64
	LatencyDuration time.Duration
	// LightRate is a second offered load every latency run (each catalog
	// size) also measures: one the pipeline carries without queueing, so
	// the catalog's own effect on latency shows.
	LightRate float64
	// LoadRates are further offered loads of the throughput plot, run on
	// the main stack after LatencyRate and LightRate.
	LoadRates []float64
	// FlashCarts carts each check out one unit of one hot SKU that has
	// FlashUnits units.
	FlashCarts, FlashUnits int
	// RestartKeys is the carts on disk for warm_restart_s and restored
	// for restore_rps.
	RestartKeys int
}

// QuickSizes are `make bench-quick`'s sizes: every figure, reduced so the
// run fits in two minutes on a 2-core machine.
func QuickSizes() Sizes {
	return Sizes{
		Products: 10_000, Promotions: 10_000, SmallPromotions: 100, LargePromotions: 20_000,
		Events: 30_000, BaselineEvents: 40_000, RoundtripRecords: 100_000,
		LatencyRate: 5_000, LatencyDuration: 3 * time.Second, LightRate: 1_000,
		FlashCarts: 4_000, FlashUnits: 400, RestartKeys: 100_000,
	}
}

// FullSizes are `make bench`'s sizes: DESIGN §11's.
func FullSizes() Sizes {
	return Sizes{
		Products: 100_000, Promotions: 10_000, SmallPromotions: 100, LargePromotions: 100_000,
		Events: 200_000, BaselineEvents: 200_000, RoundtripRecords: 1_000_000,
		LatencyRate: 5_000, LatencyDuration: 20 * time.Second, LightRate: 1_000,
		LoadRates:  []float64{500, 2_000, 3_000, 10_000},
		FlashCarts: 20_000, FlashUnits: 1_000, RestartKeys: 1_000_000,
	}
}

// ErrSizes is wrapped by Validate's errors.
var ErrSizes = errors.New("bench: invalid sizes")

// Validate reports sizes no run can use.
func (s Sizes) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrSizes, fmt.Sprintf(format, args...))
	}
	switch {
	case s.Products < 1:
		return bad("%d products: want at least 1", s.Products)
	case s.Promotions < 0 || s.SmallPromotions < 0 || s.LargePromotions < 0:
		return bad("negative promotions")
	case s.Events < 1 || s.BaselineEvents < 1 || s.RoundtripRecords < 1:
		return bad("events and records must be positive")
	case !(s.LatencyRate > 0) || !(s.LightRate > 0) || s.LatencyDuration <= 0:
		return bad("latency rates %v and %v for %s: want positive rates and duration", s.LatencyRate, s.LightRate, s.LatencyDuration)
	case s.FlashCarts < 1 || s.FlashUnits < 1:
		return bad("flash sale of %d carts and %d units: want both positive", s.FlashCarts, s.FlashUnits)
	case s.RestartKeys < 1:
		return bad("%d restart keys: want at least 1", s.RestartKeys)
	}
	for _, r := range s.LoadRates {
		if !(r > 0) {
			return bad("offered load %v: want positive", r)
		}
	}
	return nil
}

// String names the sizes, for the line a run starts with.
func (s Sizes) String() string {
	rates := make([]string, 0, 2+len(s.LoadRates))
	for _, r := range s.rates() {
		rates = append(rates, group(int64(r)))
	}
	return fmt.Sprintf("%s products, %s promotions (latency also at %s and %s), %s pipeline events, %s baseline events, %s roundtrip records, "+
		"offered loads of %s ev/s for %s each, flash sale of %s carts on %s units, %s keys for restarts",
		group(int64(s.Products)), group(int64(s.Promotions)), group(int64(s.SmallPromotions)), group(int64(s.LargePromotions)),
		group(int64(s.Events)), group(int64(s.BaselineEvents)), group(int64(s.RoundtripRecords)),
		strings.Join(rates, ", "), s.LatencyDuration, group(int64(s.FlashCarts)), group(int64(s.FlashUnits)), group(int64(s.RestartKeys)))
}

// rates are the offered loads of the main latency run, in the order it
// offers them: LightRate first (so no backlog of a heavier load is left
// when it starts), LatencyRate, then LoadRates.
func (s Sizes) rates() []float64 {
	return append([]float64{s.LightRate, s.LatencyRate}, s.LoadRates...)
}

// group writes n with a space between groups of three digits: 100 000.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// The measurements a run can make, for --only.
const (
	FigRoundtrip    = "roundtrip"    // broker_roundtrip_eps
	FigBaseline     = "baseline"     // baseline_goka_leveldb_eps
	FigPipeline     = "pipeline"     // pipeline_eps, rss_mib, cpu_us_per_event, allocs_per_event, profiles
	FigLatency      = "latency"      // p50_ms, p99_ms, p999_ms and the throughput plot
	FigCatalog      = "catalog"      // p99_ms_100_promos, p99_ms_100k_promos
	FigReservations = "reservations" // reservations_per_s
	FigRestart      = "restart"      // warm_restart_s, restore_rps
)

// Figures lists every measurement in the order a run makes them.
func Figures() []string {
	return []string{FigRoundtrip, FigBaseline, FigLatency, FigPipeline, FigReservations, FigCatalog, FigRestart}
}

// ErrUnknownFigure is wrapped by ParseOnly for a name Figures does not list.
var ErrUnknownFigure = errors.New("bench: unknown figure")

// ParseOnly turns --only's comma-separated names into a set; empty means
// every figure.
func ParseOnly(s string) (map[string]bool, error) {
	known := map[string]bool{}
	for _, f := range Figures() {
		known[f] = true
	}
	out := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !known[name] {
			return nil, fmt.Errorf("%w %q: want some of %s", ErrUnknownFigure, name, strings.Join(Figures(), ", "))
		}
		out[name] = true
	}
	if len(out) == 0 {
		for f := range known {
			out[f] = true
		}
	}
	return out, nil
}

// sortedNames returns the set's names in Figures order.
func sortedNames(set map[string]bool) []string {
	order := map[string]int{}
	for i, f := range Figures() {
		order[f] = i
	}
	var out []string
	for f := range set {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i]] < order[out[j]] })
	return out
}
