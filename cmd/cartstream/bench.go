package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"cartstream/internal/bench"
)

// newBenchCmd is the hidden `bench` command behind `make bench` and `make
// bench-quick`: the pipeline benchmark harness (internal/bench), for make
// targets and engineers, not for operators.
func newBenchCmd() *cobra.Command {
	var (
		quick          bool
		out, docs      string
		only           string
		partitions     int
		profileSeconds int
		keep           bool
		sz             bench.Sizes
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput, latency, restarts and resources end to end; print the figures and a JSON line",
		Long: `Run the broker and cartstream as processes of this binary and measure, on this
machine, DESIGN §11's figures: broker_roundtrip_eps, baseline_goka_leveldb_eps,
p50_ms, p99_ms, p999_ms at a fixed offered load (and p99 at a light one),
pipeline_eps (with rss_mib, cpu_us_per_event, allocs_per_event and CPU and
allocation profiles), reservations_per_s, p99_ms_100_promos,
p99_ms_100k_promos, warm_restart_s and restore_rps. Each figure is printed as name=value on stderr when measured; the
last line on stdout is one JSON object of them all. Profiles, plots (SVG) and
results.json go to --out. See docs/benchmarks.md, "Pipeline benchmark".

--quick runs every figure with reduced sizes (it names them when it starts);
size flags override either preset.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			figures, err := bench.ParseOnly(only)
			if err != nil {
				return err
			}
			preset, name := bench.FullSizes(), "full"
			if quick {
				preset, name = bench.QuickSizes(), "quick"
			}
			applySizeFlags(cmd, &preset, sz)
			if profileSeconds < 0 {
				profileSeconds = 20
				if quick {
					profileSeconds = 5
				}
			}
			_, err = bench.Run(cmd.Context(), bench.Config{
				Binary: bin, Out: out, Docs: docs, Name: name, Sizes: preset, Only: figures,
				Partitions: partitions, ProfileSeconds: profileSeconds, Keep: keep,
				Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
			})
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&quick, "quick", false, "reduced sizes: the whole run in under two minutes on 2 cores")
	f.StringVar(&out, "out", ".cache/bench", "directory for profiles, plots, results.json and (under work/) logs and data dirs")
	f.StringVar(&docs, "docs", "", "also write the plots into this directory (make bench: docs/benchmarks)")
	f.StringVar(&only, "only", "", "measure only these, comma-separated: roundtrip, baseline, latency, pipeline, reservations, catalog, restart (empty: all)")
	f.IntVar(&partitions, "partitions", 8, "partitions of every topic")
	f.IntVar(&profileSeconds, "profile-seconds", -1, "length of the pipeline run's CPU and allocation profiles, at most 25 (-1: 5 with --quick, else 20; 0: none)")
	f.BoolVar(&keep, "keep", false, "keep the processes' logs and data dirs after a passing run")
	full := bench.FullSizes()
	f.IntVar(&sz.Products, "products", full.Products, "products loaded through CDC before pipeline and latency runs")
	f.IntVar(&sz.Promotions, "promotions", full.Promotions, "promotions of the pipeline run and of p99_ms")
	f.IntVar(&sz.SmallPromotions, "small-promotions", full.SmallPromotions, "promotions of p99_ms_100_promos")
	f.IntVar(&sz.LargePromotions, "large-promotions", full.LargePromotions, "promotions of p99_ms_100k_promos")
	f.IntVar(&sz.Events, "events", full.Events, "cart events of the pipeline run")
	f.IntVar(&sz.BaselineEvents, "baseline-events", full.BaselineEvents, "cart events the goka baseline counts")
	f.IntVar(&sz.RoundtripRecords, "roundtrip-records", full.RoundtripRecords, "records of broker_roundtrip_eps")
	f.Float64Var(&sz.LatencyRate, "latency-rate", full.LatencyRate, "offered load of the latency runs, cart events/s")
	f.DurationVar(&sz.LatencyDuration, "latency-duration", full.LatencyDuration, "how long each offered load lasts")
	f.Float64Var(&sz.LightRate, "light-rate", full.LightRate, "second offered load of every latency run, events/s (p99_ms_light and friends)")
	f.Float64SliceVar(&sz.LoadRates, "load-rates", full.LoadRates, "further offered loads of the throughput plot, events/s (the quick preset has none)")
	f.IntVar(&sz.FlashCarts, "flash-carts", full.FlashCarts, "carts checking out one unit of the hot SKU")
	f.IntVar(&sz.FlashUnits, "flash-units", full.FlashUnits, "units of the hot SKU")
	f.IntVar(&sz.RestartKeys, "restart-keys", full.RestartKeys, "carts on disk for warm_restart_s and restore_rps")
	cmd.AddCommand(newBenchWorkerCmd())
	return cmd
}

// applySizeFlags overrides the preset with the size flags given.
func applySizeFlags(cmd *cobra.Command, preset *bench.Sizes, given bench.Sizes) {
	set := func(name string, apply func()) {
		if cmd.Flags().Changed(name) {
			apply()
		}
	}
	set("products", func() { preset.Products = given.Products })
	set("promotions", func() { preset.Promotions = given.Promotions })
	set("small-promotions", func() { preset.SmallPromotions = given.SmallPromotions })
	set("large-promotions", func() { preset.LargePromotions = given.LargePromotions })
	set("events", func() { preset.Events = given.Events })
	set("baseline-events", func() { preset.BaselineEvents = given.BaselineEvents })
	set("roundtrip-records", func() { preset.RoundtripRecords = given.RoundtripRecords })
	set("latency-rate", func() { preset.LatencyRate = given.LatencyRate })
	set("latency-duration", func() { preset.LatencyDuration = given.LatencyDuration })
	set("light-rate", func() { preset.LightRate = given.LightRate })
	set("load-rates", func() { preset.LoadRates = given.LoadRates })
	set("flash-carts", func() { preset.FlashCarts = given.FlashCarts })
	set("flash-units", func() { preset.FlashUnits = given.FlashUnits })
	set("restart-keys", func() { preset.RestartKeys = given.RestartKeys })
}

// newBenchWorkerCmd is the goka baseline the harness runs as a process of
// its own (bench.RunBaselineWorker).
func newBenchWorkerCmd() *cobra.Command {
	var cfg bench.WorkerConfig
	cmd := &cobra.Command{
		Use:    "baseline-worker",
		Short:  "Count records per key with a plain goka processor (goka's defaults, LevelDB) until stopped",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.SaramaVersion = bench.BaselineSaramaVersion()
			return bench.RunBaselineWorker(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Brokers, "brokers", nil, "Kafka bootstrap brokers")
	f.StringVar(&cfg.Group, "group", "", "goka group (its table is <group>-table)")
	f.StringVar(&cfg.Input, "input", "", "topic of the records to count")
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory of goka's LevelDB stores")
	return cmd
}
