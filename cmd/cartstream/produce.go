package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/config"
	"cartstream/internal/kafkasec"
	"cartstream/internal/producer"
	"cartstream/internal/registry"
	"cartstream/topology"
)

// produceOptions are the settings of `cartstream produce`.
type produceOptions struct {
	brokers  []string
	kafka    config.Config // KafkaSecurity only
	topic    string
	format   string
	registry string
	file     string
	onError  string
	timeout  time.Duration
}

// defaultProduceTimeout bounds the topic check and the registry
// registration; producing itself runs until the input ends.
const defaultProduceTimeout = 30 * time.Second

func newProduceCmd() *cobra.Command {
	var opts produceOptions
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce cart events from JSON lines, validated, keyed by cart_id, as JSON or Avro",
		Long: `Read cart events, one JSON object a line, from stdin (or --file) and produce
them to the cart-events topic as a well-behaved storefront would.

Each line is checked against the published cart-event JSON Schema
(schemas/json/cart_event.schema.json) and the carts group's own parser before
it is sent. A bad line is reported on stderr with its line number and the
reason and is skipped (--on-error skip, the default) or ends the run with a
non-zero exit once the lines before it are acknowledged (--on-error stop).
Blank lines are ignored.

Records are keyed by cart_id and placed by Kafka's default partitioner
(murmur2 of the key, as the Java client and kcat's -X partitioner=murmur2_random
do), and acknowledged by all in-sync replicas. With --format avro the value is
Confluent-framed Avro: schemas/avro/cart_event.avsc is registered under
<topic>-value in the registry at --registry (idempotent) and each record
carries its id; the carts group decodes it through the same registry
(cartstream run --registry).

It prints one summary line: produced=N skipped=N duration_s=S.

The kcat equivalent for JSON (without the checks; the key goes before a unit
separator, a byte no JSON text contains):

  printf 'c-9\037%s\n' '{"event_id":"e-1","cart_id":"c-9","type":"cart_cleared"}' |
    kcat -P -b 127.0.0.1:9092 -t cart-events -K '\x1f' -X partitioner=murmur2_random`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProduce(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.brokers, "brokers", []string{broker.DefaultListen}, "Kafka bootstrap brokers, comma-separated (default: the embedded broker's address)")
	f.StringVar(&opts.topic, "topic", topology.DefaultNames().CartEvents, "topic to produce to")
	f.StringVar(&opts.format, "format", string(producer.FormatJSON), "value encoding: json, or avro (Confluent-framed; needs --registry)")
	f.StringVar(&opts.registry, "registry", "", "Confluent schema registry URL, for --format avro")
	f.StringVar(&opts.file, "file", "", "read events from this file instead of stdin")
	f.StringVar(&opts.onError, "on-error", string(producer.Skip), "on a bad line: skip (report it and go on) or stop (report it and exit non-zero)")
	f.DurationVar(&opts.timeout, "timeout", defaultProduceTimeout, "bound on checking the topic and registering the Avro schema")
	opts.kafka.RegisterKafkaSecurity(f)
	bindConfig(cmd)
	return cmd
}

func runProduce(cmd *cobra.Command, opts produceOptions) error {
	format := producer.Format(opts.format)
	switch format {
	case producer.FormatJSON:
		if opts.registry != "" {
			return errors.New("produce: --registry is only for --format avro")
		}
	case producer.FormatAvro:
		if opts.registry == "" {
			return errors.New("produce: --format avro needs --registry (the schema registry the carts group reads through)")
		}
	default:
		return fmt.Errorf("produce: --format %q: want json or avro", opts.format)
	}
	onError := producer.OnError(opts.onError)
	if onError != producer.Skip && onError != producer.Stop {
		return fmt.Errorf("produce: --on-error %q: want skip or stop", opts.onError)
	}
	if len(opts.brokers) == 0 {
		return errors.New("produce: --brokers is empty")
	}
	var in io.Reader = cmd.InOrStdin()
	if opts.file != "" {
		f, err := os.Open(opts.file)
		if err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		defer f.Close()
		in = f
	}

	sec, err := opts.kafka.KafkaSecurity.Load()
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	ctx := cmd.Context()
	cl, err := kafkasec.Cluster{Brokers: opts.brokers, Security: sec}.NewClient(kgo.ClientID("cartstream-produce"),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 of the key: Kafka's default
		kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return fmt.Errorf("produce: kafka client: %w", err)
	}
	defer cl.Close()

	setupCtx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopics(setupCtx, opts.topic)
	if err != nil {
		return fmt.Errorf("produce: list topics on %s: %w", strings.Join(opts.brokers, ","), err)
	}
	if d, ok := details[opts.topic]; !ok || d.Err != nil {
		return fmt.Errorf("produce: topic %s does not exist on %s; `cartstream run` creates it", opts.topic, strings.Join(opts.brokers, ","))
	}
	var schemaID int
	if format == producer.FormatAvro {
		reg, err := registry.New(opts.registry, registry.Options{})
		if err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		if schemaID, err = producer.RegisterCartEvent(setupCtx, reg, opts.topic); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
	}
	check, err := producer.NewChecker(format, schemaID)
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	sum, err := producer.Run(ctx, cl, check, in, producer.Options{Topic: opts.topic, OnError: onError, Errors: cmd.ErrOrStderr()})
	fmt.Fprintln(cmd.OutOrStdout(), sum)
	return err
}
