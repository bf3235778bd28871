package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"cartstream/internal/broker"
	"cartstream/internal/config"
	"cartstream/internal/kafkasec"
	"cartstream/internal/loadgen"
)

// plainProgressEvery is how often `loadgen` prints a progress line when its
// output is not a terminal.
const plainProgressEvery = 5 * time.Second

func newLoadgenCmd() *cobra.Command {
	cfg := loadgen.Defaults()
	var kafka config.Config // KafkaSecurity only
	var logLevel, ledgerFile string
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Drive launch-day load into a running cartstream: carts, coupons, checkouts and orders at a target rate",
		Long: `Produce cart events at --rate a second for --duration against a running
cartstream (` + "`make run`" + ` works as is), from the shop simulator's storefront driver:
most carts browse (add, change quantities, remove, try coupons of the demo
catalog and unknown codes) and leave; the others check out. loadgen reads
cartstream.checkouts and feeds the statuses back: a reserved checkout places its
order in the simulated database (inventory CDC and an outbox record) and
completes, or is abandoned, edited or left to expire; a failed one may retry.
SKU popularity is Zipf-skewed; --flash-sale SKU puts that SKU in every cart.
The rate counts cart events (a few delivered twice on purpose); the CDC and
outbox records of orders and restocks come on top.

Ids and versions. cartstream follows the database's inventory versions, so
loadgen never writes rows someone else writes: it first inserts its own
--skus products and inventory rows (copies of the demo catalog's products, so
the demo promotions apply) through the Debezium records an insert produces,
under a namespace (--namespace, default lg<seed>): SKUs lg1-SKU-00001 …, carts
lg1-c000001 …, and waits until cartstream has applied them. Runs with different
namespaces never collide. Reusing a namespace on the same cluster would reuse
every id (cartstream drops repeated event ids) and restart its rows at
version 1, so loadgen refuses a namespace whose products already exist: pass
another --seed or --namespace, or start cartstream on an empty data dir.

Time. Cart events carry the wall clock as ts (an order's records up to about
2.5 s more), within cartstream's --max-skew of the broker's timestamps; the
simulated database's transactions overlap that clock instead of adding to it.

--seed makes every cart do the same things in every run (same SKUs, changes,
coupons, checkout fates) as long as cartstream answers alike; when carts arrive
and how their events interleave follow the wall clock and the statuses.

Progress goes to stderr (a bar on a terminal, a line every 5 s otherwise). At
the end it prints one summary line on stdout:
  events=N rate_achieved=R checkouts=N reserved=N failed=N completed=N duration_s=S
and the remaining figures on stderr. Checkouts still open at the end are left
to expire (--hold-ttl). Ctrl-C stops early and still prints the summary.

For audits (` + "`make chaos`" + `): --bad-every N injects a bad cart event (not JSON,
unknown type, qty out of range, cart id not the key) after every N cart
events, for cartstream to dead-letter; --ledger FILE writes, at the end, what
the run did as JSON: the database's rows and the stock each ever had, its
orders, every cart's acknowledged event ids (counted) and where each bad
record went (internal/loadgen.Ledger).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The one place loadgen's Kafka clients are built.
			sec, err := kafka.KafkaSecurity.Load()
			if err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			cfg.NewClient = kafkasec.Cluster{Brokers: cfg.Brokers, Security: sec}.NewClient
			cfg.Logger = newLogger(cmd.ErrOrStderr(), logLevel, "text")
			prog := newLoadProgress(cmd.ErrOrStderr(), int64(cfg.Rate*cfg.Duration.Seconds()))
			cfg.Progress = prog.update
			cfg.KeepLedger = ledgerFile != ""
			sum, err := loadgen.Run(cmd.Context(), cfg)
			prog.done()
			if sum.Ledger != nil {
				if werr := writeLedger(ledgerFile, sum.Ledger); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				if sum.Events > 0 {
					fmt.Fprintln(cmd.OutOrStdout(), sum)
				}
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), sum)
			fmt.Fprintln(cmd.ErrOrStderr(), sum.Details())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&cfg.Brokers, "brokers", []string{broker.DefaultListen}, "Kafka bootstrap brokers, comma-separated (default: the embedded broker's address)")
	f.StringVar(&cfg.GroupPrefix, "group-prefix", cfg.GroupPrefix, "the instances' --group-prefix (for the lag shown)")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "target cart events a second (CDC and outbox records come on top)")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to produce load")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of what every cart does; also names the default namespace")
	f.StringVar(&cfg.Namespace, "namespace", "", "prefix of the SKUs and ids loadgen creates (default lg<seed>); must not have been used on the cluster")
	f.IntVar(&cfg.SKUs, "skus", cfg.SKUs, "products (with inventory rows) loadgen creates, most popular first")
	f.Int32Var(&cfg.Stock, "stock", cfg.Stock, "on_hand of each product at the start")
	f.StringVar(&cfg.FlashSKU, "flash-sale", "", "a SKU every cart adds, e.g. SKU-00001 (short for <namespace>-SKU-00001); empty: no flash sale")
	f.Int32Var(&cfg.FlashUnits, "flash-units", cfg.FlashUnits, "on_hand of the --flash-sale SKU at the start (it is never restocked)")
	f.Float64Var(&cfg.BrowseRate, "browse-rate", cfg.BrowseRate, "share of carts that never check out")
	f.DurationVar(&cfg.ThinkTime, "think-time", cfg.ThinkTime, "mean time between a cart's actions (with --rate, sets how many carts shop at once)")
	f.Float64Var(&cfg.Zipf, "zipf", cfg.Zipf, "exponent of SKU popularity (<= 1: uniform)")
	f.DurationVar(&cfg.HoldTTL, "hold-ttl", cfg.HoldTTL, "the instances' --hold-ttl")
	f.DurationVar(&cfg.Drain, "drain", cfg.Drain, "after the load, how long to wait for the statuses of checkouts in flight")
	f.StringVar(&logLevel, "log-level", "info", "log level of the setup's messages: debug, info, warn, error")
	f.IntVar(&cfg.BadEvery, "bad-every", 0, "inject a bad cart event for cartstream to dead-letter after every N cart events (0: none)")
	f.StringVar(&ledgerFile, "ledger", "", "write what the run did (orders, stock, events per cart, bad records) as JSON to this file at the end, for audits")
	kafka.RegisterKafkaSecurity(f)
	bindConfig(cmd)
	return cmd
}

// loadProgress shows a run's figures: a progress bar on a terminal, plain
// lines every plainProgressEvery of the load otherwise.
type loadProgress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	next time.Duration // of the load, when the next plain line is due
}

func newLoadProgress(w io.Writer, total int64) *loadProgress {
	p := &loadProgress{w: w, next: plainProgressEvery}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("loadgen"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionFullWidth(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return p
}

func (p *loadProgress) update(s loadgen.Stats) {
	line := fmt.Sprintf("rate=%.0f/s checkouts=%d reserved=%d failed=%d completed=%d lag=%s",
		s.Rate(), s.Checkouts, s.Reserved, s.Failed, s.Completed, lagText(s.Lag))
	if p.bar != nil {
		p.bar.Describe(line)
		_ = p.bar.Set64(s.Events)
		return
	}
	if s.Elapsed >= p.next {
		p.next = s.Elapsed.Truncate(plainProgressEvery) + plainProgressEvery
		fmt.Fprintf(p.w, "loadgen: %s events=%d %s\n", s.Elapsed.Round(time.Second), s.Events, line)
	}
}

func (p *loadProgress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// writeLedger writes l as JSON to path, through a temporary file so a
// reader never sees half a ledger.
func writeLedger(path string, l *loadgen.Ledger) error {
	b, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("loadgen: ledger: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("loadgen: ledger: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("loadgen: ledger: %w", err)
	}
	return nil
}

func lagText(lag int64) string {
	if lag < 0 {
		return "?"
	}
	return fmt.Sprint(lag)
}
