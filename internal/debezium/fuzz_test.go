package debezium

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"
)

// fuzzColumns types some fixture columns, so the fuzzers also reach the
// Decoder.Columns paths.
var fuzzColumns = map[string]Column{
	"price":                         {Type: TypeDecimal, Scale: 2},
	"amount_tax":                    {Type: TypeVariableScaleDecimal},
	"date_order":                    {Type: TypeMicroTimestamp},
	"last_order_preparation_change": {Type: TypeJSON},
	"email":                         {Type: TypeZonedTimestamp},
	"id":                            {Type: TypeDate},
}

// checkDecoded holds for every input: a decode either fails with ErrDecode
// or ErrInvalid (no registry can be unreachable here), or yields a
// well-formed Record that renders to valid JSON.
func checkDecoded(t *testing.T, r Record, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrInvalid) {
			t.Fatalf("unclassified error: %v", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
		return
	}
	switch r.Op {
	case OpUpsert, OpDelete, OpTruncate:
	case OpSkip:
		if r.SkipReason == "" {
			t.Fatal("skip without a reason")
		}
	default:
		t.Fatalf("op %q", r.Op)
	}
	if r.Unavailable == nil || !slices.IsSorted(r.Unavailable) {
		t.Fatalf("unavailable %v", r.Unavailable)
	}
	for _, c := range r.Unavailable {
		if _, ok := r.Row[c]; ok {
			t.Fatalf("unavailable column %s is in the row", c)
		}
	}
	out, err := Render(r, r.Key)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if !json.Valid(out) {
		t.Fatalf("Render produced invalid JSON: %s", out)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		if strings.HasSuffix(file, ".key.json") {
			continue
		}
		key, value := readFixture(f, filepath.Base(file))
		f.Add(key, value)
	}
	f.Add([]byte(`"ORD-1"`), []byte(`"{\"order_id\":\"ORD-1\"}"`))
	f.Add([]byte(nil), []byte(`{"id":1,"__deleted":"true","__op":"d"}`))
	f.Add([]byte(nil), []byte(`{"ts_ms":1}`))
	f.Add([]byte(nil), []byte(envelopeWithSchema(`{"type":"string","name":"io.debezium.data.Json","field":"v"}`, `{"v":"{\"a\":[1,2.5]}"}`)))
	f.Add([]byte(nil), []byte(envelopeWithSchema(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"v"}`, `{"v":"//8="}`)))
	plain, typed := &Decoder{}, &Decoder{Columns: fuzzColumns}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, err := plain.Decode(context.Background(), key, value)
		checkDecoded(t, r, err)
		r, err = typed.Decode(context.Background(), key, value)
		checkDecoded(t, r, err)
		r, err = typed.DecodeOutbox(context.Background(), key, value)
		checkDecoded(t, r, err)
	})
}

func FuzzDecodeAvro(f *testing.F) {
	envSchema, keySchema := readSchema(f, "pg-products-envelope.avsc"), readSchema(f, "pg-products-key.avsc")
	truncSchema := readSchema(f, "mysql-truncate-envelope.avsc")
	jsonSchema := `{"type":"string","connect.version":1,"connect.name":"io.debezium.data.Json"}`
	unionSchema := `{"type":"record","name":"Value","namespace":"shop.public.inventory","fields":[
		{"name":"sku","type":"string"},{"name":"either","type":["null","long","string",{"type":"array","items":"null"}]},
		{"name":"m","type":{"type":"map","values":["null","double"]}},{"name":"__deleted","type":["null","string"]}]}`
	reg := &memRegistry{schemas: map[int]string{10: envSchema, 11: keySchema, 7: truncSchema, 1: jsonSchema, 2: `"string"`, 3: unionSchema}}

	key := confluent(11, encodeAvro(f, keySchema, map[string]any{"sku": "SKU-1"}))
	f.Add(key, confluent(10, encodeAvro(f, envSchema, productsEnvelope("u", nil, productsAfter()))))
	before := productsAfter()
	before["price"] = goavro.Union("bytes.decimal", big.NewRat(-1, 2))
	f.Add(key, confluent(10, encodeAvro(f, envSchema, productsEnvelope("d", before, nil))))
	f.Add(key, confluent(10, encodeAvro(f, envSchema, productsEnvelope("t", nil, nil))))
	codec, err := goavro.NewCodec(truncSchema)
	if err != nil {
		f.Fatal(err)
	}
	_, textual := readFixture(f, "mysql-2.0-truncate-avro-console.json")
	native, _, err := codec.NativeFromTextual(textual)
	if err != nil {
		f.Fatal(err)
	}
	body, _ := codec.BinaryFromNative(nil, native)
	f.Add([]byte(nil), confluent(7, body))
	f.Add(confluent(2, encodeAvro(f, `"string"`, "ORD-1")), confluent(1, encodeAvro(f, jsonSchema, `{"order_id":"ORD-1","lines":[]}`)))
	f.Add([]byte(`{"sku":"SKU-1"}`), confluent(3, encodeAvro(f, unionSchema, map[string]any{
		"sku": "SKU-1", "either": goavro.Union("array", []any{nil, nil}),
		"m": map[string]any{"a": goavro.Union("double", 1.5), "b": nil}, "__deleted": goavro.Union("string", "false"),
	})))
	d := &Decoder{Registry: reg} // shared: compiled schemas are cached across inputs, as in production
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, err := d.Decode(context.Background(), key, value)
		checkDecoded(t, r, err)
		r, err = d.DecodeOutbox(context.Background(), key, value)
		checkDecoded(t, r, err)
	})
}
