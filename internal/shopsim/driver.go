package shopsim

import (
	"container/heap"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Defaults of DriverOptions.
const (
	// DefaultCartEventsTopic is where storefront clients write cart events.
	DefaultCartEventsTopic = "cart-events"
	// DefaultCurrency is the carts' currency.
	DefaultCurrency = "USD"
	// DefaultHoldTTL is cartstream's default --hold-ttl. The driver must
	// know the TTL the instance runs with to complete on time or late.
	DefaultHoldTTL = 10 * time.Minute
	// DefaultMargin is how much earlier than a hold could possibly expire
	// the driver still calls a completion on time.
	DefaultMargin = time.Second
	// DefaultMaxLines bounds the distinct SKUs of a cart.
	DefaultMaxLines = 3
	// DefaultMaxQty bounds the units of one line.
	DefaultMaxQty = 2
	// DefaultMaxCheckouts bounds the checkouts one cart starts (the first
	// and its retries).
	DefaultMaxCheckouts = 3
	// DefaultRestockQty is the units one restock adds.
	DefaultRestockQty = 5
	// maxAnomalies bounds the anomaly descriptions a Ledger keeps; the
	// count goes on.
	maxAnomalies = 100
)

// Bounds of what one database transaction does to record timestamps,
// derived from the simulated connector above: the clock moves by at most
// maxTxGap before the transaction, and its records carry at most the
// connector's lag plus a few milliseconds of per-record jitter past the
// commit.
const (
	// orderLag bounds how far past the clock after a transaction its
	// records' timestamps lie.
	orderLag = maxLag + 50*time.Millisecond
	// orderStep bounds how far past the clock before a transaction its
	// records' timestamps lie.
	orderStep = maxTxGap + orderLag
)

// ErrDriverOptions is wrapped by NewDriver's errors.
var ErrDriverOptions = errors.New("shopsim: invalid driver options")

// Checkout statuses of cartstream.checkouts (DESIGN §6) the driver reacts
// to.
const (
	StatusReserved  = "reserved"
	StatusFailed    = "failed"
	StatusReleased  = "released"
	StatusExpired   = "expired"
	StatusCompleted = "completed"
)

// ReasonLateCommit is the line reason cartstream gives a commit no live
// hold covered.
const ReasonLateCommit = "late_commit"

// CheckoutStatus is one record of cartstream.checkouts as the storefront
// reads it (schemas/json/checkout_status.schema.json); its JSON tags follow
// the contract, so encoding/json decodes a record into it (null reasons
// become ""). The driver never decodes records itself: the caller consumes
// the topic and feeds what it decoded to Observe.
type CheckoutStatus struct {
	CartID     string       `json:"cart_id"`
	CheckoutID string       `json:"checkout_id"`
	Status     string       `json:"status"`
	Reason     string       `json:"reason"`
	Lines      []StatusLine `json:"lines"`
	EventTime  time.Time    `json:"event_time"`
}

// StatusLine is one line of a CheckoutStatus.
type StatusLine struct {
	SKU    string `json:"sku"`
	Qty    int    `json:"qty"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// DriverOptions configure a Driver. Rates are probabilities in [0, 1];
// zero means never. The fate rates of a checkout (Abandon, WalkAway, Edit,
// Late) are drawn once when it starts and must not sum to more than 1; the
// rest of the checkouts that reserve complete on time.
type DriverOptions struct {
	// SKUs are the SKUs carts choose from, most popular first. Required;
	// each must have an inventory row in the Sim.
	SKUs []string
	// Zipf is the exponent s of a Zipf distribution over SKUs (s > 1:
	// SKUs[0] is the most popular). 0 (or anything <= 1) chooses
	// uniformly.
	Zipf float64
	// Carts is the number of carts that arrive. Required, except with
	// Paced, where 0 means no end.
	Carts int
	// MaxLines bounds the distinct SKUs a cart adds (1..MaxLines, capped
	// at len(SKUs)). Default DefaultMaxLines.
	MaxLines int
	// MaxQty bounds the units of a line (1..MaxQty). Default DefaultMaxQty.
	MaxQty int
	// ArrivalGap is the mean simulated time between two carts' arrivals
	// (exponentially distributed). 0: every cart arrives at once. Paced
	// drivers ignore it.
	ArrivalGap time.Duration
	// ThinkTime is the mean simulated time between a cart's own actions
	// (exponentially distributed). 0: none.
	ThinkTime time.Duration
	// HoldTTL is the --hold-ttl the cartstream instance runs with.
	// Default DefaultHoldTTL.
	HoldTTL time.Duration
	// Margin is kept between the latest record timestamp of an on-time
	// completion and the earliest instant its holds could expire. Default
	// DefaultMargin.
	Margin time.Duration

	// DuplicateRate is the probability that a cart event is delivered
	// twice (byte-identical, same event_id).
	DuplicateRate float64
	// DuplicateDelay is the longest simulated time after the original at
	// which a duplicate is delivered (uniformly distributed). 0: right
	// after it.
	DuplicateDelay time.Duration
	// OutboxFirstRate is the probability that an order's outbox record is
	// delivered before its inventory changes.
	OutboxFirstRate float64
	// ConnectorDuplicateRate is the probability that the connector
	// delivers an order's records twice (a task restart).
	ConnectorDuplicateRate float64

	// AbandonRate: a reserved checkout is abandoned (checkout_abandoned).
	AbandonRate float64
	// WalkAwayRate: a reserved checkout is left alone; its holds expire.
	WalkAwayRate float64
	// EditRate: the cart adds a unit during a reserved checkout (which
	// releases it) and checks out again.
	EditRate float64
	// LateRate: a reserved checkout completes after its holds' TTL, in
	// simulated time.
	LateRate float64
	// RetryRate is the probability that a failed checkout is started
	// again (a new checkout id, the same lines).
	RetryRate float64
	// MaxCheckouts bounds the checkouts of one cart. Default
	// DefaultMaxCheckouts.
	MaxCheckouts int

	// BrowseRate is the probability that a cart only browses: it adds,
	// changes and removes lines and tries coupons like any other cart,
	// then leaves without checking out. Launch-day traffic is mostly
	// that. Any of BrowseRate, ChangeRate, CouponRate, FlashSKU or Paced
	// makes carts follow a session plan (see Driver); with none of them a
	// cart only adds lines and checks out, as before they existed.
	BrowseRate float64
	// ChangeRate is the probability that a cart, after each line it adds,
	// changes a line it holds: sets a new quantity (quantity_set, 0
	// included, which drops the line) or removes all or some of its units
	// (item_removed). A cart about to check out with no line left adds
	// one first.
	ChangeRate float64
	// CouponCodes are the codes of the shop's coupon promotions.
	// CouponRate is the probability that a cart applies a coupon before it
	// checks out or leaves: one of CouponCodes or, with probability
	// UnknownCouponRate (always when CouponCodes is empty), a made-up code
	// no promotion has (UnknownCouponPrefix and digits).
	// CouponRemoveRate is the probability that the cart then removes it.
	CouponCodes                                     []string
	CouponRate, UnknownCouponRate, CouponRemoveRate float64
	// FlashSKU, when set, is a SKU every cart adds first, one unit: a
	// flash sale that concentrates checkouts on it. It must be one of
	// SKUs; the cart's other lines are drawn as usual (and a change may
	// touch the flash-sale line too). Restocks never restock it: the
	// units on sale are its stock when the driver starts.
	FlashSKU string

	// Paced makes carts arrive when the caller's rate leaves room instead
	// of on the ArrivalGap schedule: the caller calls Pace with its clock,
	// never Next (see Pace). Carts still bounds the arrivals.
	Paced bool
	// OverlapTransactions lets the simulated database's transactions
	// (orders and restocks) overlap the storefront's clock instead of
	// following one another on it. A Sim lets up to MaxTransactionGap of
	// simulated time pass before each transaction, as if one client
	// worked at a time: about one order per simulated second, which is
	// plenty for audits in simulated time but would carry a run paced by
	// the wall clock minutes ahead of it within seconds. With it, the
	// clock returns after each transaction to where the storefront was:
	// the transaction's records (and its checkout_completed event) still
	// lie up to MaxTransactionGap plus the connector's lag ahead of the
	// clock, but that lead never adds up.
	OverlapTransactions bool

	// RestockEvery restocks a SKU (drawn like a cart's) every RestockEvery
	// cart arrivals; 0: never.
	RestockEvery int
	// RestockQty is the units of one restock. Default DefaultRestockQty.
	RestockQty int

	// CartEventsTopic is the topic of cart events. Default
	// DefaultCartEventsTopic.
	CartEventsTopic string
	// Currency of the carts. Default DefaultCurrency.
	Currency string
	// IDPrefix starts every cart id (and so every event, checkout and
	// order id). Default "s<seed>-", so runs with different seeds against
	// one cluster never share ids.
	IDPrefix string
}

// Ledger is the driver's account of what the simulated database and the
// storefront did, for audits. It is a copy: changing it changes nothing.
type Ledger struct {
	// Stock is, per SKU, every unit the database ever had: the on_hand of
	// its inventory row when the driver was created plus every restock.
	Stock map[string]int64
	// Sold is, per SKU, the units on placed orders.
	Sold map[string]int64
	// Orders are the orders the database accepted, in order.
	Orders []PlacedOrder
	// Refused are the orders the database refused (stock too short).
	Refused []RefusedOrder
	// CheckoutIDs are the checkouts started, in order.
	CheckoutIDs []string
	// CartEvents counts the cart events generated; DuplicateEvents the
	// extra deliveries of some of them.
	CartEvents, DuplicateEvents int
	// BrowseCarts counts the carts that arrived to browse only;
	// CouponsApplied and CouponsRemoved the coupon events planned (an
	// unknown code included).
	BrowseCarts, CouponsApplied, CouponsRemoved int
	// OutboxFirst and ConnectorDuplicates count the orders whose records
	// were delivered outbox first, and twice.
	OutboxFirst, ConnectorDuplicates int
	// Restocks counts restocks.
	Restocks int
	// Anomalies counts statuses that contradict what the storefront did
	// or could have caused; AnomalyNotes describes the first ones.
	Anomalies    int
	AnomalyNotes []string
}

// PlacedOrder is an order the database accepted.
type PlacedOrder struct {
	OrderID, CheckoutID, CartID string
	Lines                       []Line
	// OnTime says every record of the completion carried a timestamp
	// before its holds could expire in any partition's stream time (see
	// Driver), and cartstream had not reported the checkout expired: the
	// holds must still have been live.
	OnTime bool
	// LateOnPurpose says the driver waited past the hold TTL on purpose.
	LateOnPurpose bool
}

// RefusedOrder is an order the database refused.
type RefusedOrder struct {
	OrderID, CheckoutID, CartID string
	Lines                       []Line
	// OnTime and LateOnPurpose as in PlacedOrder. A refused on-time
	// completion means cartstream held units the database did not have,
	// unless an order completed late had taken them meanwhile.
	OnTime, LateOnPurpose bool
	// Reason is the database's error; SKU the line it refused.
	Reason string
	SKU    string
}

// Driver plays a storefront against a Sim: carts arrive, add SKUs and check
// out (or, with a session plan, also change and remove lines, try coupons
// and often leave without checking out); the driver reacts to the checkout
// statuses cartstream reports
// (Observe) by placing the order in the simulated database and completing
// the checkout, or by abandoning, editing, walking away or completing late,
// as each checkout's fate (drawn from the seed) says. It returns every
// record for Kafka (cart events, and the CDC and outbox records of orders and
// restocks) for the caller to produce, and keeps a Ledger.
//
// # Determinism
//
// The driver never reads the wall clock or global randomness. Everything a
// cart does (its SKUs, quantities, think times, fates, duplicates) comes
// from a generator derived from the seed and the cart's number alone, so it
// does not depend on when statuses arrive. What does depend on it is the
// interleaving of carts and the simulated database's own draws (transaction
// gaps, connector lag, uuids), which follow the order of PlaceOrder calls.
//
// # Sessions
//
// Without BrowseRate, ChangeRate, CouponRate, FlashSKU and Paced a cart adds
// 1 to MaxLines distinct SKUs and checks out. With any of them it follows
// a session plan drawn at its arrival: the flash-sale SKU first, then
// distinct SKUs, each add possibly followed by a change of a line
// (quantity_set or item_removed), possibly a coupon applied (and removed
// again), and, unless it only browses, its checkout.
//
// # Pacing
//
// Next runs the simulation as fast as the caller asks, in simulated time.
// A load generator instead runs a Paced driver with Pace and its wall clock:
// carts arrive as its rate leaves room, the clock follows the wall clock,
// and, with OverlapTransactions, orders do not carry the clock ahead of it.
//
// # Time
//
// Every record carries the Sim's clock, which the driver moves to each
// action's due time (and the database moves by up to two seconds per
// transaction). A hold made for a checkout started at t cannot expire
// before t + HoldTTL in any stream time: its reserve carries event time t,
// and stream time only moves with records, all of which carry the clock
// (this needs cartstream to believe the cart events' ts: its --max-skew
// must cover how far the simulated clock runs from the broker's, and ticks
// must carry the simulated clock too). So the driver keeps the clock
// from passing t + HoldTTL − Margin (minus what one order adds) while an
// on-time completion of that checkout is in flight — from its completion
// until its completed status — and holds back new load while such a
// checkout waits for its status or its completion; it returns no records
// meanwhile (see Next). A completion whose records would pass that line is
// recorded as not on time. Late completions and everything else wait as
// well, so on-time completions stay on time.
//
// A Driver is not safe for concurrent use.
type Driver struct {
	sim  *Sim
	opts DriverOptions
	seed int64
	rng  *rand.Rand // restocks: drawn in arrival order

	seq        uint64
	main, comp actionHeap // comp: on-time completions
	soft, hard guardHeap

	arrived   int // carts arrived so far
	pending   int // checkouts waiting for their first decided status
	checkouts map[string]*dcheckout

	ledger Ledger
}

// fate is what a reserved checkout will do.
type fate uint8

const (
	fateComplete fate = iota
	fateLate
	fateAbandon
	fateWalkAway
	fateEdit
)

// phase is where a checkout stands in the driver's view.
type phase uint8

const (
	phasePending    phase = iota // started; no decided status yet
	phaseReserved                // reserved; the fate's action is scheduled
	phaseCommitting              // completed; completed status not seen yet
	phaseDone                    // nothing left to do
)

type dcart struct {
	id        string
	rng       *rand.Rand
	lines     []Line // current contents, in the order added
	events    int
	checkouts int
	sentFirst bool
	browse    bool // never checks out
}

type dcheckout struct {
	id       string
	cart     *dcart
	lines    []Line
	started  time.Time
	deadline time.Time // started + HoldTTL − Margin
	fate     fate
	phase    phase
	onTime   bool // a completion in flight is on time
	expired  bool // cartstream reported it expired
}

type actKind uint8

const (
	actArrive actKind = iota
	actAdd
	actStart
	actComplete
	actAbandon
	actEdit
	actRedeliver
	actRestock
	actStep // a planned cart event (session plans, see plan)
)

type action struct {
	due  time.Time
	seq  uint64
	kind actKind
	n    int // actArrive: cart number (0-based)
	cart *dcart
	co   *dcheckout
	line Line      // actAdd
	rec  Record    // actRedeliver
	ev   cartEvent // actStep
}

// NewDriver returns a driver for sim whose choices derive from seed alone.
// It records the on_hand of every inventory row sim has now as the stock the
// database had at the start; the driver's restocks add to it.
func NewDriver(sim *Sim, seed int64, opts DriverOptions) (*Driver, error) {
	if sim == nil {
		return nil, fmt.Errorf("%w: nil Sim", ErrDriverOptions)
	}
	if err := opts.normalize(seed); err != nil {
		return nil, err
	}
	for _, sku := range opts.SKUs {
		if _, ok := sim.Stock(sku); !ok {
			return nil, fmt.Errorf("%w: SKU %q has no inventory row", ErrDriverOptions, sku)
		}
	}
	d := &Driver{
		sim:       sim,
		opts:      opts,
		seed:      seed,
		rng:       rand.New(rand.NewPCG(uint64(seed), 0xd71e_0000_0000_0000)),
		checkouts: map[string]*dcheckout{},
		ledger:    Ledger{Stock: map[string]int64{}, Sold: map[string]int64{}},
	}
	for _, st := range sim.Inventory() {
		d.ledger.Stock[st.SKU] = int64(st.OnHand)
	}
	if !opts.Paced {
		d.push(&action{due: sim.Now(), kind: actArrive})
	}
	return d, nil
}

func (o *DriverOptions) normalize(seed int64) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrDriverOptions, fmt.Sprintf(format, args...))
	}
	if len(o.SKUs) == 0 {
		return bad("no SKUs")
	}
	switch {
	case o.Carts == 0 && o.Paced:
		o.Carts = math.MaxInt
	case o.Carts <= 0:
		return bad("carts %d: want at least one", o.Carts)
	}
	seen := map[string]bool{}
	for _, s := range o.SKUs {
		if s == "" || seen[s] {
			return bad("SKU %q empty or listed twice", s)
		}
		seen[s] = true
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"duplicate", o.DuplicateRate}, {"outbox-first", o.OutboxFirstRate}, {"connector duplicate", o.ConnectorDuplicateRate},
		{"abandon", o.AbandonRate}, {"walk-away", o.WalkAwayRate}, {"edit", o.EditRate}, {"late", o.LateRate}, {"retry", o.RetryRate},
		{"browse", o.BrowseRate}, {"change", o.ChangeRate},
		{"coupon", o.CouponRate}, {"unknown coupon", o.UnknownCouponRate}, {"coupon remove", o.CouponRemoveRate},
	} {
		if !(r.v >= 0 && r.v <= 1) {
			return bad("%s rate %v: want a probability in [0, 1]", r.name, r.v)
		}
	}
	if s := o.AbandonRate + o.WalkAwayRate + o.EditRate + o.LateRate; s > 1 {
		return bad("abandon, walk-away, edit and late rates sum to %v > 1", s)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"arrival gap", o.ArrivalGap}, {"think time", o.ThinkTime}, {"hold TTL", o.HoldTTL}, {"margin", o.Margin}, {"duplicate delay", o.DuplicateDelay}} {
		if d.v < 0 {
			return bad("%s %v is negative", d.name, d.v)
		}
	}
	if o.MaxLines < 0 || o.MaxQty < 0 || o.MaxCheckouts < 0 || o.RestockEvery < 0 || o.RestockQty < 0 {
		return bad("negative count")
	}
	if o.MaxLines == 0 {
		o.MaxLines = DefaultMaxLines
	}
	o.MaxLines = min(o.MaxLines, len(o.SKUs))
	if o.MaxQty == 0 {
		o.MaxQty = DefaultMaxQty
	}
	if o.MaxCheckouts == 0 {
		o.MaxCheckouts = DefaultMaxCheckouts
	}
	if o.RestockQty == 0 {
		o.RestockQty = DefaultRestockQty
	}
	if o.HoldTTL == 0 {
		o.HoldTTL = DefaultHoldTTL
	}
	if o.Margin == 0 {
		o.Margin = DefaultMargin
	}
	if o.HoldTTL <= o.Margin+orderStep {
		return bad("hold TTL %v leaves no time to complete on time: it must exceed the margin plus %v (one database transaction and its connector lag)", o.HoldTTL, orderStep)
	}
	if o.CartEventsTopic == "" {
		o.CartEventsTopic = DefaultCartEventsTopic
	}
	if o.Currency == "" {
		o.Currency = DefaultCurrency
	}
	if !validCurrency(o.Currency) {
		return bad("currency %q", o.Currency)
	}
	if o.FlashSKU != "" && !seen[o.FlashSKU] {
		return bad("flash-sale SKU %q is not one of the SKUs", o.FlashSKU)
	}
	for _, c := range o.CouponCodes {
		if c == "" {
			return bad("empty coupon code")
		}
	}
	if o.IDPrefix == "" {
		o.IDPrefix = fmt.Sprintf("s%d-", seed)
	}
	o.SKUs = slices.Clone(o.SKUs)
	o.CouponCodes = slices.Clone(o.CouponCodes)
	return nil
}

// Now returns the simulated clock: the timestamp of the driver's latest
// cart event and the lower bound of the next one's.
func (d *Driver) Now() time.Time { return d.sim.Now() }

// Advance moves the simulated clock forward by dur, e.g. at the end of a
// run to let holds expire. Records produced afterwards carry the new time.
func (d *Driver) Advance(dur time.Duration) { d.sim.Advance(dur) }

// Arrived returns how many carts have arrived so far.
func (d *Driver) Arrived() int { return d.arrived }

// Done reports whether the driver has nothing left to do: every cart has
// arrived, no action is scheduled and no checkout waits for a status that
// would make it act. Completions whose completed status has not been seen
// yet do not count: the driver would not act on it.
func (d *Driver) Done() bool {
	return d.arrived >= d.opts.Carts && len(d.main) == 0 && len(d.comp) == 0 && d.pending == 0
}

// Waiting returns the checkouts the driver waits on (started without a
// decided status, or an on-time completion without its completed status),
// sorted, for diagnosing a run that stalls.
func (d *Driver) Waiting() []string {
	var out []string
	for id, co := range d.checkouts {
		if co.phase == phasePending || co.phase == phaseCommitting && co.onTime {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Ledger returns a copy of the driver's ledger.
func (d *Driver) Ledger() Ledger {
	l := d.ledger
	l.Stock = maps.Clone(d.ledger.Stock)
	l.Sold = maps.Clone(d.ledger.Sold)
	l.Orders = slices.Clone(d.ledger.Orders)
	l.Refused = slices.Clone(d.ledger.Refused)
	l.AnomalyNotes = slices.Clone(d.ledger.AnomalyNotes)
	l.CheckoutIDs = slices.Clone(d.ledger.CheckoutIDs)
	return l
}

// Next runs the driver's due actions in order of their simulated time and
// returns their records, stopping once it has at least limit records (a
// limit <= 0 means no limit) or when no action may run now. It returns no
// records when the driver is done or must wait for statuses (see the type's
// documentation on time); feed them with Observe and call Next again.
//
// Records of one cart are returned in the order they must be produced; the
// caller produces them in that order (per partition) before producing the
// records of a later call. An error means the simulated database rejected
// something other than a short stock: a bug in the caller's setup.
func (d *Driver) Next(limit int) ([]Record, error) {
	var out []Record
	if d.opts.Paced {
		return nil, fmt.Errorf("%w: a paced driver runs with Pace, not Next", ErrDriverOptions)
	}
	for limit <= 0 || len(out) < limit {
		a := d.pick(time.Time{})
		if a == nil {
			break
		}
		var err error
		out, err = d.run(a, out)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Observe feeds the driver one checkout status. Statuses of checkouts the
// driver did not start are ignored, and so are repeats (cartstream may
// emit a status again after a restart).
func (d *Driver) Observe(st CheckoutStatus) {
	co := d.checkouts[st.CheckoutID]
	if co == nil || st.CartID != co.cart.id {
		return
	}
	switch st.Status {
	case StatusReserved:
		if co.phase != phasePending {
			return
		}
		d.decided(co)
		if !sameLines(co.lines, st.Lines) {
			d.anomaly("checkout %s: reserved lines %v differ from the cart's %v", co.id, statusLines(st.Lines), co.lines)
		}
		d.reserved(co)
	case StatusFailed:
		if co.phase != phasePending {
			return
		}
		d.decided(co)
		co.phase = phaseDone
		c := co.cart
		if c.rng.Float64() < d.opts.RetryRate && c.checkouts < d.opts.MaxCheckouts {
			d.push(&action{due: d.later(c), kind: actStart, cart: c})
		}
	case StatusExpired:
		co.expired = true
		// A hold of a checkout started at t lives at least until
		// t + HoldTTL in stream time; an expiry reported earlier is
		// wrong whatever the timing.
		if st.EventTime.Before(co.started.Add(d.opts.HoldTTL)) {
			d.anomaly("checkout %s: expired at %s, before its holds could (started %s, hold TTL %s)", co.id, st.EventTime.Format(time.RFC3339Nano), co.started.Format(time.RFC3339Nano), d.opts.HoldTTL)
		}
		if co.phase == phasePending {
			d.decided(co)
			co.phase = phaseDone
			d.anomaly("checkout %s: expired before it was reserved", co.id)
		}
	case StatusReleased:
		// The driver never waits for a release it caused; one it did
		// not cause (a pending or reserved checkout) is an anomaly.
		if co.phase == phasePending || co.phase == phaseReserved {
			if co.phase == phasePending {
				d.decided(co)
			}
			co.phase = phaseDone
			d.anomaly("checkout %s: released (%s) though the cart neither changed nor abandoned it", co.id, st.Reason)
		}
	case StatusCompleted:
		if co.phase == phaseCommitting {
			co.phase = phaseDone
		}
		for _, l := range st.Lines {
			if l.Status != "committed" {
				d.anomaly("checkout %s: completed with line %s %s", co.id, l.SKU, l.Status)
			}
		}
	}
}

func (d *Driver) decided(co *dcheckout) {
	if co.phase == phasePending {
		d.pending--
	}
}

// reserved schedules what a reserved checkout's fate says.
func (d *Driver) reserved(co *dcheckout) {
	c := co.cart
	co.phase = phaseReserved
	switch co.fate {
	case fateComplete:
		d.push(&action{due: d.later(c), kind: actComplete, cart: c, co: co})
	case fateLate:
		due := co.started.Add(d.opts.HoldTTL + d.opts.Margin + d.think(c))
		d.push(&action{due: maxTime(due, d.Now()), kind: actComplete, cart: c, co: co})
	case fateAbandon:
		d.push(&action{due: d.later(c), kind: actAbandon, cart: c, co: co})
	case fateEdit:
		d.push(&action{due: d.later(c), kind: actEdit, cart: c, co: co})
	case fateWalkAway:
		co.phase = phaseDone
	}
}

func (d *Driver) anomaly(format string, args ...any) {
	d.ledger.Anomalies++
	if len(d.ledger.AnomalyNotes) < maxAnomalies {
		d.ledger.AnomalyNotes = append(d.ledger.AnomalyNotes, fmt.Sprintf(format, args...))
	}
}

// think draws a think time of cart c.
func (d *Driver) think(c *dcart) time.Duration {
	return expDuration(c.rng, d.opts.ThinkTime)
}

// later is now plus a think time of cart c.
func (d *Driver) later(c *dcart) time.Time { return d.Now().Add(d.think(c)) }

func expDuration(r *rand.Rand, mean time.Duration) time.Duration {
	if mean <= 0 {
		return 0
	}
	return time.Duration(r.ExpFloat64() * float64(mean)).Truncate(time.Microsecond)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (d *Driver) push(a *action) {
	d.seq++
	a.seq = d.seq
	if a.kind == actComplete && a.co.fate == fateComplete {
		heap.Push(&d.comp, a)
		return
	}
	heap.Push(&d.main, a)
}

// stale reports whether an action no longer applies: its checkout moved on
// (released or reported otherwise) before it ran.
func stale(a *action) bool {
	switch a.kind {
	case actComplete, actAbandon, actEdit:
		return a.co.phase != phaseReserved
	}
	return false
}

// reach is the latest record timestamp running a would produce.
func (d *Driver) reach(a *action) time.Time {
	t := maxTime(d.Now(), a.due)
	if a.kind == actComplete || a.kind == actRestock {
		t = t.Add(orderStep)
	}
	return t
}

// limitOf returns the earliest limit of the heap's guards that still
// hold, the zero time if there is none. Guards that no longer hold never
// hold again, so they are dropped.
func limitOf(h *guardHeap, valid func(*dcheckout) bool) time.Time {
	for len(*h) > 0 {
		g := (*h)[0]
		if valid(g.co) {
			return g.limit
		}
		heap.Pop(h)
	}
	return time.Time{}
}

// softGuard holds for a checkout that will complete on time and still
// can: the clock leaves room for its order before its deadline.
func (d *Driver) softGuard(co *dcheckout) bool {
	return co.fate == fateComplete && (co.phase == phasePending || co.phase == phaseReserved) &&
		within(d.Now(), co.deadline.Add(-orderStep))
}

func hardGuard(co *dcheckout) bool { return co.phase == phaseCommitting && co.onTime }

func within(t, limit time.Time) bool { return limit.IsZero() || !t.After(limit) }

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// pick pops the next action that may run now, or returns nil. On-time
// completions answer only to completions in flight; every other action
// also waits for checkouts that will complete on time. Actions due after
// until wait too (the zero until: none does).
func (d *Driver) pick(until time.Time) *action {
	for len(d.main) > 0 && stale(d.main[0]) {
		heap.Pop(&d.main)
	}
	for len(d.comp) > 0 && stale(d.comp[0]) {
		heap.Pop(&d.comp)
	}
	hard := limitOf(&d.hard, hardGuard)
	soft := earliest(hard, limitOf(&d.soft, d.softGuard))
	due := func(h actionHeap) bool { return len(h) > 0 && within(h[0].due, until) }
	mainOK := func() bool { return due(d.main) && within(d.reach(d.main[0]), soft) }
	compOK := func() bool { return due(d.comp) && within(d.reach(d.comp[0]), hard) }
	compFirst := due(d.comp) && (!due(d.main) || before(d.comp[0], d.main[0]))
	switch {
	case compFirst && compOK(), !compFirst && !mainOK() && compOK():
		return heap.Pop(&d.comp).(*action)
	case mainOK():
		return heap.Pop(&d.main).(*action)
	}
	return nil
}

func before(a, b *action) bool {
	if !a.due.Equal(b.due) {
		return a.due.Before(b.due)
	}
	return a.seq < b.seq
}

// run executes one action at its due time and appends its records to out.
func (d *Driver) run(a *action, out []Record) ([]Record, error) {
	if now := d.Now(); a.due.After(now) {
		d.sim.Advance(a.due.Sub(now))
	}
	switch a.kind {
	case actArrive:
		d.arrive(a.n)
	case actAdd:
		out = d.emit(out, a.cart, cartEvent{Type: "item_added", SKU: a.line.SKU, Qty: &a.line.Qty})
	case actStart:
		out = d.start(out, a.cart)
	case actComplete:
		defer d.overlap(d.Now())
		return d.complete(out, a.co)
	case actStep:
		switch a.ev.Type {
		case EventCouponApplied:
			d.ledger.CouponsApplied++
		case EventCouponRemoved:
			d.ledger.CouponsRemoved++
		}
		out = d.emit(out, a.cart, a.ev)
	case actAbandon:
		a.co.phase = phaseDone
		out = d.emit(out, a.cart, cartEvent{Type: "checkout_abandoned", CheckoutID: a.co.id})
	case actEdit:
		out = d.edit(out, a.co)
	case actRedeliver:
		d.ledger.DuplicateEvents++
		out = append(out, a.rec)
	case actRestock:
		if d.opts.FlashSKU != "" && len(d.opts.SKUs) == 1 {
			break // the one SKU is on sale: nothing to restock
		}
		defer d.overlap(d.Now())
		sku := d.opts.SKUs[d.drawSKU(d.rng)]
		for sku == d.opts.FlashSKU {
			sku = d.opts.SKUs[d.drawSKU(d.rng)]
		}
		rec, err := d.sim.Restock(sku, d.opts.RestockQty)
		if err != nil {
			return out, fmt.Errorf("shopsim: driver: %w", err)
		}
		d.ledger.Stock[sku] += int64(d.opts.RestockQty)
		d.ledger.Restocks++
		out = append(out, rec)
	}
	return out, nil
}

// arrive creates cart n, schedules its items and checkout, and the next
// arrival.
func (d *Driver) arrive(n int) {
	d.arrived = n + 1
	c := &dcart{
		id:  fmt.Sprintf("%sc%06d", d.opts.IDPrefix, n+1),
		rng: rand.New(rand.NewPCG(uint64(d.seed), uint64(n)+1)),
	}
	if d.opts.planned() {
		d.plan(c)
		if d.opts.RestockEvery > 0 && (n+1)%d.opts.RestockEvery == 0 {
			d.push(&action{due: d.Now(), kind: actRestock})
		}
		if !d.opts.Paced && n+1 < d.opts.Carts {
			d.push(&action{due: d.Now().Add(expDuration(d.rng, d.opts.ArrivalGap)), kind: actArrive, n: n + 1})
		}
		return
	}
	lines := 1 + c.rng.IntN(d.opts.MaxLines)
	t := d.Now()
	for len(c.lines) < lines {
		sku := d.opts.SKUs[d.drawSKU(c.rng)]
		if slices.ContainsFunc(c.lines, func(l Line) bool { return l.SKU == sku }) {
			continue
		}
		l := Line{SKU: sku, Qty: 1 + c.rng.IntN(d.opts.MaxQty)}
		c.lines = append(c.lines, l)
		t = t.Add(d.think(c))
		d.push(&action{due: t, kind: actAdd, cart: c, line: l})
	}
	d.push(&action{due: t.Add(d.think(c)), kind: actStart, cart: c})
	if d.opts.RestockEvery > 0 && (n+1)%d.opts.RestockEvery == 0 {
		d.push(&action{due: d.Now(), kind: actRestock})
	}
	if n+1 < d.opts.Carts {
		d.push(&action{due: d.Now().Add(expDuration(d.rng, d.opts.ArrivalGap)), kind: actArrive, n: n + 1})
	}
}

// drawSKU returns the index of a SKU, Zipf-distributed or uniform.
func (d *Driver) drawSKU(r *rand.Rand) int {
	n := len(d.opts.SKUs)
	if d.opts.Zipf <= 1 || n == 1 {
		return r.IntN(n)
	}
	// A Zipf generator holds only its parameters and r: cheap to build
	// per draw, and r stays the cart's.
	return int(rand.NewZipf(r, d.opts.Zipf, 1, uint64(n-1)).Uint64())
}

// start begins a new checkout of cart c with its current lines.
func (d *Driver) start(out []Record, c *dcart) []Record {
	c.checkouts++
	co := &dcheckout{
		id:      fmt.Sprintf("%s-k%d", c.id, c.checkouts),
		cart:    c,
		lines:   slices.Clone(c.lines),
		started: d.Now(),
		fate:    d.drawFate(c),
	}
	co.deadline = co.started.Add(d.opts.HoldTTL - d.opts.Margin)
	d.checkouts[co.id] = co
	d.pending++
	d.ledger.CheckoutIDs = append(d.ledger.CheckoutIDs, co.id)
	if co.fate == fateComplete {
		// New load must leave room for this checkout's order.
		d.guard(&d.soft, co, co.deadline.Add(-orderStep))
	}
	return d.emit(out, c, cartEvent{Type: "checkout_started", CheckoutID: co.id})
}

func (d *Driver) drawFate(c *dcart) fate {
	u := c.rng.Float64()
	for _, f := range []struct {
		rate float64
		f    fate
	}{{d.opts.AbandonRate, fateAbandon}, {d.opts.WalkAwayRate, fateWalkAway}, {d.opts.EditRate, fateEdit}, {d.opts.LateRate, fateLate}} {
		if u < f.rate {
			return f.f
		}
		u -= f.rate
	}
	return fateComplete
}

// guard keeps the clock from passing limit while co stays guarded.
func (d *Driver) guard(h *guardHeap, co *dcheckout, limit time.Time) {
	d.seq++
	heap.Push(h, guard{limit: limit, seq: d.seq, co: co})
}

// complete places a reserved checkout's order and, if the database takes
// it, completes the checkout; if not, abandons it.
func (d *Driver) complete(out []Record, co *dcheckout) ([]Record, error) {
	c := co.cart
	orderID := "o-" + co.id
	inv, ob, err := d.sim.PlaceOrder(orderID, co.id, c.id, co.lines)
	now := d.Now()
	late := co.fate == fateLate
	onTime := !late && !co.expired && within(now.Add(orderLag), co.deadline)
	if se := (*StockError)(nil); errors.As(err, &se) {
		d.ledger.Refused = append(d.ledger.Refused, RefusedOrder{
			OrderID: orderID, CheckoutID: co.id, CartID: c.id, Lines: slices.Clone(co.lines),
			OnTime: onTime, LateOnPurpose: late, Reason: err.Error(), SKU: se.SKU,
		})
		co.phase = phaseDone
		return d.emit(out, c, cartEvent{Type: "checkout_abandoned", CheckoutID: co.id}), nil
	}
	if err != nil {
		return out, fmt.Errorf("shopsim: driver: checkout %s: %w", co.id, err)
	}
	for _, l := range co.lines {
		d.ledger.Sold[l.SKU] += int64(l.Qty)
	}
	d.ledger.Orders = append(d.ledger.Orders, PlacedOrder{
		OrderID: orderID, CheckoutID: co.id, CartID: c.id, Lines: slices.Clone(co.lines),
		OnTime: onTime, LateOnPurpose: late,
	})
	del := Delivery{
		OutboxFirst: c.rng.Float64() < d.opts.OutboxFirstRate,
		Duplicate:   c.rng.Float64() < d.opts.ConnectorDuplicateRate,
	}
	if del.OutboxFirst {
		d.ledger.OutboxFirst++
	}
	if del.Duplicate {
		d.ledger.ConnectorDuplicates++
	}
	out = append(out, Arrange(inv, ob, del)...)
	co.phase = phaseCommitting
	co.onTime = onTime
	if onTime {
		d.guard(&d.hard, co, co.deadline)
	}
	return d.emit(out, c, cartEvent{Type: "checkout_completed", CheckoutID: co.id, OrderID: orderID}), nil
}

// edit adds a unit to the cart during a reserved checkout, which releases
// it, and checks out again.
func (d *Driver) edit(out []Record, co *dcheckout) []Record {
	c := co.cart
	co.phase = phaseDone
	sku := d.opts.SKUs[d.drawSKU(c.rng)]
	i := slices.IndexFunc(c.lines, func(l Line) bool { return l.SKU == sku })
	if i < 0 {
		c.lines = append(c.lines, Line{SKU: sku, Qty: 1})
	} else {
		c.lines[i].Qty++
	}
	one := 1
	out = d.emit(out, c, cartEvent{Type: "item_added", SKU: sku, Qty: &one})
	if c.checkouts < d.opts.MaxCheckouts {
		d.push(&action{due: d.later(c), kind: actStart, cart: c})
	}
	return out
}

// cartEvent is a cart event's JSON (DESIGN §5); empty fields are left out.
type cartEvent struct {
	EventID    string `json:"event_id"`
	CartID     string `json:"cart_id"`
	Type       string `json:"type"`
	SKU        string `json:"sku,omitempty"`
	Qty        *int   `json:"qty,omitempty"`
	Code       string `json:"code,omitempty"`
	CheckoutID string `json:"checkout_id,omitempty"`
	OrderID    string `json:"order_id,omitempty"`
	Currency   string `json:"currency,omitempty"`
	TS         string `json:"ts"`
}

// emit appends cart c's next event (and schedules its duplicate).
func (d *Driver) emit(out []Record, c *dcart, e cartEvent) []Record {
	c.events++
	now := d.Now()
	e.EventID = fmt.Sprintf("%s-e%d", c.id, c.events)
	e.CartID = c.id
	e.TS = now.UTC().Format(time.RFC3339Nano)
	if !c.sentFirst {
		e.Currency = d.opts.Currency
		c.sentFirst = true
	}
	rec := Record{Topic: d.opts.CartEventsTopic, Key: []byte(c.id), Value: mustMarshal(e), Timestamp: now}
	d.ledger.CartEvents++
	out = append(out, rec)
	if d.opts.DuplicateRate > 0 && c.rng.Float64() < d.opts.DuplicateRate {
		delay := time.Duration(0)
		if d.opts.DuplicateDelay > 0 {
			delay = time.Duration(c.rng.Int64N(int64(d.opts.DuplicateDelay) + 1))
		}
		d.push(&action{due: now.Add(delay), kind: actRedeliver, cart: c, rec: rec})
	}
	return out
}

func sameLines(want []Line, got []StatusLine) bool {
	if len(want) != len(got) {
		return false
	}
	qty := map[string]int{}
	for _, l := range want {
		qty[l.SKU] += l.Qty
	}
	for _, l := range got {
		if qty[l.SKU] != l.Qty {
			return false
		}
		delete(qty, l.SKU)
	}
	return len(qty) == 0
}

func statusLines(ls []StatusLine) []Line {
	out := make([]Line, len(ls))
	for i, l := range ls {
		out[i] = Line{SKU: l.SKU, Qty: l.Qty}
	}
	return out
}

// actionHeap orders actions by due time, then by scheduling order.
type actionHeap []*action

func (h actionHeap) Len() int           { return len(h) }
func (h actionHeap) Less(i, j int) bool { return before(h[i], h[j]) }
func (h actionHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *actionHeap) Push(x any)        { *h = append(*h, x.(*action)) }
func (h *actionHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return a
}

// guard is a limit no record may pass while its checkout is in the
// guarded state; entries whose checkout left that state are dropped lazily.
type guard struct {
	limit time.Time
	seq   uint64
	co    *dcheckout
}

type guardHeap []guard

func (h guardHeap) Len() int { return len(h) }
func (h guardHeap) Less(i, j int) bool {
	if !h[i].limit.Equal(h[j].limit) {
		return h[i].limit.Before(h[j].limit)
	}
	return h[i].seq < h[j].seq
}
func (h guardHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *guardHeap) Push(x any)   { *h = append(*h, x.(guard)) }
func (h *guardHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	*h = old[:len(old)-1]
	return g
}
