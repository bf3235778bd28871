package carts

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"cartstream/internal/dlq"
	"cartstream/internal/forward"
	"cartstream/internal/metrics"
	"cartstream/internal/money"
	"cartstream/internal/partition"
	"cartstream/internal/promo"
	"cartstream/internal/streams"
	"cartstream/internal/streamtime"
	"cartstream/internal/ticks"
	"cartstream/schemas"
	"cartstream/topology"
)

// VisitExpire is the name of the visitor that expires checkouts whose holds
// passed their expiry (ExpireHolds, emitting their statuses) and deletes idle
// carts, both against the partition's stream time; the instance triggers it
// periodically with Processor.VisitAll. A cart's own records check expiry
// too, so the period bounds only how late an idle cart's checkout reports
// expired.
const VisitExpire = "expire-idle"

// Config is what the carts group needs from its instance.
type Config struct {
	Topology *topology.Topology
	// Partitions is the partition count of the carts co-partitioned set,
	// for the ownership check of principle 3.
	Partitions int32
	// Promotions is the promotion index, kept current by the promotions
	// view (see PromotionsView).
	Promotions *promo.Index
	Rule       streamtime.Rule
	IdleTTL    time.Duration // default DefaultIdleTTL
	Rounding   money.Rounding
	DLQ        *dlq.Writer
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
	// Registry resolves the writer schemas of Confluent-framed Avro cart
	// events (a value starting with byte 0). nil: such events are
	// dead-lettered as undecodable.
	Registry SchemaRegistry

	// Boundary holds back the reservation commands and checkout statuses
	// of records processed before the group's last reset (DESIGN §8); the
	// instance reads it from the resets topic. Nil: nothing is held back.
	Boundary Boundary
}

// Graph declares the carts group: cart events (and their loop), reservation
// results and ticks as inputs, the products table as a lookup, the cart
// table, and offers, reservation commands and checkout statuses as outputs.
func Graph(cfg Config) (*goka.GroupGraph, error) {
	g, ok := cfg.Topology.Group(topology.GroupCarts)
	if !ok {
		return nil, errors.New("carts: group not in the topology")
	}
	if cfg.Partitions <= 0 {
		return nil, errors.New("carts: partition count unknown")
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := cfg.Topology.Names
	h := &handler{cfg: cfg, group: g, clocks: map[int32]*streamtime.Clock{}, work: map[int32]*partitionWork{}, avro: &avroEvents{registry: cfg.Registry}, gate: newReplayGate(cfg.Boundary)}
	timed := func(cb goka.ProcessCallback) goka.ProcessCallback {
		return streams.Timed(cfg.Metrics.ProcessingSeconds, g.Name, cb)
	}
	return goka.DefineGroup(goka.Group(g.ID),
		goka.Input(goka.Stream(n.CartEvents), new(codec.Bytes), timed(h.cartEvent)),
		goka.Input(goka.Stream(n.ReservationRes), new(codec.Bytes), timed(h.result)),
		goka.Input(goka.Stream(n.CartsTicks), new(codec.Bytes), timed(h.tick)),
		goka.Loop(new(codec.Bytes), timed(h.cartEvent)),
		goka.Lookup(goka.Table(n.ProductsTable), schemas.Codec[schemas.Product]{}),
		goka.Visitor(VisitExpire, h.expire),
		goka.Persist(new(codec.Bytes)),
		goka.Output(goka.Stream(n.Offers), new(codec.Bytes)),
		goka.Output(goka.Stream(n.Reservations), schemas.Codec[schemas.ReservationCommand]{}),
		goka.Output(goka.Stream(n.Checkouts), new(codec.Bytes)),
	), nil
}

type handler struct {
	cfg   Config
	group topology.Group
	avro  *avroEvents

	mu     sync.Mutex
	clocks map[int32]*streamtime.Clock // stream time per partition
	work   map[int32]*partitionWork    // evaluation memory per partition
	gate   replayGate                  // partitions still below the replay boundary
}

// replayed reports whether the record (origin o) had been processed before
// the group's last reset, and notes the record's progress towards the
// boundary of its partition.
func (h *handler) replayed(ctx goka.Context, o forward.Origin) bool {
	if len(h.cfg.Boundary) == 0 {
		return false
	}
	if topic := string(ctx.Topic()); topic != h.group.Loop {
		h.mu.Lock()
		left := h.gate.passed(topic, ctx.Partition(), ctx.Offset())
		h.mu.Unlock()
		if left {
			h.cfg.Logger.Info("partition passed the replay boundary; reservation commands and checkout statuses resume",
				"group", h.group.Name, "partition", ctx.Partition())
		}
	}
	return h.cfg.Boundary.Below(o.Topic, o.Partition, o.Offset)
}

// replaying reports whether a partition is still below its replay boundary
// on some input.
func (h *handler) replaying(p int32) bool {
	if len(h.cfg.Boundary) == 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gate.replaying(p)
}

// partitionWork is reused by one partition's goroutine from one event to the
// next, so the hot path allocates little: goka calls a partition's callbacks
// one at a time.
type partitionWork struct {
	eval  promo.Evaluator
	offer promo.Offer
	lines []promo.CartLine
	buf   []byte
}

func (h *handler) workFor(p int32) *partitionWork {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.work[p]
	if w == nil {
		w = &partitionWork{}
		h.work[p] = w
	}
	return w
}

// observe advances the partition's stream time and returns it.
func (h *handler) observe(p int32, t time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clocks[p]
	if c == nil {
		c = &streamtime.Clock{}
		h.clocks[p] = c
	}
	if c.Observe(t) {
		h.cfg.Metrics.StreamTime.WithLabelValues(h.group.Name, strconv.Itoa(int(p))).Set(float64(c.Now().UnixMilli()) / 1e3)
	}
	return c.Now()
}

func (h *handler) tick(ctx goka.Context, msg any) {
	tk, err := ticks.Decode(msg.([]byte))
	if err != nil {
		h.deadLetter(ctx, forward.Of(ctx, h.group.Loop), msg.([]byte), dlq.Decode(err))
		return
	}
	h.replayed(ctx, forward.Of(ctx, h.group.Loop))
	h.observe(ctx.Partition(), tk.Time())
}

func (h *handler) forwarded() { h.cfg.Metrics.Forwarded.WithLabelValues(h.group.Name).Inc() }

func (h *handler) cartEvent(ctx goka.Context, msg any) {
	value, _ := msg.([]byte)
	key := ctx.Key()
	h.cfg.Metrics.RecordsProcessed.WithLabelValues(h.group.Name, strconv.Itoa(int(ctx.Partition()))).Inc()

	o, mine := forward.Route(ctx, h.group.Loop, h.cfg.Partitions, value, h.forwarded)
	replayed := h.replayed(ctx, o)
	if !mine {
		return
	}
	src := promo.Source{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset}
	if value == nil {
		h.deadLetter(ctx, o, value, dlq.Validation(errors.New("carts: a cart event with no value (tombstone)")))
		return
	}
	text, err := h.eventJSON(ctx, value)
	if err != nil {
		h.deadLetter(ctx, o, value, err)
		return
	}
	ev, err := ParseEvent(text)
	if err != nil {
		h.deadLetter(ctx, o, value, dlq.Validation(err))
		return
	}
	if ev.CartID != key {
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("carts: cart_id %q differs from the record key %q", ev.CartID, key)))
		return
	}
	at, used := h.cfg.Rule.EventTime(ev.TS, ctx.Timestamp())
	if !used && !ev.TS.IsZero() {
		h.cfg.Metrics.EventTimeFallbacks.WithLabelValues(h.group.Name).Inc()
	}
	streamNow := h.observe(ctx.Partition(), at)

	cart := h.stored(ctx)
	again := cart.ReadAgain(string(ctx.Topic()), ctx.Offset())
	out, err := ApplyEvent(cart, ev, at, streamNow)
	if err != nil {
		h.deadLetter(ctx, o, value, dlq.Validation(err))
		return
	}
	if again {
		out = resendFirst(cart, out)
	}
	if replayed {
		out.Cart = applyEarly(out.Cart, streamNow)
	} else {
		out.Cart = dropEarly(out.Cart)
	}
	h.store(ctx, cart, out.Cart)
	if out.Applied { // a duplicate makes no offer
		next := out.Cart
		src.EventID = ev.ID
		offer, err := h.offer(ctx, next, at, src)
		if err != nil {
			streams.Fail(ctx, fmt.Errorf("carts: evaluate cart %s: %w", next.ID, err))
		}
		ctx.Emit(goka.Stream(h.cfg.Topology.Names.Offers), key, offer)
		m := h.cfg.Metrics
		m.OffersEmitted.Inc()
		m.PromotionsApplied.Add(float64(len(h.workFor(ctx.Partition()).offer.Applied)))
		m.EndToEndSeconds.WithLabelValues(h.cfg.Topology.Names.Offers).Observe(time.Since(ctx.Timestamp()).Seconds())
	}
	if !replayed {
		h.send(ctx, out)
	}
}

// stored returns the partition's stored cart for the record's key, nil when
// there is none. A stored cart that does not decode fails the partition: it
// is our own state, not the record's fault.
func (h *handler) stored(ctx goka.Context) *Cart {
	v := ctx.Value()
	if v == nil {
		return nil
	}
	c, err := DecodeCart(v.([]byte))
	if err != nil {
		streams.Fail(ctx, err)
	}
	return c
}

// store writes the cart a step of the state machine returned, only when it
// changed (the state machine returns the input cart itself otherwise),
// noting the record that changed it (Cart.Origins).
func (h *handler) store(ctx goka.Context, old, next *Cart) {
	if next == nil || next == old {
		return
	}
	if topic := string(ctx.Topic()); topic != VisitExpire { // a visit is no record
		next = withOrigin(next, topic, ctx.Offset())
	}
	state, err := next.Encode()
	if err != nil {
		streams.Fail(ctx, err)
	}
	ctx.SetValue(state)
}

// send emits an outcome's reservation commands (key sku) and checkout
// statuses (key cart id), in order.
func (h *handler) send(ctx goka.Context, out Outcome) {
	n := h.cfg.Topology.Names
	for i := range out.Commands {
		cmd := &out.Commands[i]
		ctx.Emit(goka.Stream(n.Reservations), cmd.SKU, cmd)
	}
	for _, st := range out.Statuses {
		b, err := st.MarshalJSON()
		if err != nil {
			streams.Fail(ctx, err)
		}
		ctx.Emit(goka.Stream(n.Checkouts), st.CartID, b)
	}
}

// result applies a reservation result (the inventory group's answer to one
// of this group's commands, keyed by cart id) to its cart. Its event time is
// the result's event_time (DESIGN §2.1: the payload's, never the record
// timestamp of an internal topic).
func (h *handler) result(ctx goka.Context, msg any) {
	value, _ := msg.([]byte)
	p := ctx.Partition()
	h.cfg.Metrics.RecordsProcessed.WithLabelValues(h.group.Name, strconv.Itoa(int(p))).Inc()
	o := forward.Of(ctx, h.group.Loop)
	replayed := h.replayed(ctx, o)
	if value == nil {
		h.deadLetter(ctx, o, value, dlq.Validation(errors.New("carts: a reservation result with no value (tombstone)")))
		return
	}
	var r schemas.ReservationResult
	if err := schemas.Unmarshal(value, &r); err != nil {
		h.deadLetter(ctx, o, value, dlq.Decode(fmt.Errorf("carts: reservation result: %w", err)))
		return
	}
	key := ctx.Key()
	if owner := partition.For([]byte(key), h.cfg.Partitions); owner != p {
		// The inventory group emits with Kafka's default partitioner, so
		// this happens only when partition counts disagree: forwarding
		// would not help (principle 3 covers the carts group's own inputs
		// from outside writers).
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf(
			"carts: reservation result for cart %q read from partition %d, but partition %d of %d owns the key (do the partition counts of %s and the carts set differ?)",
			key, p, owner, h.cfg.Partitions, o.Topic)))
		return
	}
	if r.CartID != key {
		h.deadLetter(ctx, o, value, dlq.Validation(fmt.Errorf("carts: reservation result cart_id %q differs from the record key %q", r.CartID, key)))
		return
	}
	streamNow := h.observe(p, r.EventTime)
	cart := h.stored(ctx)
	if replayed && !knowsCheckout(cart, r.CheckoutID) {
		// Read before the checkout it answers: keep it for that event.
		h.store(ctx, cart, holdEarly(cart, key, r))
		return
	}
	again := cart.ReadAgain(string(ctx.Topic()), ctx.Offset())
	out := ApplyResult(cart, r, streamNow)
	if again {
		out = resendFirst(cart, out)
	}
	h.store(ctx, cart, out.Cart)
	if !replayed {
		h.send(ctx, out)
	}
}

// resendFirst puts what the stored cart implies was sent (Resend) before
// the outputs of applying a record read again: the cart already held the
// record's effect, so the step is a duplicate that sends nothing, while
// what the record's first processing sent may have been lost with the
// instance that processed it (DESIGN §9: outputs may repeat, never go
// missing).
func resendFirst(stored *Cart, out Outcome) Outcome {
	r := Resend(stored)
	out.Commands = append(r.Commands, out.Commands...)
	out.Statuses = append(r.Statuses, out.Statuses...)
	return out
}

// offer evaluates the cart at its event time against the current catalog
// and returns the offer's JSON. The evaluation memory is reused per
// partition; the returned bytes are a fresh copy, because goka's producer
// holds them until the broker acknowledges.
func (h *handler) offer(ctx goka.Context, c *Cart, at time.Time, src promo.Source) ([]byte, error) {
	w := h.workFor(ctx.Partition())
	pc := promo.Cart{CartID: c.ID, Currency: c.Currency, Segments: c.Segments, Coupons: c.Coupons}
	if c.CustomerID != nil {
		pc.CustomerID = *c.CustomerID
	}
	w.lines = w.lines[:0]
	for _, l := range c.Lines {
		w.lines = append(w.lines, promo.CartLine{SKU: l.SKU, Qty: int64(l.Qty)})
	}
	pc.Lines = w.lines
	cat := lookupCatalog{ctx: ctx, table: goka.Table(h.cfg.Topology.Names.ProductsTable)}
	if err := w.eval.EvaluateInto(&w.offer, cat, h.cfg.Promotions, pc, at, promo.Options{Rounding: h.cfg.Rounding}); err != nil {
		return nil, err
	}
	v := c.Version
	w.offer.CartVersion = &v
	w.offer.Source = &src
	w.buf = w.offer.AppendJSON(w.buf[:0])
	return append([]byte(nil), w.buf...), nil
}

// lookupCatalog reads products through the group's lookup of the products
// table.
type lookupCatalog struct {
	ctx   goka.Context
	table goka.Table
}

func (l lookupCatalog) Product(sku string) (schemas.Product, bool) {
	v := l.ctx.Lookup(l.table, sku)
	p, ok := v.(*schemas.Product)
	if !ok || p == nil {
		return schemas.Product{}, false
	}
	return *p, true
}

// expire visits one cart at its partition's stream time: a reserved
// checkout whose hold passed its expiry becomes expired (its status is
// emitted), and a cart idle for IdleTTL is deleted. It writes only what
// changed. Before the partition has seen a record since start it does
// nothing: stream time is unknown.
func (h *handler) expire(ctx goka.Context, _ any) {
	v := ctx.Value()
	if v == nil {
		return
	}
	c, err := DecodeCart(v.([]byte))
	if err != nil {
		h.cfg.Logger.Warn("stored cart does not decode; visit skipped", "key", ctx.Key(), "error", err)
		return
	}
	h.mu.Lock()
	clock := h.clocks[ctx.Partition()]
	h.mu.Unlock()
	if clock == nil {
		return
	}
	now := clock.Now()
	out := ExpireHolds(c, now)
	// Below the replay boundary what expiry would send was sent before
	// the reset; the cart still changes.
	send := !h.replaying(ctx.Partition())
	if out.Cart.Idle(now, h.cfg.IdleTTL) {
		if send {
			h.send(ctx, out)
		}
		ctx.Delete()
		return
	}
	h.store(ctx, c, out.Cart)
	if send {
		h.send(ctx, out)
	}
}

func (h *handler) deadLetter(ctx goka.Context, o forward.Origin, value []byte, err error) {
	class := h.cfg.DLQ.Reject(ctx, h.group.Name, o, value, err)
	h.cfg.Metrics.DeadLetters.WithLabelValues(h.group.Name, string(class)).Inc()
}
