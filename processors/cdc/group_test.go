package cdc

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/debezium"
	"cartstream/internal/dlq"
	"cartstream/internal/metrics"
	"cartstream/internal/registry"
	"cartstream/internal/streams"
	"cartstream/schemas"
	"cartstream/topology"
)

// TestProductsGroupRetriesRegistryOutage runs cdc-products over TCP against
// the embedded broker with Avro input. The schema registry answers 503 for
// its first requests: the record waits (no dead letter) and is processed once
// the registry heals. Garbage after it is dead-lettered and the record after
// the garbage is still processed.
func TestProductsGroupRetriesRegistryOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	envelope, keySchema := readTestdata(t, "pg-products-envelope.avsc"), readTestdata(t, "pg-products-key.avsc")
	var failures atomic.Int32
	failures.Store(3)
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failures.Add(-1) >= 0 {
			http.Error(w, `{"error_code":50001,"message":"store unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		schema := map[string]string{"/schemas/ids/10": envelope, "/schemas/ids/11": keySchema}[r.URL.Path]
		if schema == "" {
			http.Error(w, `{"error_code":40403,"message":"Schema not found"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"schema": schema})
	}))
	defer reg.Close()
	r := startProductsGroup(ctx, t, reg.URL, 2)
	defer r.stop()
	cl, b, topo, m := r.cl, r.b, r.topo, r.metrics

	key := confluent(11, avroBody(t, keySchema, map[string]any{"sku": "SKU-1"}))
	value := confluent(10, avroBody(t, envelope, avroProductsEnvelope()))
	produce := func(v []byte) {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topo.Names.Products, Key: key, Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(value)
	produce([]byte("garbage"))
	produce(value)

	out := consume(ctx, t, b.Addr(), topo.Names.ProductsTable, 2)
	for _, r := range out {
		var prod schemas.Product
		if err := schemas.Unmarshal(r.Value, &prod); err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != "SKU-1" || prod.PriceMinor != 1999 || prod.Category != "shoes" {
			t.Errorf("product %s = %+v", r.Key, prod)
		}
	}
	letters := consume(ctx, t, b.Addr(), topo.Names.DLQ, 1)
	l, err := dlq.Parse(letters[0])
	if err != nil {
		t.Fatal(err)
	}
	if l.Class != dlq.ClassDecode || string(l.Value) != "garbage" || l.SourceOffset != 1 {
		t.Errorf("dead letter %+v, want the garbage at offset 1 as decode", l)
	}
	if failures.Load() >= 0 {
		t.Errorf("the registry outage was never hit")
	}
	text := gather(t, m)
	if !strings.Contains(text, `cartstream_transient_retries_total{group="cdc-products"} 3`) {
		t.Errorf("want 3 transient retries counted:\n%s", text)
	}
	if !strings.Contains(text, `cartstream_dead_letters_total{class="decode",group="cdc-products"} 1`) {
		t.Errorf("want exactly one dead letter (the garbage), metrics:\n%s", text)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func confluent(id int, body []byte) []byte {
	out := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...)
}

func avroBody(t *testing.T, schema string, native any) []byte {
	t.Helper()
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.BinaryFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// avroProductsEnvelope is a products create in Debezium's Avro shape; the
// schema has more columns than cartstream reads, including a TOASTed one.
func avroProductsEnvelope() map[string]any {
	after := map[string]any{
		"sku":         "SKU-1",
		"name":        "Trail shoe",
		"category":    goavro.Union("string", "shoes"),
		"brand":       nil,
		"price":       goavro.Union("bytes.decimal", big.NewRat(1999, 100)),
		"currency":    goavro.Union("string", "USD"),
		"active":      goavro.Union("boolean", true),
		"updated_at":  goavro.Union("string", "2026-01-05T10:47:58.9456Z"),
		"weight_kg":   nil,
		"created_at":  nil,
		"launched_on": nil,
		"attributes":  nil,
		"tags":        nil,
		"description": goavro.Union("string", debezium.DefaultUnavailablePlaceholder),
	}
	return map[string]any{
		"before": nil,
		"after":  goavro.Union("shop.public.products.Value", after),
		"source": map[string]any{
			"version": "2.5.4.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": int64(1767611532462), "snapshot": goavro.Union("string", "false"),
			"db": "shop", "sequence": nil, "ts_us": nil, "ts_ns": nil,
			"schema": "public", "table": "products", "txId": nil, "lsn": nil, "xmin": nil,
		},
		"op": "c", "ts_ms": goavro.Union("long", int64(1767611532655)),
		"ts_us": nil, "ts_ns": nil, "transaction": nil,
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
	return out
}

func gather(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := mt.GetCounter().GetValue() + mt.GetGauge().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", f.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}

// TestProductsGroupStopsWhileRegistryIsDown: a partition retrying an
// unreachable schema registry must let its processor stop. goka's
// Context.Fail returns once the partition is stopping, and the retry loop
// used to go round forever, so shutdown hung past --shutdown-timeout; it
// now ends in streams.Fail, and the record stays uncommitted.
func TestProductsGroupStopsWhileRegistryIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var asked atomic.Int32
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, `{"error_code":50001,"message":"store unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer reg.Close()
	r := startProductsGroup(ctx, t, reg.URL, 1)
	defer r.b.Close()
	defer r.cl.Close()
	cl, adm, topo, graph := r.cl, r.adm, r.topo, r.graph

	envelope := readTestdata(t, "pg-products-envelope.avsc")
	keySchema := readTestdata(t, "pg-products-key.avsc")
	rec := &kgo.Record{Topic: topo.Names.Products,
		Key:   confluent(11, avroBody(t, keySchema, map[string]any{"sku": "SKU-1"})),
		Value: confluent(10, avroBody(t, envelope, avroProductsEnvelope()))}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for asked.Load() < 2 {
		if ctx.Err() != nil {
			t.Fatal("the record never reached the registry")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the processor did not stop while its partition retried the registry")
	}
	offsets, err := adm.FetchOffsets(ctx, string(graph.Group()))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup(topo.Names.Products, 0); ok && o.At > 0 {
		t.Errorf("committed offset %d: the record that never decoded was committed", o.At)
	}
}

// productsRig is cdc-products running over TCP against an embedded broker,
// decoding Avro through the schema registry at a URL.
type productsRig struct {
	b       *broker.Broker
	cl      *kgo.Client
	adm     *kadm.Client
	topo    *topology.Topology
	graph   *goka.GroupGraph
	metrics *metrics.Metrics
	cancel  context.CancelFunc
	done    chan error
}

// startProductsGroup starts the broker, the topics (partitions each) and
// the group's processor.
func startProductsGroup(ctx context.Context, t *testing.T, registryURL string, partitions int32) *productsRig {
	t.Helper()
	regClient, err := registry.New(registryURL, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dir, "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	r := &productsRig{b: b, cl: cl, adm: kadm.NewClient(cl), metrics: metrics.New(), done: make(chan error, 1)}
	r.topo = topology.New(topology.Config{Partitions: partitions})
	if _, err := r.topo.Ensure(ctx, r.adm, topology.EnsureOptions{}); err != nil {
		t.Fatal(err)
	}
	r.graph, err = Graph(Config{
		Topology: r.topo, SourcePartitions: partitions,
		Decoder: &debezium.Decoder{Registry: regClient},
		DLQ:     dlq.NewWriter(cl, r.topo.Names.DLQ, nil),
		Metrics: r.metrics,
	}, Products)
	if err != nil {
		t.Fatal(err)
	}
	p, err := streams.NewFactory(streams.Config{Brokers: []string{b.Addr()}, DataDir: filepath.Join(dir, "state")}).
		NewProcessor(r.graph, streams.ProcessorOptions{NilHandling: goka.NilProcess})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	go func() { r.done <- p.Run(runCtx) }()
	return r
}

// stop stops the processor, then the client and the broker.
func (r *productsRig) stop() {
	r.cancel()
	<-r.done
	r.cl.Close()
	r.b.Close()
}
