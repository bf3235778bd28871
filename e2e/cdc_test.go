//go:build e2e

package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"cartstream/internal/partition"
	"cartstream/internal/shopsim"
	"cartstream/schemas"
)

// TestCDCWithKcat is the CDC acceptance check from outside: Debezium-format
// records (as the shop simulator writes them) are produced with kcat into
// the source topics of a running embedded instance; the normalized records
// appear in the internal topics; a delete and its tombstone remove the row;
// garbage lands in cartstream.dlq with its headers and the record after it is
// still processed.
func TestCDCWithKcat(t *testing.T) {
	bin := binary(t)
	kafkaAddr, httpAddr := freeAddr(t), freeAddr(t)
	p := start(t, bin, "run", "--data-dir", t.TempDir(), "--kafka-listen", kafkaAddr, "--http-listen", httpAddr, "--seed=false")
	waitReady(t, p, httpAddr, 30*time.Second)

	sim := shopsim.New(11, shopsim.Options{Start: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)})
	add, err := sim.AddProduct(shopsim.Product{SKU: "SKU-E2E-1", Name: "Kettle", Category: "kitchen", Brand: "Acme",
		Price: mustAmount(t, "39.90"), Currency: "USD", Active: true}, 5)
	if err != nil {
		t.Fatal(err)
	}
	produceKcat(t, kafkaAddr, add...)

	// The product reaches cartstream.products, keyed by sku, and the stock
	// row reaches cartstream.inventory-changes.
	got := waitRecord(t, kafkaAddr, "cartstream.products", "SKU-E2E-1", false)
	var prod schemas.Product
	if err := schemas.Unmarshal(got, &prod); err != nil {
		t.Fatalf("decode product: %v", err)
	}
	if prod.PriceMinor != 3990 || prod.Name != "Kettle" || prod.Currency != "USD" {
		t.Errorf("normalized product %+v", prod)
	}
	waitRecord(t, kafkaAddr, "cartstream.inventory-changes", "SKU-E2E-1", false)

	// Garbage, then a valid record on the same partition (same key): the
	// garbage is dead-lettered and the next record is still processed.
	garbage := shopsim.Record{Topic: "shop.public.products", Key: add[0].Key, Value: []byte("{not debezium")}
	add2, err := sim.AddProduct(shopsim.Product{SKU: "SKU-E2E-2", Name: "Pan", Category: "kitchen", Brand: "Acme",
		Price: mustAmount(t, "12.00"), Currency: "USD", Active: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	produceKcat(t, kafkaAddr, garbage)
	produceKcat(t, kafkaAddr, add2...)
	waitRecord(t, kafkaAddr, "cartstream.products", "SKU-E2E-2", false)

	out := kcat(t, "", "-C", "-b", kafkaAddr, "-t", "cartstream.dlq", "-o", "beginning", "-c", "1", "-f", "%k\t%s\t%h\n")
	for _, want := range []string{
		"{not debezium",
		"cartstream.error.class=decode",
		"cartstream.source.topic=shop.public.products",
		"cartstream.group=cdc-products",
		"cartstream.source.offset=",
		"cartstream.failed_at=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dead letter %q lacks %q", out, want)
		}
	}

	// A record written to a partition that does not own its key (a client
	// with another partitioner) is forwarded once and still processed.
	add3, err := sim.AddProduct(shopsim.Product{SKU: "SKU-E2E-3", Name: "Lid", Category: "kitchen", Brand: "Acme",
		Price: mustAmount(t, "3.50"), Currency: "USD", Active: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	wrong := (partition.For(add3[0].Key, 8) + 3) % 8
	kcat(t, string(add3[0].Key)+"\x1f"+string(add3[0].Value)+"\n",
		"-P", "-b", kafkaAddr, "-t", add3[0].Topic, "-K", "\x1f", "-p", strconv.Itoa(int(wrong)))
	waitRecord(t, kafkaAddr, "cartstream.products", "SKU-E2E-3", false)
	if m := httpGet(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, `cartstream_forwarded_mispartitioned_total{group="cdc-products"} 1`) {
		t.Errorf("forwarded record not counted")
	}

	// Delete + tombstone: the product's key gets a tombstone.
	del, err := sim.DeleteProduct("SKU-E2E-1")
	if err != nil {
		t.Fatal(err)
	}
	produceKcat(t, kafkaAddr, del...)
	waitRecord(t, kafkaAddr, "cartstream.products", "SKU-E2E-1", true)
}

func mustAmount(t *testing.T, s string) shopsim.Amount {
	t.Helper()
	a, err := shopsim.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// produceKcat writes records with kcat, murmur2 partitioning, one kcat call
// per record so nil values (tombstones) can be sent with -Z.
func produceKcat(t *testing.T, addr string, recs ...shopsim.Record) {
	t.Helper()
	for _, r := range recs {
		args := []string{"-P", "-b", addr, "-t", r.Topic, "-K", "\x1f", "-X", "partitioner=murmur2_random", "-X", "topic.request.required.acks=-1"}
		if r.Value == nil {
			args = append(args, "-Z") // empty value = NULL
		}
		kcat(t, string(r.Key)+"\x1f"+string(r.Value)+"\n", args...)
	}
}

// waitRecord waits until topic holds a record for key (a tombstone when
// tombstone is set, else a value) as its latest record for that key, and
// returns the value.
func waitRecord(t *testing.T, addr, topic, key string, tombstone bool) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := kcat(t, "", "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k\x1f%S\x1f%s\x1e")
		var last *[2]string
		for _, rec := range strings.Split(out, "\x1e") {
			parts := strings.SplitN(rec, "\x1f", 3)
			if len(parts) == 3 && parts[0] == key {
				last = &[2]string{parts[1], parts[2]}
			}
		}
		if last != nil && (last[0] == "-1") == tombstone {
			return []byte(last[1])
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s for key %s within 30 s (last: %v)", topic, map[bool]string{true: "tombstone", false: "value"}[tombstone], key, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
