package bench

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPresetsAreValid(t *testing.T) {
	for name, s := range map[string]Sizes{"quick": QuickSizes(), "full": FullSizes()} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	q, f := QuickSizes(), FullSizes()
	// The full run measures DESIGN §11's sizes.
	if f.Products != 100_000 || f.Promotions != 10_000 || f.SmallPromotions != 100 || f.LargePromotions != 100_000 ||
		f.RestartKeys != 1_000_000 || f.LatencyRate != 5_000 {
		t.Errorf("full sizes are not DESIGN §11's: %+v", f)
	}
	// The quick run is smaller in everything that takes time, and offers
	// the same load.
	if q.Products > f.Products || q.Events > f.Events || q.RestartKeys > f.RestartKeys || q.LatencyDuration > f.LatencyDuration ||
		q.LargePromotions > f.LargePromotions || q.LatencyRate != f.LatencyRate {
		t.Errorf("quick sizes %+v are not a reduction of %+v", q, f)
	}
}

func TestSizesValidate(t *testing.T) {
	ok := QuickSizes()
	for name, mut := range map[string]func(*Sizes){
		"no products":       func(s *Sizes) { s.Products = 0 },
		"negative promos":   func(s *Sizes) { s.LargePromotions = -1 },
		"no events":         func(s *Sizes) { s.Events = 0 },
		"no rate":           func(s *Sizes) { s.LatencyRate = 0 },
		"no light rate":     func(s *Sizes) { s.LightRate = 0 },
		"no duration":       func(s *Sizes) { s.LatencyDuration = 0 },
		"bad load rate":     func(s *Sizes) { s.LoadRates = []float64{1000, -5} },
		"no flash units":    func(s *Sizes) { s.FlashUnits = 0 },
		"no restart keys":   func(s *Sizes) { s.RestartKeys = 0 },
		"no baseline event": func(s *Sizes) { s.BaselineEvents = 0 },
	} {
		s := ok
		s.LoadRates = append([]float64(nil), ok.LoadRates...)
		mut(&s)
		if err := s.Validate(); !errors.Is(err, ErrSizes) {
			t.Errorf("%s: error %v, want ErrSizes", name, err)
		}
	}
}

// A run names its sizes when it starts.
func TestSizesString(t *testing.T) {
	s := Sizes{Products: 20_000, Promotions: 10_000, SmallPromotions: 100, LargePromotions: 100_000, Events: 200_000,
		BaselineEvents: 200_000, RoundtripRecords: 1_000_000, LatencyRate: 5_000, LatencyDuration: 4 * time.Second,
		LightRate: 1_000, LoadRates: []float64{2_000}, FlashCarts: 4_000, FlashUnits: 400, RestartKeys: 100_000}
	got := s.String()
	for _, want := range []string{"20 000 products", "10 000 promotions", "100 and 100 000", "200 000 pipeline events",
		"offered loads of 1 000, 5 000, 2 000 ev/s for 4s", "100 000 keys for restarts", "4 000 carts on 400 units"} {
		if !strings.Contains(got, want) {
			t.Errorf("String() = %q, lacks %q", got, want)
		}
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1 000", 100_000: "100 000", 1_234_567: "1 234 567", -45_000: "-45 000"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseOnly(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want []string
		err  bool
	}{
		"empty is all":      {"", Figures(), false},
		"subset":            {"pipeline,latency", []string{FigLatency, FigPipeline}, false},
		"spaces and commas": {" restart ,, roundtrip ", []string{FigRoundtrip, FigRestart}, false},
		"unknown":           {"pipeline,speed", nil, true},
	} {
		got, err := ParseOnly(tc.in)
		if tc.err {
			if !errors.Is(err, ErrUnknownFigure) {
				t.Errorf("%s: error %v, want ErrUnknownFigure", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if names := sortedNames(got); strings.Join(names, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: ParseOnly(%q) = %v, want %v", name, tc.in, names, tc.want)
		}
	}
}
