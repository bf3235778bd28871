package streams

import (
	"fmt"
	"hash"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kadm"

	"cartstream/internal/kafkasec"
	"cartstream/internal/membership"
	"cartstream/internal/partition"
	"cartstream/state"
)

// Config is what every goka component of an instance shares.
type Config struct {
	// Brokers to bootstrap from.
	Brokers []string
	// Security is the TLS and SASL every sarama client speaks (see
	// kafkasec.Security.ApplySarama); nil is plaintext without
	// authentication.
	Security *kafkasec.Security
	// InstanceID is put into client ids, so broker logs and group
	// descriptions name the instance. When set, it is also carried, with
	// AdvertisedHTTP, in the member metadata of every processor's
	// consumer group (see membership), so every instance can find the
	// owner of any partition.
	InstanceID string
	// AdvertisedHTTP is the address other instances use to reach this
	// one's HTTP server (--advertised-http); carried in member metadata
	// with InstanceID. Empty: the instance advertises no address.
	AdvertisedHTTP string
	// DataDir holds local state: <DataDir>/<group>/<topic>.<partition>
	// for processors and <DataDir>/views/... for views.
	DataDir string
	// FlushInterval is the producer's batching window; 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Replication is the replication factor goka's topic manager expects
	// of tables and streams (topics are created by topology.Ensure; goka
	// only checks them).
	Replication int
	// Logger receives goka's log lines. Default: discard.
	Logger *slog.Logger
	// Admin, when set, lets supervised processors reconcile local state
	// with the changelog before every start (see ReconcileLocalState).
	Admin *kadm.Client
}

// Factory builds goka processors, views and emitters with cartstream's
// settings. It is the only place that does: every component hashes keys with
// Kafka's murmur2, stores state in Pebble, produces with acks=all and reads
// new groups from the earliest offset.
type Factory struct {
	cfg Config
	// userData is the member metadata UserData of every consumer group
	// member (nil without an InstanceID); memberErr why it could not be
	// built, reported by NewProcessor.
	userData  []byte
	memberErr error
}

// NewFactory returns a factory for the given configuration. A Member that
// cannot be encoded (see membership.Member.Validate) makes NewProcessor fail.
func NewFactory(cfg Config) *Factory {
	if cfg.Replication <= 0 {
		cfg.Replication = 1
	}
	f := &Factory{cfg: cfg}
	if cfg.InstanceID != "" {
		m := f.Member()
		if f.memberErr = m.Validate(); f.memberErr == nil {
			f.userData = membership.EncodeUserData(m)
		}
	}
	return f
}

// Member is what this factory's processors say about their instance in
// their consumer group member metadata; zero without an InstanceID.
func (f *Factory) Member() membership.Member {
	if f.cfg.InstanceID == "" {
		return membership.Member{}
	}
	return membership.Member{InstanceID: f.cfg.InstanceID, HTTP: f.cfg.AdvertisedHTTP}
}

func (f *Factory) hasher() func() hash.Hash32 { return partition.Hasher() }

func (f *Factory) clientID(kind, name string) string {
	if f.cfg.InstanceID == "" {
		return "cartstream-" + kind + "-" + name
	}
	return "cartstream-" + f.cfg.InstanceID + "-" + kind + "-" + name
}

// saramaConfig is SaramaConfig with the factory's security: every sarama
// client goka builds through this factory (producers, consumer groups,
// consumers, topic managers) gets its configuration here. It returns a
// fresh config per call: goka's ...WithConfig builders mutate ClientID on
// the config they are given.
func (f *Factory) saramaConfig(clientID string) *sarama.Config {
	c := SaramaConfig(clientID, f.cfg.FlushInterval)
	f.cfg.Security.ApplySarama(c)
	return c
}

func (f *Factory) producerBuilder() goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		c := f.saramaConfig(clientID)
		c.Producer.Partitioner = sarama.NewCustomHashPartitioner(hasher)
		return goka.NewProducer(brokers, c)
	}
}

// consumerGroupBuilder builds goka's consumer groups; their offsets
// commit in order (orderedGroup).
func (f *Factory) consumerGroupBuilder() goka.ConsumerGroupBuilder {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cg, err := sarama.NewConsumerGroup(brokers, group, f.consumerGroupConfig(clientID))
		if err != nil {
			return nil, err
		}
		return orderedGroup{cg}, nil
	}
}

// consumerGroupConfig is SaramaConfig plus the member's UserData. sarama
// sends it in every JoinGroup: goka's copartitioning strategy returns no
// assignment user data, so after each SyncGroup sarama goes back to this
// value rather than replacing it (TestProcessorsCarryMemberUserData).
func (f *Factory) consumerGroupConfig(clientID string) *sarama.Config {
	c := f.saramaConfig(clientID)
	c.Consumer.Group.Member.UserData = f.userData
	return c
}

func (f *Factory) consumerBuilder() goka.SaramaConsumerBuilder {
	return func(brokers []string, clientID string) (sarama.Consumer, error) {
		return sarama.NewConsumer(brokers, f.saramaConfig(clientID))
	}
}

func (f *Factory) topicManagerBuilder() goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		tmc := goka.NewTopicManagerConfig()
		tmc.Table.Replication = f.cfg.Replication
		tmc.Stream.Replication = f.cfg.Replication
		// topology.Ensure creates every topic with its declared settings;
		// goka must never create one with its own guesses, and its expectations
		// (one hour of retention) are not ours, so mismatches are ignored.
		tmc.NoCreate = true
		tmc.MismatchBehavior = goka.TMConfigMismatchBehaviorIgnore
		return goka.NewTopicManager(brokers, f.saramaConfig(f.clientID("admin", "topics")), tmc)
	}
}

func (f *Factory) logger() *slog.Logger {
	if f.cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.cfg.Logger
}

func (f *Factory) storageBuilder(dir string) storage.Builder {
	return state.Builder(dir, f.storeOptions())
}

func (f *Factory) storeOptions() state.Options {
	return state.Options{Logger: pebbleLogger{f.logger().With("component", "pebble")}}
}

// pebbleLogger sends Pebble's routine messages (WAL replay, compactions) to
// debug and its errors to warn.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any)  { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) { p.l.Warn(fmt.Sprintf(format, args...)) }

// Fatalf is called by Pebble on invariant violations it cannot continue
// from; panicking lets the process's crash handling see the message.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg)
	panic("pebble: " + msg)
}

// ProcessorOptions are per-group choices on top of the shared settings.
type ProcessorOptions struct {
	// NilHandling: goka ignores nil (tombstone) values by default; groups
	// whose inputs carry meaning in tombstones pass goka.NilProcess.
	NilHandling goka.NilHandling
	// HotStandby keeps a copy of tables of partitions this instance does
	// not own, for fast failover and stale reads.
	HotStandby bool
	// Stores, when set, tracks every local store the processor opens (its
	// table's partitions, its lookups'), for groups that write their table
	// themselves (inventory) and for queries.
	Stores *Stores
	// Extra options appended last.
	Extra []goka.ProcessorOption
}

// NewProcessor builds a processor for the graph. Build a fresh one for every
// run: goka's Processor.Run runs once.
func (f *Factory) NewProcessor(gg *goka.GroupGraph, po ProcessorOptions) (*goka.Processor, error) {
	group := string(gg.Group())
	if f.memberErr != nil {
		return nil, fmt.Errorf("streams: build processor %s: %w", group, f.memberErr)
	}
	opts := []goka.ProcessorOption{
		goka.WithClientID(f.clientID("processor", group)),
		goka.WithHasher(f.hasher()),
		goka.WithStorageBuilder(po.Stores.Wrap(f.storageBuilder(filepath.Join(f.cfg.DataDir, group)))),
		goka.WithProducerBuilder(f.producerBuilder()),
		goka.WithConsumerGroupBuilder(f.consumerGroupBuilder()),
		goka.WithConsumerSaramaBuilder(f.consumerBuilder()),
		goka.WithTopicManagerBuilder(f.topicManagerBuilder()),
		goka.WithLogger(gokaLogger{f.logger().With("group", group)}),
		goka.WithNilHandling(po.NilHandling),
	}
	if po.HotStandby {
		opts = append(opts, goka.WithHotStandby())
	}
	opts = append(opts, po.Extra...)
	p, err := goka.NewProcessor(f.cfg.Brokers, gg, opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: build processor %s: %w", group, err)
	}
	return p, nil
}

// NewView builds a view of a table. Like processors, views are built afresh
// for every run.
func (f *Factory) NewView(table goka.Table, codec goka.Codec, extra ...goka.ViewOption) (*goka.View, error) {
	opts := []goka.ViewOption{
		goka.WithViewClientID(f.clientID("view", string(table))),
		goka.WithViewHasher(f.hasher()),
		goka.WithViewStorageBuilder(f.storageBuilder(filepath.Join(f.cfg.DataDir, "views"))),
		goka.WithViewConsumerSaramaBuilder(f.consumerBuilder()),
		goka.WithViewTopicManagerBuilder(f.topicManagerBuilder()),
		goka.WithViewLogger(gokaLogger{f.logger().With("view", string(table))}),
	}
	opts = append(opts, extra...)
	v, err := goka.NewView(f.cfg.Brokers, table, codec, opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: build view %s: %w", table, err)
	}
	return v, nil
}

// NewEmitter builds an emitter for a stream, partitioning by murmur2 like
// every other writer.
func (f *Factory) NewEmitter(topic goka.Stream, codec goka.Codec, extra ...goka.EmitterOption) (*goka.Emitter, error) {
	opts := []goka.EmitterOption{
		goka.WithEmitterClientID(f.clientID("emitter", string(topic))),
		goka.WithEmitterHasher(f.hasher()),
		goka.WithEmitterProducerBuilder(f.producerBuilder()),
		goka.WithEmitterTopicManagerBuilder(f.topicManagerBuilder()),
		goka.WithEmitterLogger(gokaLogger{f.logger().With("emitter", string(topic))}),
	}
	opts = append(opts, extra...)
	e, err := goka.NewEmitter(f.cfg.Brokers, topic, codec, opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: build emitter %s: %w", topic, err)
	}
	return e, nil
}

// gokaLogger adapts slog to goka's logger interface. goka logs routine
// progress (partition states, rebalances) through Printf, so it goes to debug.
type gokaLogger struct{ l *slog.Logger }

func (g gokaLogger) Print(v ...interface{})                 { g.l.Debug(fmt.Sprint(v...)) }
func (g gokaLogger) Println(v ...interface{})               { g.l.Debug(fmt.Sprint(v...)) }
func (g gokaLogger) Printf(format string, v ...interface{}) { g.l.Debug(fmt.Sprintf(format, v...)) }

// InstallGlobalConfig sets goka's package-level sarama configuration to
// cartstream's. Every component the Factory builds passes its own builders
// and never reads goka's global config; this only guards goka code paths
// that consult it directly (such as the producer-acks check in goka's
// options). Call it once, from main, before building anything.
func InstallGlobalConfig() {
	goka.ReplaceGlobalConfig(SaramaConfig("cartstream", 0))
}
