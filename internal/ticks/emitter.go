// Package ticks owns the tick records that move idle partitions' stream
// time (DESIGN §2, principle 1): every instance writes one small record into
// every partition of each ticks topic (cartstream.carts-ticks,
// cartstream.inventory-ticks) once per interval, carrying its clock. Because
// ticks are in the log, replays see the same ticks and make the same
// decisions.
//
// This is the one place where the wall clock enters cartstream, and it
// enters only by being written into the log. This package must never decide
// anything from the time itself, never write to topics other than the ticks
// topics it is given, and holds no package-level mutable state.
package ticks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// DefaultInterval is how often an Emitter ticks every partition.
	DefaultInterval = 1 * time.Second
	// DefaultMetadataRefresh is how often an Emitter re-reads the partition
	// counts of ticks topics it discovers from metadata, so that partitions
	// added to a topic start receiving ticks.
	DefaultMetadataRefresh = 30 * time.Second
)

var (
	// ErrInvalidConfig is returned, wrapped, by [New] for an unusable Config.
	ErrInvalidConfig = errors.New("ticks: invalid config")
	// ErrPartitionerNotManual is returned, wrapped, by [Emitter.Run] when a
	// tick lands in a partition other than the one it was addressed to:
	// the client was not built with kgo.RecordPartitioner(kgo.ManualPartitioner()).
	ErrPartitionerNotManual = errors.New("ticks: client does not use the manual partitioner")
)

// Config configures an [Emitter]. Client, Topics and Instance are required;
// every other field has a documented default.
type Config struct {
	// Client produces the ticks. It must be built with
	// kgo.RecordPartitioner(kgo.ManualPartitioner()) so that each tick goes
	// to the partition it is addressed to; Run fails with
	// ErrPartitionerNotManual otherwise. The Emitter never closes it.
	Client *kgo.Client
	// Topics are the ticks topics; each of their partitions gets a tick
	// every Interval.
	Topics []string
	// Partitions optionally fixes the partition count of some topics. A
	// topic listed here is never looked up; any other topic's count is read
	// from cluster metadata and refreshed every MetadataRefresh.
	Partitions map[string]int32
	// Instance identifies this instance in every tick; required, valid UTF-8.
	Instance string
	// Interval is the time between two ticks of a partition. Default
	// DefaultInterval.
	Interval time.Duration
	// MetadataRefresh is how often discovered partition counts are
	// re-read. Default DefaultMetadataRefresh. A topic whose count is not
	// known yet (missing, or metadata unreachable) is looked up every
	// Interval until it is.
	MetadataRefresh time.Duration
	// Clock reads the time written into each tick. Default time.Now.
	Clock func() time.Time
	// OnError is told about transient failures (metadata lookups, failed
	// produces) that Run survives by retrying at the next interval; use it
	// for logs and metrics. Default: ignore them.
	OnError func(error)
	// OnResult is told the outcome of every tick produced (err nil on
	// success), for per-topic metrics. Default: nothing.
	OnResult func(topic string, err error)
}

// Emitter writes ticks into every partition of its ticks topics. Its
// configuration is fixed at New; all state of a run lives inside Run.
type Emitter struct {
	cfg Config
}

// New validates cfg, applies its defaults and returns an Emitter. It does no
// I/O. Errors wrap [ErrInvalidConfig].
func New(cfg Config) (*Emitter, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidConfig)
	}
	if len(cfg.Topics) == 0 {
		return nil, fmt.Errorf("%w: no topics", ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(cfg.Topics))
	for _, t := range cfg.Topics {
		if t == "" {
			return nil, fmt.Errorf("%w: empty topic name", ErrInvalidConfig)
		}
		if seen[t] {
			return nil, fmt.Errorf("%w: topic %q listed twice", ErrInvalidConfig, t)
		}
		seen[t] = true
	}
	fixed := make(map[string]int32, len(cfg.Partitions))
	for t, n := range cfg.Partitions {
		if !seen[t] {
			return nil, fmt.Errorf("%w: partition count given for %q, which is not a ticks topic", ErrInvalidConfig, t)
		}
		if n <= 0 {
			return nil, fmt.Errorf("%w: topic %q: partition count %d", ErrInvalidConfig, t, n)
		}
		fixed[t] = n
	}
	cfg.Partitions = fixed
	cfg.Topics = append([]string(nil), cfg.Topics...)
	if _, err := (Tick{Instance: cfg.Instance}).Encode(); err != nil {
		return nil, fmt.Errorf("%w: instance: %w", ErrInvalidConfig, err)
	}
	if cfg.Interval < 0 || cfg.MetadataRefresh < 0 {
		return nil, fmt.Errorf("%w: negative interval", ErrInvalidConfig)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MetadataRefresh == 0 {
		cfg.MetadataRefresh = DefaultMetadataRefresh
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.OnError == nil {
		cfg.OnError = func(error) {}
	}
	if cfg.OnResult == nil {
		cfg.OnResult = func(string, error) {}
	}
	return &Emitter{cfg: cfg}, nil
}

// Run ticks every partition of every ticks topic at once and then every
// Interval until ctx is done, when it returns nil. All partitions of one
// round carry the same clock reading, as ts_ms and as the record timestamp.
//
// Transient failures are reported to OnError and retried next round; a
// partition whose topic's count is not known yet gets no tick until it is.
// Run returns an error only for failures retrying cannot fix: the client
// is closed, or it does not partition manually ([ErrPartitionerNotManual]).
// Rounds do not overlap: a round that outlasts Interval delays the next.
func (e *Emitter) Run(ctx context.Context) error {
	counts := make(map[string]int32, len(e.cfg.Topics))
	for t, n := range e.cfg.Partitions {
		counts[t] = n
	}
	var lastRefresh time.Time // zero: discover now

	ticker := time.NewTicker(e.cfg.Interval)
	defer ticker.Stop()
	for {
		// Wall clock is fine here: it only schedules lookups, it is never
		// written to the log.
		if start := time.Now(); e.needsLookup(counts) || start.Sub(lastRefresh) >= e.cfg.MetadataRefresh {
			e.refresh(ctx, counts)
			lastRefresh = start
		}
		if err := e.round(ctx, counts); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// needsLookup reports whether some discovered topic's count is unknown.
func (e *Emitter) needsLookup(counts map[string]int32) bool {
	for _, t := range e.cfg.Topics {
		if counts[t] == 0 {
			return true
		}
	}
	return false
}

// refresh reads the partition counts of topics not fixed by the config into
// counts. A topic whose lookup fails keeps its previous count.
func (e *Emitter) refresh(ctx context.Context, counts map[string]int32) {
	var lookup []string
	for _, t := range e.cfg.Topics {
		if _, fixed := e.cfg.Partitions[t]; !fixed {
			lookup = append(lookup, t)
		}
	}
	if len(lookup) == 0 {
		return
	}
	// A direct request, not kadm's: kadm answers from the client's metadata
	// cache, which may be older than MetadataRefresh.
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range lookup {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, e.cfg.Client)
	if err != nil {
		if ctx.Err() == nil {
			e.cfg.OnError(fmt.Errorf("ticks: reading partition counts of %v: %w", lookup, err))
		}
		return
	}
	found := make(map[string]kmsg.MetadataResponseTopic, len(resp.Topics))
	for _, rt := range resp.Topics {
		if rt.Topic != nil {
			found[*rt.Topic] = rt
		}
	}
	grew := false
	for _, t := range lookup {
		rt, ok := found[t]
		switch {
		case !ok:
			e.cfg.OnError(fmt.Errorf("ticks: topic %q missing from metadata", t))
		case rt.ErrorCode != 0:
			e.cfg.OnError(fmt.Errorf("ticks: topic %q: %w", t, kerr.ErrorForCode(rt.ErrorCode)))
		case len(rt.Partitions) == 0:
			e.cfg.OnError(fmt.Errorf("ticks: topic %q has no partitions", t))
		default:
			n := int32(len(rt.Partitions))
			if n > counts[t] && counts[t] != 0 {
				grew = true
			}
			counts[t] = n
		}
	}
	if grew {
		// The client learns of added partitions only at its next metadata
		// refresh; until then ticks to them fail and are retried.
		e.cfg.Client.ForceMetadataRefresh()
	}
}

// round produces one tick to every known partition and waits for all of
// them. It returns an error only when Run must stop.
func (e *Emitter) round(ctx context.Context, counts map[string]int32) error {
	ms := e.cfg.Clock().UnixMilli()
	value, err := Tick{Instance: e.cfg.Instance, TSMillis: ms}.Encode()
	if err != nil {
		return fmt.Errorf("ticks: encoding tick: %w", err) // unreachable: New validated the instance
	}
	ts := time.UnixMilli(ms)

	var recs []*kgo.Record
	for _, t := range e.cfg.Topics {
		for p := int32(0); p < counts[t]; p++ {
			recs = append(recs, &kgo.Record{Topic: t, Partition: p, Value: value, Timestamp: ts})
		}
	}
	if len(recs) == 0 {
		return nil
	}
	// The client overwrites Partition with the partition it chose and
	// reports results in completion order, so remember the addresses.
	want := make(map[*kgo.Record]int32, len(recs))
	for _, r := range recs {
		want[r] = r.Partition
	}

	refreshClient := false
	defer func() {
		if refreshClient {
			// Most produce failures (an added partition the client does
			// not know yet, a moved leader) heal with fresh metadata.
			e.cfg.Client.ForceMetadataRefresh()
		}
	}()
	for _, res := range e.cfg.Client.ProduceSync(ctx, recs...) {
		addressed := want[res.Record]
		switch {
		case res.Err == nil:
			e.cfg.OnResult(res.Record.Topic, nil)
			if res.Record.Partition != addressed {
				return fmt.Errorf("%w: tick for %s/%d landed in partition %d",
					ErrPartitionerNotManual, res.Record.Topic, addressed, res.Record.Partition)
			}
		case errors.Is(res.Err, kgo.ErrClientClosed):
			return fmt.Errorf("ticks: producing to %s: %w", res.Record.Topic, res.Err)
		case ctx.Err() != nil:
			// Shutting down: the failure is the cancellation itself.
		default:
			refreshClient = true
			e.cfg.OnResult(res.Record.Topic, res.Err)
			e.cfg.OnError(fmt.Errorf("ticks: producing tick to %s/%d: %w", res.Record.Topic, addressed, res.Err))
		}
	}
	return nil
}
