package shopsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	csschemas "cartstream/schemas"
)

// fakeCartstream is a minimal, correct model of cartstream's checkout
// saga for testing the driver without Kafka: all-or-nothing reserves
// against the stock minus holds and sales, holds that expire TTL after the
// stream time of their reserve, commits that are late when no live hold
// covered them, and one stream time for everything (the worst case: every
// record moves every hold's clock). It reads records in any order across
// keys (as partitions would) and in order within a key.
type fakeCartstream struct {
	t      *testing.T
	ttl    time.Duration
	stream time.Time
	stock  map[string]int64 // units the database ever had
	sold   map[string]int64
	seen   map[string]bool
	carts  map[string]map[string]int // cart → sku → qty
	holds  map[string]*fakeHold      // by checkout id
	// late says, per completed checkout, whether its commit was late.
	late     map[string]bool
	statuses []CheckoutStatus
	queues   map[string][]Record // by topic and key
}

type fakeHold struct {
	cart    string
	lines   []Line
	expires time.Time
	state   string // held, committed, released, expired
}

func newFakeCartstream(t *testing.T, ttl time.Duration, stock map[string]int64) *fakeCartstream {
	return &fakeCartstream{
		t: t, ttl: ttl, stock: stock, sold: map[string]int64{}, seen: map[string]bool{},
		carts: map[string]map[string]int{}, holds: map[string]*fakeHold{}, late: map[string]bool{},
		queues: map[string][]Record{},
	}
}

func (f *fakeCartstream) enqueue(recs []Record) {
	for _, r := range recs {
		k := r.Topic + "/" + string(r.Key)
		f.queues[k] = append(f.queues[k], r)
	}
}

func (f *fakeCartstream) idle() bool { return len(f.queues) == 0 }

// step processes the head of a random key's queue.
func (f *fakeCartstream) step(rng *rand.Rand) {
	keys := make([]string, 0, len(f.queues))
	for k := range f.queues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	k := keys[rng.IntN(len(keys))]
	r := f.queues[k][0]
	if f.queues[k] = f.queues[k][1:]; len(f.queues[k]) == 0 {
		delete(f.queues, k)
	}
	f.process(r)
}

func (f *fakeCartstream) process(r Record) {
	ts := r.Timestamp
	var e cartEvent
	if r.Topic == DefaultCartEventsTopic {
		if err := json.Unmarshal(r.Value, &e); err != nil {
			f.t.Fatalf("cart event %s: %v", r.Value, err)
		}
		var err error
		if ts, err = time.Parse(time.RFC3339Nano, e.TS); err != nil {
			f.t.Fatalf("cart event ts %q: %v", e.TS, err)
		}
	}
	if ts.After(f.stream) {
		f.stream = ts
	}
	f.expire()
	if r.Topic != DefaultCartEventsTopic || f.seen[e.EventID] {
		return
	}
	f.seen[e.EventID] = true
	cart := f.carts[e.CartID]
	if cart == nil {
		cart = map[string]int{}
		f.carts[e.CartID] = cart
	}
	switch e.Type {
	case "item_added", "item_removed", "quantity_set":
		before := maps.Clone(cart)
		switch {
		case e.Type == "item_added":
			cart[e.SKU] += *e.Qty
		case e.Type == "item_removed" && e.Qty == nil:
			delete(cart, e.SKU)
		case e.Type == "item_removed":
			cart[e.SKU] -= *e.Qty
		default:
			cart[e.SKU] = *e.Qty
		}
		if cart[e.SKU] <= 0 {
			delete(cart, e.SKU)
		}
		if maps.Equal(before, cart) {
			return
		}
		for id, h := range f.holds {
			if h.cart == e.CartID && h.state == "held" {
				h.state = "released"
				f.emit(e.CartID, id, StatusReleased, "cart_changed", h.lines, "released")
			}
		}
	case "checkout_started":
		var lines []Line
		for sku, q := range cart {
			lines = append(lines, Line{SKU: sku, Qty: q})
		}
		slices.SortFunc(lines, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })
		ok := true
		for _, l := range lines {
			if f.available(l.SKU) < int64(l.Qty) {
				ok = false
			}
		}
		if !ok {
			f.emit(e.CartID, e.CheckoutID, StatusFailed, "insufficient_stock", lines, "rejected")
			return
		}
		f.holds[e.CheckoutID] = &fakeHold{cart: e.CartID, lines: lines, expires: f.stream.Add(f.ttl), state: "held"}
		f.emit(e.CartID, e.CheckoutID, StatusReserved, "", lines, "reserved")
	case "checkout_abandoned":
		if h := f.holds[e.CheckoutID]; h != nil && h.state == "held" {
			h.state = "released"
			f.emit(e.CartID, e.CheckoutID, StatusReleased, "abandoned", h.lines, "released")
		}
	case "checkout_completed":
		h := f.holds[e.CheckoutID]
		late := h == nil || h.state != "held"
		f.late[e.CheckoutID] = late
		for _, l := range h.lines {
			f.sold[l.SKU] += int64(l.Qty)
		}
		h.state = "committed"
		f.emit(e.CartID, e.CheckoutID, StatusCompleted, "", h.lines, "committed")
	}
}

// expire turns held holds past their expiry into expired ones.
func (f *fakeCartstream) expire() {
	ids := make([]string, 0, len(f.holds))
	for id := range f.holds {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if h := f.holds[id]; h.state == "held" && f.stream.After(h.expires) {
			h.state = "expired"
			f.emit(h.cart, id, StatusExpired, "hold_expired", h.lines, "expired")
		}
	}
}

func (f *fakeCartstream) available(sku string) int64 {
	a := f.stock[sku] - f.sold[sku]
	for _, h := range f.holds {
		if h.state == "held" {
			for _, l := range h.lines {
				if l.SKU == sku {
					a -= int64(l.Qty)
				}
			}
		}
	}
	return a
}

func (f *fakeCartstream) emit(cart, checkout, status, reason string, lines []Line, lineStatus string) {
	st := CheckoutStatus{CartID: cart, CheckoutID: checkout, Status: status, Reason: reason, EventTime: f.stream}
	for _, l := range lines {
		st.Lines = append(st.Lines, StatusLine{SKU: l.SKU, Qty: l.Qty, Status: lineStatus})
	}
	f.statuses = append(f.statuses, st)
}

// simulation is one run of a driver against the model.
type simulation struct {
	records []Record
	ledger  Ledger
	model   *fakeCartstream
	driver  *Driver
}

func simSetup(t *testing.T, seed int64, stock []int32) (*Sim, []string) {
	t.Helper()
	s := New(seed, Options{})
	var skus []string
	for i, n := range stock {
		sku := SKU(i + 1)
		skus = append(skus, sku)
		if _, err := s.AddProduct(Product{SKU: sku, Name: sku, Category: "c", Brand: "b", Price: 500, Currency: "USD", Active: true}, n); err != nil {
			t.Fatal(err)
		}
	}
	return s, skus
}

// runDriver drives d against the model until both are done, with random
// batch sizes, processing order and status latency drawn from rng.
func runDriver(t *testing.T, d *Driver, model *fakeCartstream, rng *rand.Rand) []Record {
	t.Helper()
	type delayed struct {
		st    CheckoutStatus
		after int
	}
	var (
		all      []Record
		inFlight []delayed
	)
	for round := 0; ; round++ {
		if round > 2_000_000 {
			t.Fatalf("no end after %d rounds; waiting for %v", round, d.Waiting())
		}
		recs, err := d.Next(1 + rng.IntN(20))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
		model.enqueue(recs)
		for n := rng.IntN(30); n > 0 && !model.idle(); n-- {
			model.step(rng)
		}
		for _, st := range model.statuses {
			inFlight = append(inFlight, delayed{st, round + rng.IntN(5)})
		}
		model.statuses = nil
		// Statuses of one cart arrive in order (one partition).
		kept := inFlight[:0]
		blocked := map[string]bool{}
		delivered := 0
		for _, x := range inFlight {
			if x.after <= round && !blocked[x.st.CartID] {
				d.Observe(x.st)
				delivered++
				continue
			}
			blocked[x.st.CartID] = true
			kept = append(kept, x)
		}
		inFlight = kept
		if len(recs) == 0 && model.idle() && len(inFlight) == 0 && delivered == 0 {
			if !d.Done() {
				t.Fatalf("driver stalled with nothing in flight; waiting for %v\n%s", d.Waiting(), d.debugState())
			}
			return all
		}
	}
}

func runSimulation(t *testing.T, seed int64, stock []int32, opts DriverOptions) simulation {
	t.Helper()
	s, skus := simSetup(t, seed, stock)
	if opts.SKUs == nil {
		opts.SKUs = skus
	}
	d, err := NewDriver(s, seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	model := newFakeCartstream(t, d.opts.HoldTTL, d.Ledger().Stock)
	recs := runDriver(t, d, model, rand.New(rand.NewPCG(uint64(seed), 99)))
	return simulation{records: recs, ledger: d.Ledger(), model: model, driver: d}
}

// busyOptions has every behaviour switched on.
func busyOptions() DriverOptions {
	return DriverOptions{
		Carts: 300, Zipf: 1.3, MaxLines: 3, MaxQty: 2,
		ArrivalGap: 300 * time.Millisecond, ThinkTime: 500 * time.Millisecond,
		HoldTTL: 20 * time.Second, DuplicateRate: 0.15, DuplicateDelay: 2 * time.Second,
		OutboxFirstRate: 0.5, ConnectorDuplicateRate: 0.2,
		AbandonRate: 0.1, WalkAwayRate: 0.1, EditRate: 0.1, LateRate: 0.1, RetryRate: 0.5,
	}
}

// On-time completions are on time in any stream time, whatever the
// latency and order in which cartstream reads the records: the model never
// finds their holds expired, and what cartstream promised on time never
// exceeds the stock.
func TestDriverOnTimeCompletionsFindLiveHolds(t *testing.T) {
	refused := 0
	defer func() {
		if refused == 0 && !t.Failed() {
			t.Errorf("no seed had a refused order")
		}
	}()
	for seed := int64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			sim := runSimulation(t, seed, []int32{60, 40, 60, 80, 200}, busyOptions())
			l := sim.ledger
			onTime, late := 0, 0
			for _, o := range l.Orders {
				modelLate, ok := sim.model.late[o.CheckoutID]
				if !ok {
					t.Fatalf("order %s never completed in cartstream", o.OrderID)
				}
				if o.OnTime {
					onTime++
					if modelLate {
						t.Errorf("order %s completed on time by the driver found no live hold", o.OrderID)
					}
				}
				if o.LateOnPurpose {
					late++
				}
			}
			promised := map[string]int64{}
			for _, o := range l.Orders {
				if o.OnTime {
					for _, ln := range o.Lines {
						promised[ln.SKU] += int64(ln.Qty)
					}
				}
			}
			for _, o := range l.Refused {
				if o.OnTime {
					for _, ln := range o.Lines {
						promised[ln.SKU] += int64(ln.Qty)
					}
				}
			}
			for sku, n := range promised {
				if n > l.Stock[sku] {
					t.Errorf("%s: %d units promised on time, stock %d", sku, n, l.Stock[sku])
				}
			}
			for sku, n := range l.Sold {
				if n > l.Stock[sku] {
					t.Errorf("%s: the database sold %d of %d", sku, n, l.Stock[sku])
				}
			}
			if l.Anomalies != 0 {
				t.Errorf("%d anomalies against a correct model: %v", l.Anomalies, l.AnomalyNotes)
			}
			if onTime == 0 || late == 0 {
				t.Errorf("a busy run should have on-time (%d) and late (%d) orders", onTime, late)
			}
			refused += len(l.Refused)
			if l.DuplicateEvents == 0 || l.OutboxFirst == 0 || l.ConnectorDuplicates == 0 {
				t.Errorf("no duplicates or reordering: %+v", l)
			}
			t.Logf("checkouts %d, orders %d (on time %d, late on purpose %d), refused %d, events %d (+%d duplicates)",
				len(l.CheckoutIDs), len(l.Orders), onTime, late, len(l.Refused), l.CartEvents, l.DuplicateEvents)
		})
	}
}

// The same seed and the same statuses give the same records, byte for
// byte; another seed gives others.
func TestDriverIsDeterministic(t *testing.T) {
	a := runSimulation(t, 7, []int32{10, 20, 40}, busyOptions())
	b := runSimulation(t, 7, []int32{10, 20, 40}, busyOptions())
	if len(a.records) != len(b.records) {
		t.Fatalf("%d records, then %d", len(a.records), len(b.records))
	}
	for i := range a.records {
		x, y := a.records[i], b.records[i]
		if x.Topic != y.Topic || !bytes.Equal(x.Key, y.Key) || !bytes.Equal(x.Value, y.Value) || !x.Timestamp.Equal(y.Timestamp) {
			t.Fatalf("record %d differs:\n%s\n%s", i, x.Value, y.Value)
		}
	}
	c := runSimulation(t, 8, []int32{10, 20, 40}, busyOptions())
	if len(c.records) == len(a.records) && bytes.Equal(c.records[len(c.records)-1].Value, a.records[len(a.records)-1].Value) {
		t.Errorf("seeds 7 and 8 gave the same run")
	}
}

// Every cart event validates against the published schema; a cart's events
// never go back in time; its first event carries the currency; duplicates
// repeat an earlier record byte for byte.
func TestDriverCartEventsFollowTheContract(t *testing.T) {
	sim := runSimulation(t, 3, []int32{10, 20, 40}, busyOptions())
	sch, err := csschemas.CompileJSONSchema(csschemas.JSONCartEvent)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string][]byte{}
	last := map[string]time.Time{}
	dups := 0
	for _, r := range sim.records {
		if r.Topic != DefaultCartEventsTopic {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Value))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Fatalf("%s: %v", r.Value, err)
		}
		var e cartEvent
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != e.CartID {
			t.Errorf("key %s, cart_id %s", r.Key, e.CartID)
		}
		if prev, ok := seen[e.EventID]; ok {
			if !bytes.Equal(prev, r.Value) {
				t.Errorf("event %s delivered twice with different bytes", e.EventID)
			}
			dups++
			continue
		}
		seen[e.EventID] = r.Value
		ts, _ := time.Parse(time.RFC3339Nano, e.TS)
		if ts.Before(last[e.CartID]) {
			t.Errorf("cart %s goes back in time at %s", e.CartID, e.EventID)
		}
		if _, ok := last[e.CartID]; !ok && e.Currency != "USD" {
			t.Errorf("first event of %s has no currency: %s", e.CartID, r.Value)
		}
		last[e.CartID] = ts
	}
	if dups != sim.ledger.DuplicateEvents || len(seen) != sim.ledger.CartEvents {
		t.Errorf("%d events + %d duplicates, ledger says %d + %d", len(seen), dups, sim.ledger.CartEvents, sim.ledger.DuplicateEvents)
	}
}

// A flash sale: every cart wants the one SKU at once; exactly the stock
// is sold and nobody waits past the hold TTL.
func TestDriverFlashSale(t *testing.T) {
	sim := runSimulation(t, 11, []int32{100}, DriverOptions{Carts: 2000, MaxLines: 1, MaxQty: 1, DuplicateRate: 0.1})
	l := sim.ledger
	if len(l.CheckoutIDs) != 2000 || len(l.Orders) != 100 || len(l.Refused) != 0 || l.Sold[SKU(1)] != 100 {
		t.Fatalf("checkouts %d, orders %d, refused %d, sold %d", len(l.CheckoutIDs), len(l.Orders), len(l.Refused), l.Sold[SKU(1)])
	}
	for _, o := range l.Orders {
		if !o.OnTime {
			t.Errorf("order %s not on time", o.OrderID)
		}
	}
}

// The ledger counts restocks into the stock and the records carry them.
func TestDriverRestocks(t *testing.T) {
	s, skus := simSetup(t, 5, []int32{3, 3})
	d, err := NewDriver(s, 5, DriverOptions{SKUs: skus, Carts: 10, RestockEvery: 2, RestockQty: 7})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := d.Next(0)
	if err != nil {
		t.Fatal(err)
	}
	restocks := 0
	for _, r := range recs {
		if r.Topic == s.Topics().Inventory {
			restocks++
		}
	}
	l := d.Ledger()
	if restocks != 5 || l.Restocks != 5 || l.Stock[skus[0]]+l.Stock[skus[1]] != 6+35 {
		t.Errorf("%d restock records, ledger %d restocks, stock %v", restocks, l.Restocks, l.Stock)
	}
	for _, sku := range skus {
		st, _ := s.Stock(sku)
		if int64(st.OnHand) != l.Stock[sku] {
			t.Errorf("%s: on_hand %d, ledger stock %d", sku, st.OnHand, l.Stock[sku])
		}
	}
}

// Without statuses the driver stops at the first on-time checkout's
// deadline instead of running time on; once it is done nothing is left.
func TestDriverWaitsForStatuses(t *testing.T) {
	s, skus := simSetup(t, 2, []int32{5})
	d, err := NewDriver(s, 2, DriverOptions{SKUs: skus, Carts: 50, ArrivalGap: time.Second, HoldTTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := d.Next(0)
	if err != nil {
		t.Fatal(err)
	}
	var first time.Time
	for _, r := range recs {
		if bytes.Contains(r.Value, []byte(`"checkout_started"`)) {
			first = r.Timestamp
			break
		}
	}
	if len(recs) == 0 || d.Done() {
		t.Fatalf("%d records, done %v", len(recs), d.Done())
	}
	w := d.Waiting()
	if len(w) == 0 {
		t.Fatal("waiting for nothing")
	}
	for _, r := range recs {
		if r.Timestamp.After(first.Add(30*time.Second - DefaultMargin)) {
			t.Fatalf("record at %s passed the first checkout's deadline (started %s): %s", r.Timestamp, first, r.Value)
		}
	}
	if more, _ := d.Next(0); len(more) != 0 {
		t.Errorf("blocked driver produced %d more records", len(more))
	}
}

func TestDriverOptionsAreChecked(t *testing.T) {
	s, skus := simSetup(t, 1, []int32{1})
	for name, o := range map[string]DriverOptions{
		"no skus":         {Carts: 1},
		"no carts":        {SKUs: skus},
		"unknown sku":     {SKUs: []string{"nope"}, Carts: 1},
		"rate above 1":    {SKUs: skus, Carts: 1, DuplicateRate: 1.5},
		"fates above 1":   {SKUs: skus, Carts: 1, AbandonRate: 0.6, LateRate: 0.6},
		"short ttl":       {SKUs: skus, Carts: 1, HoldTTL: 2 * time.Second},
		"bad currency":    {SKUs: skus, Carts: 1, Currency: "usd"},
		"browse above 1":  {SKUs: skus, Carts: 1, BrowseRate: 1.1},
		"negative change": {SKUs: skus, Carts: 1, ChangeRate: -0.1},
		"flash not a sku": {SKUs: skus, Carts: 1, FlashSKU: "nope"},
		"empty coupon":    {SKUs: skus, Carts: 1, CouponRate: 0.5, CouponCodes: []string{""}},
	} {
		if _, err := NewDriver(s, 1, o); !errors.Is(err, ErrDriverOptions) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func (d *Driver) debugState() string {
	var b strings.Builder
	fmt.Fprintf(&b, "now %s arrived %d pending %d main %d comp %d\n", d.Now().Format(time.RFC3339Nano), d.arrived, d.pending, len(d.main), len(d.comp))
	if len(d.main) > 0 {
		a := d.main[0]
		fmt.Fprintf(&b, "main top kind %d due %s reach %s\n", a.kind, a.due.Format(time.RFC3339Nano), d.reach(a).Format(time.RFC3339Nano))
	}
	if len(d.comp) > 0 {
		a := d.comp[0]
		fmt.Fprintf(&b, "comp top due %s reach %s\n", a.due.Format(time.RFC3339Nano), d.reach(a).Format(time.RFC3339Nano))
	}
	fmt.Fprintf(&b, "hard %s soft %s\n", limitOf(&d.hard, hardGuard), limitOf(&d.soft, d.softGuard))
	if len(d.soft) > 0 {
		g := d.soft[0].co
		fmt.Fprintf(&b, "soft top %s phase %d fate %d\n", g.id, g.phase, g.fate)
	}
	return b.String()
}
