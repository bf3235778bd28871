package reserve_test

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

var (
	seedFlag  = flag.Uint64("reserve.seed", 0, "run the reservation simulation for this seed only")
	seedsFlag = flag.Int("reserve.seeds", 0, "number of simulation seeds (default 60, 20 with -short)")
	stepsFlag = flag.Int("reserve.steps", 0, "steps per simulation (default 2000, 1000 with -short)")
)

// topic is one input topic of the inventory partition: records in offset
// order and the group's read position.
type topic struct {
	recs []any
	// firstAt is the stream time at which each record was first delivered
	// (zero until then): redelivery never reaches back further than half
	// the dedup window, the retention the design relies on.
	firstAt []time.Time
	pos     int
}

func (tp *topic) add(r any) {
	tp.recs = append(tp.recs, r)
	tp.firstAt = append(tp.firstAt, time.Time{})
}

// checkout is one cart's checkout of the simulated SKU.
type checkout struct {
	id       string
	qty      int32
	reserved bool // its reserve got a new hold
	done     bool // the cart sent release or commit
}

// world simulates the shop database, the carts group's checkout saga and
// Kafka's at-least-once delivery of the inventory partition's four inputs,
// feeds the core, and checks it against the model and the invariants.
type world struct {
	seed uint64
	rng  *rand.Rand
	cfg  reserve.Config

	clock  time.Time // producers' clock: event times
	stream time.Time // the partition's stream time

	// database
	dbKnown bool
	// versionedDeletes: delete records carry the deleted row's version
	// (otherwise 0, as cdc-inventory emits them today).
	versionedDeletes bool
	dbOnHand         int64
	dbVersion        int64
	supply           int64            // units the database ever had
	orderVer         map[string]int64 // request id → version after its order's decrement

	cmds, stock, lines topic
	checkouts          []*checkout
	open               []*checkout // reserved, not yet released or committed
	nextID             int

	state *reserve.State
	dedup reserve.MemoryLog // the processor's dedup store
	m     *model
	log   []logged // every delivery, for the replays

	first        map[string]schemas.ReservationResult
	nonLateUnits int64 // Σ qty of commits that consumed a live hold
	orderedUnits int64 // Σ qty of the database's orders
	shrink       int64 // stock the database lost other than by orders
	stats        map[string]int
}

type logged struct {
	rec    any
	stream time.Time
	res    *schemas.ReservationResult
	store  bool
}

func newWorld(seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	cfg := reserve.DefaultConfig()
	if rng.IntN(2) == 0 {
		cfg.HoldTTL = 2 * time.Minute
	}
	if rng.IntN(5) == 0 {
		cfg.Outbox = false
		cfg.CommitGrace = time.Duration(1+rng.IntN(15)) * time.Minute
	}
	if rng.IntN(2) == 0 {
		cfg.DedupWindow = 2 * time.Hour
	}
	return &world{
		seed: seed, rng: rng, cfg: cfg, versionedDeletes: rng.IntN(2) == 0,
		clock: t0, stream: t0,
		orderVer: map[string]int64{},
		dedup:    reserve.MemoryLog{},
		m:        newModel(cfg),
		first:    map[string]schemas.ReservationResult{},
		stats:    map[string]int{},
	}
}

// countingLog is the world's dedup store as the core sees it: it counts
// the lookups that find an entry older than the dedup window, which the
// core must ignore.
type countingLog struct{ w *world }

func (l countingLog) Handled(id string) (reserve.Handled, bool) {
	h, ok := l.w.dedup.Handled(id)
	if ok && l.w.stream.Sub(h.At) > l.w.cfg.DedupWindow {
		l.w.stats["aged entries found"]++
	}
	return h, ok
}

func (w *world) failf(format string, args ...any) error {
	return fmt.Errorf("seed %d (cfg %+v) at stream time +%v: %s", w.seed, w.cfg, w.stream.Sub(t0), fmt.Sprintf(format, args...))
}

// run plays steps random actions and returns the first violation.
func (w *world) run(steps int) error {
	// The database starts with a little stock on a hot SKU.
	w.dbKnown, w.dbOnHand, w.dbVersion = true, int64(1+w.rng.IntN(40)), 1
	w.supply = w.dbOnHand
	w.stock.add(stockRow(int32(w.dbOnHand), w.dbVersion, w.clock))
	for range steps {
		if err := w.step(); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) step() error {
	w.advanceClock()
	switch p := w.rng.IntN(100); {
	case p < 14:
		w.startCheckout()
	case p < 26:
		w.finishCheckout()
	case p < 28:
		w.restock()
	case p < 29:
		w.rogueOrder()
	case p < 30 && (!w.dbKnown || w.rng.IntN(8) == 0):
		w.deleteOrRecreate()
	case p < 33:
		w.redeliver()
	case p < 35:
		w.swapCommands()
	case p < 40:
		return w.deliverRec(nil) // a tick
	default:
		return w.deliverNext()
	}
	return nil
}

func (w *world) advanceClock() {
	switch p := w.rng.IntN(1000); {
	case p < 3 && w.stock.pos == len(w.stock.recs) && w.lines.pos == len(w.lines.recs):
		// A long quiet spell, only once CDC has caught up: CDC lagging
		// longer than the dedup window is outside what the design covers.
		w.clock = w.clock.Add(time.Duration(1+w.rng.IntN(180)) * time.Minute)
	case p < 12:
		w.clock = w.clock.Add(time.Duration(1+w.rng.IntN(12*60)) * time.Second)
	default:
		w.clock = w.clock.Add(time.Duration(w.rng.IntN(5000)) * time.Millisecond)
	}
}

func (w *world) cmd(op schemas.ReservationOp, co *checkout, qty int32) schemas.ReservationCommand {
	return command(op, co.id, qty, w.clock)
}

func (w *world) startCheckout() {
	w.nextID++
	co := &checkout{id: fmt.Sprintf("co%d", w.nextID), qty: int32(1 + w.rng.IntN(3))}
	if w.rng.IntN(50) == 0 {
		co.qty = int32(w.rng.IntN(2)) - 1 // 0 or -1: invalid
	}
	w.checkouts = append(w.checkouts, co)
	c := w.cmd(schemas.OpReserve, co, co.qty)
	if w.rng.IntN(10) == 0 {
		c.HoldTTLMillis = ptr(int64(30_000 + w.rng.IntN(300_000)))
	}
	w.cmds.add(c)
	if w.rng.IntN(30) == 0 {
		// Abandoned while the reserve is in flight.
		co.done = true
		r := w.cmd(schemas.OpRelease, co, co.qty)
		r.Reason = ptr("abandoned")
		w.cmds.add(r)
	}
}

// finishCheckout has a cart complete or give up a checkout: mostly one
// that holds, sometimes one whose reserve is still in flight.
func (w *world) finishCheckout() {
	var co *checkout
	if len(w.open) > 0 && w.rng.IntN(15) != 0 {
		i := w.rng.IntN(len(w.open))
		co = w.open[i]
		w.open = append(w.open[:i], w.open[i+1:]...)
	} else if len(w.checkouts) > 0 && w.rng.IntN(4) == 0 {
		co = w.checkouts[w.rng.IntN(len(w.checkouts))]
	}
	if co == nil || co.done {
		return
	}
	co.done = true
	if w.rng.IntN(10) < 6 && w.dbKnown && co.qty > 0 {
		w.placeOrder(co)
		return
	}
	c := w.cmd(schemas.OpRelease, co, co.qty)
	c.Reason = ptr([]string{"checkout_failed", "cart_changed", "checkout_superseded", "abandoned", "cart_cleared"}[w.rng.IntN(5)])
	w.cmds.add(c)
}

// placeOrder runs the order service's transaction (decrement, bump the
// version, outbox row), then the cart's commit command.
func (w *world) placeOrder(co *checkout) {
	w.dbOnHand -= int64(co.qty)
	w.orderedUnits += int64(co.qty)
	w.dbVersion++
	w.orderVer[reserve.RequestID(co.id, sku)] = w.dbVersion
	w.stock.add(stockRow(int32(w.dbOnHand), w.dbVersion, w.clock))
	w.lines.add(orderLine(co.id, co.qty, w.dbVersion, w.clock))
	c := w.cmd(schemas.OpCommit, co, co.qty)
	c.OrderID = ptr("o-" + co.id)
	w.cmds.add(c)
}

// rogueOrder places an order for a checkout that never reserved here.
func (w *world) rogueOrder() {
	if !w.dbKnown {
		return
	}
	w.nextID++
	co := &checkout{id: fmt.Sprintf("co%d", w.nextID), qty: int32(1 + w.rng.IntN(2)), done: true}
	w.placeOrder(co)
}

func (w *world) restock() {
	if !w.dbKnown {
		return
	}
	k := int64(1 + w.rng.IntN(8))
	w.dbOnHand += k
	w.supply += k
	w.dbVersion++
	w.stock.add(stockRow(int32(w.dbOnHand), w.dbVersion, w.clock))
}

func (w *world) deleteOrRecreate() {
	if w.dbKnown {
		w.dbKnown = false
		w.shrink += max(w.dbOnHand, 0)
		del := schemas.StockRow{SKU: sku, Deleted: true, EventTime: w.clock}
		if w.versionedDeletes {
			del.Version = w.dbVersion
		}
		w.stock.add(del)
		return
	}
	// The row comes back; versions keep increasing (DESIGN §4).
	w.dbKnown, w.dbOnHand = true, int64(w.rng.IntN(10))
	w.supply += w.dbOnHand
	w.dbVersion++
	w.stock.add(stockRow(int32(w.dbOnHand), w.dbVersion, w.clock))
}

// redeliver models at-least-once delivery: the group restarts from an
// older offset of one topic (state kept: it is ahead of the committed
// offsets), or a producer (carts, Debezium) writes recent records again.
func (w *world) redeliver() {
	tp := []*topic{&w.cmds, &w.stock, &w.lines}[w.rng.IntN(3)]
	horizon := w.stream.Add(-w.cfg.DedupWindow / 2)
	back := w.rng.IntN(8)
	if w.rng.IntN(2) == 0 {
		for ; back > 0 && tp.pos > 0 && !tp.firstAt[tp.pos-1].Before(horizon); back-- {
			tp.pos--
		}
		w.stats["rewinds"]++
		return
	}
	for i := max(tp.pos-back, 0); i < tp.pos; i++ {
		if !tp.firstAt[i].Before(horizon) {
			tp.add(tp.recs[i])
			w.stats["reproduced"]++
		}
	}
}

// swapCommands reorders the next two undelivered commands: what a
// misbehaving producer could do, and how a reserve can follow its release.
func (w *world) swapCommands() {
	if i := w.cmds.pos; i+1 < len(w.cmds.recs) && w.cmds.firstAt[i].IsZero() && w.cmds.firstAt[i+1].IsZero() {
		w.cmds.recs[i], w.cmds.recs[i+1] = w.cmds.recs[i+1], w.cmds.recs[i]
		w.stats["swaps"]++
	}
}

func (w *world) deliverNext() error {
	var ready []*topic
	for _, tp := range []*topic{&w.cmds, &w.cmds, &w.cmds, &w.stock, &w.lines} {
		if tp.pos < len(tp.recs) {
			ready = append(ready, tp)
		}
	}
	if len(ready) == 0 {
		return w.deliverRec(nil)
	}
	tp := ready[w.rng.IntN(len(ready))]
	i := tp.pos
	tp.pos++
	if err := w.deliverRec(tp.recs[i]); err != nil {
		return err
	}
	if tp.firstAt[i].IsZero() {
		tp.firstAt[i] = w.stream
	}
	return nil
}

// deliverRec applies one record (nil: a tick at the clock) to the core and
// the model and checks the invariants.
func (w *world) deliverRec(rec any) error {
	at := w.clock
	switch r := rec.(type) {
	case schemas.ReservationCommand:
		at = r.EventTime
	case schemas.StockRow:
		at = r.EventTime
	case schemas.OrderLine:
		at = r.EventTime
	}
	if at.After(w.stream) {
		w.stream = at
	}
	t := w.stream
	prev := w.state
	l := logged{rec: rec, stream: t}
	switch r := rec.(type) {
	case schemas.ReservationCommand:
		next, res, store := reserve.ApplyCommand(prev, r, t, w.cfg, countingLog{w})
		want, dup := w.m.command(r, t)
		l.res, l.store = &res, store
		if !reflect.DeepEqual(res, want) {
			return w.failf("%s: result\n got %s\nwant %s", r.CommandID, fmtResult(res), fmtResult(want))
		}
		if store == dup {
			return w.failf("%s: store %v for a command the model calls duplicate %v", r.CommandID, store, dup)
		}
		if store {
			w.dedup.Put(r.CommandID, reserve.Handled{At: t.UTC(), Result: res})
		}
		if dup {
			w.stats["duplicates"]++
			if next != prev {
				return w.failf("duplicate %s changed the state", r.CommandID)
			}
			if !reflect.DeepEqual(res, w.first[r.CommandID]) {
				return w.failf("duplicate %s got %s, first %s", r.CommandID, fmtResult(res), fmtResult(w.first[r.CommandID]))
			}
		} else {
			if err := w.firstResult(r, res); err != nil {
				return err
			}
		}
		w.state = next
	case schemas.StockRow:
		w.state = reserve.ApplyStock(prev, r, t, w.cfg)
		w.m.stock(r, t)
	case schemas.OrderLine:
		w.state = reserve.ApplyOrderLine(prev, r, t, w.cfg, countingLog{w})
		w.m.line(r, t)
	case nil:
		w.state = reserve.Tick(prev, t, w.cfg)
		w.m.prune(t)
		// The store prunes itself now and then; until it does, the core
		// must ignore its aged entries.
		if w.rng.IntN(10) == 0 {
			w.dedup.Prune(t, w.cfg.DedupWindow)
			w.stats["log prunes"]++
		}
	}
	w.log = append(w.log, l)
	return w.check()
}

// firstResult records a command's first result and checks the decisions.
func (w *world) firstResult(c schemas.ReservationCommand, res schemas.ReservationResult) error {
	w.first[c.CommandID] = res
	w.stats[string(c.Op)+"/"+res.Status+"/"+reasonOf(res)]++
	switch {
	case c.Op == schemas.OpReserve && res.Status == schemas.ResultReserved && res.Qty == c.Qty && res.ExpiresAt != nil:
		if res.Available < 0 {
			return w.failf("reserve %s left available %d", c.CommandID, res.Available)
		}
		for _, co := range w.checkouts {
			if co.id == c.CheckoutID && !co.reserved {
				co.reserved = true
				if !co.done {
					w.open = append(w.open, co)
				}
			}
		}
	case c.Op == schemas.OpCommit && res.Status == schemas.ResultCommitted && res.Reason == nil:
		w.nonLateUnits += int64(c.Qty)
	}
	return nil
}

// check verifies the invariants after every delivery.
func (w *world) check() error {
	s, t := w.state, w.stream
	got := reserve.Available(s, t)
	if want := w.m.available(t); got != want {
		return w.failf("Available = %d, model %d", got, want)
	}
	if s == nil {
		return nil
	}
	// No hold counts after its expiry, its release or its order showing
	// in CDC; and each one the model knows is there (none leaks).
	var doubleCounted int64
	for _, h := range s.Holds {
		r := w.m.reqs[h.RequestID]
		switch h.State {
		case reserve.Held:
			if reserve.Expired(h.ExpiresAt, t) {
				return w.failf("held hold %s counts after its expiry", h.RequestID)
			}
			if r == nil || !r.held {
				return w.failf("held hold %s is not held in the model (released or never reserved)", h.RequestID)
			}
		case reserve.Committed:
			if h.HasInventoryVersion && s.Version >= h.InventoryVersion {
				return w.failf("committed hold %s counts after CDC showed version %d", h.RequestID, h.InventoryVersion)
			}
			if r == nil || !r.committed {
				return w.failf("committed hold %s is not committed in the model", h.RequestID)
			}
		}
		if v, ok := w.orderVer[h.RequestID]; ok && s.Known && s.Version >= v {
			doubleCounted += int64(h.Qty)
		}
	}
	for id, r := range w.m.reqs {
		if (r.held && !t.After(r.expiresAt)) || (r.committed && !w.m.reflected(r)) {
			if _, ok := s.Hold(id); !ok {
				return w.failf("hold %s is missing", id)
			}
		}
	}
	// With the outbox off, reconciliation is by time (CommitGrace), which
	// the simulation's CDC lag may exceed: a committed hold may stop
	// counting before the stock shows its order, the oversell risk
	// --outbox=false accepts. The two bounds below hold with the outbox on.
	if !w.cfg.Outbox {
		return nil
	}
	// Units sold on live holds never exceed the stock the database ever
	// had.
	if w.nonLateUnits > w.supply {
		return w.failf("oversold: %d units committed on live holds, the database only ever had %d", w.nonLateUnits, w.supply)
	}
	// Available is negative only as far as the database's own stock went
	// below the holds: orders not sold on a live hold (late, or placed
	// before or without a reserve), lost stock, or an order both in the
	// stock and still held for a moment.
	unbacked := w.orderedUnits - w.nonLateUnits
	if got < 0 && got+doubleCounted+unbacked+w.shrink < 0 {
		return w.failf("Available %d below zero beyond double-counted %d, unbacked %d and lost %d units", got, doubleCounted, unbacked, w.shrink)
	}
	return nil
}

func fmtResult(r schemas.ReservationResult) string {
	exp := "nil"
	if r.ExpiresAt != nil {
		exp = r.ExpiresAt.Sub(t0).String()
	}
	return fmt.Sprintf("{%s %s qty=%d status=%s reason=%q available=%d expires=%s event=%v}",
		r.CommandID, r.Op, r.Qty, r.Status, reasonOf(r), r.Available, exp, r.EventTime.Sub(t0))
}

// replay re-applies the world's log to a fresh state and dedup store,
// pruning the store at other moments than the first run did and restarting
// now and then: as a restart restores the tables from their changelogs, the
// state goes through Encode and Decode and every dedup entry through
// AppendHandled and DecodeHandled, and an Empty state is deleted (the
// processor may). It checks every result and store flag against the first
// run and returns the final state and store.
func (w *world) replay() (*reserve.State, reserve.MemoryLog, error) {
	rng := rand.New(rand.NewPCG(w.seed, 0x7e51a7))
	var s *reserve.State
	log := reserve.MemoryLog{}
	for i, l := range w.log {
		if rng.IntN(20) == 0 {
			b, err := reserve.Encode(s)
			if err != nil {
				return nil, nil, fmt.Errorf("step %d: %w", i, err)
			}
			if s, err = reserve.Decode(b); err != nil {
				return nil, nil, fmt.Errorf("step %d: %w", i, err)
			}
			if s.Empty() {
				s = nil
				w.stats["empty deleted"]++
			}
			restored := reserve.MemoryLog{}
			for id, h := range log {
				if restored[id], err = reserve.DecodeHandled(reserve.AppendHandled(nil, h)); err != nil {
					return nil, nil, fmt.Errorf("step %d: entry %s: %w", i, id, err)
				}
			}
			log = restored
		}
		if rng.IntN(15) == 0 {
			log.Prune(l.stream, w.cfg.DedupWindow)
		}
		switch r := l.rec.(type) {
		case schemas.ReservationCommand:
			var res schemas.ReservationResult
			var store bool
			s, res, store = reserve.ApplyCommand(s, r, l.stream, w.cfg, log)
			if !reflect.DeepEqual(res, *l.res) || store != l.store {
				return nil, nil, fmt.Errorf("step %d: replayed result %s store %v, first run %s store %v", i, fmtResult(res), store, fmtResult(*l.res), l.store)
			}
			if store {
				log.Put(r.CommandID, reserve.Handled{At: l.stream.UTC(), Result: res})
			}
		case schemas.StockRow:
			s = reserve.ApplyStock(s, r, l.stream, w.cfg)
		case schemas.OrderLine:
			s = reserve.ApplyOrderLine(s, r, l.stream, w.cfg, log)
		case nil:
			s = reserve.Tick(s, l.stream, w.cfg)
		}
	}
	return s, log, nil
}

// sameLogs reports the first difference between two dedup stores in the
// entries that count at stream time t: those within the dedup window.
func sameLogs(a, b reserve.MemoryLog, t time.Time, cfg reserve.Config) error {
	for _, pair := range [][2]reserve.MemoryLog{{a, b}, {b, a}} {
		for id := range pair[0] {
			x, okx := inWindow(pair[0], id, t, cfg)
			y, oky := inWindow(pair[1], id, t, cfg)
			if okx != oky || !reflect.DeepEqual(x, y) {
				return fmt.Errorf("entry %s: %+v (%v) vs %+v (%v)", id, x, okx, y, oky)
			}
		}
	}
	return nil
}

func simParams(t *testing.T) (seeds []uint64, steps int) {
	n, steps := 60, 2000
	if testing.Short() {
		n, steps = 20, 1000
	}
	if *seedsFlag > 0 {
		n = *seedsFlag
	}
	if *stepsFlag > 0 {
		steps = *stepsFlag
	}
	if *seedFlag != 0 {
		return []uint64{*seedFlag}, steps
	}
	for i := range n {
		seeds = append(seeds, uint64(i+1))
	}
	return seeds, steps
}

// TestSimulation drives the core through many seeded interleavings of
// checkouts, duplicates, redeliveries, reordered commands, CDC stock rows
// and outbox lines in either order, restocks, deletes and ticks, and
// checks after every record: the result and availability the reference
// model gives; no command applied twice; no hold counting after expiry,
// release or reflection, and none missing; no oversell on live holds; no
// negative availability beyond what the database's own stock explains.
// Then it replays each run with restarts (encoding round trips) at random
// records and wants the same results and byte-identical state. A failure names its seed:
// rerun it with -reserve.seed=N.
func TestSimulation(t *testing.T) {
	seeds, steps := simParams(t)
	total := map[string]int{}
	for _, seed := range seeds {
		w := newWorld(seed)
		if err := w.run(steps); err != nil {
			t.Fatalf("%v\nrerun: go test ./internal/reserve -run TestSimulation -reserve.seed=%d", err, seed)
		}
		s, log, err := w.replay()
		if err != nil {
			t.Fatalf("seed %d: replay: %v", seed, err)
		}
		if !(s.Empty() && w.state.Empty()) && !bytes.Equal(mustEncode(t, s), mustEncode(t, w.state)) {
			t.Fatalf("seed %d: replay with restarts gave different state bytes", seed)
		}
		if err := sameLogs(log, w.dedup, w.stream, w.cfg); err != nil {
			t.Fatalf("seed %d: replay gave another dedup store: %v", seed, err)
		}
		for k, v := range w.stats {
			total[k] += v
		}
	}
	// The runs must have exercised every path they are meant to.
	for _, k := range []string{
		"duplicates", "rewinds", "reproduced", "swaps", "log prunes", "aged entries found",
		"reserve/reserved/", "reserve/rejected/insufficient_stock", "reserve/rejected/unknown_sku",
		"reserve/rejected/invalid_quantity", "reserve/rejected/request_closed",
		"release/released/unknown_hold", "release/released/hold_expired", "release/released/cart_changed",
		"commit/committed/", "commit/committed/late_commit",
	} {
		if total[k] == 0 && *seedFlag == 0 {
			t.Errorf("no run exercised %s", k)
		}
	}
	t.Logf("%d seeds × %d steps: %v", len(seeds), steps, total)
}

// TestSimulationDeterministic: the same seed gives the same final bytes.
func TestSimulationDeterministic(t *testing.T) {
	for _, seed := range []uint64{7, 8, 9} {
		var out [2][]byte
		for i := range out {
			w := newWorld(seed)
			if err := w.run(1000); err != nil {
				t.Fatal(err)
			}
			out[i] = mustEncode(t, w.state)
		}
		if !bytes.Equal(out[0], out[1]) {
			t.Fatalf("seed %d: two runs differ", seed)
		}
	}
}
