package shopsim

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/partition"
)

func startBroker(t *testing.T, topics Topics, partitions int32) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, nil, topics.Products, topics.Promotions, topics.Inventory, topics.Outbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Error(); err != nil {
		t.Fatal(err)
	}
	return b.Addr()
}

func TestProduceWritesWhereDebeziumWould(t *testing.T) {
	s := New(21, Options{})
	const parts = 3
	addr := startBroker(t, s.Topics(), parts)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	recs := s.SnapshotCatalog(40, 12)
	if _, err := s.Restock(SKU(1), 10); err != nil {
		t.Fatal(err)
	}
	inv, ob, err := s.PlaceOrder("o-1", "co-1", "c-1", []Line{{SKU(1), 2}})
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, Arrange(inv, ob, Delivery{OutboxFirst: true, Duplicate: true})...)
	del, err := s.DeleteProduct(SKU(3))
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, del...)

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := Produce(ctx, cl, recs); err != nil {
		t.Fatal(err)
	}

	type sent struct {
		rec Record
		n   int
	}
	want := map[string]*sent{}
	id := func(topic string, key, value []byte) string {
		return topic + "\x00" + string(key) + "\x00" + string(value)
	}
	for _, r := range recs {
		k := id(r.Topic, r.Key, r.Value)
		if want[k] == nil {
			want[k] = &sent{rec: r}
		}
		want[k].n++
	}

	consumer, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(s.Topics().Products, s.Topics().Promotions, s.Topics().Inventory, s.Topics().Outbox),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	got := 0
	var tombstones int
	for got < len(recs) {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", got, len(recs), err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			got++
			w := want[id(r.Topic, r.Key, r.Value)]
			if w == nil || w.n == 0 {
				t.Fatalf("unexpected record on %s: %s", r.Topic, r.Key)
			}
			w.n--
			if p := partition.For(r.Key, parts); r.Partition != p {
				t.Errorf("%s %s in partition %d, murmur2 says %d", r.Topic, r.Key, r.Partition, p)
			}
			if !r.Timestamp.Equal(w.rec.Timestamp) {
				t.Errorf("timestamp %v, want %v", r.Timestamp, w.rec.Timestamp)
			}
			if len(r.Headers) != len(w.rec.Headers) {
				t.Errorf("headers %v, want %v", r.Headers, w.rec.Headers)
			}
			for i, h := range w.rec.Headers {
				if r.Headers[i].Key != h.Key || !bytes.Equal(r.Headers[i].Value, h.Value) {
					t.Errorf("header %d: %s=%s, want %s=%s", i, r.Headers[i].Key, r.Headers[i].Value, h.Key, h.Value)
				}
			}
			if r.Value == nil {
				tombstones++
			}
		})
	}
	if tombstones != 1 {
		t.Errorf("%d tombstones read back, want 1 (nil value, not the text null)", tombstones)
	}
}

func TestProduceRefusesWeakAcks(t *testing.T) {
	s := New(1, Options{})
	addr := startBroker(t, s.Topics(), 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = Produce(context.Background(), cl, s.SnapshotCatalog(1, 0))
	if !errors.Is(err, ErrAcks) {
		t.Errorf("error %v, want ErrAcks", err)
	}
}

func TestProduceFailsOnAMissingTopic(t *testing.T) {
	s := New(1, Options{TopicPrefix: "missing"})
	addr := startBroker(t, New(1, Options{}).Topics(), 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.UnknownTopicRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Produce(ctx, cl, s.SnapshotCatalog(1, 0))
	if err == nil || ctx.Err() != nil {
		t.Fatalf("error %v (context %v), want a prompt produce error", err, ctx.Err())
	}
	// Products and inventory records both fail; whichever the client
	// reports first is named.
	if !strings.Contains(err.Error(), "missing.public.products") && !strings.Contains(err.Error(), "missing.public.inventory") {
		t.Errorf("error %q does not name the missing topic", err)
	}
}
