package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/reserve"
	"cartstream/internal/shopsim"
	"cartstream/topology"
)

// Defaults of Config (see Defaults).
const (
	// DefaultRate is the cart events a second.
	DefaultRate = 1000
	// DefaultDuration is how long load is produced.
	DefaultDuration = time.Minute
	// DefaultSKUs is the number of products loadgen creates.
	DefaultSKUs = 100
	// DefaultStock is the on_hand of each product at the start.
	DefaultStock = 500
	// DefaultFlashUnits is the on_hand of the flash-sale SKU.
	DefaultFlashUnits = 100
	// DefaultBrowseRate is the share of carts that never check out.
	DefaultBrowseRate = 0.7
	// DefaultThinkTime is the mean wall time between a cart's actions; with
	// the rate it sets how many carts shop at once (rate × think time ÷
	// events per action, roughly).
	DefaultThinkTime = 2 * time.Second
	// DefaultZipf is the exponent of SKU popularity.
	DefaultZipf = 1.1
	// DefaultDrain is how long Run waits after the load for the statuses
	// of checkouts still in flight.
	DefaultDrain = 10 * time.Second
	// DefaultSetupTimeout bounds the checks and the catalog's creation,
	// until cartstream has applied it.
	DefaultSetupTimeout = 2 * time.Minute
)

// Storefront behaviour that is not configurable: the shape of a launch
// day, on top of the browse rate.
const (
	maxLines         = 3
	maxQty           = 2
	changeRate       = 0.4  // a line changed after an add
	couponRate       = 0.3  // a cart applies a coupon
	unknownCoupon    = 0.15 // of those, a code no promotion has
	couponRemoveRate = 0.2
	abandonRate      = 0.1 // of reserved checkouts
	walkAwayRate     = 0.05
	editRate         = 0.05
	retryRate        = 0.5 // of failed checkouts
	duplicateRate    = 0.01
	duplicateDelay   = time.Second
	outboxFirstRate  = 0.5
	connectorDupRate = 0.01
	restockEvery     = 50 // carts: restocks make up about half of what sells, so popular SKUs run out
	restockQty       = 20
)

// Loop timing.
const (
	progressEvery = time.Second
	lagEvery      = time.Second
	// burstWindow is the token bucket's depth, in time at the rate: a
	// pause (a full producer buffer, a GC) is made up for by at most
	// this much.
	burstWindow = 100 * time.Millisecond
	minWait     = time.Millisecond
	maxWait     = 50 * time.Millisecond
	pollEvery   = 200 * time.Millisecond
	// flushTimeout bounds the wait for acknowledgements after an
	// interrupt.
	flushTimeout = 5 * time.Second
)

var (
	// ErrConfig is wrapped by Run's errors for invalid settings.
	ErrConfig = errors.New("loadgen: invalid configuration")
	// ErrNamespaceUsed: the namespace's products already exist on the
	// cluster (see the package documentation, Ids and versions).
	ErrNamespaceUsed = errors.New("loadgen: namespace already used on this cluster")
)

// Config configures a run. Start from Defaults.
type Config struct {
	// Brokers are the cluster's bootstrap brokers, for messages.
	Brokers []string
	// NewClient builds every Kafka client loadgen uses, seeded with the
	// cluster's brokers and its security settings, from the options
	// loadgen adds. Required: clients belong to the caller.
	NewClient func(opts ...kgo.Opt) (*kgo.Client, error)
	// GroupPrefix is the instances' --group-prefix, for the lag shown.
	// Default topology.DefaultGroupPrefix.
	GroupPrefix string

	// Rate is the target of cart events a second (duplicates included;
	// CDC and outbox records come on top). Required.
	Rate float64
	// Duration is how long load is produced. Required.
	Duration time.Duration
	// Seed fixes what every cart does.
	Seed int64
	// Namespace prefixes the SKUs and every id. Default "lg<seed>".
	Namespace string

	// SKUs is the number of products created; Stock the on_hand of each.
	SKUs  int
	Stock int32
	// FlashSKU, when set, is a SKU every cart adds: <namespace>-SKU-00007,
	// or SKU-00007 for short. FlashUnits is its on_hand; it is never
	// restocked.
	FlashSKU   string
	FlashUnits int32
	// BrowseRate is the share of carts that never check out.
	BrowseRate float64
	// ThinkTime is the mean wall time between a cart's actions.
	ThinkTime time.Duration
	// Zipf is the exponent of SKU popularity (<= 1: uniform).
	Zipf float64
	// HoldTTL is the instances' --hold-ttl.
	HoldTTL time.Duration
	// BadEvery, when positive, injects one bad cart event (undecodable or
	// invalid: see badKinds) after every BadEvery cart events, under keys
	// <namespace>-bad-000001 …, for cartstream to dead-letter. Default 0:
	// none.
	BadEvery int
	// KeepLedger makes Run return the run's Ledger in Summary.Ledger (it
	// costs memory for every cart and event id).
	KeepLedger bool

	// Drain and SetupTimeout: see their defaults.
	Drain, SetupTimeout time.Duration
	// Progress, when set, gets the run's figures about once a second
	// during the load and once at the end.
	Progress func(Stats)
	// OnRecords, when set, sees every batch of records the driver
	// generated, in order, before it is produced.
	OnRecords func([]shopsim.Record)
	// Logger gets the setup's steps. Default: discard.
	Logger *slog.Logger
}

// Defaults returns a Config with every default; set Brokers.
func Defaults() Config {
	return Config{
		GroupPrefix: topology.DefaultGroupPrefix,
		Rate:        DefaultRate, Duration: DefaultDuration, Seed: 1,
		SKUs: DefaultSKUs, Stock: DefaultStock, FlashUnits: DefaultFlashUnits,
		BrowseRate: DefaultBrowseRate, ThinkTime: DefaultThinkTime, Zipf: DefaultZipf,
		HoldTTL: reserve.DefaultHoldTTL, Drain: DefaultDrain, SetupTimeout: DefaultSetupTimeout,
	}
}

// DefaultNamespace is the namespace of a seed.
func DefaultNamespace(seed int64) string { return fmt.Sprintf("lg%d", seed) }

// SKU returns the namespace's SKU number i (1-based): lg1-SKU-00001.
func SKU(namespace string, i int) string { return namespace + "-" + shopsim.SKU(i) }

func (c *Config) normalize() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace(c.Seed)
	}
	if c.GroupPrefix == "" {
		c.GroupPrefix = topology.DefaultGroupPrefix
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case len(c.Brokers) == 0:
		return bad("no brokers")
	case c.NewClient == nil:
		return bad("no client constructor")
	case !(c.Rate > 0):
		return bad("rate %v: want a positive number of events a second", c.Rate)
	case c.Duration <= 0:
		return bad("duration %s: want a positive duration", c.Duration)
	case strings.ContainsAny(c.Namespace, " \t\r\n"):
		return bad("namespace %q has white space", c.Namespace)
	case c.SKUs < 1:
		return bad("%d SKUs: want at least one", c.SKUs)
	case c.Stock < 0 || c.FlashUnits < 0:
		return bad("negative stock")
	case c.BadEvery < 0:
		return bad("bad records every %d events: want 0 (none) or more", c.BadEvery)
	case !(c.BrowseRate >= 0 && c.BrowseRate <= 1):
		return bad("browse rate %v: want a share in [0, 1]", c.BrowseRate)
	case c.ThinkTime < 0 || c.Drain < 0:
		return bad("negative think time or drain")
	case c.HoldTTL <= 0:
		return bad("hold TTL %s: want the instances' positive --hold-ttl", c.HoldTTL)
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = DefaultSetupTimeout
	}
	if c.FlashSKU != "" {
		if !strings.HasPrefix(c.FlashSKU, c.Namespace+"-") {
			c.FlashSKU = c.Namespace + "-" + c.FlashSKU
		}
		found := false
		for i := 1; i <= c.SKUs && !found; i++ {
			found = SKU(c.Namespace, i) == c.FlashSKU
		}
		if !found {
			return bad("flash-sale SKU %s is not one of the %d SKUs %s … %s", c.FlashSKU, c.SKUs, SKU(c.Namespace, 1), SKU(c.Namespace, c.SKUs))
		}
	}
	return nil
}

// Stats are a run's figures so far.
type Stats struct {
	// Elapsed is the wall time since the load started (at the end: how
	// long it ran).
	Elapsed time.Duration
	// Events are the cart events acknowledged; CDC the Debezium and outbox
	// records of orders and restocks (the catalog's not included).
	Events, CDC int64
	// Carts arrived, BrowseCarts of them only to browse.
	Carts, BrowseCarts int
	// Checkouts started; Pending of them without a decided status yet.
	Checkouts, Pending int
	// Checkouts with each status seen on cartstream.checkouts.
	Reserved, Failed, Completed, Released, Expired int
	// Orders the simulated database accepted, and Refused.
	Orders, Refused int
	// Lag is the carts group's lag on the cart events topic, in records;
	// -1 when unknown.
	Lag int64
	// Anomalies are statuses that contradict what the storefront did (see
	// shopsim.Ledger); BadStatuses the namespace's status records that did
	// not decode.
	Anomalies, BadStatuses int
}

// Rate is the cart events acknowledged per second of Elapsed.
func (s Stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}

// Summary is the outcome of a run.
type Summary struct {
	Stats
	Namespace string
	// Target is the rate asked for.
	Target float64
	// Interrupted: the context ended the load before Duration.
	Interrupted bool
	// Ledger is what the run did, with Config.KeepLedger; nil otherwise.
	Ledger *Ledger
}

// String is the summary line.
func (s Summary) String() string {
	return fmt.Sprintf("events=%d rate_achieved=%.1f checkouts=%d reserved=%d failed=%d completed=%d duration_s=%.1f",
		s.Events, s.Rate(), s.Checkouts, s.Reserved, s.Failed, s.Completed, s.Elapsed.Seconds())
}

// Details is a second line with the rest of the figures.
func (s Summary) Details() string {
	return fmt.Sprintf("namespace=%s target_rate=%g cdc_records=%d carts=%d browse_carts=%d orders=%d refused=%d released=%d expired=%d pending=%d lag=%d anomalies=%d bad_statuses=%d interrupted=%v",
		s.Namespace, s.Target, s.CDC, s.Carts, s.BrowseCarts, s.Orders, s.Refused, s.Released, s.Expired, s.Pending, s.Lag, s.Anomalies, s.BadStatuses, s.Interrupted)
}

// run is one run's moving parts.
type run struct {
	cfg  Config
	topo *topology.Topology
	log  *slog.Logger

	cl  *kgo.Client // producer and admin
	adm *kadm.Client

	driver   *shopsim.Driver
	sim      *shopsim.Sim // the driver's database, for the ledger
	skus     []string
	statuses *statusReader
	snd      *sender
	lag      atomic.Int64

	seen                                           map[string]uint8 // checkout id → statuses seen
	reserved, failed, completed, released, expired int
}

// Run creates the namespace's catalog, waits until cartstream has applied
// it, then produces load for cfg.Duration and waits up to cfg.Drain for
// the statuses of checkouts in flight. When ctx ends during the load, it
// stops, waits briefly for acknowledgements and returns the Summary so
// far (Interrupted). Errors: invalid settings (ErrConfig), a namespace
// already used (ErrNamespaceUsed), missing topics, a cartstream that does
// not apply the catalog within SetupTimeout, a failed produce.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if err := cfg.normalize(); err != nil {
		return Summary{}, err
	}
	r := &run{
		cfg:  cfg,
		topo: topology.New(topology.Config{GroupPrefix: cfg.GroupPrefix}),
		log:  cfg.Logger.With("namespace", cfg.Namespace, "seed", cfg.Seed),
		seen: map[string]uint8{},
	}
	r.lag.Store(-1)
	sum := Summary{Namespace: cfg.Namespace, Target: cfg.Rate}
	var err error
	r.cl, err = cfg.NewClient(kgo.ClientID("cartstream-loadgen"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return sum, fmt.Errorf("loadgen: kafka client: %w", err)
	}
	defer r.cl.Close()
	r.adm = kadm.NewClient(r.cl)

	setup, cancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	defer cancel()
	if err := r.checkTopics(setup); err != nil {
		return sum, err
	}
	sim, skus, codes, err := r.createCatalog(setup)
	if err != nil {
		return sum, err
	}
	r.sim, r.skus = sim, skus
	r.driver, err = shopsim.NewDriver(sim, cfg.Seed, r.driverOptions(skus, codes))
	if err != nil {
		return sum, fmt.Errorf("loadgen: %w", err)
	}
	if r.statuses, err = r.readStatuses(setup); err != nil {
		return sum, err
	}
	defer r.statuses.close()
	cancel()

	r.snd = &sender{cl: r.cl, cartTopic: r.topo.Names.CartEvents}
	if cfg.KeepLedger {
		r.snd.book = newLedgerBook()
	}
	lagCtx, stopLag := context.WithCancel(ctx)
	var lagDone sync.WaitGroup
	lagDone.Add(1)
	go func() {
		defer lagDone.Done()
		r.pollLag(lagCtx)
	}()
	defer func() {
		stopLag()
		lagDone.Wait()
	}()

	r.log.Info("load starting", "rate", cfg.Rate, "duration", cfg.Duration, "skus", len(skus), "flash_sale", cfg.FlashSKU)
	start := time.Now()
	err = r.load(ctx, start)
	loadEnd := time.Now()
	sum.Interrupted = ctx.Err() != nil
	if err == nil {
		err = r.finish(ctx, sum.Interrupted)
	}
	// Acknowledgements and statuses that came after the load still
	// belong to it: the rate is over the load's own wall time.
	sum.Stats = r.stats(loadEnd, start)
	if r.snd.book != nil {
		sum.Ledger = r.ledger(sum.Interrupted)
	}
	if err != nil {
		return sum, err
	}
	if cfg.Progress != nil {
		cfg.Progress(sum.Stats)
	}
	return sum, nil
}

// driverOptions is a launch day's storefront (see the package constants).
func (r *run) driverOptions(skus, codes []string) shopsim.DriverOptions {
	c := r.cfg
	return shopsim.DriverOptions{
		SKUs: skus, Zipf: c.Zipf, MaxLines: min(maxLines, len(skus)), MaxQty: maxQty,
		ThinkTime: c.ThinkTime, HoldTTL: c.HoldTTL,
		Paced: true, OverlapTransactions: true,
		BrowseRate: c.BrowseRate, ChangeRate: changeRate,
		CouponCodes: codes, CouponRate: couponRate, UnknownCouponRate: unknownCoupon, CouponRemoveRate: couponRemoveRate,
		FlashSKU:    c.FlashSKU,
		AbandonRate: abandonRate, WalkAwayRate: walkAwayRate, EditRate: editRate, RetryRate: retryRate,
		DuplicateRate: duplicateRate, DuplicateDelay: duplicateDelay,
		OutboxFirstRate: outboxFirstRate, ConnectorDuplicateRate: connectorDupRate,
		RestockEvery: restockEvery, RestockQty: restockQty,
		CartEventsTopic: r.topo.Names.CartEvents, Currency: shopsim.DemoCurrency,
		IDPrefix: c.Namespace + "-",
	}
}

// load produces until the duration is over or ctx ends.
func (r *run) load(ctx context.Context, start time.Time) error {
	end := start.Add(r.cfg.Duration)
	b := newBucket(r.cfg.Rate, start)
	generated, bad := 0, 0 // cart events generated, bad records sent
	nextProgress := start.Add(progressEvery)
	for {
		now := time.Now()
		if !now.Before(end) || ctx.Err() != nil {
			return nil
		}
		if err := r.snd.failed(); err != nil {
			return err
		}
		r.feed()
		b.refill(now)
		if n := b.available(); n > 0 {
			recs, err := r.driver.Pace(now, n)
			if err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			n := r.snd.countEvents(recs)
			b.spend(n)
			if r.cfg.OnRecords != nil && len(recs) > 0 {
				r.cfg.OnRecords(recs)
			}
			r.snd.send(ctx, recs)
			for generated += n; r.cfg.BadEvery > 0 && generated/r.cfg.BadEvery > bad; bad++ {
				r.snd.sendBad(ctx, r.cfg.Namespace, bad)
			}
		}
		if r.cfg.Progress != nil && !now.Before(nextProgress) {
			r.cfg.Progress(r.stats(now, start))
			nextProgress = nextProgress.Add(progressEvery)
		}
		wait := min(max(b.wait(), minWait), maxWait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// finish waits for every acknowledgement and, unless interrupted, up to
// Drain for the statuses of checkouts in flight: the first decision of
// every checkout started and the completed status of every completion.
func (r *run) finish(ctx context.Context, interrupted bool) error {
	flushCtx := ctx
	if interrupted {
		var cancel context.CancelFunc
		flushCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
		defer cancel()
	}
	if err := r.cl.Flush(flushCtx); err != nil && !interrupted {
		return fmt.Errorf("loadgen: flush: %w", err)
	}
	if err := r.snd.failed(); err != nil {
		return err
	}
	if interrupted {
		r.feed()
		return nil
	}
	deadline := time.Now().Add(r.cfg.Drain)
	for {
		r.feed()
		if len(r.driver.Waiting()) == 0 || !time.Now().Before(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.statuses.signal:
		case <-time.After(pollEvery):
		}
	}
}

// Bits of run.seen.
const (
	seenReserved uint8 = 1 << iota
	seenFailed
	seenCompleted
	seenReleased
	seenExpired
)

// feed hands the statuses read since the last call to the driver and
// counts each checkout once per status.
func (r *run) feed() {
	for _, st := range r.statuses.take() {
		r.driver.Observe(st)
		var bit uint8
		var n *int
		switch st.Status {
		case shopsim.StatusReserved:
			bit, n = seenReserved, &r.reserved
		case shopsim.StatusFailed:
			bit, n = seenFailed, &r.failed
		case shopsim.StatusCompleted:
			bit, n = seenCompleted, &r.completed
		case shopsim.StatusReleased:
			bit, n = seenReleased, &r.released
		case shopsim.StatusExpired:
			bit, n = seenExpired, &r.expired
		default:
			continue
		}
		if r.seen[st.CheckoutID]&bit == 0 {
			r.seen[st.CheckoutID] |= bit
			*n++
		}
	}
}

func (r *run) stats(now, start time.Time) Stats {
	c := r.driver.Counts()
	return Stats{
		Elapsed: now.Sub(start),
		Events:  r.snd.events.Load(), CDC: r.snd.cdc.Load(),
		Carts: c.Carts, BrowseCarts: c.BrowseCarts,
		Checkouts: c.Checkouts, Pending: c.Pending,
		Reserved: r.reserved, Failed: r.failed, Completed: r.completed, Released: r.released, Expired: r.expired,
		Orders: c.Orders, Refused: c.Refused,
		Lag:       r.lag.Load(),
		Anomalies: c.Anomalies, BadStatuses: r.statuses.badCount(),
	}
}

// pollLag keeps r.lag at the carts group's lag on the cart events topic.
func (r *run) pollLag(ctx context.Context) {
	g, _ := r.topo.Group(topology.GroupCarts)
	for {
		lag := int64(-1)
		if lags, err := r.adm.Lag(ctx, g.ID); err == nil && lags.Error() == nil {
			if gl, ok := lags[g.ID]; ok {
				lag = 0
				for _, pl := range gl.Lag[r.topo.Names.CartEvents] {
					if pl.Err == nil && pl.Lag > 0 {
						lag += pl.Lag
					}
				}
			}
		}
		r.lag.Store(lag)
		select {
		case <-ctx.Done():
			return
		case <-time.After(lagEvery):
		}
	}
}

// sender produces records asynchronously, in order per partition, and
// counts acknowledgements.
type sender struct {
	cl          *kgo.Client
	cartTopic   string
	events, cdc atomic.Int64
	book        *ledgerBook // nil: no ledger kept

	mu  sync.Mutex
	err error
}

func (s *sender) countEvents(recs []shopsim.Record) int {
	n := 0
	for _, r := range recs {
		if r.Topic == s.cartTopic {
			n++
		}
	}
	return n
}

// send hands recs to the client; it blocks while the client's buffer is
// full, which is what slows the load when the cluster cannot keep up.
func (s *sender) send(ctx context.Context, recs []shopsim.Record) {
	for _, r := range recs {
		kr := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		cart := r.Topic == s.cartTopic
		s.cl.Produce(ctx, kr, func(rec *kgo.Record, err error) {
			switch {
			case err != nil:
				s.fail(fmt.Errorf("loadgen: produce to %s: %w", rec.Topic, err))
			case cart:
				s.events.Add(1)
				s.book.cartEvent(rec)
			default:
				s.cdc.Add(1)
			}
		})
	}
}

func (s *sender) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && !errors.Is(err, context.Canceled) {
		s.err = err
	}
}

func (s *sender) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// bucket is a token bucket of cart events.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: max(1, rate*burstWindow.Seconds()), last: now}
}

func (b *bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
}

func (b *bucket) available() int { return int(b.tokens) }

func (b *bucket) spend(n int) { b.tokens -= float64(n) }

// wait is how long until the next token.
func (b *bucket) wait() time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
