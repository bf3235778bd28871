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
	"cartstream/internal/promo"
	"cartstream/internal/streamtime"
	"cartstream/internal/ticks"
	"cartstream/schemas"
	"cartstream/topology"
)

// VisitExpire is the name of the visitor that deletes idle carts; the
// instance triggers it periodically with Processor.VisitAll.
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
}

// Graph declares the carts group: cart events (and their loop) and ticks as
// inputs, the products table as a lookup, the cart table, and offers as
// output.
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
	h := &handler{cfg: cfg, group: g, clocks: map[int32]*streamtime.Clock{}, work: map[int32]*partitionWork{}}
	return goka.DefineGroup(goka.Group(g.ID),
		goka.Input(goka.Stream(n.CartEvents), new(codec.Bytes), h.cartEvent),
		goka.Input(goka.Stream(n.CartsTicks), new(codec.Bytes), h.tick),
		goka.Loop(new(codec.Bytes), h.cartEvent),
		goka.Lookup(goka.Table(n.ProductsTable), schemas.Codec[schemas.Product]{}),
		goka.Visitor(VisitExpire, h.expire),
		goka.Persist(new(codec.Bytes)),
		goka.Output(goka.Stream(n.Offers), new(codec.Bytes)),
	), nil
}

type handler struct {
	cfg   Config
	group topology.Group

	mu     sync.Mutex
	clocks map[int32]*streamtime.Clock // stream time per partition
	work   map[int32]*partitionWork    // evaluation memory per partition
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
	h.observe(ctx.Partition(), tk.Time())
}

func (h *handler) forwarded() { h.cfg.Metrics.Forwarded.WithLabelValues(h.group.Name).Inc() }

func (h *handler) cartEvent(ctx goka.Context, msg any) {
	value, _ := msg.([]byte)
	key := ctx.Key()
	h.cfg.Metrics.RecordsProcessed.WithLabelValues(h.group.Name, strconv.Itoa(int(ctx.Partition()))).Inc()

	o, mine := forward.Route(ctx, h.group.Loop, h.cfg.Partitions, value, h.forwarded)
	if !mine {
		return
	}
	src := promo.Source{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset}
	if value == nil {
		h.deadLetter(ctx, o, value, dlq.Validation(errors.New("carts: a cart event with no value (tombstone)")))
		return
	}
	ev, err := ParseEvent(value)
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

	var cart *Cart
	if v := ctx.Value(); v != nil {
		if cart, err = DecodeCart(v.([]byte)); err != nil {
			ctx.Fail(err) // our own state: not the record's fault
		}
	}
	next, applied, err := Apply(cart, ev, at, streamNow)
	if err != nil {
		h.deadLetter(ctx, o, value, dlq.Validation(err))
		return
	}
	if !applied {
		return // a duplicate changes nothing
	}
	state, err := next.Encode()
	if err != nil {
		ctx.Fail(err)
	}
	ctx.SetValue(state)

	src.EventID = ev.ID
	offer, err := h.offer(ctx, next, at, src)
	if err != nil {
		ctx.Fail(fmt.Errorf("carts: evaluate cart %s: %w", next.ID, err))
	}
	ctx.Emit(goka.Stream(h.cfg.Topology.Names.Offers), key, offer)
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

// expire deletes the cart it visits when it has been idle for IdleTTL of
// its partition's stream time.
func (h *handler) expire(ctx goka.Context, _ any) {
	v := ctx.Value()
	if v == nil {
		return
	}
	c, err := DecodeCart(v.([]byte))
	if err != nil {
		return
	}
	h.mu.Lock()
	clock := h.clocks[ctx.Partition()]
	h.mu.Unlock()
	if clock != nil && c.Idle(clock.Now(), h.cfg.IdleTTL) {
		ctx.Delete()
	}
}

func (h *handler) deadLetter(ctx goka.Context, o forward.Origin, value []byte, err error) {
	class := h.cfg.DLQ.Reject(ctx, h.group.Name, o, value, err)
	h.cfg.Metrics.DeadLetters.WithLabelValues(h.group.Name, string(class)).Inc()
}
