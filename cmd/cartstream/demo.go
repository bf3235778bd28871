package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/config"
	"cartstream/internal/kafkasec"
	"cartstream/internal/shopsim"
)

// defaultSeedTimeout bounds `demo seed` as a whole: the topic check and
// every acknowledgement.
const defaultSeedTimeout = time.Minute

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Demo data: write what Debezium would emit for a simulated shop database",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDemoSeedCmd())
	return cmd
}

// seedOptions are the settings of `demo seed`.
type seedOptions struct {
	brokers    []string
	kafka      config.Config // KafkaSecurity only
	products   int
	promotions int
	seed       int64
	timeout    time.Duration
	start      time.Time // the simulated database clock at the start
}

func newDemoSeedCmd() *cobra.Command {
	var opts seedOptions
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Write a demo catalog (products, promotions, inventory) into the CDC topics",
		Long: `Write a demo catalog into the shop's Debezium change topics, exactly as
Debezium's PostgreSQL connector (JSON converter with schemas) would publish the
initial snapshot of a shop database: products SKU-00001 and up in USD, an
inventory row for every product, and promotions covering every effect type,
coupons, stacking modes, segments, validity windows and max_discount.

The topics must already exist: ` + "`cartstream run`" + ` creates them. The same --seed
writes the same catalog; timestamps follow the wall clock.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.start = time.Now().UTC()
			return seedDemo(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.brokers, "brokers", nil, "Kafka bootstrap brokers, comma-separated (required)")
	f.IntVar(&opts.products, "products", shopsim.DemoProducts, "number of products (each with an inventory row)")
	f.IntVar(&opts.promotions, "promotions", shopsim.DemoPromotions, fmt.Sprintf("number of promotions (the first %d are fixed templates covering every feature)", shopsim.DemoPromotionTemplates))
	f.Int64Var(&opts.seed, "seed", 1, "seed of the simulated catalog")
	f.DurationVar(&opts.timeout, "timeout", defaultSeedTimeout, "give up when the cluster has not acknowledged everything within this time")
	opts.kafka.RegisterKafkaSecurity(f)
	bindConfig(cmd)
	return cmd
}

// seedDemo checks that the CDC topics exist, then writes the simulator's
// snapshot of a demo catalog into them.
func seedDemo(ctx context.Context, out io.Writer, opts seedOptions) error {
	if len(opts.brokers) == 0 {
		return errors.New("demo seed: --brokers is required (the cluster whose topics `cartstream run` created)")
	}
	if opts.products < 0 || opts.promotions < 0 {
		return fmt.Errorf("demo seed: --products and --promotions must not be negative, got %d and %d", opts.products, opts.promotions)
	}
	if opts.timeout <= 0 {
		return fmt.Errorf("demo seed: --timeout must be positive, got %s", opts.timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()

	sim := shopsim.New(opts.seed, shopsim.Options{Start: opts.start})
	topics := sim.Topics()
	sec, err := opts.kafka.KafkaSecurity.Load()
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	cl, err := kafkasec.Cluster{Brokers: opts.brokers, Security: sec}.NewClient(kgo.ClientID("cartstream-demo-seed"))
	if err != nil {
		return fmt.Errorf("demo seed: kafka client: %w", err)
	}
	defer cl.Close()

	names := []string{topics.Products, topics.Promotions, topics.Inventory}
	details, err := kadm.NewClient(cl).ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("demo seed: list topics on %s: %w", strings.Join(opts.brokers, ","), err)
	}
	var missing []string
	for _, name := range names {
		if d, ok := details[name]; !ok || d.Err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("demo seed: topic(s) %s do not exist on %s; start `cartstream run --brokers %s` once (it creates them) or create them, then seed again",
			strings.Join(missing, ", "), strings.Join(opts.brokers, ","), strings.Join(opts.brokers, ","))
	}

	recs := sim.SnapshotCatalog(opts.products, opts.promotions)
	if err := shopsim.Produce(ctx, cl, recs); err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	_, err = fmt.Fprintf(out, "seeded %d products, %d promotions and %d inventory rows (%d records) into %s, %s and %s\n",
		len(sim.Products()), len(sim.Promotions()), len(sim.Inventory()), len(recs), topics.Products, topics.Promotions, topics.Inventory)
	return err
}
