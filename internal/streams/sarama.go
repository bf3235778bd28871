// Package streams is the one place cartstream configures goka: sarama settings
// (Kafka security included), the murmur2 hasher, Pebble storage, and the
// builders of every processor, view and emitter.

package streams

import (
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// saramaVersion returns the Kafka protocol version goka's sarama clients
// speak. It is a function, not a variable, so no code can change the version
// of every client in the process behind the back of the others.
//
// V2_3_1_0 is the highest version with which goka's consumer group works
// against the embedded kfake broker. From V2_4_0_0 on, sarama fetches a
// group's committed offsets with OffsetFetch v6+, whose decoder rejects the
// null metadata kfake returns for a partition without a committed offset, so
// every new group fails to start. Sarama has no feature gate between 2.3.0
// and 2.4.0, so V2_3_1_0 sends exactly the requests V2_3_0_0 does and any
// broker since Kafka 2.3.0 accepts it. See docs/sarama-kfake.md for the
// analysis and for how to re-check when upgrading sarama or kfake.
func saramaVersion() sarama.KafkaVersion { return sarama.V2_3_1_0 }

// DefaultFlushInterval is how long goka's producer waits to batch records
// before sending. goka's own default (100 ms) puts a 100 ms floor under
// end-to-end latency; see docs/benchmarks.md for the measurement behind this.
const DefaultFlushInterval = 1 * time.Millisecond

// Consumer-group timing. The embedded broker (kfake) answers a JoinGroup
// or SyncGroup once every member has joined (synced), or when the longest
// rebalance timeout any member announced runs out, and it restarts that
// wait on every join. Unlike Kafka, it does not keep a member alive while
// it waits in a join or sync: its session timer, set at its last
// heartbeat, runs on, and a member whose session expires while it waits
// is dropped without an answer. goka rejoins gokaRejoinDelay after its
// session ends. sarama's defaults (3 s heartbeats, 10 s sessions, 60 s
// rebalance timeout, 30 s read timeout) left members waiting for a dead
// one long enough to expire themselves, or to give up after the read
// timeout; their processors failed, rejoined as new members, every join
// restarted the broker's wait, and groups stayed stuck for minutes after
// an instance was killed while it joined (make chaos, seeds 21 and
// 20261122). So: heartbeats every second (a member learns of a rebalance
// within a second and rejoins about gokaRejoinDelay later), and a
// rebalance timeout that leaves room for that rejoin yet ends every wait
// (for a member that never rejoins, a leader that never syncs) before the
// waiting members' sessions, and so also before the read timeout. The
// session timeout stays sarama's 10 s: it is what detects a dead
// instance, most of a failover's time (docs/reliability.md).
const (
	heartbeatInterval = time.Second
	sessionTimeout    = 10 * time.Second
	rebalanceTimeout  = 8 * time.Second
	// gokaRejoinDelay is how long goka v1.1.14 waits after a session ends
	// before it joins again (Processor.rebalanceLoop).
	gokaRejoinDelay = 5 * time.Second
)

// SaramaConfig returns a fresh sarama configuration with cartstream's
// settings: the protocol version that works with the embedded broker (see
// saramaVersion), acks=all, a short producer flush interval, streams starting
// at the earliest offset when a group has none committed, and the
// co-partitioning rebalance strategy goka needs. Each call returns a new
// value, so callers may set ClientID without affecting others. It has no
// TLS or SASL: the Factory adds its Config.Security to every configuration
// it hands goka (Factory.saramaConfig).
func SaramaConfig(clientID string, flush time.Duration) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Version = saramaVersion()

	c.Consumer.Return.Errors = true
	c.Consumer.MaxProcessingTime = time.Second
	// Kafka Streams semantics: a new group reads its inputs from the start.
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{goka.CopartitioningStrategy}
	// See the consumer-group timing above.
	c.Consumer.Group.Heartbeat.Interval = heartbeatInterval
	c.Consumer.Group.Session.Timeout = sessionTimeout
	c.Consumer.Group.Rebalance.Timeout = rebalanceTimeout

	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Compression = sarama.CompressionNone
	if flush <= 0 {
		flush = DefaultFlushInterval
	}
	c.Producer.Flush.Frequency = flush
	c.Producer.Flush.Bytes = 64 << 10
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = 10
	return c
}
