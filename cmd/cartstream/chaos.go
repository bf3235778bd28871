package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"cartstream/internal/chaos"
)

// newChaosCmd is the hidden `chaos` command behind `make chaos`: processes,
// faults and an independent audit (internal/chaos), for make targets and
// engineers, not for operators.
func newChaosCmd() *cobra.Command {
	cfg := chaos.Defaults()
	var (
		mode              string
		killDown, brkDown time.Duration
	)
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Kill instances and restart the broker under checkout load, then audit the outcome",
		Long: `Start ` + "`cartstream broker`" + ` (a durable data dir) and --instances
` + "`cartstream run --brokers`" + ` processes, drive checkout-heavy load with
` + "`cartstream loadgen`" + ` (with bad records to dead-letter and a ledger of what
it did), and meanwhile, on a schedule drawn from --seed, SIGKILL a random
instance about every --kill-every and start it again, and restart the broker
--broker-restarts times (SIGTERM, then SIGKILL, alternately) on the same data
dir. With --mode rolling it instead restarts every instance once, in turn,
with SIGTERM. A probe asks queries all along.

After the load, once held units have had time to expire and every group
caught up, an independent auditor (it reads the output topics and the HTTP
API, never the processors' code or state) checks: every cart's version counts
its acknowledged events; no SKU oversold; no command applied twice; no hold
leaked; the DLQ holds exactly the injected bad records. It prints one summary
line on stdout (details on stderr):

  kills=… broker_restarts=… events=… oversold=0 double_applied=0 lost_events=0 leaked_holds=0 max_failover_s=…

and exits non-zero on any violation, with the seed that replays the run; a
failed run keeps its logs and data dirs.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("chaos: %w", err)
			}
			cfg.Binary = bin
			cfg.Mode = chaos.Mode(mode)
			cfg.KillDown[1], cfg.BrokerDown[1] = killDown, brkDown
			if cfg.Seed == 0 {
				cfg.Seed = time.Now().UnixNano() % 1_000_000
			}
			cfg.Replay = fmt.Sprintf("make chaos CHAOS_SEED=%d CHAOS_DURATION=%s", cfg.Seed, cfg.Duration)
			cfg.Log = cmd.ErrOrStderr()
			rep, err := chaos.Run(cmd.Context(), cfg)
			if rep != nil {
				fmt.Fprintln(cmd.OutOrStdout(), rep)
				fmt.Fprint(cmd.ErrOrStderr(), rep.Details())
			}
			if err != nil {
				return fmt.Errorf("%w (seed %d; replay: %s)", err, cfg.Seed, cfg.Replay)
			}
			if rep.Failed() {
				return errors.New("chaos: the audit found violations (seed " + fmt.Sprint(cfg.Seed) + ")")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mode, "mode", string(cfg.Mode), "chaos (kills and broker restarts) or rolling (SIGTERM every instance in turn)")
	f.Int64Var(&cfg.Seed, "seed", 0, "seed of the schedule and the load (0: a new one, printed)")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the load runs (faults happen during it)")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "loadgen's cart events a second")
	f.IntVar(&cfg.Instances, "instances", cfg.Instances, "cartstream run processes")
	f.IntVar(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of the topics")
	f.DurationVar(&cfg.HoldTTL, "hold-ttl", cfg.HoldTTL, "the instances' --hold-ttl (the audit waits this long after the load)")
	f.BoolVar(&cfg.HotStandby, "hot-standby", false, "run the instances with --hot-standby")
	f.DurationVar(&cfg.KillEvery, "kill-every", cfg.KillEvery, "mean time between instance kills (0: none)")
	f.DurationVar(&cfg.KillDown[0], "kill-down-min", cfg.KillDown[0], "shortest time a killed instance stays down")
	f.DurationVar(&killDown, "kill-down-max", cfg.KillDown[1], "longest time a killed instance stays down")
	f.Float64Var(&cfg.StartingKills, "starting-kills", cfg.StartingKills, "share of kills followed by another kill of the same instance while it starts again")
	f.IntVar(&cfg.BrokerRestarts, "broker-restarts", cfg.BrokerRestarts, "broker restarts during the load")
	f.DurationVar(&brkDown, "broker-down-max", cfg.BrokerDown[1], "longest time the broker stays down")
	f.IntVar(&cfg.Pauses, "pauses", 0, "freeze an instance (SIGSTOP) this many times, for 15–25 s each, then let it go on (SIGCONT): a network partition as the others see it")
	f.DurationVar(&cfg.TermDown, "term-down", cfg.TermDown, "--mode rolling: how long each instance stays down")
	f.Float64Var(&cfg.BrowseRate, "browse-rate", cfg.BrowseRate, "loadgen's share of carts that never check out")
	f.IntVar(&cfg.BadEvery, "bad-every", cfg.BadEvery, "inject a bad cart event after every N (0: none)")
	f.DurationVar(&cfg.MaxOutage, "max-outage", 0, "fail when no instance answered queries for longer (0: only report it)")
	f.StringVar(&cfg.WorkDir, "work-dir", "", "directory for logs, data dirs and the ledger (default: a new temporary one, removed after a passing run)")
	f.BoolVar(&cfg.Keep, "keep", false, "keep the work dir after a passing run")
	f.StringVar(&cfg.InstanceLogLevel, "instance-log-level", "info", "the instances' --log-level (debug shows goka's rebalances)")
	bindConfig(cmd)
	return cmd
}
