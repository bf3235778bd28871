package debezium

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
)

// memRegistry serves schemas from memory and counts lookups.
type memRegistry struct {
	mu      sync.Mutex
	schemas map[int]string
	calls   map[int]int
	err     error // returned (once) before the schema when set
}

func (m *memRegistry) Schema(_ context.Context, id int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[int]int{}
	}
	m.calls[id]++
	if m.err != nil {
		err := m.err
		m.err = nil
		return "", err
	}
	s, ok := m.schemas[id]
	if !ok {
		return "", fmt.Errorf("schema %d not found", id)
	}
	return s, nil
}

func readSchema(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "avro", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// confluent frames an Avro body in the Confluent wire format.
func confluent(id int, body []byte) []byte {
	out := make([]byte, confluentHeaderLen, confluentHeaderLen+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, body...)
}

func encodeAvro(t testing.TB, schema string, native any) []byte {
	t.Helper()
	codec, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	body, err := codec.BinaryFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestAvroMySQLTruncate encodes the record that
// mysql-2.0-truncate-avro-console.json shows (kafka-avro-console-consumer's
// rendering of a real Avro record) back into Avro binary with a hand-written
// Debezium envelope schema, frames it as Confluent does and decodes it.
func TestAvroMySQLTruncate(t *testing.T) {
	schema := readSchema(t, "mysql-truncate-envelope.avsc")
	_, textual := readFixture(t, "mysql-2.0-truncate-avro-console.json")
	codec, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	native, _, err := codec.NativeFromTextual(textual)
	if err != nil {
		t.Fatal(err)
	}
	body, err := codec.BinaryFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	reg := &memRegistry{schemas: map[int]string{7: schema}}
	d := Decoder{Registry: reg}
	r, err := d.Decode(context.Background(), nil, confluent(7, body))
	if err != nil {
		t.Fatal(err)
	}
	check(t, "op", r.Op, OpTruncate)
	check(t, "source op", r.SourceOp, "t")
	check(t, "key", r.Key, map[string]any(nil))
	check(t, "row", r.Row, Row(nil))
	check(t, "ts_ms (union long)", r.TsMs, int64(1665304468970))
	check(t, "source.snapshot (union string)", r.Source["snapshot"], "false")
	check(t, "source.table", r.Source["table"], "dbz5236")
	check(t, "source.server_id", r.Source["server_id"], json.Number("112233"))
	check(t, "source.row", r.Source["row"], json.Number("0"))
	check(t, "source.gtid", r.Source["gtid"], nil)
	check(t, "source.file", r.Source["file"], "mysql-bin.000035")
	check(t, "snapshot", r.Snapshot(), "false")
}

func productsAfter() map[string]any {
	return map[string]any{
		"sku":         "SKU-1",
		"name":        "Trail shoe",
		"category":    goavro.Union("string", "shoes"),
		"brand":       nil,
		"price":       goavro.Union("bytes.decimal", big.NewRat(1999, 100)),
		"currency":    goavro.Union("string", "USD"),
		"active":      goavro.Union("boolean", true),
		"updated_at":  goavro.Union("string", "2026-01-05T10:47:58.9456Z"),
		"weight_kg":   goavro.Union("io.debezium.data.VariableScaleDecimal", map[string]any{"scale": int32(1), "value": []byte{0x2d}}),
		"created_at":  goavro.Union("long", int64(1767610078945635)),
		"launched_on": goavro.Union("int", int32(20644)),
		"attributes":  goavro.Union("string", `{"color":"red","sizes":[42,43.5]}`),
		"tags":        goavro.Union("array", []any{goavro.Union("string", "trail"), nil}),
		"description": goavro.Union("string", DefaultUnavailablePlaceholder),
	}
}

func productsEnvelope(op string, before, after map[string]any) map[string]any {
	img := func(m map[string]any) any {
		if m == nil {
			return nil
		}
		return goavro.Union("shop.public.products.Value", m)
	}
	return map[string]any{
		"before": img(before),
		"after":  img(after),
		"source": map[string]any{
			"version": "3.0.1.Final", "connector": "postgresql", "name": "shop",
			"ts_ms": int64(1767611532462), "snapshot": goavro.Union("string", "first"),
			"db": "shop", "sequence": goavro.Union("string", `[null,"26843720"]`),
			"ts_us": goavro.Union("long", int64(1767611532462000)), "ts_ns": goavro.Union("long", int64(1767611532462000000)),
			"schema": "public", "table": "products",
			"txId": goavro.Union("long", int64(742)), "lsn": goavro.Union("long", int64(26843720)), "xmin": nil,
		},
		"op":          op,
		"ts_ms":       goavro.Union("long", int64(1767611532655)),
		"ts_us":       goavro.Union("long", int64(1767611532655123)),
		"ts_ns":       goavro.Union("long", int64(1767611532655123457)),
		"transaction": nil,
	}
}

// TestAvroProducts decodes a PostgreSQL products change in Avro: Decimal
// bytes, VariableScaleDecimal, MicroTimestamp, ZonedTimestamp, Date, a Json
// column, an array, a null union and a TOASTed column; the key is Avro too.
func TestAvroProducts(t *testing.T) {
	envSchema, keySchema := readSchema(t, "pg-products-envelope.avsc"), readSchema(t, "pg-products-key.avsc")
	reg := &memRegistry{schemas: map[int]string{10: envSchema, 11: keySchema}}
	d := Decoder{Registry: reg}
	key := confluent(11, encodeAvro(t, keySchema, map[string]any{"sku": "SKU-1"}))

	t.Run("update", func(t *testing.T) {
		value := confluent(10, encodeAvro(t, envSchema, productsEnvelope("u", nil, productsAfter())))
		r, err := d.Decode(context.Background(), key, value)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "op", r.Op, OpUpsert)
		check(t, "source op", r.SourceOp, "u")
		check(t, "key", r.Key, map[string]any{"sku": "SKU-1"})
		check(t, "price (Decimal bytes)", r.Row["price"], dec("19.99"))
		check(t, "weight_kg (VariableScaleDecimal)", r.Row["weight_kg"], dec("4.5"))
		check(t, "created_at (MicroTimestamp)", r.Row["created_at"], mustTime(t, "2026-01-05T10:47:58.945635Z"))
		check(t, "updated_at (ZonedTimestamp)", r.Row["updated_at"], mustTime(t, "2026-01-05T10:47:58.9456Z"))
		check(t, "launched_on (Date)", r.Row["launched_on"], Date{2026, time.July, 10})
		check(t, "attributes (Json)", r.Row["attributes"], map[string]any{"color": "red", "sizes": []any{json.Number("42"), json.Number("43.5")}})
		check(t, "tags (array)", r.Row["tags"], []any{"trail", nil})
		check(t, "brand (null union)", r.Row["brand"], nil)
		if _, ok := r.Row["brand"]; !ok {
			t.Error("null column missing from the row")
		}
		check(t, "active", r.Row["active"], true)
		check(t, "unavailable", r.Unavailable, []string{"description"})
		check(t, "before", r.Before, Row(nil))
		check(t, "snapshot", r.Snapshot(), "first")
		check(t, "source.lsn", r.Source["lsn"], json.Number("26843720"))
		check(t, "source.xmin", r.Source["xmin"], nil)
		check(t, "ts_ns (> 2^53, exact)", r.TsNs, int64(1767611532655123457))
	})

	t.Run("delete with a negative decimal", func(t *testing.T) {
		before := productsAfter()
		before["price"] = goavro.Union("bytes.decimal", big.NewRat(-1, 2))
		before["description"] = goavro.Union("string", "text")
		value := confluent(10, encodeAvro(t, envSchema, productsEnvelope("d", before, nil)))
		r, err := d.Decode(context.Background(), key, value)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "op", r.Op, OpDelete)
		check(t, "price", r.Row["price"], dec("-0.50"))
		check(t, "unavailable", r.Unavailable, []string{})
	})

	t.Run("tombstone", func(t *testing.T) {
		r, err := d.Decode(context.Background(), key, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "tombstone", r.Tombstone, true)
		check(t, "key", r.Key, map[string]any{"sku": "SKU-1"})
	})

	// Four decodes above and one schema lookup per id: compiled schemas are cached.
	reg.mu.Lock()
	defer reg.mu.Unlock()
	check(t, "registry calls for the envelope", reg.calls[10], 1)
	check(t, "registry calls for the key", reg.calls[11], 1)
}

// TestAvroUnwrappedAndUnions decodes an ExtractNewRecordState row in Avro
// with Connect's logical types as Avro logical types and a union of several
// types.
func TestAvroUnwrappedAndUnions(t *testing.T) {
	schema := `{"type":"record","name":"Value","namespace":"shop.public.inventory","connect.name":"shop.public.inventory.Value","fields":[
		{"name":"sku","type":"string"},
		{"name":"on_hand","type":"int"},
		{"name":"version","type":"long"},
		{"name":"seen","type":["null",{"type":"long","logicalType":"timestamp-millis","connect.name":"org.apache.kafka.connect.data.Timestamp","connect.version":1}],"default":null},
		{"name":"day","type":["null",{"type":"int","logicalType":"date","connect.name":"org.apache.kafka.connect.data.Date","connect.version":1}],"default":null},
		{"name":"either","type":["null","long","string"],"default":null},
		{"name":"ratio","type":["null","float"],"default":null},
		{"name":"__deleted","type":["null","string"],"default":null}]}`
	reg := &memRegistry{schemas: map[int]string{3: schema}}
	d := Decoder{Registry: reg}
	native := map[string]any{
		"sku": "SKU-1", "on_hand": int32(5), "version": int64(9),
		"seen":      goavro.Union("long.timestamp-millis", time.UnixMilli(1767610078945).UTC()),
		"day":       goavro.Union("int.date", time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)),
		"either":    goavro.Union("string", "x"),
		"ratio":     goavro.Union("float", float32(0.1)),
		"__deleted": goavro.Union("string", "true"),
	}
	r, err := d.Decode(context.Background(), []byte(`{"sku":"SKU-1"}`), confluent(3, encodeAvro(t, schema, native)))
	if err != nil {
		t.Fatal(err)
	}
	check(t, "op", r.Op, OpDelete)
	check(t, "row", r.Row, Row{
		"sku": "SKU-1", "on_hand": int64(5), "version": int64(9),
		"seen": time.UnixMilli(1767610078945).UTC(), "day": Date{2026, time.July, 10},
		"either": "x", "ratio": 0.1,
	})
	check(t, "meta", r.Meta, map[string]any{"__deleted": "true"})
}

// TestAvroOutbox decodes the Outbox Event Router's value in Avro: the
// payload column as an io.debezium.data.Json string; the key is an Avro
// string (the aggregate id).
func TestAvroOutbox(t *testing.T) {
	valueSchema := `{"type":"string","connect.version":1,"connect.name":"io.debezium.data.Json"}`
	reg := &memRegistry{schemas: map[int]string{1: valueSchema, 2: `"string"`}}
	d := Decoder{Registry: reg}
	payload := `{"order_id":"ORD-1","checkout_id":"CO-1","cart_id":"c-9","lines":[{"sku":"SKU-1","qty":2,"inventory_version":8}]}`
	r, err := d.DecodeOutbox(context.Background(), confluent(2, encodeAvro(t, `"string"`, "ORD-1")), confluent(1, encodeAvro(t, valueSchema, payload)))
	if err != nil {
		t.Fatal(err)
	}
	check(t, "key", r.KeyString, "ORD-1")
	check(t, "order_id", r.Row["order_id"], "ORD-1")
	check(t, "lines", r.Row["lines"], []any{map[string]any{"sku": "SKU-1", "qty": json.Number("2"), "inventory_version": json.Number("8")}})
}

// TestAvroRegistryErrors: registry failures are transient or decode errors
// by what the registry says, and a failure is not cached.
func TestAvroRegistryErrors(t *testing.T) {
	schema := readSchema(t, "mysql-truncate-envelope.avsc")
	_, textual := readFixture(t, "mysql-2.0-truncate-avro-console.json")
	codec, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	native, _, _ := codec.NativeFromTextual(textual)
	body, _ := codec.BinaryFromNative(nil, native)

	tests := []struct {
		name string
		err  error
		want error
	}{
		{"transient", fmt.Errorf("registry down: %w", ErrTransient), ErrTransient},
		{"deadline", context.DeadlineExceeded, ErrTransient},
		{"canceled", context.Canceled, ErrTransient},
		{"permanent", errors.New("schema not found"), ErrDecode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := &memRegistry{schemas: map[int]string{7: schema}, err: tc.err}
			d := Decoder{Registry: reg}
			_, err := d.Decode(context.Background(), nil, confluent(7, body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == ErrTransient && errors.Is(err, ErrDecode) {
				t.Errorf("transient error %v is also ErrDecode", err)
			}
			if _, err := d.Decode(context.Background(), nil, confluent(7, body)); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
	t.Run("unknown id", func(t *testing.T) {
		d := Decoder{Registry: &memRegistry{}}
		if _, err := d.Decode(context.Background(), nil, confluent(99, body)); !errors.Is(err, ErrDecode) {
			t.Fatalf("err = %v, want ErrDecode", err)
		}
	})
	t.Run("schema goavro panics on", func(t *testing.T) {
		schema := `{"type":"record","name":"V","fields":[
			{"name":"a","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
			{"name":"b","type":{"type":"bytes","logicalType":"decimal","precision":10}}]}`
		d := Decoder{Registry: &memRegistry{schemas: map[int]string{1: schema}}}
		_, err := d.Decode(context.Background(), nil, confluent(1, []byte{0, 0}))
		if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "cannot compile") {
			t.Fatalf("err = %v, want ErrDecode", err)
		}
	})
	t.Run("schema goavro rejects", func(t *testing.T) {
		d := Decoder{Registry: &memRegistry{schemas: map[int]string{1: `{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}`}}}
		if _, err := d.Decode(context.Background(), nil, confluent(1, []byte{0})); !errors.Is(err, ErrDecode) {
			t.Fatalf("err = %v, want ErrDecode", err)
		}
	})
}

// TestAvroHostileBodies: block counts and lengths that do not fit in the
// bytes are rejected before goavro allocates for them.
func TestAvroHostileBodies(t *testing.T) {
	reg := &memRegistry{schemas: map[int]string{
		1: `{"type":"array","items":"null"}`,
		2: `{"type":"array","items":"long"}`,
		3: `{"type":"map","values":"null"}`,
		4: `"bytes"`,
		5: readSchema(t, "pg-products-envelope.avsc"),
	}}
	d := Decoder{Registry: reg}
	huge := binary.AppendVarint(nil, 1<<31-1)
	valid := encodeAvro(t, reg.schemas[5], productsEnvelope("c", nil, productsAfter()))
	tests := []struct {
		name  string
		value []byte
	}{
		{"2^31 nulls", confluent(1, huge)},
		{"2^31 longs in 5 bytes", confluent(2, huge)},
		{"2^31 map entries", confluent(3, huge)},
		{"negative block count with size", confluent(2, append(binary.AppendVarint(nil, -(1<<31-1)), 2))},
		{"bytes longer than the body", confluent(4, binary.AppendVarint(nil, 1<<40))},
		{"truncated envelope", confluent(5, valid[:len(valid)/2])},
		{"trailing bytes", confluent(5, append(append([]byte(nil), valid...), 0))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := d.Decode(context.Background(), nil, tc.value)
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("err = %v, want ErrDecode", err)
			}
			if time.Since(start) > time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

// TestAvroSchemaParsing resolves named types the way Avro does (relative
// to the enclosing namespace, and reused by name).
func TestAvroSchemaParsing(t *testing.T) {
	n, err := parseAvroSchema(readSchema(t, "pg-products-envelope.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	if n.fullName != "shop.public.products.Envelope" {
		t.Errorf("root = %s", n.fullName)
	}
	before, after := n.fields[0].node.branches[1], n.fields[1].node.branches[1]
	if before != after || before.fullName != "shop.public.products.Value" {
		t.Errorf("after does not reuse before's Value: %s vs %s", before.fullName, after.fullName)
	}
}

// TestAvroConcurrentDecode: one Decoder shared by goroutines, as a
// processor's partitions share it (run with -race).
func TestAvroConcurrentDecode(t *testing.T) {
	envSchema, keySchema := readSchema(t, "pg-products-envelope.avsc"), readSchema(t, "pg-products-key.avsc")
	reg := &memRegistry{schemas: map[int]string{10: envSchema, 11: keySchema}}
	d := &Decoder{Registry: reg}
	key := confluent(11, encodeAvro(t, keySchema, map[string]any{"sku": "SKU-1"}))
	value := confluent(10, encodeAvro(t, envSchema, productsEnvelope("u", nil, productsAfter())))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				r, err := d.Decode(context.Background(), key, value)
				if err == nil && r.Row["price"].(Decimal).String() != "19.99" {
					err = fmt.Errorf("price %v", r.Row["price"])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
