package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"
)

// debeziumFixtures holds the real Debezium messages the decoder package
// tests with (copied from the shared fixtures).
const debeziumFixtures = "../../internal/debezium/testdata"

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(debeziumFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runDecode runs `cartstream debezium decode args...` in-process with stdin.
func runDecode(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetIn(bytes.NewReader(stdin))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append([]string{"debezium", "decode"}, args...))
	err := root.ExecuteContext(context.Background())
	return stdout.String(), err
}

const shopProductsSource = `{"version":"3.0.1.Final","connector":"postgresql","name":"shop","ts_ms":1763719200000,"snapshot":"true","db":"shop","sequence":"[null,\"24023128\"]","schema":"public","table":"products","txId":771,"lsn":24023128,"xmin":null}`

func TestDebeziumDecode(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{
			name:  "snapshot read (real, schema wrapper)",
			stdin: fixture(t, "pg-1.2-snapshot-read-schema.json"),
			want:  `{"op":"upsert","key":null,"row":{"description":"Small 2-wheel scooter","id":101,"name":"scooter","weight":3.14},"unavailable":[],"source":{"connector":"postgresql","db":"postgres","lsn":34078720,"name":"fullfillment","schema":"inventory","snapshot":"true","table":"products","ts_ms":1596001099434,"txId":601,"version":"1.2.1.Final","xmin":null}}`,
		},
		{
			name:  "snapshot first with Decimal and MicroTimestamp (real)",
			stdin: fixture(t, "pg-2.5-snapshot-first-decimal-microts-schema.json"),
			want:  `{"op":"upsert","key":null,"row":{"customer_name":"John Doe","order_date":"2026-01-05T10:47:58.945635Z","order_id":1,"price":"1200.00","product":"Laptop","quantity":1,"status":"COMPLETED"},"unavailable":[],"source":{"connector":"postgresql","db":"testdb","lsn":26843720,"name":"postgres-raw","schema":"public","sequence":"[null,\"26843720\"]","snapshot":"first","table":"orders","ts_ms":1767611532462,"txId":742,"version":"2.5.4.Final","xmin":null}}`,
		},
		{
			name:  "TOAST update (real)",
			stdin: fixture(t, "pg-0.10-update-before-null-toast.json"),
			args:  []string{"--key", `{"id":1004}`},
			want:  `{"op":"upsert","key":{"id":1004},"row":{"email":"annek@noanswer.org","first_name":"Dana","id":1004,"last_name":"Kretchmar"},"unavailable":["biography"],"source":{"connector":"postgresql","db":"sourcedb","lsn":34650016,"name":"dbserver1","schema":"inventory","snapshot":"false","table":"customers","ts_ms":1570448151151,"txId":627,"version":"0.10.0.Final","xmin":null}}`,
		},
		{
			name:  "delete (real, legacy 0.8 source)",
			stdin: fixture(t, "pg-0.8-delete-legacy-source.json"),
			args:  []string{"--key", fixture(t, "pg-0.8-delete-legacy-source.key.json")},
			want:  `{"op":"delete","key":{"id":"id1 "},"row":{"code":null,"id":"id1 "},"unavailable":[],"source":{"db":"test","last_snapshot_record":null,"lsn":3322629136,"name":"DB_TEST_SERVER","schema":"public","snapshot":false,"table":"test_table","ts_usec":1536580521883194000,"txId":934145,"version":"0.8.2"}}`,
		},
		{
			name:  "tombstone after the delete (real key, text null)",
			stdin: fixture(t, "pg-0.8-tombstone.json"),
			args:  []string{"--key", fixture(t, "pg-0.8-tombstone.key.json")},
			want:  `{"op":"delete","key":{"id":"id1 "},"row":null,"unavailable":[],"source":null}`,
		},
		{
			name:  "tombstone as empty input",
			stdin: "",
			args:  []string{"--table", "products", "--key", `{"sku":"SKU-1"}`},
			want:  `{"op":"delete","key":"SKU-1","row":null,"unavailable":[],"source":null}`,
		},
		{
			name:  "truncate (real)",
			stdin: fixture(t, "pg-2.0-truncate.json"),
			want:  `{"op":"truncate","key":null,"row":null,"unavailable":[],"source":{"connector":"postgresql","db":"forign","lsn":2919574488,"name":"source-postgresql-48cc17e20608938961e3481a65aabd34-forign","schema":"public","sequence":"[null,\"2919574488\"]","snapshot":"false","table":"table1","ts_ms":1670898970313,"txId":15000708,"version":"2.0.0.Final","xmin":null}}`,
		},
		{
			name:  "transaction BEGIN (real)",
			stdin: fixture(t, "pg-2.4-transaction-begin.json"),
			want:  `{"op":"skip","reason":"transaction_metadata"}`,
		},
		{
			name:  "transaction END (real)",
			stdin: fixture(t, "pg-2.4-transaction-end.json"),
			want:  `{"op":"skip","reason":"transaction_metadata"}`,
		},
		{
			name:  "logical message (real)",
			stdin: fixture(t, "pg-3.0-logical-message-op-m.json"),
			args:  []string{"--key", fixture(t, "pg-3.0-logical-message-op-m.key.json")},
			want:  `{"op":"skip","reason":"logical_message"}`,
		},
		{
			name:  "heartbeat",
			stdin: `{"ts_ms":1763719200000}`,
			want:  `{"op":"skip","reason":"heartbeat"}`,
		},
		{
			name:  "outbox (real Event Router record)",
			stdin: fixture(t, "outbox-routed.json"),
			args:  []string{"--table", "outbox", "--key", fixture(t, "outbox-routed.key.json")},
			want:  `{"op":"upsert","key":"0195c8e2-edb8-7ead-a8a2-0ba7e275bc56","row":{"relation":"workspace","resource":{"id":"4321","type":{"name":"integration","namespace":"notifications"}},"subject":{"subject":{"id":"1234","type":{"name":"workspace","namespace":"rbac"}}}},"unavailable":[],"source":null}`,
		},
		{
			name:  "outbox order, payload as a JSON string, plain string key",
			stdin: `"{\"order_id\":\"ORD-1\",\"checkout_id\":\"CO-1\",\"cart_id\":\"c-9\",\"lines\":[{\"sku\":\"SKU-1\",\"qty\":2,\"inventory_version\":8}]}"`,
			args:  []string{"--table", "outbox", "--key", "ORD-1"},
			want:  `{"op":"upsert","key":"ORD-1","row":{"cart_id":"c-9","checkout_id":"CO-1","lines":[{"inventory_version":8,"qty":2,"sku":"SKU-1"}],"order_id":"ORD-1"},"unavailable":[],"source":null}`,
		},
		{
			name:  "outbox order, expanded payload, key from order_id",
			stdin: `{"order_id":"ORD-2","checkout_id":"CO-2","cart_id":"c-9","lines":[]}`,
			args:  []string{"--table", "outbox"},
			want:  `{"op":"upsert","key":"ORD-2","row":{"cart_id":"c-9","checkout_id":"CO-2","lines":[],"order_id":"ORD-2"},"unavailable":[],"source":null}`,
		},
		{
			name:  "products without a schema: table types give the decimal scale and timestamptz",
			stdin: `{"before":null,"after":{"sku":"SKU-1","name":"Trail shoe","category":"shoes","brand":"Acme","price":"B88=","currency":"USD","active":true,"updated_at":"2026-11-21T10:00:00.5Z"},"source":` + shopProductsSource + `,"op":"r","ts_ms":1763719200456}`,
			args:  []string{"--table", "products", "--key", `{"sku":"SKU-1"}`},
			want:  `{"op":"upsert","key":"SKU-1","row":{"active":true,"brand":"Acme","category":"shoes","currency":"USD","name":"Trail shoe","price":"19.99","sku":"SKU-1","updated_at":"2026-11-21T10:00:00.5Z"},"unavailable":[],"source":{"connector":"postgresql","db":"shop","lsn":24023128,"name":"shop","schema":"public","sequence":"[null,\"24023128\"]","snapshot":"true","table":"products","ts_ms":1763719200000,"txId":771,"version":"3.0.1.Final","xmin":null}}`,
		},
		{
			name:  "promotions update: jsonb parsed, TOASTed condition, string-mode decimal",
			stdin: `{"before":null,"after":{"id":"P-1","name":"10% off shoes","active":true,"priority":10,"stacking":"stackable","coupon_code":null,"valid_from":null,"valid_until":"2026-12-31T23:59:59Z","segments":["gold"],"currency":"USD","condition":"__debezium_unavailable_value","target":"{\"categories\":[\"shoes\"]}","effect":"{\"type\":\"percent_off\",\"bps\":1000}","max_discount":"25.00"},"source":null,"op":"u","ts_ms":1763719200456}`,
			args:  []string{"--table", "promotions", "--key", `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"optional":false,"name":"shop.public.promotions.Key"},"payload":{"id":"P-1"}}`},
			want:  `{"op":"upsert","key":"P-1","row":{"active":true,"coupon_code":null,"currency":"USD","effect":{"bps":1000,"type":"percent_off"},"id":"P-1","max_discount":"25.00","name":"10% off shoes","priority":10,"segments":["gold"],"stacking":"stackable","target":{"categories":["shoes"]},"valid_from":null,"valid_until":"2026-12-31T23:59:59Z"},"unavailable":["condition"],"source":null}`,
		},
		{
			name:  "unwrapped inventory delete",
			stdin: `{"sku":"SKU-1","on_hand":0,"version":9,"updated_at":"2026-11-21T10:00:00Z","__deleted":"true"}`,
			args:  []string{"--table", "inventory"},
			want:  `{"op":"delete","key":"SKU-1","row":{"on_hand":0,"sku":"SKU-1","updated_at":"2026-11-21T10:00:00Z","version":9},"unavailable":[],"source":null}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runDecode(t, []byte(tc.stdin), tc.args...)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got != tc.want+"\n" {
				t.Errorf("stdout =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestDebeziumDecodeAvroWithRegistry(t *testing.T) {
	schemaText, err := os.ReadFile("../../internal/registry/testdata/inventory-envelope.avsc")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/schemas/ids/21" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error_code":40403,"message":"Schema not found"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"schema": string(schemaText)})
	}))
	defer srv.Close()
	codec, err := goavro.NewCodec(string(schemaText))
	if err != nil {
		t.Fatal(err)
	}
	value := binary.BigEndian.AppendUint32([]byte{0}, 21)
	value, err = codec.BinaryFromNative(value, map[string]any{
		"before": nil,
		"after": goavro.Union("shop.public.inventory.Value", map[string]any{
			"sku": "SKU-1", "on_hand": int32(7), "version": int64(42), "updated_at": nil,
		}),
		"source": map[string]any{
			"version": "3.0.1.Final", "connector": "postgresql", "name": "shop", "ts_ms": int64(1763719200000),
			"snapshot": goavro.Union("string", "false"), "db": "shop", "sequence": nil,
			"schema": "public", "table": "inventory", "txId": goavro.Union("long", int64(771)),
			"lsn": goavro.Union("long", int64(24023128)), "xmin": nil,
		},
		"op": "c", "ts_ms": goavro.Union("long", int64(1763719200456)), "transaction": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := runDecode(t, value, "--table", "inventory", "--registry", srv.URL, "--key", `{"sku":"SKU-1"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"op":"upsert","key":"SKU-1","row":{"on_hand":7,"sku":"SKU-1","updated_at":null,"version":42},"unavailable":[],"source":{"connector":"postgresql","db":"shop","lsn":24023128,"name":"shop","schema":"public","sequence":null,"snapshot":"false","table":"inventory","ts_ms":1763719200000,"txId":771,"version":"3.0.1.Final","xmin":null}}` + "\n"
	if got != want {
		t.Errorf("stdout =\n%s\nwant\n%s", got, want)
	}

	unknown := append([]byte{0, 0, 0, 0, 99}, value[5:]...)
	if out, err := runDecode(t, unknown, "--registry", srv.URL); err == nil || out != "" {
		t.Errorf("unknown schema id: out %q, err %v", out, err)
	}
}

func TestDebeziumDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // part of the error
	}{
		{"bad JSON", `{"op":`, nil, "bad JSON"},
		{"unknown op", `{"after":{"id":1},"source":{},"op":"x"}`, nil, `unknown op "x"`},
		{"create without after", `{"before":null,"after":null,"source":{},"op":"c"}`, nil, "without an after-image"},
		{"binary that is not Avro", "\x07\x01", nil, "unknown leading byte"},
		{"Avro without --registry", "\x00\x00\x00\x00\x01\x02", nil, "pass --registry"},
		{"unknown table", `{}`, []string{"--table", "orders"}, `unknown --table "orders"`},
		{"record without the table's key", fixture(t, "pg-1.2-create-schema.json"), []string{"--table", "products"}, "products record has no sku"},
		{"outbox payload not JSON", `"not json"`, []string{"--table", "outbox", "--key", "ORD-1"}, "outbox payload is not JSON"},
		{"bad registry URL", `{}`, []string{"--registry", "localhost:8081"}, "--registry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runDecode(t, []byte(tc.stdin), tc.args...)
			if err == nil {
				t.Fatalf("no error; stdout %q", out)
			}
			if out != "" {
				t.Errorf("stdout %q on error", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}
