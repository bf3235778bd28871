package producer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/dlq"
	"cartstream/internal/metrics"
	"cartstream/internal/money"
	"cartstream/internal/partition"
	"cartstream/internal/producer"
	"cartstream/internal/promo"
	"cartstream/internal/registry"
	"cartstream/internal/registry/registrytest"
	"cartstream/internal/streams"
	"cartstream/internal/streamtime"
	"cartstream/processors/carts"
	"cartstream/schemas"
	"cartstream/topology"
)

// testPartitions is the partition count of the test's topics: odd, so a
// partitioner that is not Kafka's murmur2 shows.
const testPartitions = 5

// TestProduceJSONAndAvroOverTCP produces cart events as JSON and as Avro
// (through a fake registry) to the embedded broker over TCP, reads them
// back and checks values, keys and partitions (murmur2, as kcat's
// -X partitioner=murmur2_random places them), that bad lines were skipped
// and reported, and that the carts group turns the Avro events into offers.
func TestProduceJSONAndAvroOverTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dir, "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topo := topology.New(topology.Config{Partitions: testPartitions})
	if _, err := topo.Ensure(ctx, kadm.NewClient(cl), topology.EnsureOptions{}); err != nil {
		t.Fatal(err)
	}
	topic := topo.Names.CartEvents

	var input bytes.Buffer
	var want []string // cart ids of good lines, in order
	for i := range 40 {
		cart := fmt.Sprintf("cart-%d", i)
		want = append(want, cart)
		fmt.Fprintf(&input, `{"event_id":"j-%d","cart_id":%q,"type":"item_added","sku":"SKU-%d","qty":%d,"currency":"USD"}`+"\n", i, cart, i%3, 1+i%4)
		if i == 10 {
			input.WriteString(`{"event_id":"bad","type":"item_added"}` + "\n") // line 12
		}
	}
	check, err := producer.NewChecker(producer.FormatJSON, 0)
	if err != nil {
		t.Fatal(err)
	}
	var complaints bytes.Buffer
	sum, err := producer.Run(ctx, cl, check, &input, producer.Options{Topic: topic, Errors: &complaints})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Produced != 40 || sum.Skipped != 1 {
		t.Errorf("summary %s, want 40 produced and 1 skipped", sum)
	}
	if got := complaints.String(); !strings.HasPrefix(got, "line 12: cart-event schema:") || !strings.Contains(got, "missing property 'cart_id'") {
		t.Errorf("complaints %q", got)
	}

	reg := registrytest.Start()
	defer reg.Close()
	regClient, err := registry.New(reg.URL(), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := producer.RegisterCartEvent(ctx, regClient, topic)
	if err != nil {
		t.Fatal(err)
	}
	if ids := reg.Subjects()[topic+"-value"]; len(ids) != 1 || ids[0] != id {
		t.Fatalf("registered subjects %v", reg.Subjects())
	}
	avroCheck, err := producer.NewChecker(producer.FormatAvro, id)
	if err != nil {
		t.Fatal(err)
	}
	avroLines := []string{
		`{"event_id":"a-1","cart_id":"avro-cart","type":"item_added","sku":"SKU-1","qty":3,"currency":"EUR","ts":"2026-11-21T10:00:00.5Z","segments":["vip"]}`,
		`{"event_id":"a-2","cart_id":"avro-cart","type":"coupon_applied","code":"WELCOME"}`,
	}
	sum, err = producer.Run(ctx, cl, avroCheck, strings.NewReader(strings.Join(avroLines, "\n")), producer.Options{Topic: topic, OnError: producer.Stop})
	if err != nil || sum.Produced != 2 || sum.Skipped != 0 {
		t.Fatalf("avro run: %s, %v", sum, err)
	}
	// Stop: the line before the bad one is produced, nothing after it.
	sum, err = producer.Run(ctx, cl, check, strings.NewReader(
		`{"event_id":"s-1","cart_id":"stop-cart","type":"item_added","sku":"S","qty":1,"currency":"USD"}`+"\nnot json\n"+
			`{"event_id":"s-2","cart_id":"stop-cart","type":"item_added","sku":"S","qty":1,"currency":"USD"}`+"\n"),
		producer.Options{Topic: topic, OnError: producer.Stop})
	var le *producer.LineError
	if !errors.Is(err, producer.ErrStopped) || !errors.As(err, &le) || le.Line != 2 || sum.Produced != 1 || sum.Skipped != 1 {
		t.Fatalf("stop run: %s, %v", sum, err)
	}

	recs := consumeAll(ctx, t, b.Addr(), topic, 40+2+1)
	var gotJSON []string
	var gotAvro []*kgo.Record
	for _, r := range recs {
		if got, want := r.Partition, partition.For(r.Key, testPartitions); got != want {
			t.Errorf("key %q in partition %d, murmur2 owner %d", r.Key, got, want)
		}
		switch {
		case schemas.IsConfluent(r.Value):
			gotAvro = append(gotAvro, r)
		case strings.HasPrefix(string(r.Key), "cart-"):
			var ev struct {
				CartID string `json:"cart_id"`
			}
			if err := json.Unmarshal(r.Value, &ev); err != nil || ev.CartID != string(r.Key) {
				t.Errorf("record %q = %s", r.Key, r.Value)
			}
			gotJSON = append(gotJSON, string(r.Key))
		}
	}
	if len(gotJSON) != len(want) {
		t.Errorf("read %d JSON events, want %d", len(gotJSON), len(want))
	}
	if len(gotAvro) != 2 {
		t.Fatalf("read %d Avro events, want 2", len(gotAvro))
	}
	for i, r := range gotAvro {
		gotID, _, err := schemas.SplitConfluent(r.Value)
		if err != nil || gotID != id || string(r.Key) != "avro-cart" {
			t.Errorf("avro record %d: key %q id %d err %v", i, r.Key, gotID, err)
		}
	}

	// The carts group reads the Avro events through the registry.
	m := metrics.New()
	dlqClient, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer dlqClient.Close()
	graph, err := carts.Graph(carts.Config{
		Topology: topo, Partitions: testPartitions, Promotions: promo.NewIndex(),
		Rule: streamtime.Rule{MaxSkew: 100 * 365 * 24 * time.Hour}, Rounding: money.HalfEven,
		DLQ: dlq.NewWriter(dlqClient, topo.Names.DLQ, nil), Metrics: m, Registry: regClient,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := streams.NewFactory(streams.Config{Brokers: []string{b.Addr()}, DataDir: filepath.Join(dir, "state")}).
		NewProcessor(graph, streams.ProcessorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() { stop(); <-done }()

	var avroOffers []map[string]any
	for _, r := range consumeAll(ctx, t, b.Addr(), topo.Names.Offers, 40+2+1) {
		if string(r.Key) != "avro-cart" {
			continue
		}
		var o map[string]any
		if err := json.Unmarshal(r.Value, &o); err != nil {
			t.Fatal(err)
		}
		avroOffers = append(avroOffers, o)
	}
	if len(avroOffers) != 2 {
		t.Fatalf("%d offers for the Avro cart, want 2", len(avroOffers))
	}
	last := avroOffers[1]
	src, _ := last["source"].(map[string]any)
	if last["currency"] != "EUR" || last["cart_version"] != float64(2) || src["event_id"] != "a-2" || src["topic"] != topic {
		t.Errorf("offer for the Avro cart: %v", last)
	}
	if first := avroOffers[0]; first["event_time"] != "2026-11-21T10:00:00.5Z" {
		t.Errorf("first Avro offer's event_time %v, want the event's ts", first["event_time"])
	}
	if na, _ := last["not_applied"].([]any); len(na) != 1 || !strings.Contains(fmt.Sprint(na[0]), "WELCOME") {
		t.Errorf("the coupon of the Avro event is not in the offer: %v", last["not_applied"])
	}
}

// consumeAll reads n records of topic from the start.
func consumeAll(ctx context.Context, t *testing.T, addr, topic string, n int) []*kgo.Record {
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
