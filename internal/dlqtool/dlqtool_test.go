package dlqtool

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/dlq"
	"cartstream/internal/partition"
	"cartstream/topology"
)

const testPartitions = 3

// testbed is an embedded broker over TCP with the DLQ and the source
// topics of the letters the tests write, but no redrive log: the first
// redrive creates it.
type testbed struct {
	addr  string
	topo  *topology.Topology
	cl    *kgo.Client
	tool  *Tool
	ctx   context.Context
	start time.Time
}

func newTestbed(t *testing.T) *testbed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(t.TempDir(), "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	topo := topology.New(topology.Config{Partitions: testPartitions})
	n := topo.Names
	if _, err := topo.Ensure(ctx, kadm.NewClient(cl), topology.EnsureOptions{Only: []string{n.DLQ, n.CartEvents, n.Products, n.CartsTicks}}); err != nil {
		t.Fatal(err)
	}
	tool, err := New(Config{Brokers: []string{b.Addr()}, DLQ: n.DLQ, Redrives: n.DLQRedrives})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tool.Close)
	return &testbed{addr: b.Addr(), topo: topo, cl: cl, tool: tool, ctx: ctx, start: time.Now()}
}

// letters writes the test's dead letters with dlq.Writer, plus one record
// that is no dead letter, and returns the letters as read back.
func (tb *testbed) letters(t *testing.T) map[string]Entry {
	t.Helper()
	n := tb.topo.Names
	w := dlq.NewWriter(tb.cl, n.DLQ, nil)
	ts := time.UnixMilli(1763719200000)
	for _, l := range []dlq.Letter{
		{Key: []byte("c-1"), Value: []byte(`{"event_id":"e-1","cart_id":"c-1","type":"item_added"}`), Class: dlq.ClassValidation, Message: "invalid cart event: sku: required", SourceTopic: n.CartEvents, SourcePartition: 1, SourceOffset: 10, Group: "carts"},
		{Key: []byte("c-2"), Value: []byte(`{"event_id":"e-2","cart_id":"c-2","type":"nope"}`), Class: dlq.ClassValidation, Message: `invalid cart event: type: unknown "nope"`, SourceTopic: n.CartEvents, SourcePartition: 2, SourceOffset: 11, Group: "carts"},
		{Key: []byte(`{"sku":"SKU-1"}`), Value: []byte{0x00, 0x00, 0x00, 0x00, 0x07, 0xff, '\n'}, Class: dlq.ClassDecode, Message: "debezium: value: schema 7: not found", SourceTopic: n.Products, SourcePartition: 0, SourceOffset: 5, Group: "cdc-products"},
		// The first letter again: its group crashed after writing it.
		{Key: []byte("c-1"), Value: []byte(`{"event_id":"e-1","cart_id":"c-1","type":"item_added"}`), Class: dlq.ClassValidation, Message: "invalid cart event: sku: required", SourceTopic: n.CartEvents, SourcePartition: 1, SourceOffset: 10, Group: "carts"},
		{Key: nil, Value: []byte("not a tick"), Class: dlq.ClassDecode, Message: "ticks: bad tick", SourceTopic: n.CartsTicks, SourcePartition: 2, SourceOffset: 7, Group: "carts"},
	} {
		l.Timestamp = ts
		if err := w.Write(tb.ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.cl.ProduceSync(tb.ctx, &kgo.Record{Topic: n.DLQ, Key: []byte("stray"), Value: []byte("no headers")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	all, err := tb.tool.Letters(tb.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("read %d DLQ records, want 6", len(all))
	}
	out := map[string]Entry{}
	for _, e := range all {
		name := "stray"
		if e.Err == nil {
			name = sourceOf(e.Letter).String()
			if _, dup := out[name]; dup {
				name += "#2"
			}
		}
		out[name] = e
	}
	return out
}

func TestListShowAndRedrive(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	tb := newTestbed(t)
	n := tb.topo.Names
	letters := tb.letters(t)
	first := letters["cart-events:1:10"]
	products := letters["shop.public.products:0:5"]
	tick := letters["cartstream.carts-ticks:2:7"]

	rows, err := tb.tool.List(tb.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := WriteList(&table, n.DLQ, rows); err != nil {
		t.Fatal(err)
	}
	got := map[string]Row{}
	for _, r := range rows {
		got[r.SourceTopic+"/"+r.Class] = r
	}
	for key, want := range map[string]int{"cart-events/validation": 3, "shop.public.products/decode": 1, "cartstream.carts-ticks/decode": 1, NotALetter + "/-": 1} {
		if got[key].Letters != want {
			t.Errorf("%s: %d letters, want %d\n%s", key, got[key].Letters, want, table.String())
		}
	}
	if s := spansText(got["cart-events/validation"].Source); s != "1:10 2:11" {
		t.Errorf("cart-events source offsets %q, want 1:10 2:11", s)
	}
	if !strings.Contains(table.String(), "total") || !strings.Contains(table.String(), "SOURCE OFFSETS") {
		t.Errorf("table:\n%s", table.String())
	}

	// Show: by DLQ coordinates (any partition, when unambiguous, or the
	// given one) and by source.
	e, err := tb.tool.At(tb.ctx, Coord{Partition: products.Partition, Offset: products.Offset})
	if err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	if err := WriteLetter(&shown, n.DLQ, e, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"source      shop.public.products partition 0 offset 5 (group cdc-products)",
		"class       decode",
		"  cartstream.error.message: debezium: value: schema 7: not found",
		"  cartstream.failed_at: ",
		`key         {"sku":"SKU-1"}`,
		"value       (7 bytes, hex) 0000000007ff0a",
		"redriven    no",
	} {
		if !strings.Contains(shown.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, shown.String())
		}
	}
	if _, err := tb.tool.At(tb.ctx, Coord{Partition: -1, Offset: 999}); !errors.Is(err, ErrNotFound) {
		t.Errorf("offset 999: %v", err)
	}
	twice, err := tb.tool.BySource(tb.ctx, Source{n.CartEvents, 1, 10})
	if err != nil || len(twice) != 2 {
		t.Errorf("by source: %d letters, %v", len(twice), err)
	}

	// A dry run of the validation letters writes nothing and counts the
	// duplicate letter of one source record once.
	res, err := tb.tool.Redrive(tb.ctx, Selection{Class: dlq.ClassValidation}, Options{DryRun: true})
	if err != nil || res.Redriven != 2 || res.Skipped != 1 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if exists, _ := tb.tool.topicExists(tb.ctx, n.DLQRedrives); exists {
		t.Fatalf("a dry run created the redrive log")
	}

	ensure := func(ctx context.Context, adm *kadm.Client) error {
		_, err := tb.topo.Ensure(ctx, adm, topology.EnsureOptions{Only: []string{n.DLQRedrives}})
		return err
	}
	res, err = tb.tool.Redrive(tb.ctx, Selection{Class: dlq.ClassValidation}, Options{EnsureLog: ensure})
	if err != nil || res.Redriven != 2 || res.Skipped != 1 || res.Refused != 0 {
		t.Fatalf("redrive validation: %+v, %v", res, err)
	}
	var report bytes.Buffer
	if err := WriteResult(&report, res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(report.String(), "redriven=2 skipped=1 refused=0 failed=0\n") {
		t.Errorf("report:\n%s", report.String())
	}
	// Again, by class: nothing left to redrive, and no error.
	res, err = tb.tool.Redrive(tb.ctx, Selection{Class: dlq.ClassValidation, SourceTopic: n.CartEvents}, Options{EnsureLog: ensure})
	if err != nil || res.Redriven != 0 || res.Skipped != 3 {
		t.Fatalf("second class redrive: %+v, %v", res, err)
	}
	// Again, by name: refused.
	res, err = tb.tool.Redrive(tb.ctx, Selection{Offsets: []Coord{{first.Partition, first.Offset}}}, Options{EnsureLog: ensure})
	if !errors.Is(err, ErrRefused) || res.Refused != 1 || res.Redriven != 0 {
		t.Fatalf("second redrive by offset: %+v, %v", res, err)
	}
	res, err = tb.tool.Redrive(tb.ctx, Selection{Sources: []Source{{n.CartEvents, 1, 10}}}, Options{EnsureLog: ensure})
	if !errors.Is(err, ErrRefused) || res.Refused != 2 {
		t.Fatalf("second redrive by source: %+v, %v", res, err)
	}
	// The decode letters, named: by source, and the keyless tick by
	// offset narrowed by a class that matches.
	res, err = tb.tool.Redrive(tb.ctx, Selection{Sources: []Source{{n.Products, 0, 5}}, Offsets: []Coord{{tick.Partition, tick.Offset}}, Class: dlq.ClassDecode}, Options{EnsureLog: ensure})
	if err != nil || res.Redriven != 2 {
		t.Fatalf("redrive decode letters: %+v, %v", res, err)
	}
	// A class that does not match narrows a named letter away.
	res, err = tb.tool.Redrive(tb.ctx, Selection{Offsets: []Coord{{tick.Partition, tick.Offset}}, Class: dlq.ClassValidation}, Options{EnsureLog: ensure})
	if err != nil || len(res.Outcomes) != 0 {
		t.Fatalf("narrowed redrive: %+v, %v", res, err)
	}

	// The copies: original key, value and timestamp, murmur2 partition
	// (the keyless tick in its source partition), marked by headers.
	copies := map[string]*kgo.Record{}
	for _, topic := range []string{n.CartEvents, n.Products, n.CartsTicks} {
		ends, err := kadm.NewClient(tb.cl).ListEndOffsets(tb.ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		err = tb.tool.scan(tb.ctx, topic, func(r *kgo.Record) error {
			copies[topic+"/"+string(r.Key)] = r
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		if want := map[string]int64{n.CartEvents: 2, n.Products: 1, n.CartsTicks: 1}[topic]; total != want {
			t.Errorf("%s holds %d records, want %d", topic, total, want)
		}
	}
	for key, l := range map[string]Entry{n.CartEvents + "/c-1": first, n.CartEvents + "/c-2": letters["cart-events:2:11"], n.Products + `/{"sku":"SKU-1"}`: products, n.CartsTicks + "/": tick} {
		r := copies[key]
		if r == nil {
			t.Errorf("no copy %s", key)
			continue
		}
		wantPart := l.Letter.SourcePartition
		if r.Key != nil {
			wantPart = partition.For(r.Key, testPartitions)
		}
		if r.Partition != wantPart || !bytes.Equal(r.Value, l.Record.Value) || !r.Timestamp.Equal(l.Letter.Timestamp) {
			t.Errorf("copy %s: partition %d (want %d), value %q, timestamp %v", key, r.Partition, wantPart, r.Value, r.Timestamp)
		}
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		if h[HeaderRedriveDLQPartition] != itoa(l.Partition) || h[HeaderRedriveDLQOffset] != itoa(l.Offset) {
			t.Errorf("copy %s headers %v, want DLQ %d:%d", key, h, l.Partition, l.Offset)
		}
	}

	// The log and the listing agree.
	log, err := tb.tool.Redrives(tb.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 4 {
		t.Errorf("redrive log has %d records, want 4: %v", len(log), log)
	}
	rd := log[RedriveKey(first.Partition, first.Offset)]
	if rd.SourceTopic != n.CartEvents || rd.SourceOffset != 10 || rd.Topic != n.CartEvents || rd.Class != "validation" || rd.At.Before(tb.start.Add(-time.Minute)) {
		t.Errorf("redrive record %+v", rd)
	}
	rows, err = tb.tool.List(tb.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		want := map[string]int{n.CartEvents: 2, n.Products: 1, n.CartsTicks: 1}[r.SourceTopic]
		if r.Redriven != want {
			t.Errorf("%s/%s: %d redriven, want %d", r.SourceTopic, r.Class, r.Redriven, want)
		}
	}
}

func itoa[T int32 | int64](v T) string { return strconv.FormatInt(int64(v), 10) }

func TestParseSource(t *testing.T) {
	tests := []struct {
		in   string
		want Source
		ok   bool
	}{
		{"cart-events:3:42", Source{"cart-events", 3, 42}, true},
		{"a:b:0:1", Source{"a:b", 0, 1}, true},
		{"cart-events:3", Source{}, false},
		{"cart-events:-1:4", Source{}, false},
		{"cart-events:x:4", Source{}, false},
		{":1:2", Source{}, false},
	}
	for _, tc := range tests {
		got, err := ParseSource(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseSource(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestBytesText(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1}`:            `{"a":1}`,
		"line1\nline2":       "line1\nline2",
		"\x00\x01":           "(2 bytes, hex) 0001",
		"\xff":               "(1 bytes, hex) ff",
		"tab\tand unicode ü": "tab\tand unicode ü",
	} {
		if got := bytesText([]byte(in)); got != want {
			t.Errorf("bytesText(%q) = %q, want %q", in, got, want)
		}
	}
}
