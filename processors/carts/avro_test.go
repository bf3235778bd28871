package carts

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/dlq"
	"cartstream/internal/metrics"
	"cartstream/internal/money"
	"cartstream/internal/promo"
	"cartstream/internal/registry"
	"cartstream/internal/registry/registrytest"
	"cartstream/internal/streamtime"
	"cartstream/schemas"
	"cartstream/topology"
)

// avroEvent frames a JSON cart event as Confluent Avro with schema id id.
func avroEvent(t *testing.T, id int, doc string) []byte {
	t.Helper()
	body, err := schemas.CartEventAvro([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return schemas.AppendConfluent(nil, id, body)
}

// TestAvroCartEventsParseLikeTheirJSON proves the Avro form faithful: every
// valid example of the cart-event JSON Schema, written as Avro with
// cart_event.avsc and read back through a registry, parses to the very
// event its JSON does.
func TestAvroCartEventsParseLikeTheirJSON(t *testing.T) {
	reg := registrytest.Start()
	defer reg.Close()
	text, err := schemas.CartEventAvroSchema()
	if err != nil {
		t.Fatal(err)
	}
	id := reg.Add("cart-events-value", text)
	client, err := registry.New(reg.URL(), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &avroEvents{registry: client}
	files, err := filepath.Glob("../../schemas/testdata/json/cart_event/valid-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	extra := []string{
		`{"event_id":"e-1","cart_id":"c-1","type":"item_added","sku":"S","qty":1000000,"ts":"2026-11-21T10:00:00.123456+09:00","segments":[],"customer_id":"","unknown":{"x":1}}`,
		`{"event_id":"e-2","cart_id":"c-1","type":"item_removed","sku":"S","segments":["vip","b2b"],"schema_version":1}`,
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, string(b))
	}
	for _, doc := range extra {
		want, err := ParseEvent([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		text, err := a.json(context.Background(), avroEvent(t, id, doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		got, err := ParseEvent(text)
		if err != nil {
			t.Fatalf("%s as Avro reads as %s: %v", doc, text, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s\n  as Avro: %+v\n  as JSON: %+v", doc, got, want)
		}
	}
}

func TestAvroEncodingRefusesWhatItCannotCarry(t *testing.T) {
	for _, doc := range []string{
		`{"event_id":"e","cart_id":"c","type":"item_added","sku":"S","qty":2147483648}`,
		`{"cart_id":"c","type":"cart_cleared"}`, // event_id has no default
		`{"event_id":"e","cart_id":"c","type":"item_added","sku":1}`,
		`[1]`,
	} {
		if _, err := schemas.CartEventAvro([]byte(doc)); !errors.Is(err, schemas.ErrEncode) {
			t.Errorf("%s: err %v, want ErrEncode", doc, err)
		}
	}
}

// TestGroupReadsAvroCartEvents runs the carts group under goka's tester
// with Avro input: an Avro event makes an offer; a registry outage holds
// the record (retried, never dead-lettered) until the registry heals;
// records that can never decode (an id the registry does not know, a body
// that does not fit its schema) and an Avro record missing a field its type
// needs are dead-lettered with the original bytes, as decode and validation.
func TestGroupReadsAvroCartEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topo := topology.New(topology.Config{Partitions: groupPartitions})
	n := topo.Names
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, n.DLQ))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumeTopics(n.DLQ))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	reg := registrytest.Start()
	defer reg.Close()
	text, err := schemas.CartEventAvroSchema()
	if err != nil {
		t.Fatal(err)
	}
	id := reg.Add("cart-events-value", text)
	// A writer schema without qty: its item_added records decode but are
	// invalid.
	var short map[string]any
	if err := json.Unmarshal([]byte(text), &short); err != nil {
		t.Fatal(err)
	}
	var fields []any
	for _, f := range short["fields"].([]any) {
		if f.(map[string]any)["name"] != "qty" {
			fields = append(fields, f)
		}
	}
	short["fields"], short["name"] = fields, "CartEventWithoutQty"
	shortText, _ := json.Marshal(short)
	shortID := reg.Add("cart-events-value", string(shortText))
	client, err := registry.New(reg.URL(), registry.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}

	m := metrics.New()
	graph, err := Graph(Config{
		Topology: topo, Partitions: groupPartitions, Promotions: promo.NewIndex(),
		Rule: streamtime.Rule{MaxSkew: math.MaxInt64}, Rounding: money.HalfEven,
		DLQ: dlq.NewWriter(cl, n.DLQ, nil), Metrics: m, Registry: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	tt := tester.New(t)
	proc, err := goka.NewProcessor(nil, graph, goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	}()
	offers := tt.NewQueueTracker(n.Offers)
	cart := keyOf(t, 0)

	tt.Consume(n.CartEvents, cart, avroEvent(t, id, `{"event_id":"e1","cart_id":"`+cart+`","type":"item_added","sku":"A","qty":2,"currency":"USD","ts":"2026-11-21T10:00:00Z"}`))
	key, v, ok := offers.Next()
	if !ok || key != cart {
		t.Fatalf("no offer for the Avro event")
	}
	var offer struct {
		CartVersion int `json:"cart_version"`
		Lines       []struct {
			SKU string `json:"sku"`
			Qty int    `json:"qty"`
		} `json:"lines"`
		Source struct {
			EventID string `json:"event_id"`
		} `json:"source"`
	}
	if err := json.Unmarshal(v.([]byte), &offer); err != nil {
		t.Fatal(err)
	}
	if offer.CartVersion != 1 || len(offer.Lines) != 1 || offer.Lines[0].SKU != "A" || offer.Lines[0].Qty != 2 || offer.Source.EventID != "e1" {
		t.Errorf("offer %s", v)
	}

	// The registry goes down for a new writer id: the record waits.
	freshID := reg.Add("cart-events-value", strings.Replace(text, `"CartEvent"`, `"CartEventV1b"`, 1))
	reg.SetDown(true)
	healed := time.AfterFunc(700*time.Millisecond, func() { reg.SetDown(false) })
	defer healed.Stop()
	tt.Consume(n.CartEvents, cart, avroEvent(t, freshID, `{"event_id":"e2","cart_id":"`+cart+`","type":"item_added","sku":"B","qty":1}`))
	if _, _, ok := offers.Next(); !ok {
		t.Fatalf("no offer after the registry healed")
	}

	bad := [][]byte{
		schemas.AppendConfluent(nil, 999, []byte{0x02}),      // unknown id
		schemas.AppendConfluent(nil, id, []byte{0x02, 0xff}), // does not fit the schema
		{0x00, 0x01}, // too short for the framing
		mustFrameShort(t, shortID, string(shortText), cart), // decodes, no qty
	}
	for _, b := range bad {
		tt.Consume(n.CartEvents, cart, b)
	}
	if key, _, ok := offers.Next(); ok {
		t.Fatalf("an offer for %q from a bad record", key)
	}
	wantClasses := []dlq.Class{dlq.ClassDecode, dlq.ClassDecode, dlq.ClassDecode, dlq.ClassValidation}
	var letters []dlq.Letter
	for len(letters) < len(bad) {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			l, err := dlq.Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			letters = append(letters, l)
		})
	}
	for i, l := range letters {
		if l.Class != wantClasses[i] || string(l.Value) != string(bad[i]) || l.SourceTopic != n.CartEvents {
			t.Errorf("letter %d: %s %q, value %x; want %s with the original bytes %x", i, l.Class, l.Message, l.Value, wantClasses[i], bad[i])
		}
	}
	if !strings.Contains(letters[3].Message, "qty") {
		t.Errorf("validation letter does not name qty: %s", letters[3].Message)
	}
	if got := testutilCounter(t, m, "cartstream_transient_retries_total"); got < 1 {
		t.Errorf("transient retries = %v, want at least 1", got)
	}
}

// mustFrameShort writes an item_added without qty with the short writer
// schema.
func mustFrameShort(t *testing.T, id int, schema, cart string) []byte {
	t.Helper()
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	body, err := c.BinaryFromNative(nil, map[string]any{
		"schema_version": int32(1), "event_id": "e9", "cart_id": cart, "type": "item_added",
		"ts": nil, "customer_id": nil, "segments": nil, "currency": nil, "sku": goavro.Union("string", "A"),
		"code": nil, "checkout_id": nil, "order_id": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	return schemas.AppendConfluent(nil, id, body)
}

func testutilCounter(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() == name {
			for _, mt := range f.GetMetric() {
				sum += mt.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestAvroWriterWithTypedTimestamp reads a writer schema that is not
// cart_event.avsc but says the same in other Avro types: ts as
// timestamp-micros, an extra field. Rendered as JSON, it parses as the
// event it stands for.
func TestAvroWriterWithTypedTimestamp(t *testing.T) {
	const writer = `{"type":"record","name":"StorefrontCartEvent","namespace":"shop","fields":[
		{"name":"event_id","type":"string"},{"name":"cart_id","type":"string"},{"name":"type","type":"string"},
		{"name":"ts","type":["null",{"type":"long","logicalType":"timestamp-micros"}],"default":null},
		{"name":"sku","type":["null","string"],"default":null},{"name":"qty","type":["null","long"],"default":null},
		{"name":"currency","type":["null","string"],"default":null},{"name":"channel","type":"string"}]}`
	reg := registrytest.Start()
	defer reg.Close()
	id := reg.Add("cart-events-value", writer)
	client, err := registry.New(reg.URL(), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := goavro.NewCodec(writer)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)
	body, err := c.BinaryFromNative(nil, map[string]any{
		"event_id": "e-1", "cart_id": "c-1", "type": "item_added", "ts": goavro.Union("long.timestamp-micros", at),
		"sku": goavro.Union("string", "S"), "qty": goavro.Union("long", int64(3)), "currency": goavro.Union("string", "USD"), "channel": "app",
	})
	if err != nil {
		t.Fatal(err)
	}
	text, err := (&avroEvents{registry: client}).json(context.Background(), schemas.AppendConfluent(nil, id, body))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ParseEvent(text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	if !ev.TS.Equal(at) || ev.Qty != 3 || ev.SKU != "S" || ev.Currency != "USD" || ev.Type != ItemAdded {
		t.Errorf("%s parsed as %+v", text, ev)
	}
}
