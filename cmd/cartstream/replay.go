package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"cartstream/internal/config"
	"cartstream/internal/debezium"
	"cartstream/internal/registry"
	"cartstream/internal/replay"
	"cartstream/internal/streamtime"
	"cartstream/processors/cdc"
	"cartstream/topology"
)

// replayOptions are the settings of `cartstream replay`.
type replayOptions struct {
	kafka      config.Config // Brokers, GroupPrefix
	group      string
	flags      replay.Flags
	dryRun     bool
	force      bool
	forceWait  time.Duration
	verify     bool
	override   string
	dataDir    string
	partitions int
	registry   string
	maxSkew    time.Duration
}

func newReplayCmd() *cobra.Command {
	var opts replayOptions
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Reset a group to re-run it from chosen offsets, or verify its state against its inputs",
		Long: `Reset a group so it re-runs its topology from a chosen point, like Kafka
Streams' application reset tool (DESIGN §8), or verify its tables.

Give --group and exactly one of --to-earliest, --to-offset topic:partition:offset
(repeatable), --to-datetime RFC3339, --by-duration (2h or PT2H) or --from-file
(CSV topic,partition,offset). The plan is printed first: per input partition the
committed and new offsets, the changelog partitions truncated, the local stores
wiped under --data-dir and whether state before the point is dropped (any reset
but --to-earliest rebuilds state from that point only). --dry-run stops there.

Every instance running the group must be stopped: the command refuses while the
group has members. --force evicts members that prove dead (killed instances whose
sessions have not timed out, static members); a member that answers on its
advertised HTTP address, or rejoins within --force-wait, is alive and the
command refuses. Without --brokers it opens the embedded broker's data directory
(<data-dir>/broker) itself, which fails while an instance uses it.

A reset commits the new offsets (the loop topic to its end), truncates the
group's changelog, wipes its local stores here, and writes a reset epoch to
cartstream.resets: other hosts wipe the group's local state when they start.
For carts it records the old committed offsets as a boundary: records below it
re-derive carts and offers but send no reservation commands or checkout
statuses. inventory holds decisions: --group inventory takes no scenario and
only wipes its local stores here, which it rebuilds from its changelog.

--verify (group stopped) rebuilds the group's table in memory from its inputs
and compares per-partition digests with the changelog; for carts the digest
covers cart contents only. --promotions-override F.jsonl (carts) re-prices every
replayed event with the promotions in F instead of the live ones and prints how
offers would change. docs/operations.md explains it all.`,
		Example: `  cartstream replay --group carts --to-earliest --dry-run
  cartstream replay --group carts --by-duration PT2H
  cartstream replay --group cdc-products --to-offset shop.public.products:0:120 --to-offset shop.public.products:3:77
  cartstream replay --group carts --from-file offsets.csv --brokers kafka:9092 --force
  cartstream replay --group inventory
  cartstream replay --verify --group carts --promotions-override black-friday.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReplay(cmd, opts)
		},
	}
	f := cmd.Flags()
	opts.kafka.RegisterKafka(f)
	f.StringVar(&opts.group, "group", "", "logical group: cdc-products, cdc-promotions, cdc-inventory, cdc-outbox, carts, inventory (required)")
	f.BoolVar(&opts.flags.ToEarliest, "to-earliest", false, "reset to each input partition's earliest offset")
	f.StringArrayVar(&opts.flags.ToOffset, "to-offset", nil, "reset one input partition: topic:partition:offset (repeatable; other partitions are untouched)")
	f.StringVar(&opts.flags.ToDatetime, "to-datetime", "", "reset to the first record at or after this RFC 3339 time")
	f.StringVar(&opts.flags.ByDuration, "by-duration", "", "reset to this long before now: a Go duration (2h) or ISO-8601 (PT2H, P1DT12H)")
	f.StringVar(&opts.flags.FromFile, "from-file", "", "CSV file of topic,partition,offset lines")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVar(&opts.force, "force", false, "evict group members that prove dead (see --force-wait) instead of refusing")
	f.DurationVar(&opts.forceWait, "force-wait", replay.DefaultForceWait, "with --force, how long to watch for evicted members rejoining (a live one rejoins at its next heartbeat)")
	f.BoolVar(&opts.verify, "verify", false, "rebuild the group's tables from its inputs and compare them with its changelog; changes nothing")
	f.StringVar(&opts.override, "promotions-override", "", "with --verify --group carts: JSON lines of normalized promotions to re-price replayed events with")
	f.StringVar(&opts.dataDir, "data-dir", config.DefaultDataDir, "the instance's data directory: local state, and the embedded broker's log without --brokers")
	f.IntVar(&opts.partitions, "partitions", topology.DefaultPartitions, "partition count of topics cartstream creates (as given to run)")
	f.StringVar(&opts.registry, "registry", "", "Confluent schema registry URL, for --verify of cdc groups with Avro sources")
	f.DurationVar(&opts.maxSkew, "max-skew", streamtime.DefaultMaxSkew, "as given to run: a cart event's ts is its event time when within this of the record timestamp (--verify)")
	_ = cmd.MarkFlagRequired("group")
	bindConfig(cmd)
	return cmd
}

func runReplay(cmd *cobra.Command, opts replayOptions) error {
	out := cmd.OutOrStdout()
	errOut := cmd.ErrOrStderr()
	topo := topology.New(topology.Config{GroupPrefix: opts.kafka.GroupPrefix, Partitions: int32(opts.partitions)})
	if _, ok := topo.Group(opts.group); !ok {
		return fmt.Errorf("replay: unknown group %q (groups: cdc-products, cdc-promotions, cdc-inventory, cdc-outbox, carts, inventory)", opts.group)
	}
	if opts.override != "" && !opts.verify {
		return errors.New("replay: --promotions-override goes with --verify")
	}
	var scenario replay.Scenario
	if !opts.verify && opts.group != topology.GroupInventory {
		var err error
		if scenario, err = replay.ParseFlags(opts.flags); err != nil {
			return err
		}
	} else if f := opts.flags; f.ToEarliest || len(f.ToOffset) > 0 || f.ToDatetime != "" || f.ByDuration != "" || f.FromFile != "" {
		if opts.verify {
			return errors.New("replay: --verify takes no scenario flag")
		}
		return replay.ErrNotReplayable
	}
	ctx := cmd.Context()
	cluster, err := opts.kafka.KafkaCluster()
	if err != nil {
		return err
	}
	conn, err := replay.Connect(ctx, cluster, opts.dataDir)
	if err != nil {
		return err
	}
	defer conn.Close()
	progress := replay.NewProgress(progressWriter(errOut))

	if opts.verify {
		// The same column types as the cdc groups, so schemaless records
		// decode alike in the replay and in the shadow.
		columns, err := cdc.AllColumns()
		if err != nil {
			return err
		}
		dec := &debezium.Decoder{Columns: columns}
		if opts.registry != "" {
			reg, err := registry.New(opts.registry, registry.Options{})
			if err != nil {
				return err
			}
			dec.Registry = reg
		}
		_, err = replay.Verify(ctx, replay.VerifyConfig{
			Conn: conn, Topology: topo, Group: opts.group, Decoder: dec,
			Rule: streamtime.Rule{MaxSkew: opts.maxSkew}, Override: opts.override,
			Progress: progress, Out: out,
		})
		return err
	}

	plan, err := replay.NewPlan(ctx, replay.PlanConfig{
		Brokers: conn.Brokers, Security: conn.Security, Admin: conn.Admin, Topology: topo, Group: opts.group,
		Scenario: scenario, DataDir: opts.dataDir, Now: time.Now(),
	})
	if err != nil {
		return err
	}
	if err := plan.Write(out); err != nil {
		return err
	}
	if opts.dryRun {
		fmt.Fprintln(out, "\ndry run: nothing changed")
		return nil
	}
	if !plan.LocalOnly {
		err := replay.CheckStopped(ctx, conn.Client, conn.Admin, plan.Group.ID, replay.StopCheck{
			Force: opts.force, Wait: opts.forceWait, Log: func(format string, args ...any) { progress.Log(format, args...) },
		})
		if err != nil {
			return err
		}
	}
	rs, err := replay.Execute(ctx, replay.ExecConfig{Client: conn.Client, Admin: conn.Admin, Topology: topo, Plan: plan, Progress: progress, Now: time.Now()})
	if err != nil {
		return err
	}
	if plan.LocalOnly {
		fmt.Fprintf(out, "\nwiped %d local stores; %s rebuilds them from its changelog when it starts\n", len(plan.LocalDirs), plan.Group.Name)
		return nil
	}
	fmt.Fprintf(out, "\nreset %s to %s (epoch %d); start the instances to re-process\n", plan.Group.Name, plan.Scenario, rs.Epoch)
	return nil
}

// progressWriter is stderr itself when it is (so bars can be drawn on a
// terminal), else the command's writer.
func progressWriter(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return w
}
