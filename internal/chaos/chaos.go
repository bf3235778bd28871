package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/kafkasec"
	"cartstream/topology"
)

// Defaults of Config.
const (
	DefaultDuration   = 10 * time.Minute
	DefaultRate       = 300
	DefaultInstances  = 3
	DefaultPartitions = 8
	// DefaultHoldTTL is the instances' --hold-ttl: short, so holds left
	// behind expire soon after the load; long enough that most
	// completions beat the failovers.
	DefaultHoldTTL = time.Minute
	// DefaultKillEvery is the mean time between instance kills.
	DefaultKillEvery = 20 * time.Second
	// DefaultStartingKills is the share of kills followed by a kill of the
	// same instance while it starts again.
	DefaultStartingKills = 0.15
	// DefaultBrokerRestarts is how many times the broker restarts.
	DefaultBrokerRestarts = 2
	// DefaultBrowseRate makes the load checkout-heavy: loadgen's own
	// default is 0.7.
	DefaultBrowseRate = 0.3
	// DefaultBadEvery injects one bad cart event per this many.
	DefaultBadEvery = 500
	// DefaultWarmup and DefaultQuiet keep faults off the start and the
	// end of the load.
	DefaultWarmup = 15 * time.Second
	DefaultQuiet  = 10 * time.Second
)

// Fixed timings.
const (
	readyTimeout = 3 * time.Minute
	setupTimeout = 3 * time.Minute
	stopTimeout  = 30 * time.Second
	// drain is loadgen's --drain: statuses can wait out a failover.
	drain = 30 * time.Second
	// sweepGrace covers the carts group's periodic sweep (10 s), which
	// reports walked-away checkouts expired, and a tick.
	sweepGrace = 15 * time.Second
	// settleTimeout bounds the wait for the groups to catch up after the
	// load.
	settleTimeout = 5 * time.Minute
)

// Config configures a run. Start from Defaults.
type Config struct {
	// Binary is the cartstream binary every process runs.
	Binary string
	Mode   Mode
	// Seed fixes the schedule and loadgen's storefront.
	Seed int64
	// Duration is how long loadgen produces load.
	Duration time.Duration
	// Rate is loadgen's cart events a second.
	Rate float64
	// Instances and Partitions of the cluster; HoldTTL the instances'
	// --hold-ttl; HotStandby passes --hot-standby.
	Instances, Partitions int
	HoldTTL               time.Duration
	HotStandby            bool
	// KillEvery is the mean time between instance kills (ModeChaos);
	// KillDown bounds how long a killed instance stays down.
	KillEvery time.Duration
	KillDown  [2]time.Duration
	// StartingKills is the share of kills followed by another kill of the
	// same instance while it starts again.
	StartingKills float64
	// BrokerRestarts (ModeChaos), each down for BrokerDown.
	BrokerRestarts int
	BrokerDown     [2]time.Duration
	// TermDown is how long each instance of a rolling restart stays down.
	TermDown time.Duration
	// InstanceLogLevel is the instances' --log-level (default info).
	InstanceLogLevel string
	// Pauses (ModeChaos) freeze an instance with SIGSTOP for PauseDown,
	// then SIGCONT. Default none.
	Pauses    int
	PauseDown [2]time.Duration
	// BrowseRate is loadgen's --browse-rate; BadEvery its --bad-every.
	BrowseRate float64
	BadEvery   int
	// MaxOutage, when positive, fails the run when no instance answered
	// queries for longer.
	MaxOutage time.Duration
	// WorkDir holds logs, data dirs and the ledger; empty: a new
	// temporary directory, removed after a passing run unless Keep.
	WorkDir string
	Keep    bool
	// Replay is the command that replays the run, for the report.
	Replay string
	// Log gets progress lines. Default: discard.
	Log io.Writer
}

// Defaults returns a Config with every default; set Binary.
func Defaults() Config {
	return Config{
		Mode: ModeChaos, Seed: 1, Duration: DefaultDuration, Rate: DefaultRate,
		Instances: DefaultInstances, Partitions: DefaultPartitions, HoldTTL: DefaultHoldTTL,
		KillEvery: DefaultKillEvery, KillDown: [2]time.Duration{2 * time.Second, 15 * time.Second}, StartingKills: DefaultStartingKills,
		BrokerRestarts: DefaultBrokerRestarts, BrokerDown: [2]time.Duration{2 * time.Second, 6 * time.Second},
		TermDown: 2 * time.Second, PauseDown: [2]time.Duration{15 * time.Second, 25 * time.Second},
		BrowseRate: DefaultBrowseRate, BadEvery: DefaultBadEvery,
	}
}

// instanceFlags are the flags every instance gets on top of its own.
func instanceFlags(c Config) []string {
	flags := []string{"--hold-ttl", c.HoldTTL.String()}
	if c.HotStandby {
		flags = append(flags, "--hot-standby")
	}
	if c.InstanceLogLevel != "" {
		flags = append(flags, "--log-level", c.InstanceLogLevel)
	}
	return flags
}

// schedule derives the fault schedule.
func (c Config) schedule() ([]Fault, error) {
	window := c.Duration - DefaultWarmup - DefaultQuiet
	kills := 0
	if c.KillEvery > 0 && window > 0 {
		kills = int(window / c.KillEvery)
	}
	return NewSchedule(ScheduleConfig{
		Mode: c.Mode, Seed: c.Seed,
		Load: c.Duration, Warmup: DefaultWarmup, Quiet: DefaultQuiet,
		Instances: c.Instances,
		Kills:     kills, KillDown: c.KillDown, StartingKills: c.StartingKills,
		BrokerRestarts: c.BrokerRestarts, BrokerDown: c.BrokerDown,
		TermDown: c.TermDown,
		Pauses:   c.Pauses, PauseDown: c.PauseDown,
	})
}

// Run starts a broker and the instances as processes, drives load with
// loadgen, executes the fault schedule, lets everything settle and audits
// the outcome. The error is for a run that could not be carried out (a
// process that never became ready, loadgen failing); a run that found
// violations returns a Report whose Failed is true.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	faults, err := cfg.schedule()
	if err != nil {
		return nil, err
	}
	dir := cfg.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cartstream-chaos-"); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	r := &runner{cfg: cfg, dir: dir, faults: faults, start: time.Now(),
		rep: &Report{Mode: cfg.Mode, Seed: cfg.Seed, MaxOutage: cfg.MaxOutage, Replay: cfg.Replay}}
	r.logf("seed %d, work dir %s, %d faults planned:", cfg.Seed, dir, len(faults))
	for _, f := range faults {
		r.logf("  %s", f)
	}
	err = r.run(ctx)
	if r.cluster != nil {
		r.stopAll()
	}
	if err != nil || r.rep.Failed() || cfg.Keep {
		r.rep.WorkDir = dir
	} else if cfg.WorkDir == "" {
		_ = os.RemoveAll(dir)
	}
	if err != nil {
		return r.rep, err
	}
	return r.rep, nil
}

// runner is one run's moving parts.
type runner struct {
	cfg     Config
	dir     string
	faults  []Fault
	start   time.Time
	rep     *Report
	cluster *cluster
	topo    *topology.Topology

	mu       sync.Mutex
	executed []executed
	// restarts are instance restarts in flight (after kills).
	restarts sync.WaitGroup
	errs     []error
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "chaos: %6.1fs "+format+"\n", append([]any{time.Since(r.start).Seconds()}, args...)...)
}

func (r *runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *runner) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

func (r *runner) run(ctx context.Context) error {
	cfg := r.cfg
	r.topo = topology.New(topology.Config{GroupPrefix: topology.DefaultGroupPrefix, Partitions: int32(cfg.Partitions)})
	c, err := newCluster(cfg.Binary, r.dir, cfg.Instances, cfg.Partitions, instanceFlags(cfg))
	if err != nil {
		return err
	}
	r.cluster = c
	if err := c.startBroker(ctx); err != nil {
		return err
	}
	r.logf("broker listening on %s", c.brokerAddr)
	for i := range c.instances {
		// One at a time: the first creates the topics.
		took, err := c.startInstance(ctx, i, readyTimeout)
		if err != nil {
			return err
		}
		r.logf("%s ready in %.1fs (http %s)", c.instances[i].id, took.Seconds(), c.instances[i].http)
	}

	ns := fmt.Sprintf("chaos%d", cfg.Seed)
	ledgerPath := filepath.Join(r.dir, "ledger.json")
	// Paths of loadgen's first cart and SKU (internal/loadgen names them
	// <namespace>-c000001 and <namespace>-SKU-00001).
	pr := newProbe(c.httpAddrs(), "/v1/carts/"+ns+"-c000001", "/v1/inventory/"+ns+"-SKU-00001")
	probeCtx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		pr.run(probeCtx)
	}()
	defer func() {
		stopProbe()
		<-probeDone
		r.rep.Probe = pr.snapshot()
	}()

	loadStart := make(chan struct{})
	var startOnce sync.Once
	var loadLine string
	var lineMu sync.Mutex
	lg := &proc{name: "loadgen", bin: cfg.Binary, log: filepath.Join(r.dir, "logs", "loadgen.log"),
		args: []string{"loadgen", "--brokers", c.brokerAddr, "--rate", fmt.Sprint(cfg.Rate), "--duration", cfg.Duration.String(),
			"--seed", fmt.Sprint(cfg.Seed), "--namespace", ns, "--hold-ttl", cfg.HoldTTL.String(),
			"--browse-rate", fmt.Sprint(cfg.BrowseRate), "--bad-every", fmt.Sprint(cfg.BadEvery),
			"--drain", drain.String(), "--ledger", ledgerPath},
		onLine: func(line string) {
			if strings.Contains(line, `msg="load starting"`) {
				startOnce.Do(func() { close(loadStart) })
			}
			if strings.HasPrefix(line, "events=") {
				lineMu.Lock()
				loadLine = line
				lineMu.Unlock()
			}
		}}
	if err := lg.start(); err != nil {
		return err
	}
	select {
	case <-loadStart:
	case <-lg.exited():
		return fmt.Errorf("chaos: loadgen exited during its setup (see %s)", lg.log)
	case <-time.After(setupTimeout):
		_, _ = lg.stop(syscall.SIGTERM, stopTimeout)
		return fmt.Errorf("chaos: loadgen not loading within %s (see %s)", setupTimeout, lg.log)
	case <-ctx.Done():
		return ctx.Err()
	}
	loadAt := time.Now()
	r.logf("load started: %v cart events/s for %s", cfg.Rate, cfg.Duration)

	r.execute(ctx, loadAt, lg.exited())
	lgErr := lg.wait(ctx)
	loadEnd := time.Now()
	lineMu.Lock()
	r.rep.Load = loadLine
	lineMu.Unlock()
	r.logf("loadgen done: %s", r.rep.Load)
	r.restarts.Wait()
	if lgErr != nil {
		return fmt.Errorf("chaos: loadgen failed: %v (see %s)", lgErr, lg.log)
	}
	if err := r.failed(); err != nil {
		return err
	}

	if err := r.settle(ctx, loadEnd); err != nil {
		return err
	}
	stopProbe()
	<-probeDone

	l, err := readLedger(ledgerPath)
	if err != nil {
		return err
	}
	a := &auditor{brokers: []string{c.brokerAddr}, https: c.httpAddrs(), topo: r.topo, ledger: l, rep: r.rep, cl: &http.Client{Timeout: 10 * time.Second}}
	r.logf("auditing %d carts, %d checkouts, %d SKUs", len(l.Carts), len(l.Checkouts), len(l.SKUs))
	if err := a.audit(ctx); err != nil {
		return err
	}
	carts, inv, err := readTimelines(ctx, []string{c.brokerAddr}, r.topo.Names.Offers, r.topo.Names.ReservationRes, ns+"-", cfg.Partitions)
	if err != nil {
		return fmt.Errorf("chaos: failover timelines: %w", err)
	}
	cg, _ := r.topo.Group(topology.GroupCarts)
	ig, _ := r.topo.Group(topology.GroupInventory)
	r.rep.Failovers, r.rep.BrokerGaps = failovers(r.executed, cg.ID, ig.ID, carts, inv)
	for _, f := range r.rep.Failovers {
		if f.Clean && !f.Fault.Starting {
			r.rep.MaxFailover = max(r.rep.MaxFailover, f.Worst())
		}
	}
	return nil
}

// execute runs the schedule from loadAt until it is done or the load ends.
func (r *runner) execute(ctx context.Context, loadAt time.Time, loadDone <-chan struct{}) {
	for _, f := range r.faults {
		select {
		case <-time.After(time.Until(loadAt.Add(f.At))):
		case <-loadDone:
			r.logf("load over; %s not executed", f)
			return
		case <-ctx.Done():
			return
		}
		if err := r.failed(); err != nil {
			return
		}
		switch f.Kind {
		case KillInstance:
			r.kill(ctx, f)
		case TermInstance:
			r.term(ctx, f)
		case RestartBroker:
			r.restartBroker(ctx, f)
		case PauseInstance:
			r.pause(ctx, f)
		}
	}
}

// kill SIGKILLs an instance and restarts it after f.Down, in the
// background. When the planned victim is not up (its restart took longer
// than planned) the next one that is takes its place.
func (r *runner) kill(ctx context.Context, f Fault) {
	c := r.cluster
	n := 0
	for _, in := range c.instances {
		if in.p.running() {
			n++
		}
	}
	i := f.Instance
	for k := 0; k < len(c.instances) && !c.instances[i].p.running(); k++ {
		i = (i + 1) % len(c.instances)
	}
	if n < 2 || !c.instances[i].p.running() {
		r.logf("skipping %s: fewer than two instances running", f)
		return
	}
	// The victim may still be starting after an earlier kill: a process
	// killed while it joins its groups is a fault of its own.
	in := c.instances[i]
	e := executed{Fault: f, Instance: in.id, Owned: owned(ctx, in.http)}
	e.At = time.Now()
	kill := in.kills.Add(1)
	if err := in.p.signal(syscall.SIGKILL); err != nil {
		r.logf("kill %s: %v", in.id, err)
		return
	}
	<-in.p.exited()
	r.rep.Kills++
	r.logf("killed %s (owned %v); back in %s", in.id, e.Owned, f.Down.Round(time.Millisecond))
	idx := r.record(e)
	r.restarts.Add(1)
	go func() {
		defer r.restarts.Done()
		select {
		case <-time.After(f.Down):
		case <-ctx.Done():
			return
		}
		if in.kills.Load() != kill {
			return // killed again while starting: the later kill restarts it
		}
		r.mu.Lock()
		r.executed[idx].Restart = time.Now()
		r.mu.Unlock()
		took, err := c.startInstance(ctx, i, readyTimeout)
		if err != nil {
			if in.kills.Load() != kill {
				return
			}
			r.fail(err)
			return
		}
		r.mu.Lock()
		r.executed[idx].Back = time.Now()
		r.rep.Readies = append(r.rep.Readies, took)
		r.mu.Unlock()
		r.logf("%s back, ready in %.1fs", in.id, took.Seconds())
	}()
}

// pause freezes an instance for f.Down, in the background.
func (r *runner) pause(ctx context.Context, f Fault) {
	in := r.cluster.instances[f.Instance]
	e := executed{Fault: f, Instance: in.id, Owned: owned(ctx, in.http)}
	e.At = time.Now()
	if err := in.p.signal(syscall.SIGSTOP); err != nil {
		r.logf("pause %s: %v", in.id, err)
		return
	}
	r.rep.Pauses++
	r.logf("paused %s (owned %v) for %s", in.id, e.Owned, f.Down.Round(time.Millisecond))
	idx := r.record(e)
	r.restarts.Add(1)
	go func() {
		defer r.restarts.Done()
		select {
		case <-time.After(f.Down):
		case <-ctx.Done():
		}
		if err := in.p.signal(syscall.SIGCONT); err != nil {
			r.logf("resume %s: %v", in.id, err)
			return
		}
		r.mu.Lock()
		r.executed[idx].Restart, r.executed[idx].Back = time.Now(), time.Now()
		r.mu.Unlock()
		r.logf("%s resumed", in.id)
	}()
}

// term is one step of a rolling restart: SIGTERM, wait for the exit,
// start again after f.Down and wait until ready.
func (r *runner) term(ctx context.Context, f Fault) {
	in := r.cluster.instances[f.Instance]
	e := executed{Fault: f, Instance: in.id, Owned: owned(ctx, in.http)}
	e.At = time.Now()
	took, err := in.p.stop(syscall.SIGTERM, stopTimeout)
	e.Stop = took
	r.rep.Terms++
	r.mu.Lock()
	r.rep.Stops = append(r.rep.Stops, took)
	if err != nil {
		e.StopErr = err.Error()
		r.rep.StopErrors = append(r.rep.StopErrors, fmt.Sprintf("%s: %v", in.id, err))
	}
	r.mu.Unlock()
	r.logf("SIGTERM %s (owned %v): exited in %.1fs (%v)", in.id, e.Owned, took.Seconds(), err)
	time.Sleep(f.Down)
	e.Restart = time.Now()
	ready, err := r.cluster.startInstance(ctx, f.Instance, readyTimeout)
	if err != nil {
		r.fail(err)
		return
	}
	e.Back = time.Now()
	r.record(e)
	r.mu.Lock()
	r.rep.Readies = append(r.rep.Readies, ready)
	r.mu.Unlock()
	r.logf("%s back, ready in %.1fs", in.id, ready.Seconds())
}

// restartBroker stops the broker with f.Signal and starts it on the same
// data dir after f.Down; the instances and loadgen must reconnect.
func (r *runner) restartBroker(ctx context.Context, f Fault) {
	b := r.cluster.broker
	e := executed{Fault: f}
	e.At = time.Now()
	took, err := b.stop(f.Signal, stopTimeout)
	e.Stop = took
	if err != nil && f.Signal == syscall.SIGTERM {
		r.fail(fmt.Errorf("chaos: broker after SIGTERM: %w", err))
		return
	}
	r.rep.BrokerRestarts++
	r.logf("broker stopped (%s, exited in %.1fs); back in %s", signalName(f.Signal), took.Seconds(), f.Down.Round(time.Millisecond))
	time.Sleep(f.Down)
	e.Restart = time.Now()
	if err := r.cluster.startBroker(ctx); err != nil {
		r.fail(err)
		return
	}
	e.Back = time.Now()
	r.record(e)
	r.logf("broker back")
}

func (r *runner) record(e executed) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.executed = append(r.executed, e)
	return len(r.executed) - 1
}

// owned asks an instance which partitions it owns, by group id.
func owned(ctx context.Context, addr string) map[string][]int32 {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st struct {
		Groups []struct {
			Group string  `json:"group"`
			Owned []int32 `json:"owned_partitions"`
		} `json:"groups"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil
	}
	out := map[string][]int32{}
	for _, g := range st.Groups {
		out[g.Group] = g.Owned
	}
	return out
}

// settle waits until holds left behind by the load have had time to
// expire (in stream time, which the instances' ticks keep at the wall
// clock) and the walked-away checkouts have been swept, and until every
// group has caught up with its inputs.
func (r *runner) settle(ctx context.Context, loadEnd time.Time) error {
	until := loadEnd.Add(r.cfg.HoldTTL + sweepGrace)
	r.logf("settling: holds expire by %s, then every group's lag must be 0", until.Format("15:04:05"))
	select {
	case <-time.After(time.Until(until)):
	case <-ctx.Done():
		return ctx.Err()
	}
	cl, err := kafkasec.Cluster{Brokers: []string{r.cluster.brokerAddr}}.NewClient(kgo.ClientID("cartstream-chaos-settle"))
	if err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var groups []string
	for _, g := range r.topo.Groups {
		groups = append(groups, g.ID)
	}
	// Every instance writes ticks every second: their topics are never
	// caught up for long, and nothing waits on them.
	skip := map[string]bool{r.topo.Names.CartsTicks: true, r.topo.Names.InventoryTicks: true}
	deadline := time.Now().Add(settleTimeout)
	zero := 0 // consecutive polls with no lag
	for zero < 3 {
		behind, where := lagOf(ctx, adm, groups, skip)
		if behind == 0 {
			zero++
		} else {
			zero = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: the groups did not catch up within %s of the hold expiry (%d records behind: %s)", settleTimeout, behind, where)
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The lag is committed offsets; give the last commits' effects (the
	// statuses a result causes, a sweep) one more round.
	time.Sleep(sweepGrace)
	r.logf("settled")
	return nil
}

// lagOf sums the groups' lag on their inputs but the skipped topics (-1
// when unknown) and says where it is.
func lagOf(ctx context.Context, adm *kadm.Client, groups []string, skip map[string]bool) (int64, string) {
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return -1, err.Error()
	}
	var sum int64
	var where []string
	for _, g := range groups {
		gl, ok := lags[g]
		if !ok {
			return -1, "no lag for " + g
		}
		if err := gl.Error(); err != nil {
			return -1, fmt.Sprintf("%s: %v", g, err)
		}
		for topic, parts := range gl.Lag {
			if skip[topic] {
				continue
			}
			for p, pl := range parts {
				if pl.Err != nil {
					return -1, fmt.Sprintf("%s %s/%d: %v", g, topic, p, pl.Err)
				}
				if pl.Lag > 0 {
					sum += pl.Lag
					where = append(where, fmt.Sprintf("%s %s/%d %d", g, topic, p, pl.Lag))
				}
			}
		}
	}
	return sum, strings.Join(where, ", ")
}

// stopAll stops the cluster with SIGTERM and records how long the
// instances took.
func (r *runner) stopAll() {
	c := r.cluster
	var wg sync.WaitGroup
	for _, in := range c.instances {
		if !in.p.running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, err := in.p.stop(syscall.SIGTERM, stopTimeout)
			r.mu.Lock()
			defer r.mu.Unlock()
			r.rep.Stops = append(r.rep.Stops, took)
			if err != nil {
				r.rep.StopErrors = append(r.rep.StopErrors, fmt.Sprintf("%s at the end: %v", in.id, err))
			}
		}()
	}
	wg.Wait()
	c.stopAll(stopTimeout)
}
