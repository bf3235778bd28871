package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Config configures a run.
type Config struct {
	// Binary is the cartstream binary the processes run (the harness's
	// own executable).
	Binary string
	// Out receives the profiles, the plots, results.json and, under
	// work/, the processes' logs and data dirs.
	Out string
	// Docs, when set, is a directory the plots are copied to
	// (docs/benchmarks).
	Docs string
	// Name names the run in its output ("quick", "full").
	Name  string
	Sizes Sizes
	// Only selects measurements (ParseOnly); nil or empty: all.
	Only map[string]bool
	// Partitions of every topic.
	Partitions int
	// ProfileSeconds is how long the CPU and allocation profiles of the
	// pipeline run last (at most 25); 0 takes none.
	ProfileSeconds int
	// Keep keeps the work dir (logs and data dirs) after a run that
	// passed.
	Keep bool
	// Stdout gets the JSON line; Stderr the figures as they are measured
	// and the progress.
	Stdout, Stderr io.Writer
}

// Run makes the measurements cfg selects and prints, last on Stdout, the
// JSON object of every figure measured. A measurement that fails is
// reported and the others still run; Run then returns an error.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	began := time.Now()
	if err := cfg.Sizes.Validate(); err != nil {
		return nil, err
	}
	if cfg.Partitions <= 0 {
		return nil, fmt.Errorf("bench: %d partitions: want at least one", cfg.Partitions)
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if len(cfg.Only) == 0 {
		cfg.Only, _ = ParseOnly("")
	}
	e := &env{
		bin: cfg.Binary, out: cfg.Out, work: filepath.Join(cfg.Out, "work"),
		partitions: cfg.Partitions, log: cfg.Stderr, hc: &http.Client{Timeout: 10 * time.Second},
	}
	if err := os.RemoveAll(e.work); err != nil {
		return nil, fmt.Errorf("bench: clean %s: %w", e.work, err)
	}
	if err := os.MkdirAll(e.work, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	for _, stale := range []string{"cpu.pprof", "allocs.pprof", PlotCatalog, PlotLoad, "results.json"} {
		_ = os.Remove(filepath.Join(cfg.Out, stale))
	}
	machine := Machine()
	e.logf("%s run: %s", cfg.Name, cfg.Sizes)
	e.logf("machine: %s; %d partitions; measuring %s", machine, cfg.Partitions, strings.Join(sortedNames(cfg.Only), ", "))

	res := NewResults(cfg.Stderr)
	var failed []error
	// The load average is read after every measurement: the machine may
	// be shared, and the figures are only as quiet as it was.
	maxLoad, _ := ReadLoadAvg()
	load := func() float64 {
		l, err := ReadLoadAvg()
		if err == nil {
			maxLoad = max(maxLoad, l)
		}
		return l
	}
	e.logf("load average (1 min) at the start: %.2f", load())
	step := func(name string, fn func() error) {
		if !cfg.Only[name] || ctx.Err() != nil {
			return
		}
		t := time.Now()
		e.logf("%s: starting", name)
		if err := fn(); err != nil {
			e.logf("%s: FAILED: %v", name, err)
			failed = append(failed, fmt.Errorf("%s: %w", name, err))
			return
		}
		e.logf("%s: done in %.1fs; load average (1 min) %.2f", name, time.Since(t).Seconds(), load())
	}
	sz := cfg.Sizes
	step(FigRoundtrip, func() error { return e.roundtrip(ctx, sz.RoundtripRecords, res) })
	step(FigBaseline, func() error { return e.baseline(ctx, sz.BaselineEvents, res) })
	// The latency, pipeline and flash sale runs share one stack and its
	// catalog, loaded once, in that order: the latency run first, so its
	// stack holds what the catalog runs' stacks hold (the catalog), not
	// the pipeline run's carts.
	var (
		main  *stack
		cat   *catalog
		loads []loadPoint
		cats  []catalogPoint
	)
	if (cfg.Only[FigPipeline] || cfg.Only[FigLatency] || cfg.Only[FigReservations]) && ctx.Err() == nil {
		var err error
		if main, cat, err = e.mainStack(ctx, sz); err != nil {
			e.logf("main stack: FAILED: %v", err)
			failed = append(failed, fmt.Errorf("main stack: %w", err))
		}
	}
	needMain := func(fn func() error) func() error {
		return func() error {
			if main == nil {
				return errors.New("bench: the main stack did not start")
			}
			return fn()
		}
	}
	step(FigLatency, needMain(func() error {
		// Restart, so the views hold the whole catalog, as for the
		// catalog runs (latencyStack).
		if err := main.stopInstance(); err != nil {
			return err
		}
		if _, err := main.startInstance(ctx); err != nil {
			return err
		}
		if err := e.warmUp(ctx, main, sz.Products); err != nil {
			return err
		}
		for i, r := range sz.rates() {
			pt, err := e.offerLoad(ctx, main, fmt.Sprintf("l%d", i), sz.Products, r, sz.LatencyDuration)
			if err != nil {
				return err
			}
			loads = append(loads, pt)
		}
		light, at := loads[0], loads[1]
		res.Set("p50_ms", at.Lat.P50)
		res.Set("p99_ms", at.Lat.P99)
		res.Set("p999_ms", at.Lat.P999)
		res.Set("latency_offered_eps", at.Offered)
		res.Set("latency_achieved_eps", at.Achieved)
		res.Set("p99_ms_light", light.Lat.P99)
		cats = append(cats, catalogPoint{sz.Promotions, at.Lat, light.Lat})
		return nil
	}))
	step(FigPipeline, needMain(func() error { return e.pipeline(ctx, main, sz, cfg.ProfileSeconds, res) }))
	step(FigReservations, needMain(func() error { return e.flashSale(ctx, main, cat, sz.FlashCarts, sz.FlashUnits, res) }))
	if main != nil {
		main.close()
	}
	step(FigCatalog, func() error {
		for _, c := range []struct {
			key        string
			promotions int
		}{{"p99_ms_100_promos", sz.SmallPromotions}, {"p99_ms_100k_promos", sz.LargePromotions}} {
			pts, err := e.latencyRun(ctx, fmt.Sprintf("catalog-%d", c.promotions), sz.Products, c.promotions,
				[]float64{sz.LightRate, sz.LatencyRate}, sz.LatencyDuration)
			if err != nil {
				return err
			}
			light, at := pts[0], pts[1]
			res.Set(c.key, at.Lat.P99)
			res.Set(c.key+"_achieved_eps", at.Achieved)
			res.Set(c.key+"_light", light.Lat.P99)
			cats = append(cats, catalogPoint{c.promotions, at.Lat, light.Lat})
		}
		return nil
	})
	step(FigRestart, func() error { return e.restarts(ctx, sz.RestartKeys, res) })

	note := fmt.Sprintf("%s run, %s", cfg.Name, machine)
	if err := e.plots(cfg, cats, loads, sz.LatencyRate, sz.LightRate, note); err != nil {
		failed = append(failed, err)
	}
	load()
	res.Set("load_avg_max", maxLoad)
	res.Set("wall_s", time.Since(began).Round(100*time.Millisecond).Seconds())
	line := res.JSON()
	if err := os.WriteFile(filepath.Join(cfg.Out, "results.json"), []byte(line+"\n"), 0o644); err != nil {
		failed = append(failed, fmt.Errorf("bench: %w", err))
	}
	if len(failed) == 0 && !cfg.Keep {
		if err := os.RemoveAll(e.work); err != nil {
			e.logf("cannot remove %s: %v", e.work, err)
		}
	} else {
		e.logf("logs and data dirs kept in %s", e.work)
	}
	fmt.Fprintln(cfg.Stdout, line)
	if err := ctx.Err(); err != nil {
		failed = append(failed, err)
	}
	return res, errors.Join(failed...)
}

// plots writes the plots the run has points for, and copies them to
// cfg.Docs when set.
func (e *env) plots(cfg Config, cat []catalogPoint, loads []loadPoint, offered, light float64, note string) error {
	var errs []error
	write := func(name string, c Chart) {
		if err := writeChart(cfg.Out, name, c); err != nil {
			errs = append(errs, err)
			return
		}
		e.logf("plot: %s", filepath.Join(cfg.Out, name))
		if cfg.Docs == "" {
			return
		}
		if err := os.MkdirAll(cfg.Docs, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("bench: %w", err))
			return
		}
		if err := writeChart(cfg.Docs, name, c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(cat) > 0 {
		write(PlotCatalog, catalogChart(cat, offered, light, note))
	}
	if len(loads) > 0 {
		write(PlotLoad, loadChart(loads, note))
	}
	return errors.Join(errs...)
}

// Machine describes the machine: CPU model and count, OS, Go version.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
