package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"

	"cartstream/internal/kafkasec"
	"cartstream/internal/streams"
)

// WorkerConfig configures the goka baseline worker (`cartstream bench
// baseline-worker`).
type WorkerConfig struct {
	Brokers []string
	// Security is applied to every sarama client (nil: plaintext).
	Security *kafkasec.Security
	// Group is the goka group; its table is <Group>-table.
	Group string
	// Input is the stream of records to count, by key.
	Input string
	// DataDir holds goka's LevelDB stores.
	DataDir string
	// SaramaVersion is the Kafka protocol version of the sarama clients
	// (BaselineSaramaVersion).
	SaramaVersion sarama.KafkaVersion
}

// BaselineSaramaVersion is the one setting the baseline takes from
// cartstream rather than from goka's defaults: the Kafka protocol version
// of its sarama clients, 2.3.1, the version cartstream's own goka clients
// speak against the embedded broker (from 2.4.0 on, sarama's consumer
// group hangs against kfake: see internal/streams' saramaVersion and
// docs/sarama-kfake.md). goka v1.1.14's DefaultConfig says 2.0.0; with the
// same version on both sides, the comparison is of the processing, not of
// protocol versions.
func BaselineSaramaVersion() sarama.KafkaVersion { return sarama.V2_3_1_0 }

// RunBaselineWorker runs a plain goka processor until ctx ends: it counts
// the records of cfg.Input per key in its group table, with goka's default
// storage (LevelDB, storage.DefaultBuilder), default hasher (FNV-1a) and
// default sarama configuration (goka.DefaultConfig: acks=WaitForLocal,
// snappy, 100 ms producer flush, new groups from the newest offset), with
// only the protocol version set. It is what a user of goka gets by hand.
//
// The processor is built by streams.Factory, the one place goka
// processors are built, with every builder replaced by goka's defaults
// (each given its own copy of goka.DefaultConfig, with cfg.Security
// applied).
func RunBaselineWorker(ctx context.Context, cfg WorkerConfig) error {
	if cfg.Group == "" || cfg.Input == "" || cfg.DataDir == "" || len(cfg.Brokers) == 0 {
		return errors.New("bench: baseline worker: brokers, group, input and data dir are required")
	}
	saramaCfg := func() *sarama.Config {
		c := goka.DefaultConfig()
		c.Version = cfg.SaramaVersion
		cfg.Security.ApplySarama(c)
		return c
	}
	tmc := goka.NewTopicManagerConfig()
	// A single broker holds one replica; goka's default expects two of
	// tables it creates (the harness creates the topics beforehand).
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	graph := goka.DefineGroup(goka.Group(cfg.Group),
		goka.Input(goka.Stream(cfg.Input), new(codec.Bytes), func(ctx goka.Context, _ any) {
			n, _ := ctx.Value().(int64)
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	f := streams.NewFactory(streams.Config{Brokers: cfg.Brokers, Security: cfg.Security, DataDir: cfg.DataDir})
	p, err := f.NewProcessor(graph, streams.ProcessorOptions{Extra: []goka.ProcessorOption{
		goka.WithClientID("bench-baseline"),
		goka.WithHasher(goka.DefaultHasher()),
		goka.WithStorageBuilder(storage.DefaultBuilder(cfg.DataDir)),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(saramaCfg())),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(saramaCfg())),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(saramaCfg())),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(saramaCfg(), tmc)),
	}})
	if err != nil {
		return fmt.Errorf("bench: baseline worker: %w", err)
	}
	if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("bench: baseline worker: %w", err)
	}
	return nil
}
