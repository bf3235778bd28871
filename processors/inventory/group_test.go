package inventory

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/dlq"
	"cartstream/internal/metrics"
	"cartstream/internal/reserve"
	"cartstream/internal/streams"
	"cartstream/schemas"
	"cartstream/topology"
)

// rig is the inventory group running over TCP against the embedded broker,
// with real Pebble stores; restart builds a fresh processor on the same data
// dir, as the supervisor does.
type rig struct {
	t        *testing.T
	ctx      context.Context
	addr     string
	topo     *topology.Topology
	client   *kgo.Client
	dataDir  string
	metrics  *metrics.Metrics
	stopProc func()
}

func newRig(t *testing.T) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("broker test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dir, "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	topo := topology.New(topology.Config{Partitions: 2})
	if _, err := topo.Ensure(ctx, kadm.NewClient(cl), topology.EnsureOptions{}); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, ctx: ctx, addr: b.Addr(), topo: topo, client: cl, dataDir: filepath.Join(dir, "state"), metrics: metrics.New()}
	t.Cleanup(func() {
		if r.stopProc != nil {
			r.stopProc()
		}
	})
	return r
}

// start runs a new inventory processor and waits until it has recovered.
func (r *rig) start() {
	r.t.Helper()
	changelog, err := kgo.NewClient(kgo.SeedBrokers(r.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0),
		kgo.AllowIdempotentProduceCancellation())
	if err != nil {
		r.t.Fatal(err)
	}
	stores := streams.NewStores()
	graph, err := Graph(Config{
		Topology: r.topo, Partitions: 2, Reserve: reserve.DefaultConfig(),
		Changelog: changelog, Stores: stores,
		DLQ: dlq.NewWriter(r.client, r.topo.Names.DLQ, nil), Metrics: r.metrics,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	p, err := streams.NewFactory(streams.Config{Brokers: []string{r.addr}, DataDir: r.dataDir}).
		NewProcessor(graph, streams.ProcessorOptions{NilHandling: goka.NilProcess, Stores: stores})
	if err != nil {
		r.t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(r.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	r.stopProc = func() {
		stop()
		if err := <-done; err != nil {
			r.t.Errorf("processor: %v", err)
		}
		changelog.Close()
		r.stopProc = nil
	}
	if err := p.WaitForReadyContext(r.ctx); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) stop() { r.stopProc() }

func (r *rig) produce(topic, key string, value []byte) {
	r.t.Helper()
	if err := r.client.ProduceSync(r.ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: value}).FirstErr(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) stock(sku string, onHand int32, version int64, at time.Time) {
	r.t.Helper()
	b, err := schemas.Marshal(&schemas.StockRow{SKU: sku, OnHand: onHand, Version: version, EventTime: at})
	if err != nil {
		r.t.Fatal(err)
	}
	r.produce(r.topo.Names.InventoryChanges, sku, b)
}

func (r *rig) command(op schemas.ReservationOp, checkout, sku string, qty int32, at time.Time) schemas.ReservationCommand {
	r.t.Helper()
	req := reserve.RequestID(checkout, sku)
	cmd := schemas.ReservationCommand{CommandID: reserve.CommandID(req, op), RequestID: req, Op: op, SKU: sku, Qty: qty,
		CartID: "cart-" + checkout, CheckoutID: checkout, EventTime: at}
	b, err := schemas.Marshal(&cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	r.produce(r.topo.Names.Reservations, sku, b)
	return cmd
}

// results reads every result on the results topic until it has n.
func (r *rig) results(n int) []schemas.ReservationResult {
	r.t.Helper()
	recs := consume(r.ctx, r.t, r.addr, r.topo.Names.ReservationRes, n)
	out := make([]schemas.ReservationResult, 0, len(recs))
	for _, rec := range recs {
		var res schemas.ReservationResult
		if err := schemas.Unmarshal(rec.Value, &res); err != nil {
			r.t.Fatal(err)
		}
		if string(rec.Key) != res.CartID {
			r.t.Errorf("result keyed %q, want its cart %q", rec.Key, res.CartID)
		}
		out = append(out, res)
	}
	return out
}

// waitTable waits until the group's changelog holds a value for key.
func (r *rig) waitTable(key string) {
	r.t.Helper()
	g, _ := r.topo.Group(topology.GroupInventory)
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.addr), kgo.ConsumeTopics(g.Table), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		r.t.Fatal(err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(r.ctx)
		if err := fs.Err0(); err != nil {
			r.t.Fatalf("waiting for %s in %s: %v", key, g.Table, err)
		}
		for _, rec := range fs.Records() {
			if string(rec.Key) == key && rec.Value != nil {
				return
			}
		}
	}
}

func consume(ctx context.Context, t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume %s: %v (have %d of %d)", topic, err, len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	// Anything beyond n would be a result too many.
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	out = append(out, cl.PollFetches(short).Records()...)
	return out
}

func outcome(res schemas.ReservationResult) string {
	s := res.Status
	if res.Reason != nil {
		s += "/" + *res.Reason
	}
	return s
}

// TestInventoryOverTCP drives the group through the broker: a stock row,
// reserves until the stock is gone, a redelivered command at a new offset,
// bad records, a release; then a restart and a rebuild from the changelog
// alone, after which a redelivery still gets the original answer.
func TestInventoryOverTCP(t *testing.T) {
	r := newRig(t)
	r.start()
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	r.stock("SKU-1", 3, 1, t0)
	// Stock rows and commands are different topics, consumed
	// concurrently: wait until the row is in the table.
	r.waitTable("SKU-1")
	a := r.command(schemas.OpReserve, "co-a", "SKU-1", 2, t0.Add(time.Second))
	r.command(schemas.OpReserve, "co-b", "SKU-1", 2, t0.Add(2*time.Second))
	r.command(schemas.OpReserve, "co-a", "SKU-1", 2, t0.Add(time.Second)) // redelivery of a
	r.command(schemas.OpReserve, "co-z", "SKU-1", 0, t0.Add(3*time.Second))
	r.command(schemas.OpReserve, "co-u", "SKU-404", 1, t0.Add(3*time.Second))
	r.produce(r.topo.Names.Reservations, "SKU-1", []byte("garbage"))
	r.command(schemas.OpRelease, "co-a", "SKU-1", 2, t0.Add(4*time.Second))
	r.command(schemas.OpReserve, "co-c", "SKU-1", 3, t0.Add(5*time.Second))

	got := map[string][]string{}
	for _, res := range r.results(7) {
		got[res.CommandID] = append(got[res.CommandID], outcome(res))
	}
	want := map[string][]string{
		"co-a:SKU-1:reserve":   {"reserved", "reserved"},
		"co-b:SKU-1:reserve":   {"rejected/insufficient_stock"},
		"co-z:SKU-1:reserve":   {"rejected/invalid_quantity"},
		"co-u:SKU-404:reserve": {"rejected/unknown_sku"},
		"co-a:SKU-1:release":   {"released"},
		"co-c:SKU-1:reserve":   {"reserved"},
	}
	if !equalOutcomes(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	letters := consume(r.ctx, t, r.addr, r.topo.Names.DLQ, 1)
	if l, err := dlq.Parse(letters[0]); err != nil || l.Class != dlq.ClassDecode || string(l.Value) != "garbage" {
		t.Errorf("dead letter %+v (%v), want the garbage as decode", l, err)
	}

	// A restart on the same data dir, then a rebuild from the changelog
	// alone: the redelivered reserve of co-a gets its original answer (and
	// no new hold: co-d cannot have the units co-c holds).
	r.stop()
	r.start()
	r.command(schemas.OpReserve, "co-a", "SKU-1", 2, a.EventTime)
	r.stop()
	if err := os.RemoveAll(r.dataDir); err != nil {
		t.Fatal(err)
	}
	r.start()
	r.command(schemas.OpReserve, "co-a", "SKU-1", 2, a.EventTime)
	r.command(schemas.OpReserve, "co-d", "SKU-1", 1, t0.Add(6*time.Second))
	got = map[string][]string{}
	for _, res := range r.results(10) {
		got[res.CommandID] = append(got[res.CommandID], outcome(res))
	}
	want["co-a:SKU-1:reserve"] = []string{"reserved", "reserved", "reserved", "reserved"}
	want["co-d:SKU-1:reserve"] = []string{"rejected/insufficient_stock"}
	if !equalOutcomes(got, want) {
		t.Errorf("after restart and rebuild: results %v, want %v", got, want)
	}
}

func equalOutcomes(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if strings.Join(got[k], ",") != strings.Join(w, ",") {
			return false
		}
	}
	return true
}
