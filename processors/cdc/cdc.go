// Package cdc holds the four cdc groups (cdc-products, cdc-promotions,
// cdc-inventory, cdc-outbox): each reads one Debezium source topic, keeps the
// last row per source key (so TOASTed columns keep their previous values),
// normalizes the row and re-keys it by business key into an internal topic.
// What it cannot use goes to the dead-letter topic; the partition goes on.
//
// Callbacks only decode, call pure functions (Apply and the normalizers) and
// emit. The package never retries a poison record and never dead-letters a
// transient failure: an unreachable schema registry is retried with backoff
// inside the callback, holding the partition until it heals.
package cdc

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"cartstream/internal/debezium"
	"cartstream/internal/dlq"
	"cartstream/internal/forward"
	"cartstream/internal/metrics"
	"cartstream/internal/streams"
	"cartstream/schemas"
	"cartstream/topology"
)

// Kind is the source table a cdc group reads.
type Kind string

// The source tables of DESIGN §4.
const (
	Products   Kind = "products"
	Promotions Kind = "promotions"
	Inventory  Kind = "inventory"
	Outbox     Kind = "outbox"
)

// Kinds lists every kind, in topology order.
func Kinds() []Kind { return []Kind{Products, Promotions, Inventory, Outbox} }

// Transient-failure backoff inside a callback.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 10 * time.Second
)

// Config is what a cdc group needs from its instance.
type Config struct {
	Topology *topology.Topology
	// SourcePartitions is the partition count of the group's source topic,
	// for the ownership check of principle 3.
	SourcePartitions int32
	Decoder          *debezium.Decoder
	DLQ              *dlq.Writer
	Metrics          *metrics.Metrics
	Logger           *slog.Logger
}

// GroupName returns the logical group name of a kind (cdc-products, ...).
func GroupName(k Kind) string { return "cdc-" + string(k) }

// Graph declares the group of kind k: its source as input and the loop
// (both raw bytes, decoded in the callback so bad bytes can be
// dead-lettered), the persisted last row per source key, and the outputs.
// Run it with goka.NilProcess so tombstones reach the callback.
func Graph(cfg Config, k Kind) (*goka.GroupGraph, error) {
	g, ok := cfg.Topology.Group(GroupName(k))
	if !ok {
		return nil, fmt.Errorf("cdc: group %s not in the topology", GroupName(k))
	}
	if cfg.SourcePartitions <= 0 {
		return nil, fmt.Errorf("cdc: %s: source partition count unknown", g.Name)
	}
	h := &handler{cfg: cfg, kind: k, group: g, out: goka.Stream(g.Outputs[0])}
	if cfg.Logger == nil {
		h.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	edges := []goka.Edge{
		goka.Input(goka.Stream(g.Inputs[0]), new(codec.Bytes), streams.Timed(cfg.Metrics.ProcessingSeconds, g.Name, h.process)),
		goka.Loop(new(codec.Bytes), streams.Timed(cfg.Metrics.ProcessingSeconds, g.Name, h.process)),
		goka.Persist(new(codec.Bytes)),
		goka.Output(h.out, outputCodec(k)),
	}
	return goka.DefineGroup(goka.Group(g.ID), edges...), nil
}

// handler is one group's callback state; it holds no per-record state.
type handler struct {
	cfg   Config
	kind  Kind
	group topology.Group
	out   goka.Stream
}

func (h *handler) process(ctx goka.Context, msg any) {
	value, _ := msg.([]byte)
	key := ctx.Key()
	h.cfg.Metrics.RecordsProcessed.WithLabelValues(h.group.Name, strconv.Itoa(int(ctx.Partition()))).Inc()

	// Principle 3: a record in a partition that does not own its key (a
	// producer with another partitioner) is forwarded once to the owner.
	// The forwarded copy carries its original coordinates, so outputs and
	// dead letters name the record the producer wrote.
	o, mine := forward.Route(ctx, h.group.Loop, h.cfg.SourcePartitions, value, func() {
		h.cfg.Metrics.Forwarded.WithLabelValues(h.group.Name).Inc()
	})
	if !mine {
		return
	}
	src := schemas.Source{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset}

	rec, err := h.decode(ctx, []byte(key), value)
	if err != nil {
		h.deadLetter(ctx, o, value, err)
		return
	}
	var prev []byte
	if v := ctx.Value(); v != nil {
		prev = v.([]byte)
	}
	res, err := Apply(h.kind, rec, prev, Origin{At: eventTime(rec, ctx.Timestamp()), Source: src})
	if err != nil {
		h.deadLetter(ctx, o, value, err)
		return
	}
	switch {
	case res.DeleteState:
		ctx.Delete()
	case res.State != nil:
		ctx.SetValue(res.State)
	}
	for _, e := range res.Emits {
		ctx.Emit(h.out, e.Key, e.Value)
	}
}

// decode decodes with the kind's decoder, retrying transient failures with
// backoff until they heal or the processor stops.
func (h *handler) decode(ctx goka.Context, key, value []byte) (debezium.Record, error) {
	wait := retryMin
	for {
		var rec debezium.Record
		var err error
		if h.kind == Outbox {
			rec, err = h.cfg.Decoder.DecodeOutbox(ctx.Context(), key, value)
		} else {
			rec, err = h.cfg.Decoder.Decode(ctx.Context(), key, value)
		}
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, debezium.ErrTransient):
			h.cfg.Metrics.TransientRetries.WithLabelValues(h.group.Name).Inc()
			h.cfg.Logger.Warn("transient decode failure; retrying", "group", h.group.Name, "error", err, "backoff", wait)
			select {
			case <-ctx.Context().Done():
				streams.Fail(ctx, fmt.Errorf("cdc: %s: stopped while retrying: %w", h.group.Name, err))
			case <-time.After(wait):
			}
			wait = min(2*wait, retryMax)
		case errors.Is(err, debezium.ErrInvalid):
			return rec, dlq.Validation(err)
		default:
			return rec, dlq.Decode(err)
		}
	}
}

// deadLetter writes the record to the DLQ and counts it (see dlq.Reject
// for what happens when it cannot).
func (h *handler) deadLetter(ctx goka.Context, o forward.Origin, value []byte, err error) {
	class := h.cfg.DLQ.Reject(ctx, h.group.Name, o, value, err)
	h.cfg.Metrics.DeadLetters.WithLabelValues(h.group.Name, string(class)).Inc()
}

// eventTime is the time a change happened in the database: the source
// block's ts_ms, else the envelope's, else the record timestamp.
func eventTime(rec debezium.Record, recordTS time.Time) time.Time {
	if n, ok := rec.Source["ts_ms"].(json.Number); ok {
		if ms, err := n.Int64(); err == nil && ms > 0 {
			return time.UnixMilli(ms).UTC()
		}
	}
	if rec.TsMs > 0 {
		return time.UnixMilli(rec.TsMs).UTC()
	}
	return recordTS.UTC()
}

// EventTime is the event time the group gives a decoded record with the
// given record timestamp (the source block's ts_ms, else the envelope's,
// else the record timestamp), for tools that rebuild the group's table
// outside a processor (cartstream replay --verify).
func EventTime(rec debezium.Record, recordTS time.Time) time.Time { return eventTime(rec, recordTS) }
