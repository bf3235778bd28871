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

// rebalanceAnswerMargin is how long before sarama's read timeout the
// broker must answer a JoinGroup or SyncGroup that waited the whole
// rebalance timeout.
const rebalanceAnswerMargin = 5 * time.Second

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
	// The broker answers a JoinGroup (or SyncGroup) once every member has
	// joined (synced), or after the longest rebalance timeout any member
	// announced, dropping the missing ones. sarama gives every answer
	// Net.ReadTimeout (30 s) and sends the rebalance timeout as is
	// (default 60 s): one member dying in the middle of a rebalance then
	// makes every other member's join time out, their processors fail and
	// rejoin as new members, each join restarts the broker's wait, and the
	// group never settles (make chaos: three instances stuck for minutes
	// after one was killed while it joined). Below the read timeout, the
	// broker drops the dead member and answers in time. goka's members
	// rejoin 5 s after their session ends, well within it.
	c.Consumer.Group.Rebalance.Timeout = c.Net.ReadTimeout - 2*rebalanceAnswerMargin

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
