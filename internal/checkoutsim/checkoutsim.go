package checkoutsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/config"
	"cartstream/internal/instance"
	"cartstream/internal/kafkasec"
	"cartstream/internal/shopsim"
	"cartstream/internal/ticks"
	"cartstream/topology"
)

// Defaults of Scenario.
const (
	// DefaultPartitions is the partition count of the topics.
	DefaultPartitions = 4
	// DefaultHoldTTL is the instance's --hold-ttl, in simulated time.
	DefaultHoldTTL = 30 * time.Second
	// DefaultStartLead is how far ahead of the wall clock the simulated
	// clock starts.
	DefaultStartLead = 10 * time.Minute
	// DefaultTickInterval is how often (wall clock) the harness writes a
	// tick with the simulated clock into every ticks partition.
	DefaultTickInterval = 250 * time.Millisecond
	// DefaultStallTimeout is how long the driver may wait for a status
	// before the run fails.
	DefaultStallTimeout = 2 * time.Minute
	// DefaultQuiesceTimeout bounds each wait for the instance to catch up.
	DefaultQuiesceTimeout = 3 * time.Minute
	// DefaultBatch is the most records produced in one call.
	DefaultBatch = 1000
	// maxSkew is the instance's --max-skew: cart events' ts is believed
	// however far ahead of the broker's clock the simulation runs.
	maxSkew = 7 * 24 * time.Hour
	// quiet is the interval between the two lag readings that must agree
	// for the instance to count as caught up.
	quiet = 300 * time.Millisecond
	// maxProblems bounds the problem descriptions a Summary keeps.
	maxProblems = 50
)

// ErrStalled is wrapped by Run's error when the driver waits for statuses
// that do not come within Scenario.StallTimeout.
var ErrStalled = errors.New("checkoutsim: stalled")

// Scenario describes one simulated run. Driver holds the storefront's
// behaviour; its SKUs, HoldTTL and CartEventsTopic are filled in by Run.
type Scenario struct {
	// Name names the scenario in logs.
	Name string
	// Seed makes the run's choices (see shopsim.Driver).
	Seed int64
	// Stock is the on_hand of each SKU at the start, most popular first;
	// the SKUs are shopsim.SKU(1), shopsim.SKU(2), … Required.
	Stock []int32
	// Driver is the storefront's behaviour (carts, rates, think times).
	Driver shopsim.DriverOptions
	// Partitions of every topic. Default DefaultPartitions.
	Partitions int
	// HoldTTL is the instance's --hold-ttl, in simulated time. Default
	// DefaultHoldTTL.
	HoldTTL time.Duration
	// Restarts is how many times the instance is stopped and a new one
	// started on the same data directory, evenly spread over the carts'
	// arrivals.
	Restarts int
	// DataDir holds the broker's log and the instance's state. Default: a
	// temporary directory, removed after a run that passed.
	DataDir string
	// Start is the simulated clock at the start. Default: the wall clock
	// plus DefaultStartLead.
	Start time.Time
	// TickInterval, StallTimeout, QuiesceTimeout and Batch: see their
	// defaults.
	TickInterval, StallTimeout, QuiesceTimeout time.Duration
	Batch                                      int
	// Logger receives the harness's progress and the instance's and
	// broker's logs. Default: discard.
	Logger *slog.Logger
	// Replay is the command that replays this run, printed by a failing
	// Summary.
	Replay string
}

func (sc *Scenario) normalize() error {
	if len(sc.Stock) == 0 {
		return errors.New("checkoutsim: scenario has no stock")
	}
	if sc.Partitions <= 0 {
		sc.Partitions = DefaultPartitions
	}
	if sc.HoldTTL <= 0 {
		sc.HoldTTL = DefaultHoldTTL
	}
	if sc.Start.IsZero() {
		sc.Start = time.Now().UTC().Truncate(time.Second).Add(DefaultStartLead)
	}
	if sc.TickInterval <= 0 {
		sc.TickInterval = DefaultTickInterval
	}
	if sc.StallTimeout <= 0 {
		sc.StallTimeout = DefaultStallTimeout
	}
	if sc.QuiesceTimeout <= 0 {
		sc.QuiesceTimeout = DefaultQuiesceTimeout
	}
	if sc.Batch <= 0 {
		sc.Batch = DefaultBatch
	}
	if sc.Logger == nil {
		sc.Logger = slog.New(slog.DiscardHandler)
	}
	if sc.Restarts < 0 {
		return fmt.Errorf("checkoutsim: %d restarts", sc.Restarts)
	}
	return nil
}

// harness is one run's moving parts.
type harness struct {
	sc   Scenario
	log  *slog.Logger
	topo *topology.Topology
	dir  string

	broker   *broker.Broker
	producer *kgo.Client
	adm      *kadm.Client
	admCl    *kgo.Client

	inst      *runningInstance
	instances int

	statuses *statusReader
	clock    atomic.Int64 // simulated clock, Unix nanoseconds, for the tick writer
}

// runningInstance is one cartstream instance running in a goroutine.
type runningInstance struct {
	http   string
	cancel context.CancelFunc
	done   chan error
}

// Run runs the scenario and audits it. It returns an error when the run
// could not be carried out (the broker or instance would not start, the
// driver stalled, the instance never caught up); a run that completed
// returns its Summary, whose Failed reports whether the audit found a
// violation.
func Run(ctx context.Context, sc Scenario) (Summary, error) {
	if err := sc.normalize(); err != nil {
		return Summary{}, err
	}
	h := &harness{sc: sc, log: sc.Logger.With("scenario", sc.Name, "seed", sc.Seed)}
	h.topo = topology.New(topology.Config{GroupPrefix: topology.DefaultGroupPrefix, Partitions: int32(sc.Partitions)})
	sum := Summary{Scenario: sc.Name, Seed: sc.Seed, Replay: sc.Replay}
	removeDir := false
	if sc.DataDir == "" {
		dir, err := os.MkdirTemp("", "checkoutsim-")
		if err != nil {
			return sum, fmt.Errorf("checkoutsim: data dir: %w", err)
		}
		h.dir, removeDir = dir, true
	} else {
		h.dir = sc.DataDir
	}
	sum.DataDir = h.dir
	err := h.run(ctx, &sum)
	h.close()
	if removeDir && err == nil && !sum.Failed() {
		if rmErr := os.RemoveAll(h.dir); rmErr != nil {
			h.log.Warn("cannot remove data dir", "dir", h.dir, "error", rmErr)
		}
		sum.DataDir = ""
	}
	return sum, err
}

func (h *harness) run(ctx context.Context, sum *Summary) error {
	sc := h.sc
	began := time.Now()
	var err error
	h.broker, err = broker.Start(ctx, broker.Config{DataDir: filepath.Join(h.dir, "broker"), Listen: "127.0.0.1:0", Logger: h.log})
	if err != nil {
		return fmt.Errorf("checkoutsim: %w", err)
	}
	kafka := kafkasec.Cluster{Brokers: []string{h.broker.Addr()}} // the simulation's own plaintext broker
	if h.producer, err = kafka.NewClient(kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ClientID("checkoutsim-producer"), kgo.ProducerLinger(0)); err != nil {
		return fmt.Errorf("checkoutsim: producer: %w", err)
	}
	if h.admCl, err = kafka.NewClient(kgo.ClientID("checkoutsim-admin")); err != nil {
		return fmt.Errorf("checkoutsim: admin client: %w", err)
	}
	h.adm = kadm.NewClient(h.admCl)

	// The instance creates the topics; stock is loaded once it is ready.
	if err := h.startInstance(); err != nil {
		return err
	}
	if err := h.waitReady(ctx, h.inst); err != nil {
		return err
	}
	sim := shopsim.New(sc.Seed, shopsim.Options{Start: sc.Start})
	skus, err := h.loadStock(ctx, sim)
	if err != nil {
		return err
	}
	sum.Startup = time.Since(began)

	opts := sc.Driver
	opts.SKUs = skus
	opts.HoldTTL = sc.HoldTTL
	opts.CartEventsTopic = h.topo.Names.CartEvents
	d, err := shopsim.NewDriver(sim, sc.Seed, opts)
	if err != nil {
		return fmt.Errorf("checkoutsim: %w", err)
	}
	h.clock.Store(d.Now().UnixNano())

	if h.statuses, err = newStatusReader(h.broker.Addr(), h.topo.Names.Checkouts); err != nil {
		return err
	}
	tickCtx, stopTicks := context.WithCancel(ctx)
	defer stopTicks()
	ticked, tickDone, err := h.startTicks(tickCtx)
	if err != nil {
		return err
	}

	h.log.Info("load starting", "carts", opts.Carts, "skus", len(skus), "restarts", sc.Restarts)
	loadStart := time.Now()
	if err := h.drive(ctx, d); err != nil {
		return err
	}
	if err := h.quiesce(ctx); err != nil {
		return fmt.Errorf("checkoutsim: after the load: %w", err)
	}
	for _, st := range h.statuses.take() {
		d.Observe(st)
	}
	sum.Duration = time.Since(loadStart)
	h.log.Info("load done", "duration", sum.Duration)

	a, err := h.expireAndRead(ctx, d, ticked, tickDone, stopTicks)
	if err != nil {
		return err
	}
	a.sim = sim
	a.run(sum)
	sum.Restarts = h.instances - 1
	h.log.Info("audit done", "summary", sum.String())
	return nil
}

// loadStock inserts every SKU of the scenario into the simulated database,
// produces the Debezium records and waits until the instance applied them.
func (h *harness) loadStock(ctx context.Context, sim *shopsim.Sim) ([]string, error) {
	var recs []shopsim.Record
	skus := make([]string, len(h.sc.Stock))
	for i, n := range h.sc.Stock {
		skus[i] = shopsim.SKU(i + 1)
		r, err := sim.AddProduct(shopsim.Product{
			SKU: skus[i], Name: "Simulated " + skus[i], Category: "sim", Brand: "checkoutsim",
			Price: shopsim.MustAmount("19.99"), Currency: shopsim.DefaultCurrency, Active: true,
		}, n)
		if err != nil {
			return nil, fmt.Errorf("checkoutsim: stock %s: %w", skus[i], err)
		}
		recs = append(recs, r...)
	}
	if err := shopsim.Produce(ctx, h.producer, recs); err != nil {
		return nil, fmt.Errorf("checkoutsim: load stock: %w", err)
	}
	if err := h.quiesce(ctx); err != nil {
		return nil, fmt.Errorf("checkoutsim: load stock: %w", err)
	}
	return skus, nil
}

// expireAndRead reads the inventory table as the load left it, lets every
// hold expire in simulated time (ticks carry the new time to every
// partition), waits for the instance, and reads what the audit needs.
func (h *harness) expireAndRead(ctx context.Context, d *shopsim.Driver, ticked *atomic.Int64, tickDone <-chan error, stopTicks context.CancelFunc) (audit, error) {
	addr := h.broker.Addr()
	a := audit{beforeTime: d.Now()}
	var err error
	if a.before, err = readInventory(ctx, addr, h.tableTopic()); err != nil {
		return a, err
	}

	phase := time.Now()
	d.Advance(h.sc.HoldTTL + 10*time.Second)
	a.finalTime = d.Now()
	h.clock.Store(a.finalTime.UnixNano())
	if err := waitTicked(ctx, ticked, 2*int64(h.sc.Partitions)); err != nil {
		return a, err
	}
	stopTicks()
	if err := <-tickDone; err != nil {
		return a, fmt.Errorf("checkoutsim: ticks: %w", err)
	}
	if err := h.quiesce(ctx); err != nil {
		return a, fmt.Errorf("checkoutsim: after expiry: %w", err)
	}
	h.log.Info("holds expired", "took", time.Since(phase))

	phase = time.Now()
	a.ledger, a.statuses, a.badStatuses = d.Ledger(), h.statuses.all(), h.statuses.bad()
	if a.after, err = readInventory(ctx, addr, h.tableTopic()); err != nil {
		return a, err
	}
	if a.results, err = readResults(ctx, addr, h.topo.Names.ReservationRes); err != nil {
		return a, err
	}
	if a.deadLetters, err = readDeadLetters(ctx, addr, h.topo.Names.DLQ); err != nil {
		return a, err
	}
	h.log.Info("outputs read", "took", time.Since(phase))
	return a, nil
}

// drive runs the driver until it is done, producing its records, feeding it
// statuses and restarting the instance at the scenario's points.
func (h *harness) drive(ctx context.Context, d *shopsim.Driver) error {
	sc := h.sc
	var points []int
	for k := 1; k <= sc.Restarts; k++ {
		points = append(points, k*sc.Driver.Carts/(sc.Restarts+1))
	}
	lastProgress := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := h.instanceFailed(); err != nil {
			return err
		}
		for len(points) > 0 && d.Arrived() >= points[0] {
			points = points[1:]
			if err := h.restart(ctx); err != nil {
				return err
			}
			lastProgress = time.Now()
		}
		sts := h.statuses.take()
		for _, st := range sts {
			d.Observe(st)
		}
		if len(sts) > 0 {
			lastProgress = time.Now()
		}
		if d.Done() {
			return nil
		}
		recs, err := d.Next(sc.Batch)
		if err != nil {
			return fmt.Errorf("checkoutsim: %w", err)
		}
		now := d.Now()
		h.clock.Store(now.UnixNano())
		if wall := time.Now(); !wall.Before(now) {
			return fmt.Errorf("checkoutsim: the wall clock (%s) caught up with the simulated clock (%s): start the simulation further ahead (Scenario.Start)", wall.UTC().Format(time.RFC3339), now.Format(time.RFC3339))
		}
		if len(recs) > 0 {
			if err := shopsim.Produce(ctx, h.producer, recs); err != nil {
				return fmt.Errorf("checkoutsim: %w", err)
			}
			lastProgress = time.Now()
			continue
		}
		if time.Since(lastProgress) > sc.StallTimeout {
			w := d.Waiting()
			if len(w) > 10 {
				w = append(w[:10], fmt.Sprintf("… %d more", len(w)-10))
			}
			return fmt.Errorf("%w: no status for %s; the driver waits for checkouts %v", ErrStalled, sc.StallTimeout, w)
		}
		select {
		case <-ctx.Done():
		case <-h.statuses.signal:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// instanceConfig is `cartstream run`'s defaults with the simulation's
// settings.
func (h *harness) instanceConfig(n int) (config.Config, error) {
	var c config.Config
	fs := pflag.NewFlagSet("checkoutsim", pflag.ContinueOnError)
	c.RegisterRun(fs)
	if err := fs.Parse(nil); err != nil {
		return c, fmt.Errorf("checkoutsim: instance defaults: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return c, err
	}
	c.Brokers = []string{h.broker.Addr()}
	c.DataDir = filepath.Join(h.dir, "instance")
	c.HTTPListen = addr
	c.InstanceID = fmt.Sprintf("checkoutsim-%d", n)
	c.Partitions = h.sc.Partitions
	c.HoldTTL = h.sc.HoldTTL
	c.MaxSkew = maxSkew
	c.Seed = false
	c.LogLevel = "warn"
	return c, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("checkoutsim: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (h *harness) startInstance() error {
	h.instances++
	cfg, err := h.instanceConfig(h.instances)
	if err != nil {
		return err
	}
	in, err := instance.New(cfg, h.log)
	if err != nil {
		return fmt.Errorf("checkoutsim: instance: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ri := &runningInstance{http: cfg.HTTPListen, cancel: cancel, done: make(chan error, 1)}
	go func() { ri.done <- in.Run(ctx) }()
	h.inst = ri
	return nil
}

// instanceFailed returns the error of an instance that stopped unasked.
func (h *harness) instanceFailed() error {
	if h.inst == nil {
		return nil
	}
	select {
	case err := <-h.inst.done:
		h.inst.done <- err
		return fmt.Errorf("checkoutsim: instance %d stopped by itself: %v", h.instances, err)
	default:
		return nil
	}
}

// stopInstance stops the running instance and returns its Run's error.
func (h *harness) stopInstance() error {
	if h.inst == nil {
		return nil
	}
	h.inst.cancel()
	err := <-h.inst.done
	h.inst = nil
	if err != nil {
		return fmt.Errorf("checkoutsim: instance %d did not stop cleanly: %w", h.instances, err)
	}
	return nil
}

// restart stops the instance and starts a new one on the same data
// directory; the load goes on while it recovers.
func (h *harness) restart(ctx context.Context) error {
	began := time.Now()
	if err := h.stopInstance(); err != nil {
		return err
	}
	if err := h.startInstance(); err != nil {
		return err
	}
	h.log.Info("instance restarted", "instance", h.instances, "stop", time.Since(began))
	return ctx.Err()
}

// waitReady polls the instance's /readyz until it answers 200.
func (h *harness) waitReady(ctx context.Context, ri *runningInstance) error {
	ctx, cancel := context.WithTimeout(ctx, h.sc.QuiesceTimeout)
	defer cancel()
	cl := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ri.http+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("checkoutsim: readyz: %w", err)
		}
		if resp, err := cl.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := h.instanceFailed(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("checkoutsim: instance not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (h *harness) tableTopic() string {
	g, _ := h.topo.Group(topology.GroupInventory)
	return g.Table
}

// startTicks writes ticks carrying the simulated clock into every ticks
// partition every TickInterval. ticked counts the ticks acknowledged.
func (h *harness) startTicks(ctx context.Context) (*atomic.Int64, <-chan error, error) {
	cl, err := kafkasec.Cluster{Brokers: []string{h.broker.Addr()}}.NewClient(kgo.ClientID("checkoutsim-ticks"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))
	if err != nil {
		return nil, nil, fmt.Errorf("checkoutsim: ticks client: %w", err)
	}
	ticked := &atomic.Int64{}
	e, err := ticks.New(ticks.Config{
		Client:   cl,
		Topics:   []string{h.topo.Names.CartsTicks, h.topo.Names.InventoryTicks},
		Instance: "checkoutsim-clock",
		Interval: h.sc.TickInterval,
		Clock:    func() time.Time { return time.Unix(0, h.clock.Load()).UTC() },
		OnResult: func(_ string, err error) {
			if err == nil {
				ticked.Add(1)
			}
		},
	})
	if err != nil {
		cl.Close()
		return nil, nil, fmt.Errorf("checkoutsim: ticks: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		defer cl.Close()
		done <- e.Run(ctx)
	}()
	return ticked, done, nil
}

// waitTicked waits until n more ticks than now were acknowledged: a full
// round of every partition after the clock last moved.
func waitTicked(ctx context.Context, ticked *atomic.Int64, n int64) error {
	// A round in progress may carry the old clock: wait for two rounds.
	target := ticked.Load() + 2*n
	for ticked.Load() < target {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func (h *harness) groupIDs() []string {
	ids := make([]string, len(h.topo.Groups))
	for i, g := range h.topo.Groups {
		ids[i] = g.ID
	}
	return ids
}

// quiesce waits until every group has committed every record of its inputs
// (ticks aside: they never stop) and the topics stopped growing, twice in a
// row, and the status reader has read every status.
func (h *harness) quiesce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.sc.QuiesceTimeout)
	defer cancel()
	skip := map[string]bool{h.topo.Names.CartsTicks: true, h.topo.Names.InventoryTicks: true}
	var prev map[topicPartition]int64
	var last string
	for {
		if err := h.instanceFailed(); err != nil {
			return err
		}
		ends, behind, err := h.progress(ctx, skip)
		switch {
		case err != nil:
			last = err.Error()
		case behind != "":
			last = behind
		case prev != nil && sameEnds(prev, ends) && (h.statuses == nil || h.statuses.caughtUp(ends)):
			return nil
		default:
			last = "topics still growing"
		}
		if err != nil {
			prev = nil
		} else {
			prev = ends
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("checkoutsim: instance did not catch up: %s: %w", last, ctx.Err())
		case <-time.After(quiet):
		}
	}
}

// progress returns the end offsets of every topic and, when a group is
// behind, which and where.
func (h *harness) progress(ctx context.Context, skip map[string]bool) (map[topicPartition]int64, string, error) {
	lags, err := h.adm.Lag(ctx, h.groupIDs()...)
	if err != nil {
		return nil, "", fmt.Errorf("lag: %w", err)
	}
	if err := lags.Error(); err != nil {
		return nil, "", fmt.Errorf("lag: %w", err)
	}
	behind := ""
	for _, g := range lags.Sorted() {
		for topic, parts := range g.Lag {
			if skip[topic] {
				continue
			}
			for p, l := range parts {
				if l.Err != nil || l.Lag != 0 {
					behind = fmt.Sprintf("group %s behind on %s/%d by %d", g.Group, topic, p, l.Lag)
				}
			}
		}
	}
	var names []string
	for _, t := range h.topo.Topics {
		if !skip[t.Name] {
			names = append(names, t.Name)
		}
	}
	listed, err := h.adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return nil, "", fmt.Errorf("end offsets: %w", err)
	}
	ends := map[topicPartition]int64{}
	listed.Each(func(o kadm.ListedOffset) { ends[topicPartition{o.Topic, o.Partition}] = o.Offset })
	return ends, behind, nil
}

// topicPartition names one partition of a topic.
type topicPartition struct {
	topic     string
	partition int32
}

func sameEnds(a, b map[topicPartition]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// close stops whatever is running, newest first.
func (h *harness) close() {
	if h.statuses != nil {
		h.statuses.close()
	}
	if err := h.stopInstance(); err != nil {
		h.log.Warn("stopping the instance", "error", err)
	}
	if h.producer != nil {
		h.producer.Close()
	}
	if h.admCl != nil {
		h.admCl.Close()
	}
	if h.broker != nil {
		h.broker.Close()
	}
}

// statusReader consumes cartstream.checkouts from the start: it keeps every
// status for the audit and hands new ones to the driver.
type statusReader struct {
	cl     *kgo.Client
	topic  string
	signal chan struct{}
	stop   context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	records []statusRecord
	fresh   []shopsim.CheckoutStatus
	badN    int
	badNote []string
	next    map[int32]int64 // next offset to read, per partition
}

// statusRecord is one decoded status and where it was read.
type statusRecord struct {
	status    shopsim.CheckoutStatus
	partition int32
	offset    int64
}

func newStatusReader(addr, topic string) (*statusReader, error) {
	check, err := newStatusChecker()
	if err != nil {
		return nil, err
	}
	cl, err := kafkasec.Cluster{Brokers: []string{addr}}.NewClient(kgo.ClientID("checkoutsim-statuses"),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("checkoutsim: status reader: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &statusReader{cl: cl, topic: topic, signal: make(chan struct{}, 1), stop: cancel, done: make(chan struct{}), next: map[int32]int64{}}
	go r.loop(ctx, check)
	return r, nil
}

func (r *statusReader) loop(ctx context.Context, check *statusChecker) {
	defer close(r.done)
	for {
		fs := r.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		var got bool
		r.mu.Lock()
		fs.EachRecord(func(rec *kgo.Record) {
			got = true
			r.next[rec.Partition] = rec.Offset + 1
			st, err := check.decode(rec.Value)
			if err != nil {
				r.badN++
				if len(r.badNote) < maxProblems {
					r.badNote = append(r.badNote, fmt.Sprintf("%s/%d@%d: %v", rec.Topic, rec.Partition, rec.Offset, err))
				}
				return
			}
			r.records = append(r.records, statusRecord{status: st, partition: rec.Partition, offset: rec.Offset})
			r.fresh = append(r.fresh, st)
		})
		r.mu.Unlock()
		if got {
			select {
			case r.signal <- struct{}{}:
			default:
			}
		}
	}
}

// take returns the statuses read since the last call.
func (r *statusReader) take() []shopsim.CheckoutStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.fresh
	r.fresh = nil
	return out
}

func (r *statusReader) all() []statusRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]statusRecord(nil), r.records...)
}

func (r *statusReader) bad() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.badNote...)
	if r.badN > len(out) {
		out = append(out, fmt.Sprintf("… %d more", r.badN-len(out)))
	}
	return out
}

// caughtUp reports whether every record below the given end offsets of the
// status topic has been read.
func (r *statusReader) caughtUp(ends map[topicPartition]int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for tp, end := range ends {
		if tp.topic == r.topic && end > 0 && r.next[tp.partition] < end {
			return false
		}
	}
	return true
}

func (r *statusReader) close() {
	r.stop()
	<-r.done
	r.cl.Close()
}
