package inventory

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/dlq"
	"cartstream/internal/forward"
	"cartstream/internal/metrics"
	"cartstream/internal/reserve"
	"cartstream/internal/streams"
	"cartstream/internal/streamtime"
	"cartstream/internal/ticks"
	"cartstream/schemas"
	"cartstream/topology"
)

// DefaultPruneBatch bounds the dedup entries one tick prunes, so a tick
// never holds a partition for long; the rest wait for the next tick.
const DefaultPruneBatch = 4096

// Config is what the inventory group needs from its instance.
type Config struct {
	Topology *topology.Topology
	// Partitions is the partition count of the inventory co-partitioned
	// set, for the ownership check of principle 3.
	Partitions int32
	// Reserve holds --hold-ttl, --outbox and --commit-grace.
	Reserve reserve.Config
	// Changelog produces the table's records. It must use
	// kgo.ManualPartitioner (records go to the partition being processed),
	// acks=all and idempotence (franz-go's defaults), which keep the
	// records of one partition in the order they were produced, and
	// kgo.AllowIdempotentProduceCancellation, so that writes of a stopped
	// partition can be cancelled (see WriteGrace).
	Changelog *kgo.Client
	// Stores must be the registry the processor tracks its stores in
	// (streams.ProcessorOptions.Stores).
	Stores *streams.Stores
	// StreamTimes receives the stream time of every partition; nil keeps
	// it private. Queries compute availability at it.
	StreamTimes *streamtime.Partitions
	// PruneBatch is DefaultPruneBatch when 0.
	PruneBatch int
	DLQ        *dlq.Writer
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
}

// Graph declares the inventory group: stock rows, reservation commands,
// order lines and ticks as inputs (and the group's loop for records
// forwarded to their owner), the SKU table, and reservation results as
// output.
func Graph(cfg Config) (*goka.GroupGraph, error) {
	g, ok := cfg.Topology.Group(topology.GroupInventory)
	switch {
	case !ok:
		return nil, errors.New("inventory: group not in the topology")
	case cfg.Partitions <= 0:
		return nil, errors.New("inventory: partition count unknown")
	case cfg.Changelog == nil || cfg.Stores == nil:
		return nil, errors.New("inventory: changelog client and stores are required")
	}
	if err := cfg.Reserve.Validate(); err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if cfg.PruneBatch <= 0 {
		cfg.PruneBatch = DefaultPruneBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Reserve.DedupWindow <= 0 {
		cfg.Reserve.DedupWindow = reserve.DefaultDedupWindow
	}
	n := cfg.Topology.Names
	if cfg.StreamTimes == nil {
		cfg.StreamTimes = &streamtime.Partitions{}
	}
	h := &handler{cfg: cfg, group: g, names: n}
	h.inputs = map[string]goka.ProcessCallback{
		n.InventoryChanges: h.stock,
		n.Reservations:     h.command,
		n.OrderLines:       h.orderLine,
	}
	timed := func(cb goka.ProcessCallback) goka.ProcessCallback {
		return streams.Timed(cfg.Metrics.ProcessingSeconds, g.Name, cb)
	}
	return goka.DefineGroup(goka.Group(g.ID),
		goka.Input(goka.Stream(n.InventoryChanges), new(codec.Bytes), timed(h.stock)),
		goka.Input(goka.Stream(n.Reservations), new(codec.Bytes), timed(h.command)),
		goka.Input(goka.Stream(n.OrderLines), new(codec.Bytes), timed(h.orderLine)),
		goka.Input(goka.Stream(n.InventoryTicks), new(codec.Bytes), timed(h.tick)),
		goka.Loop(new(codec.Bytes), timed(h.loop)),
		goka.Persist(new(codec.Bytes)),
		goka.Output(goka.Stream(n.ReservationRes), new(codec.Bytes)),
	), nil
}

type handler struct {
	cfg    Config
	group  topology.Group
	names  topology.Names
	inputs map[string]goka.ProcessCallback
	writes partitionWrites
}

// observe advances the partition's stream time with the given times (zero
// times are ignored) and returns it.
func (h *handler) observe(p int32, times ...time.Time) time.Time {
	advanced := false
	for _, t := range times {
		if !t.IsZero() && h.cfg.StreamTimes.Observe(p, t) {
			advanced = true
		}
	}
	now := h.cfg.StreamTimes.Now(p)
	if advanced {
		h.cfg.Metrics.StreamTime.WithLabelValues(h.group.Name, strconv.Itoa(int(p))).Set(float64(now.UnixMilli()) / 1e3)
	}
	return now
}

func (h *handler) counted(ctx goka.Context) {
	h.cfg.Metrics.RecordsProcessed.WithLabelValues(h.group.Name, strconv.Itoa(int(ctx.Partition()))).Inc()
}

func (h *handler) forwarded() { h.cfg.Metrics.Forwarded.WithLabelValues(h.group.Name).Inc() }

func (h *handler) deadLetter(ctx goka.Context, o forward.Origin, value []byte, err error) {
	class := h.cfg.DLQ.Reject(ctx, h.group.Name, o, value, err)
	h.cfg.Metrics.DeadLetters.WithLabelValues(h.group.Name, string(class)).Inc()
}

// loop handles a record forwarded to this partition: it is handled as a
// record of the topic it was first read from.
func (h *handler) loop(ctx goka.Context, msg any) {
	o := forward.Of(ctx, h.group.Loop)
	cb, ok := h.inputs[o.Topic]
	if !ok {
		h.counted(ctx)
		value, _ := msg.([]byte)
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("inventory: forwarded record from unknown topic %q", o.Topic)))
		return
	}
	cb(ctx, msg)
}

// prelude counts the record, forwards it when another partition owns its
// key, and rejects tombstones and keys the table cannot hold. It returns
// the record's origin and value, and false when the callback has nothing
// more to do.
func (h *handler) prelude(ctx goka.Context, msg any) (forward.Origin, []byte, bool) {
	h.counted(ctx)
	value, _ := msg.([]byte)
	o, mine := forward.Route(ctx, h.group.Loop, h.cfg.Partitions, value, h.forwarded)
	if !mine {
		return o, nil, false
	}
	if value == nil {
		h.deadLetter(ctx, o, value, dlq.Validation(errors.New("inventory: a record with no value (tombstone)")))
		return o, nil, false
	}
	if err := ValidateSKU(ctx.Key()); err != nil {
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("inventory: record key: %w", err)))
		return o, nil, false
	}
	return o, value, true
}

// partition returns the local store of the record's partition and the
// SKU's value in it. Failing to read its own state fails the partition.
func (h *handler) load(ctx goka.Context) (storage.Storage, skuValue) {
	st := h.store(ctx)
	data, err := st.Get(ctx.Key())
	if err != nil {
		streams.Fail(ctx, fmt.Errorf("inventory: read sku %q: %w", ctx.Key(), err))
	}
	if data == nil {
		return st, skuValue{}
	}
	v, err := decodeValue(data)
	if err != nil {
		streams.Fail(ctx, fmt.Errorf("inventory: sku %q: %w", ctx.Key(), err))
	}
	return st, v
}

// store returns the local store of the record's partition of the table.
func (h *handler) store(ctx goka.Context) storage.Storage {
	st, _ := h.cfg.Stores.Get(h.group.Table, ctx.Partition())
	if st == nil {
		streams.Fail(ctx, fmt.Errorf("inventory: no local store for partition %d", ctx.Partition()))
	}
	return st
}

// command applies a reservation command and emits its result.
func (h *handler) command(ctx goka.Context, msg any) {
	o, value, ok := h.prelude(ctx, msg)
	if !ok {
		return
	}
	var cmd schemas.ReservationCommand
	if err := schemas.Unmarshal(value, &cmd); err != nil {
		h.deadLetter(ctx, o, value, dlq.Decode(fmt.Errorf("inventory: reservation command: %w", err)))
		return
	}
	if err := reserve.ValidateCommand(cmd); err != nil {
		h.deadLetter(ctx, o, value, dlq.Validation(err))
		return
	}
	if cmd.SKU != ctx.Key() {
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("inventory: command sku %q differs from the record key %q", cmd.SKU, ctx.Key())))
		return
	}
	st, v := h.load(ctx)
	now := h.observe(ctx.Partition(), cmd.EventTime, v.StreamTime)
	log := &partitionLog{st: st, last: v.Last}
	next, res, store := reserve.ApplyCommand(v.State, cmd, now, h.cfg.Reserve, log)
	if log.err != nil {
		streams.Fail(ctx, log.err)
	}
	status := res.Status
	switch {
	case store:
		e := &entry{CommandID: cmd.CommandID, Partition: o.Partition, Offset: o.Offset,
			Handled: reserve.Handled{At: now.UTC(), Result: res}}
		h.write(ctx, st, skuValue{State: next, Last: e, StreamTime: now}, e)
	case log.hit == nil || log.hit.CommandID != cmd.CommandID:
		// Not stored and not a redelivery: nothing to write.
	case log.hit.Partition == o.Partition && log.hit.Offset == o.Offset:
		// The same record read again after a restart: its effects are in
		// the local store, but maybe not in the changelog. Writing them
		// again is idempotent and makes sure they are.
		status = "duplicate"
		v.StreamTime = now
		h.write(ctx, st, v, log.hit)
	default:
		status = "duplicate" // a redelivery: the stored result, nothing changes
	}
	reason := ""
	if res.Reason != nil {
		reason = *res.Reason
	}
	h.cfg.Metrics.Reservations.WithLabelValues(string(cmd.Op), status, reason).Inc()
	out, err := schemas.Marshal(&res)
	if err != nil {
		streams.Fail(ctx, fmt.Errorf("inventory: encode result of %s: %w", res.CommandID, err))
	}
	ctx.Emit(goka.Stream(h.names.ReservationRes), res.CartID, out)
	h.cfg.Metrics.EndToEndSeconds.WithLabelValues(h.names.ReservationRes).Observe(time.Since(ctx.Timestamp()).Seconds())
}

// stock applies a stock row from cdc-inventory.
func (h *handler) stock(ctx goka.Context, msg any) {
	o, value, ok := h.prelude(ctx, msg)
	if !ok {
		return
	}
	var row schemas.StockRow
	if err := schemas.Unmarshal(value, &row); err != nil {
		h.deadLetter(ctx, o, value, dlq.Decode(fmt.Errorf("inventory: stock row: %w", err)))
		return
	}
	if row.SKU != ctx.Key() {
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("inventory: stock row sku %q differs from the record key %q", row.SKU, ctx.Key())))
		return
	}
	if row.OnHand < 0 && !row.Deleted {
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("inventory: stock row of %q has negative on_hand %d", row.SKU, row.OnHand)))
		return
	}
	st, v := h.load(ctx)
	now := h.observe(ctx.Partition(), row.EventTime, v.StreamTime)
	v.State = reserve.ApplyStock(v.State, row, now, h.cfg.Reserve)
	v.StreamTime = now
	// Written even when nothing changed: a record read again after a
	// restart makes sure the changelog has what the local store has.
	h.write(ctx, st, v, nil)
}

// orderLine applies a committed order line from cdc-outbox.
func (h *handler) orderLine(ctx goka.Context, msg any) {
	o, value, ok := h.prelude(ctx, msg)
	if !ok {
		return
	}
	var line schemas.OrderLine
	if err := schemas.Unmarshal(value, &line); err != nil {
		h.deadLetter(ctx, o, value, dlq.Decode(fmt.Errorf("inventory: order line: %w", err)))
		return
	}
	if line.SKU != ctx.Key() {
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("inventory: order line sku %q differs from the record key %q", line.SKU, ctx.Key())))
		return
	}
	st, v := h.load(ctx)
	now := h.observe(ctx.Partition(), line.EventTime, v.StreamTime)
	log := &partitionLog{st: st, last: v.Last}
	v.State = reserve.ApplyOrderLine(v.State, line, now, h.cfg.Reserve, log)
	if log.err != nil {
		streams.Fail(ctx, log.err)
	}
	v.StreamTime = now
	h.write(ctx, st, v, nil)
}

// tick advances stream time and prunes dedup entries older than the dedup
// window.
func (h *handler) tick(ctx goka.Context, msg any) {
	h.counted(ctx)
	value, _ := msg.([]byte)
	tk, err := ticks.Decode(value)
	if err != nil {
		h.deadLetter(ctx, forward.Of(ctx, h.group.Loop), value, dlq.Decode(err))
		return
	}
	now := h.observe(ctx.Partition(), tk.Time())
	st := h.store(ctx)
	recs, err := h.expired(st, now.Add(-h.cfg.Reserve.DedupWindow))
	if err != nil {
		streams.Fail(ctx, err)
	}
	if len(recs) > 0 {
		h.writeRecords(ctx, st, recs)
	}
}

// expired returns deletes of the dedup entries stored before cutoff (and
// of their index keys), at most PruneBatch of them.
func (h *handler) expired(st storage.Storage, cutoff time.Time) ([]tableRecord, error) {
	it, err := st.IteratorWithRange([]byte(indexPrefix), []byte(indexLimit))
	if err != nil {
		return nil, fmt.Errorf("inventory: prune: %w", err)
	}
	defer it.Release()
	var recs []tableRecord
	for it.Next() && len(recs) < 2*h.cfg.PruneBatch {
		id, at, ok := indexCommand(it.Key())
		if !ok || !at.Before(cutoff) {
			break
		}
		recs = append(recs, tableRecord{key: string(it.Key())}, tableRecord{key: dedupKey(id)})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("inventory: prune: %w", err)
	}
	return recs, nil
}

// tableRecord is one record of the table: a put, or a delete when value is
// nil.
type tableRecord struct {
	key   string
	value []byte
}

// write stores the SKU's value and, when e is set, the dedup entry and its
// index key: in the local store, and in the changelog in this order.
func (h *handler) write(ctx goka.Context, st storage.Storage, v skuValue, e *entry) {
	enc, err := appendValue(nil, v)
	if err != nil {
		streams.Fail(ctx, fmt.Errorf("inventory: sku %q: %w", ctx.Key(), err))
	}
	recs := []tableRecord{{key: ctx.Key(), value: enc}}
	if e != nil {
		recs = append(recs,
			tableRecord{key: dedupKey(e.CommandID), value: appendEntry(nil, *e)},
			tableRecord{key: indexKey(e.Handled.At, e.CommandID), value: indexMark})
	}
	h.writeRecords(ctx, st, recs)
}

// writeRecords applies records to the local store, then produces them, in
// order, to the record's partition of the table topic; the input record is
// committed only once all are acknowledged. The local store's offset
// follows the acknowledgements, as goka's own table writes do.
//
// The order is what makes a crash safe: records of one partition are
// appended in the order produced (franz-go's idempotent producer), so a
// dedup entry in the changelog implies the SKU value written before it is
// there too, and a SKU value whose entry was lost carries that entry itself
// (skuValue.Last).
func (h *handler) writeRecords(ctx goka.Context, st storage.Storage, recs []tableRecord) {
	for _, r := range recs {
		var err error
		if r.value == nil {
			err = st.Delete(r.key)
		} else {
			err = st.Set(r.key, r.value)
		}
		if err != nil {
			streams.Fail(ctx, fmt.Errorf("inventory: local store: %w", err))
		}
	}
	done := ctx.DeferCommit()
	w := &pendingWrite{left: len(recs), done: done, st: st}
	table := h.group.Table
	p := ctx.Partition()
	wctx := h.writes.context(p, ctx.Context())
	for _, r := range recs {
		rec := &kgo.Record{Topic: table, Partition: p, Key: []byte(r.key), Value: r.value}
		h.cfg.Changelog.Produce(wctx, rec, w.acked)
	}
}

// pendingWrite completes an input record's commit once every table record
// it produced is acknowledged.
type pendingWrite struct {
	mu     sync.Mutex
	left   int
	err    error
	offset int64
	done   func(error)
	st     storage.Storage
}

func (w *pendingWrite) acked(r *kgo.Record, err error) {
	w.mu.Lock()
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("inventory: write table record: %w", err)
	}
	if err == nil && r.Offset > w.offset {
		w.offset = r.Offset
	}
	w.left--
	last := w.left == 0
	w.mu.Unlock()
	if !last {
		return
	}
	if w.err == nil && w.offset > 0 {
		// A closed store (the partition moved on) is no longer ours to
		// advance; the next owner recovers from the changelog.
		_ = w.st.SetOffset(w.offset)
	}
	w.done(w.err)
}

// partitionLog is the dedup store of one partition as reserve.Log: the
// dedup keys of the local store, and the last entry of the SKU's value
// (which may be newer than the keys after a crash).
type partitionLog struct {
	st   storage.Storage
	last *entry
	// hit is the last entry found; err the first read error.
	hit *entry
	err error
}

// Handled implements reserve.Log.
func (l *partitionLog) Handled(commandID string) (reserve.Handled, bool) {
	if l.last != nil && l.last.CommandID == commandID {
		l.hit = l.last
		return l.last.Handled, true
	}
	data, err := l.st.Get(dedupKey(commandID))
	if err != nil {
		if l.err == nil {
			l.err = fmt.Errorf("inventory: read dedup entry %q: %w", commandID, err)
		}
		return reserve.Handled{}, false
	}
	if data == nil {
		return reserve.Handled{}, false
	}
	e, err := decodeEntry(commandID, data)
	if err != nil {
		if l.err == nil {
			l.err = err
		}
		return reserve.Handled{}, false
	}
	l.hit = &e
	return e.Handled, true
}
