// Package instance runs one cartstream instance: the embedded broker when no
// brokers are given, topic creation from the topology, the tick emitter, the
// supervised processors and the HTTP server, and their orderly shutdown.
//
// It wires parts together and owns their lifecycle; it implements none of
// them.
package instance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/lovoo/goka"

	"cartstream/internal/broker"
	"cartstream/internal/config"
	"cartstream/internal/debezium"
	"cartstream/internal/dlq"
	"cartstream/internal/httpapi"
	"cartstream/internal/kafkasec"
	"cartstream/internal/metrics"
	"cartstream/internal/promo"
	"cartstream/internal/registry"
	"cartstream/internal/replay"
	"cartstream/internal/reserve"
	"cartstream/internal/shopsim"
	"cartstream/internal/streams"
	"cartstream/internal/streamtime"
	"cartstream/internal/supervise"
	"cartstream/internal/ticks"
	"cartstream/processors/carts"
	"cartstream/processors/cdc"
	"cartstream/processors/inventory"
	"cartstream/topology"
)

// topicsRetry is the wait between attempts to reach the cluster and create
// topics at startup.
const topicsRetry = 2 * time.Second

// Instance is one running cartstream process.
type Instance struct {
	cfg     config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	topo    *topology.Topology

	startup     atomic.Value // string: what startup is doing; "" when done
	mu          sync.Mutex
	supervisors []*supervise.Supervisor

	broker  *broker.Broker
	http    *httpapi.Server
	brokers []string
	client  *kgo.Client // admin, seeding, dead letters; closed last
	// changelog writes the inventory table's records to explicit
	// partitions; closed after the components.
	changelog *kgo.Client
	// restore logs restore progress of the groups' tables.
	restore restoreProgress
	// queries serves /v1 once startQueries has built it.
	queries atomic.Pointer[http.Handler]
	// stores are the local stores of every processor, for the inventory
	// group's own table writes and for queries.
	stores *streams.Stores
	// resets are the groups' latest reset epochs, read at start (DESIGN §8).
	resets replay.Resets
	// security is what every Kafka client of the instance speaks; kafka
	// is the brokers with it, the constructor of every franz-go client
	// (set in Run once the brokers are known).
	security *kafkasec.Security
	kafka    kafkasec.Cluster
	// brokerSecurity is the embedded broker's TLS and SASL users.
	brokerSecurity broker.Config
}

// New prepares an instance; Run starts it.
func New(cfg config.Config, log *slog.Logger) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Read the Kafka security files now, so a missing certificate or
	// password file stops the start before anything listens.
	security, err := cfg.KafkaSecurity.Load()
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	brokerSecurity, err := cfg.EmbeddedBrokerSecurity()
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	if cfg.InstanceID == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(cfg.HTTPListen)
		cfg.InstanceID = fmt.Sprintf("%s-%s", host, port)
	}
	in := &Instance{
		cfg:            cfg,
		log:            log,
		security:       security,
		brokerSecurity: brokerSecurity,
		metrics:        metrics.New(),
		topo: topology.New(topology.Config{
			GroupPrefix: cfg.GroupPrefix,
			Partitions:  int32(cfg.Partitions),
		}),
	}
	in.stores = streams.NewStores()
	in.startup.Store("starting")
	return in, nil
}

// advertisedHTTP is the address other instances use for this one:
// --advertised-http, else the address the HTTP server listens on.
func (in *Instance) advertisedHTTP() string {
	if in.cfg.AdvertisedHTTP != "" {
		return in.cfg.AdvertisedHTTP
	}
	if in.http != nil {
		return in.http.Addr()
	}
	return in.cfg.HTTPListen
}

// httpScheme is the scheme of requests forwarded to other instances.
func (in *Instance) httpScheme() string {
	if in.cfg.HTTPTLSCert != "" {
		return "https"
	}
	return "http"
}

// httpClient forwards queries to other instances. With TLS it trusts the
// system's roots and this instance's own certificate (instances of one
// deployment share theirs, or its CA is in the system pool).
func (in *Instance) httpClient() *http.Client {
	c := &http.Client{Timeout: 10 * time.Second}
	if in.cfg.HTTPTLSCert == "" {
		return c
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if pem, err := os.ReadFile(in.cfg.HTTPTLSCert); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return c
}

// Topology is the graph this instance runs.
func (in *Instance) Topology() *topology.Topology { return in.topo }

// Run starts everything and blocks until ctx is cancelled, then stops
// everything within the configured shutdown timeout. It returns an error if
// startup fails or shutdown does not finish in time.
func (in *Instance) Run(ctx context.Context) error {
	var err error
	in.http, err = httpapi.Listen(ctx, httpapi.Config{
		Listen:     in.cfg.HTTPListen,
		InstanceID: in.cfg.InstanceID,
		Metrics:    in.metrics.Handler(),
		Components: in.components,
		Startup:    func() string { return in.startup.Load().(string) },
		Routes:     in.queryRoutes,
		TLSCert:    in.cfg.HTTPTLSCert,
		TLSKey:     in.cfg.HTTPTLSKey,
		Pprof:      in.cfg.Pprof,
		PprofToken: in.cfg.HTTPToken,
	})
	if err != nil {
		return err
	}
	in.log.Info("http listening", "addr", in.http.Addr(), "instance", in.cfg.InstanceID)

	in.brokers = in.cfg.Brokers
	if len(in.brokers) == 0 {
		in.startup.Store("starting embedded broker")
		bcfg := in.brokerSecurity
		bcfg.DataDir = filepath.Join(in.cfg.DataDir, "broker")
		bcfg.Listen = in.cfg.KafkaListen
		bcfg.Logger = in.log
		in.broker, err = broker.Start(ctx, bcfg)
		if err != nil {
			in.shutdownHTTP()
			return fmt.Errorf("instance: %w", err)
		}
		in.brokers = []string{in.broker.Addr()}
		in.log.Info("embedded broker listening", "addr", in.broker.Addr(), "data_dir", filepath.Join(in.cfg.DataDir, "broker"),
			"tls", in.brokerSecurity.TLSCert != "", "sasl_users", len(in.brokerSecurity.SASLUsers))
	}
	in.kafka = kafkasec.Cluster{Brokers: in.brokers, Security: in.security}

	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	var wg sync.WaitGroup
	err = in.start(ctx, runCtx, &wg)
	if err == nil {
		in.startup.Store("")
		in.log.Info("cartstream running", "brokers", in.brokers, "kafka_security", in.security, "instance", in.cfg.InstanceID)
		<-ctx.Done()
	}
	in.log.Info("stopping", "timeout", in.cfg.ShutdownTimeout)
	stopErr := in.stop(cancelRun, &wg)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return stopErr
}

// start creates topics and launches supervised components under runCtx.
// ctx is the instance's lifetime; it interrupts startup retries.
func (in *Instance) start(ctx, runCtx context.Context, wg *sync.WaitGroup) error {
	// One franz-go client for admin, seeding and dead letters; it lives
	// until stop, after the components that use it.
	admin, err := in.kafka.NewClient(kgo.ClientID("cartstream-"+in.cfg.InstanceID),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0),
		// A stopped partition's writes must be cancellable even once sent
		// (inventory.WriteGrace); a cancelled write fails its record's
		// commit, and the duplicate a re-read may write is harmless.
		kgo.AllowIdempotentProduceCancellation())
	if err != nil {
		return fmt.Errorf("instance: kafka client: %w", err)
	}
	in.client = admin
	adm := kadm.NewClient(admin)

	in.startup.Store("creating topics")
	for {
		res, err := in.topo.Ensure(ctx, adm, topology.EnsureOptions{
			ReplicationFactor: int16(in.cfg.ReplicationFactor),
			MinInsyncReplicas: in.cfg.MinInsyncReplicas,
		})
		if err == nil {
			in.metrics.TopicsCreated.Add(float64(len(res.Created)))
			in.log.Info("topics ready", "created", len(res.Created), "existing", len(res.Existing))
			break
		}
		if errors.Is(err, topology.ErrCoPartitioning) {
			return err
		}
		if kafkasec.Refused(err) {
			// Retrying with the same credentials or trust cannot
			// succeed; say so instead of waiting forever.
			return fmt.Errorf("instance: the brokers %s refused this instance's Kafka security settings (%s): %w", strings.Join(in.brokers, ","), in.security, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		in.log.Warn("cannot create topics yet; retrying", "error", err, "brokers", in.brokers)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(topicsRetry):
		}
	}

	if in.broker != nil && in.cfg.Seed {
		if err := in.seedIfEmpty(ctx, adm, admin); err != nil {
			return err
		}
	}

	// DESIGN §8: local state built before a group's last reset must not
	// survive it; this runs before any processor opens a store.
	in.startup.Store("checking reset epochs")
	in.resets, err = replay.Prepare(ctx, replay.PrepareConfig{Brokers: in.brokers, Security: in.security, Admin: adm, Topology: in.topo, DataDir: in.cfg.DataDir, Logger: in.log})
	if err != nil {
		return fmt.Errorf("instance: %w", err)
	}

	in.addSupervisor(runCtx, wg, "ticks", in.ticksFactory())
	return in.startProcessors(ctx, runCtx, wg, adm)
}

// startProcessors starts every group that exists so far, each under its own
// supervisor.
func (in *Instance) startProcessors(ctx, runCtx context.Context, wg *sync.WaitGroup, adm *kadm.Client) error {
	var reg debezium.SchemaRegistry
	if in.cfg.Registry != "" {
		c, err := registry.New(in.cfg.Registry, registry.Options{})
		if err != nil {
			return fmt.Errorf("instance: %w", err)
		}
		reg = c
	}
	// Schemaless JSON (schemas.enable=false) carries no types: the shop
	// tables' column types read its decimals, timestamps and jsonb.
	columns, err := cdc.AllColumns()
	if err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	decoder := &debezium.Decoder{Registry: reg, Columns: columns}
	dead := dlq.NewWriter(in.client, in.topo.Names.DLQ, nil)
	factory := streams.NewFactory(streams.Config{
		Brokers:        in.brokers,
		Security:       in.security,
		InstanceID:     in.cfg.InstanceID,
		AdvertisedHTTP: in.advertisedHTTP(),
		DataDir:        in.cfg.DataDir,
		FlushInterval:  in.cfg.FlushInterval,
		Logger:         in.log,
		Admin:          adm,
	})
	for _, k := range cdc.Kinds() {
		g, _ := in.topo.Group(cdc.GroupName(k))
		details, err := adm.ListTopics(ctx, g.Inputs[0])
		if err != nil {
			return fmt.Errorf("instance: partitions of %s: %w", g.Inputs[0], err)
		}
		parts := int32(len(details[g.Inputs[0]].Partitions))
		graph, err := cdc.Graph(cdc.Config{
			Topology: in.topo, SourcePartitions: parts,
			Decoder: decoder, DLQ: dead, Metrics: in.metrics, Logger: in.log,
		}, k)
		if err != nil {
			return fmt.Errorf("instance: %w", err)
		}
		in.addSupervisor(runCtx, wg, g.Name, factory.Supervised(graph, streams.ProcessorOptions{NilHandling: goka.NilProcess, HotStandby: in.cfg.HotStandby}, in.restore.track(g.Name, nil)))
	}
	deps := queryDeps{promotions: promo.NewIndex(), inventoryTimes: &streamtime.Partitions{}, partitions: map[string]int32{}}
	if err := in.startInventory(ctx, runCtx, wg, adm, factory, dead, deps); err != nil {
		return err
	}
	if err := in.startCarts(ctx, runCtx, wg, adm, factory, dead, deps, reg); err != nil {
		return err
	}
	in.startQueries(runCtx, wg, adm, factory, deps)
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.restore.run(runCtx, in)
	}()
	return nil
}

// startInventory starts the inventory group. It writes its table itself
// (see processors/inventory), through a client of its own that sends each
// record to the partition being processed.
func (in *Instance) startInventory(ctx, runCtx context.Context, wg *sync.WaitGroup, adm *kadm.Client, factory *streams.Factory, dead *dlq.Writer, deps queryDeps) error {
	g, _ := in.topo.Group(topology.GroupInventory)
	details, err := adm.ListTopics(ctx, in.topo.Names.Reservations)
	if err != nil {
		return fmt.Errorf("instance: partitions of %s: %w", in.topo.Names.Reservations, err)
	}
	cl, err := in.kafka.NewClient(
		kgo.ClientID("cartstream-"+in.cfg.InstanceID+"-inventory-table"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0),
		// A stopped partition's writes must be cancellable even once sent
		// (inventory.WriteGrace); a cancelled write fails its record's
		// commit, and the duplicate a re-read may write is harmless.
		kgo.AllowIdempotentProduceCancellation())
	if err != nil {
		return fmt.Errorf("instance: inventory changelog client: %w", err)
	}
	in.changelog = cl
	stores := in.stores
	deps.partitions[topology.SetInventory] = int32(len(details[in.topo.Names.Reservations].Partitions))
	graph, err := inventory.Graph(inventory.Config{
		Topology:   in.topo,
		Partitions: deps.partitions[topology.SetInventory],
		Reserve: reserve.Config{
			HoldTTL:     in.cfg.HoldTTL,
			Outbox:      in.cfg.Outbox,
			CommitGrace: in.cfg.CommitGrace,
			DedupWindow: reserve.DefaultDedupWindow,
		},
		Changelog:   cl,
		Stores:      stores,
		StreamTimes: deps.inventoryTimes,
		DLQ:         dead,
		Metrics:     in.metrics,
		Logger:      in.log,
	})
	if err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	in.addSupervisor(runCtx, wg, g.Name, factory.Supervised(graph, streams.ProcessorOptions{
		NilHandling: goka.NilProcess,
		Stores:      stores,
		HotStandby:  in.cfg.HotStandby,
	}, in.restore.track(g.Name, nil)))
	return nil
}

// cartSweep is how often the carts table is visited for idle carts and
// checkouts whose holds expired (DESIGN §6: a cart with no records of its
// own reports expired at the next sweep).
const cartSweep = 10 * time.Second

// startCarts starts the promotion index and the carts group. The carts
// processor starts only once the index holds the promotions table, so no
// offer is evaluated against a half-loaded catalog.
func (in *Instance) startCarts(ctx, runCtx context.Context, wg *sync.WaitGroup, adm *kadm.Client, factory *streams.Factory, dead *dlq.Writer, deps queryDeps, reg debezium.SchemaRegistry) error {
	idx := deps.promotions
	indexer := &carts.PromotionIndexer{Factory: factory, Table: in.topo.Names.PromotionsTable, Index: idx, Logger: in.log}
	indexSup := in.addSupervisor(runCtx, wg, "promotions-index", indexer.Supervised())

	details, err := adm.ListTopics(ctx, in.topo.Names.CartEvents)
	if err != nil {
		return fmt.Errorf("instance: partitions of %s: %w", in.topo.Names.CartEvents, err)
	}
	deps.partitions[topology.SetCarts] = int32(len(details[in.topo.Names.CartEvents].Partitions))
	boundary, err := replay.CartsBoundary(ctx, adm, in.topo, in.resets)
	if err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	graph, err := carts.Graph(carts.Config{
		Topology:   in.topo,
		Partitions: deps.partitions[topology.SetCarts],
		Promotions: idx,
		Rule:       streamtime.Rule{MaxSkew: in.cfg.MaxSkew},
		DLQ:        dead,
		Metrics:    in.metrics,
		Logger:     in.log,
		Boundary:   boundary, // records processed before the last replay
		Registry:   reg,      // Avro cart events (nil without --registry)
	})
	if err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	var current atomic.Pointer[goka.Processor]
	build := factory.Supervised(graph, streams.ProcessorOptions{Stores: in.stores, HotStandby: in.cfg.HotStandby}, in.restore.track(topology.GroupCarts, func(p *goka.Processor) { current.Store(p) }))
	in.addSupervisor(runCtx, wg, topology.GroupCarts, func(ctx context.Context) (supervise.Runner, error) {
		for !indexSup.Ready() {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return build(ctx)
	})
	// Idle carts are deleted by a periodic visit of the whole table.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(cartSweep)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				if p := current.Load(); p != nil && p.Recovered() {
					if err := p.VisitAll(runCtx, carts.VisitExpire, nil); err != nil && runCtx.Err() == nil {
						in.log.Warn("idle cart sweep failed", "error", err)
					}
				}
			}
		}
	}()
	return nil
}

// demoClockLead is how far before now the demo catalog's simulated clock
// starts; seeding advances it by less than that.
const demoClockLead = 2 * time.Minute

// seedIfEmpty writes the demo catalog through the shop simulator when the
// embedded broker's products topic has never had a record, i.e. on an empty
// data dir. A restart finds the records and seeds nothing.
func (in *Instance) seedIfEmpty(ctx context.Context, adm *kadm.Client, cl *kgo.Client) error {
	ends, err := adm.ListEndOffsets(ctx, in.topo.Names.Products)
	if err != nil {
		return fmt.Errorf("instance: seed: end offsets: %w", err)
	}
	var records int64
	ends.Each(func(o kadm.ListedOffset) { records += o.Offset })
	if records > 0 {
		return nil
	}
	in.startup.Store("seeding demo data")
	// The simulated database's clock starts a little in the past: writing
	// the catalog advances it about a minute, and records from the future
	// would carry every partition's stream time (hold expiry, dedup) ahead
	// of the ticks. From here on, time comes from the records it wrote.
	sim := shopsim.New(1, shopsim.Options{Start: time.Now().UTC().Add(-demoClockLead).Truncate(time.Second)})
	recs := sim.SnapshotCatalog(shopsim.DemoProducts, shopsim.DemoPromotions)
	if err := shopsim.Produce(ctx, cl, recs); err != nil {
		return fmt.Errorf("instance: seed demo data: %w", err)
	}
	in.log.Info("seeded demo data", "products", len(sim.Products()), "promotions", len(sim.Promotions()), "records", len(recs))
	return nil
}

func (in *Instance) addSupervisor(ctx context.Context, wg *sync.WaitGroup, name string, f supervise.Factory) *supervise.Supervisor {
	s := supervise.New(name, f, supervise.Options{
		Logger: in.log,
		OnRestart: func(name string, _ error) {
			in.metrics.ComponentRestarts.WithLabelValues(name).Inc()
		},
	})
	in.metrics.ComponentRestarts.WithLabelValues(name).Add(0)
	in.mu.Lock()
	in.supervisors = append(in.supervisors, s)
	in.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.Run(ctx)
	}()
	return s
}

func (in *Instance) components() []httpapi.Component {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]httpapi.Component, 0, len(in.supervisors))
	for _, s := range in.supervisors {
		ready := 0.0
		if s.Ready() {
			ready = 1
		}
		in.metrics.ComponentReady.WithLabelValues(s.Name()).Set(ready)
		out = append(out, s)
	}
	return out
}

// ticksFactory builds a tick emitter with a client of its own per run.
func (in *Instance) ticksFactory() supervise.Factory {
	topics := []string{in.topo.Names.CartsTicks, in.topo.Names.InventoryTicks}
	return func(context.Context) (supervise.Runner, error) {
		cl, err := in.kafka.NewClient(
			kgo.ClientID("cartstream-"+in.cfg.InstanceID+"-ticks"),
			kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerLinger(0),
		)
		if err != nil {
			return nil, fmt.Errorf("ticks client: %w", err)
		}
		e, err := ticks.New(ticks.Config{
			Client:   cl,
			Topics:   topics,
			Instance: in.cfg.InstanceID,
			Interval: in.cfg.TickInterval,
			OnError: func(err error) {
				in.log.Debug("tick failed", "error", err)
			},
			OnResult: func(topic string, err error) {
				if err != nil {
					in.metrics.TickErrors.WithLabelValues(topic).Inc()
					return
				}
				in.metrics.TicksEmitted.WithLabelValues(topic).Inc()
			},
		})
		if err != nil {
			cl.Close()
			return nil, err
		}
		return &clientRunner{run: e.Run, close: cl.Close, ready: func() bool { return true }}, nil
	}
}

// clientRunner adapts a Run func and the client it owns to supervise.Runner.
type clientRunner struct {
	run   func(context.Context) error
	close func()
	ready func() bool
}

func (r *clientRunner) Run(ctx context.Context) error {
	defer r.close()
	return r.run(ctx)
}

func (r *clientRunner) Ready() bool { return r.ready() }

// stop cancels components, waits for them within the shutdown timeout, then
// closes the broker (flushing its data dir) and the HTTP server.
func (in *Instance) stop(cancel context.CancelFunc, wg *sync.WaitGroup) error {
	deadline := time.Now().Add(in.cfg.ShutdownTimeout)
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		err = fmt.Errorf("instance: components did not stop within %s", in.cfg.ShutdownTimeout)
	}
	if in.changelog != nil {
		in.changelog.Close()
	}
	if in.client != nil {
		in.client.Close()
	}
	if in.broker != nil {
		in.broker.Close()
	}
	in.shutdownHTTP()
	return err
}

func (in *Instance) shutdownHTTP() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := in.http.Shutdown(ctx); err != nil {
		in.log.Warn("http shutdown", "error", err)
	}
}
