package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"cartstream/internal/broker"
	"cartstream/internal/config"
	"cartstream/internal/dlq"
	"cartstream/internal/dlqtool"
	"cartstream/topology"
)

// defaultDLQTimeout bounds one `cartstream dlq` command: reading the DLQ
// and the redrive log, and every acknowledgement.
const defaultDLQTimeout = time.Minute

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect and redrive dead letters: list, show, redrive",
		Long: `Work with the dead-letter topic (DESIGN §10): every group writes the records it
cannot use there, with their original key, value and timestamp and headers
saying why (cartstream.error.class, .message) and where from
(cartstream.source.topic, .partition, .offset, cartstream.group).

Letters are named by their DLQ coordinates (--offset N with --partition P) or
by their source record's (--source topic:partition:offset).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDLQListCmd(), newDLQShowCmd(), newDLQRedriveCmd())
	return cmd
}

// dlqOptions are the flags every dlq subcommand shares.
type dlqOptions struct {
	brokers  []string
	kafka    config.Config // KafkaSecurity only
	topic    string
	redrives string
	timeout  time.Duration
}

func (o *dlqOptions) register(cmd *cobra.Command) {
	names := topology.DefaultNames()
	f := cmd.Flags()
	f.StringSliceVar(&o.brokers, "brokers", []string{broker.DefaultListen}, "Kafka bootstrap brokers, comma-separated (default: the embedded broker's address)")
	f.StringVar(&o.topic, "dlq-topic", names.DLQ, "the dead-letter topic")
	f.StringVar(&o.redrives, "redrives-topic", names.DLQRedrives, "the compacted log of redriven letters")
	f.DurationVar(&o.timeout, "timeout", defaultDLQTimeout, "give up when the command has not finished within this time")
	o.kafka.RegisterKafkaSecurity(f)
	bindConfig(cmd)
}

func (o *dlqOptions) open(ctx context.Context) (*dlqtool.Tool, context.Context, context.CancelFunc, error) {
	if len(o.brokers) == 0 {
		return nil, nil, nil, errors.New("dlq: --brokers is empty")
	}
	if o.timeout <= 0 {
		return nil, nil, nil, fmt.Errorf("dlq: --timeout must be positive, got %s", o.timeout)
	}
	sec, err := o.kafka.KafkaSecurity.Load()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dlq: %w", err)
	}
	tool, err := dlqtool.New(dlqtool.Config{Brokers: o.brokers, DLQ: o.topic, Redrives: o.redrives, ClientOpts: sec.ClientOpts()})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dlq: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	return tool, ctx, cancel, nil
}

func newDLQListCmd() *cobra.Command {
	var opts dlqOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Count dead letters by source topic and error class, with their offset ranges",
		Long: `Read the whole dead-letter topic and print, per source topic and error class,
how many letters there are, how many were redriven, and the offset ranges
they occupy in the DLQ and in their source topic (partition:first-last).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tool, ctx, cancel, err := opts.open(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			defer tool.Close()
			rows, err := tool.List(ctx)
			if err != nil {
				return fmt.Errorf("dlq list: %w", err)
			}
			return dlqtool.WriteList(cmd.OutOrStdout(), opts.topic, rows)
		},
	}
	opts.register(cmd)
	return cmd
}

func newDLQShowCmd() *cobra.Command {
	var (
		opts      dlqOptions
		offset    int64
		partition int32
		source    string
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print one dead letter: all its headers, key and value",
		Long: `Print one dead letter in full: its DLQ and source coordinates, class and
message, timestamp, every header, key and value (as text when printable, else
hex), and whether and where it was redriven.

Name it by --offset (with --partition when the offset is in several DLQ
partitions) or by --source topic:partition:offset; a source record
dead-lettered twice prints both letters.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (offset >= 0) == (source != "") {
				return errors.New("dlq show: give either --offset or --source")
			}
			tool, ctx, cancel, err := opts.open(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			defer tool.Close()
			var entries []dlqtool.Entry
			if source != "" {
				s, err := dlqtool.ParseSource(source)
				if err != nil {
					return fmt.Errorf("dlq show: %w", err)
				}
				if entries, err = tool.BySource(ctx, s); err != nil {
					return fmt.Errorf("dlq show: %w", err)
				}
			} else {
				e, err := tool.At(ctx, dlqtool.Coord{Partition: partition, Offset: offset})
				if err != nil {
					return fmt.Errorf("dlq show: %w", err)
				}
				entries = []dlqtool.Entry{e}
			}
			redrives, err := tool.Redrives(ctx)
			if err != nil {
				return fmt.Errorf("dlq show: %w", err)
			}
			for i, e := range entries {
				if i > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				var rd *dlqtool.Redrive
				if r, ok := redrives[dlqtool.RedriveKey(e.Partition, e.Offset)]; ok {
					rd = &r
				}
				if err := dlqtool.WriteLetter(cmd.OutOrStdout(), opts.topic, e, rd); err != nil {
					return err
				}
			}
			return nil
		},
	}
	opts.register(cmd)
	f := cmd.Flags()
	f.Int64Var(&offset, "offset", -1, "DLQ offset of the letter")
	f.Int32Var(&partition, "partition", -1, "DLQ partition of --offset (-1: whichever partition holds that offset)")
	f.StringVar(&source, "source", "", "the letter's source record, as topic:partition:offset")
	return cmd
}

func newDLQRedriveCmd() *cobra.Command {
	var (
		opts        dlqOptions
		offsets     []int64
		partition   int32
		sources     []string
		class       string
		sourceTopic string
		dryRun      bool
	)
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Produce chosen dead letters back to their source topics, once each",
		Long: `Produce chosen dead letters back to the topics they came from, after the cause
is fixed (a product created, a registry schema restored, a bug fixed).

Choose letters by DLQ offset (--offset, repeatable or comma-separated, with
--partition), by source record (--source topic:partition:offset, repeatable),
or by --class (decode, validation, unsupported, processing) and/or
--source-topic over the whole DLQ; given with offsets or sources, --class
and --source-topic narrow them.

Each letter's original key, value and timestamp are produced to its source
topic, not to its source partition: the record is re-keyed with Kafka's
default partitioner (murmur2 of the key), which is what the source's
producer did, so it lands where its key's other records are now. A letter
without a key goes back to its source partition. The copy carries headers
cartstream.redrive.dlq_partition and cartstream.redrive.dlq_offset.

Every redrive is recorded in --redrives-topic (compacted, key
<dlq partition>:<dlq offset>; created when missing), and a letter is
redriven only once: one chosen by --class or --source-topic that was
redriven before is skipped; one named by --offset or --source is refused
and the command exits non-zero. The record is written after the copy is
acknowledged, so a crash in between can at worst send a letter twice, which
the groups' idempotence absorbs. --dry-run prints what would be redriven
and where, and writes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sel := dlqtool.Selection{Class: dlq.Class(class), SourceTopic: sourceTopic}
			switch sel.Class {
			case "", dlq.ClassDecode, dlq.ClassValidation, dlq.ClassUnsupported, dlq.ClassProcessing:
			default:
				return fmt.Errorf("dlq redrive: --class %q: want decode, validation, unsupported or processing", class)
			}
			for _, o := range offsets {
				if o < 0 {
					return fmt.Errorf("dlq redrive: --offset %d is negative", o)
				}
				sel.Offsets = append(sel.Offsets, dlqtool.Coord{Partition: partition, Offset: o})
			}
			if partition >= 0 && len(offsets) == 0 {
				return errors.New("dlq redrive: --partition goes with --offset")
			}
			for _, s := range sources {
				src, err := dlqtool.ParseSource(s)
				if err != nil {
					return fmt.Errorf("dlq redrive: %w", err)
				}
				sel.Sources = append(sel.Sources, src)
			}
			if len(sel.Offsets) == 0 && len(sel.Sources) == 0 && sel.Class == "" && sel.SourceTopic == "" {
				return errors.New("dlq redrive: choose letters with --offset, --source, --class or --source-topic")
			}
			tool, ctx, cancel, err := opts.open(cmd.Context())
			if err != nil {
				return err
			}
			defer cancel()
			defer tool.Close()
			names := topology.DefaultNames()
			names.DLQ, names.DLQRedrives = opts.topic, opts.redrives
			res, err := tool.Redrive(ctx, sel, dlqtool.Options{
				DryRun: dryRun,
				EnsureLog: func(ctx context.Context, adm *kadm.Client) error {
					_, err := topology.New(topology.Config{Names: names}).Ensure(ctx, adm, topology.EnsureOptions{Only: []string{opts.redrives}})
					return err
				},
			})
			if werr := dlqtool.WriteResult(cmd.OutOrStdout(), res); werr != nil && err == nil {
				err = werr
			}
			if err != nil {
				return fmt.Errorf("dlq redrive: %w", err)
			}
			return nil
		},
	}
	opts.register(cmd)
	f := cmd.Flags()
	f.Int64SliceVar(&offsets, "offset", nil, "DLQ offset(s) of letters to redrive")
	f.Int32Var(&partition, "partition", -1, "DLQ partition of every --offset (-1: whichever partition holds the offset)")
	f.StringSliceVar(&sources, "source", nil, "source record(s) of letters to redrive, as topic:partition:offset")
	f.StringVar(&class, "class", "", "redrive letters of this error class: decode, validation, unsupported or processing")
	f.StringVar(&sourceTopic, "source-topic", "", "redrive letters from this source topic")
	f.BoolVar(&dryRun, "dry-run", false, "print what would be redriven and where; write nothing")
	return cmd
}
