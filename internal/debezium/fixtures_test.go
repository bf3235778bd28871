package debezium

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readFixture returns testdata/<name> and, when it exists, the key beside
// it (<name without .json>.key.json).
func readFixture(t testing.TB, name string) (key, value []byte) {
	t.Helper()
	value, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	key, err = os.ReadFile(filepath.Join("testdata", strings.TrimSuffix(name, ".json")+".key.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return key, value
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts.UTC()
}

// check compares one value of a decoded record with what the fixture's
// README says it is. Decimals compare by their exact text (scale included),
// times by instant and UTC location.
func check(t *testing.T, what string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case Decimal:
		g, ok := got.(Decimal)
		if !ok || g.String() != w.String() || g.Scale != w.Scale {
			t.Errorf("%s = %#v (%v), want Decimal %s scale %d", what, got, got, w, w.Scale)
		}
	case time.Time:
		g, ok := got.(time.Time)
		if !ok || !g.Equal(w) || g.Location() != time.UTC {
			t.Errorf("%s = %#v, want %s in UTC", what, got, w.Format(time.RFC3339Nano))
		}
	default:
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (%T), want %#v (%T)", what, got, got, want, want)
		}
	}
}

func dec(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestFixtures decodes every real Debezium message in testdata (copied from
// the shared fixtures; see testdata/README.md) in generic mode and checks
// the values its README describes.
func TestFixtures(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		file  string
		check func(t *testing.T, r Record)
	}{
		{"pg-1.2-snapshot-read-schema.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "source op", r.SourceOp, "r")
			check(t, "snapshot", r.Snapshot(), "true")
			check(t, "row", r.Row, Row{"id": int64(101), "name": "scooter", "description": "Small 2-wheel scooter", "weight": 3.14})
			check(t, "key", r.Key, map[string]any(nil))
			check(t, "ts_ms", r.TsMs, int64(1596001099434))
			check(t, "source.txId", r.Source["txId"], n("601"))
		}},
		{"pg-1.2-create-schema.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "source op", r.SourceOp, "c")
			check(t, "before", r.Before, Row(nil))
			check(t, "snapshot", r.Snapshot(), "false")
			check(t, "weight (double)", r.Row["weight"], 0.2)
			check(t, "id", r.Row["id"], int64(110))
		}},
		{"pg-1.2-update-before-full-schema.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "source op", r.SourceOp, "u")
			check(t, "before", r.Before, Row{"id": int64(106), "name": "hammer", "description": "16oz carpenter's hammer", "weight": 1.0})
			check(t, "after.description", r.Row["description"], "18oz carpenter hammer")
		}},
		{"pg-1.2-delete-before-full-schema.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpDelete)
			check(t, "source op", r.SourceOp, "d")
			check(t, "row (before-image)", r.Row, Row{"id": int64(111), "name": "scooter", "description": "Big 2-wheel scooter ", "weight": 5.17})
			check(t, "tombstone", r.Tombstone, false)
		}},
		{"pg-0.10-update-before-null-toast.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "before", r.Before, Row(nil))
			check(t, "unavailable", r.Unavailable, []string{"biography"})
			check(t, "row", r.Row, Row{"id": int64(1004), "first_name": "Dana", "last_name": "Kretchmar", "email": "annek@noanswer.org"})
			check(t, "ts_ms", r.TsMs, int64(1570448151611))
		}},
		{"pg-0.8-delete-legacy-source.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpDelete)
			check(t, "key", r.Key, map[string]any{"id": "id1 "})
			check(t, "row", r.Row, Row{"id": "id1 ", "code": nil})
			check(t, "source.snapshot (legacy boolean)", r.Source["snapshot"], false)
			check(t, "snapshot", r.Snapshot(), "false")
			check(t, "source.ts_usec (exact)", r.Source["ts_usec"], n("1536580521883194000"))
			check(t, "source.last_snapshot_record", r.Source["last_snapshot_record"], nil)
			check(t, "ts_ms", r.TsMs, int64(1536580521895))
		}},
		{"pg-0.8-tombstone.json", func(t *testing.T, r Record) {
			// The file holds the text null standing for Kafka's nil value.
			check(t, "op", r.Op, OpDelete)
			check(t, "tombstone", r.Tombstone, true)
			check(t, "key", r.Key, map[string]any{"id": "id1 "})
			check(t, "row", r.Row, Row(nil))
			check(t, "source op", r.SourceOp, "")
		}},
		{"pg-2.0-truncate.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpTruncate)
			check(t, "source op", r.SourceOp, "t")
			check(t, "key", r.Key, map[string]any(nil))
			check(t, "row", r.Row, Row(nil))
			check(t, "source.sequence", r.Source["sequence"], `[null,"2919574488"]`)
			check(t, "source.table", r.Source["table"], "table1")
			check(t, "ts_ms", r.TsMs, int64(1670898970410))
		}},
		{"mysql-3.0-snapshot-read.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "source op", r.SourceOp, "r")
			check(t, "row", r.Row, Row{"id": int64(1004), "first_name": "Anne", "last_name": "Kretchmar", "email": "annek@noanswer.org"})
			check(t, "source.server_id", r.Source["server_id"], n("0"))
			check(t, "source.gtid", r.Source["gtid"], nil)
			check(t, "source.file", r.Source["file"], "mysql-bin.000003")
			check(t, "source.pos", r.Source["pos"], n("797"))
			check(t, "ts_us", r.TsUs, int64(1731327512006319))
			check(t, "ts_ns", r.TsNs, int64(1731327512006319782))
		}},
		{"mysql-3.0-update.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "before.first_name", r.Before["first_name"], "Sally")
			check(t, "after.first_name", r.Row["first_name"], "Sarah")
			check(t, "source.thread", r.Source["thread"], n("102"))
			// 1731327659957757335 > 2^53: a float64 would read ...757376.
			check(t, "ts_ns", r.TsNs, int64(1731327659957757335))
			check(t, "source.ts_ns", r.Source["ts_ns"], n("1731327659000000000"))
		}},
		{"pg-2.5-snapshot-first-decimal-microts-schema.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "snapshot (not in the schema's allowed list)", r.Snapshot(), "first")
			check(t, "price AdTA scale 2", r.Row["price"], dec("1200.00"))
			check(t, "order_date MicroTimestamp", r.Row["order_date"], mustTime(t, "2026-01-05T10:47:58.945635Z"))
			check(t, "quantity", r.Row["quantity"], int64(1))
			check(t, "status", r.Row["status"], "COMPLETED")
		}},
		{"pg-2.5-unwrapped-decimal-microts-schema.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "source op", r.SourceOp, "")
			check(t, "price", r.Row["price"], dec("1200.00"))
			check(t, "order_date", r.Row["order_date"], mustTime(t, "2026-01-05T10:47:58.945635Z"))
			check(t, "__deleted not a column", r.Row["__deleted"], nil)
			check(t, "meta", r.Meta, map[string]any{"__deleted": "false"})
			check(t, "columns", len(r.Row), 7)
			check(t, "source", r.Source, map[string]any(nil))
		}},
		{"pg-2.2-snapshot-decimal-microts-schema.json", func(t *testing.T, r Record) {
			check(t, "amount A5lh scale 2", r.Row["amount"], dec("2358.73"))
			check(t, "created_at", r.Row["created_at"], mustTime(t, "2026-01-07T17:18:03.683652Z"))
			check(t, "source.sequence", r.Source["sequence"], `[null,"646200496"]`)
		}},
		{"sqlserver-1.6-decimal-delete-schema.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpDelete)
			check(t, "key (wrapped)", r.Key, map[string]any{"empno": int64(11)})
			check(t, "sal dzWUAA== scale 4", r.Row["sal"], dec("200000.0000"))
			check(t, "comm AYag scale 4", r.Row["comm"], dec("10.0000"))
			check(t, "hiredate Timestamp (ms)", r.Row["hiredate"], mustTime(t, "2019-07-09T00:00:00Z"))
		}},
		{"pg-3.0-update-variablescaledecimal.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "before", r.Before, Row(nil))
			check(t, "key", r.Key, map[string]any{"id": int64(5)})
			check(t, "amount_tax LQ== scale 1", r.Row["amount_tax"], dec("4.5"))
			check(t, "amount_total AVk= scale 1", r.Row["amount_total"], dec("34.5"))
			check(t, "amount_difference AA== scale 0", r.Row["amount_difference"], dec("0"))
			check(t, "currency_rate AQ== scale 0", r.Row["currency_rate"], dec("1"))
			// Bare JSON: no schema names these, so they keep their wire form.
			check(t, "date_order", r.Row["date_order"], int64(1782674242000000))
			check(t, "last_order_preparation_change", r.Row["last_order_preparation_change"], `{"lines":{},"generalNote":"","sittingMode":"dine in"}`)
			check(t, "ts_ns", r.TsNs, int64(1782674243017085256))
			check(t, "source.ts_ns", r.Source["ts_ns"], n("1782674242727600000"))
		}},
		{"outbox-routed.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "key string", r.KeyString, "0195c8e2-edb8-7ead-a8a2-0ba7e275bc56")
			check(t, "key", r.Key, map[string]any(nil))
			check(t, "relation", r.Row["relation"], "workspace")
			check(t, "resource", r.Row["resource"], map[string]any{"id": "4321", "type": map[string]any{"name": "integration", "namespace": "notifications"}})
		}},
		{"pg-2.4-transaction-begin.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpSkip)
			check(t, "reason", r.SkipReason, SkipTransactionMetadata)
			check(t, "row", r.Row, Row(nil))
			check(t, "ts_ms", r.TsMs, int64(1704269323180))
		}},
		{"pg-2.4-transaction-end.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpSkip)
			check(t, "reason", r.SkipReason, SkipTransactionMetadata)
		}},
		{"pg-3.0-logical-message-op-m.json", func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpSkip)
			check(t, "reason", r.SkipReason, SkipLogicalMessage)
			check(t, "source op", r.SourceOp, "m")
			check(t, "key", r.Key, map[string]any{"prefix": "test-prefix"})
			check(t, "source.txId", r.Source["txId"], n("756"))
			check(t, "ts_ms", r.TsMs, int64(1723115240065))
		}},
	}
	covered := map[string]bool{"mysql-2.0-truncate-avro-console.json": true} // decoded as Avro in avro_test.go
	for _, tc := range tests {
		covered[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			key, value := readFixture(t, tc.file)
			var d Decoder
			r, err := d.Decode(context.Background(), key, value)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if r.Unavailable == nil {
				t.Error("Unavailable is nil")
			}
			tc.check(t, r)
		})
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		if base := filepath.Base(f); !strings.HasSuffix(base, ".key.json") && !covered[base] {
			t.Errorf("fixture %s has no test", base)
		}
	}
}

// TestFixturesWithColumnTypes decodes the bare (schemaless) VariableScale
// fixture again with the column types a caller knows out of band: the
// MicroTimestamp and Json columns then come out typed.
func TestFixturesWithColumnTypes(t *testing.T) {
	key, value := readFixture(t, "pg-3.0-update-variablescaledecimal.json")
	d := Decoder{Columns: map[string]Column{
		"date_order":                    {Type: TypeMicroTimestamp},
		"create_date":                   {Type: TypeMicroTimestamp},
		"last_order_preparation_change": {Type: TypeJSON},
		"amount_tax":                    {Type: TypeVariableScaleDecimal},
	}}
	r, err := d.Decode(context.Background(), key, value)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "date_order", r.Row["date_order"], mustTime(t, "2026-06-28T19:17:22Z"))
	check(t, "create_date", r.Row["create_date"], mustTime(t, "2026-06-28T19:17:22.125578Z"))
	check(t, "json column", r.Row["last_order_preparation_change"], map[string]any{"lines": map[string]any{}, "generalNote": "", "sittingMode": "dine in"})
	check(t, "amount_tax", r.Row["amount_tax"], dec("4.5"))
}

// TestOutboxFixture decodes the Outbox Event Router's record with
// DecodeOutbox: key = aggregateid, row = the parsed payload.
func TestOutboxFixture(t *testing.T) {
	key, value := readFixture(t, "outbox-routed.json")
	var d Decoder
	r, err := d.DecodeOutbox(context.Background(), key, value)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "op", r.Op, OpUpsert)
	check(t, "key", r.KeyString, "0195c8e2-edb8-7ead-a8a2-0ba7e275bc56")
	check(t, "subject", r.Row["subject"], map[string]any{"subject": map[string]any{"id": "1234", "type": map[string]any{"name": "workspace", "namespace": "rbac"}}})
}

// TestTombstoneForms: Kafka's nil value, an empty value and the JSON text
// null are all tombstones that keep the key.
func TestTombstoneForms(t *testing.T) {
	key, _ := readFixture(t, "pg-0.8-tombstone.json")
	for name, value := range map[string][]byte{"nil": nil, "empty": {}, "null text": []byte("null"), "wrapped null": []byte(`{"schema":null,"payload":null}`)} {
		t.Run(name, func(t *testing.T) {
			var d Decoder
			r, err := d.Decode(context.Background(), key, value)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "op", r.Op, OpDelete)
			check(t, "tombstone", r.Tombstone, true)
			check(t, "key", r.Key, map[string]any{"id": "id1 "})
			check(t, "unavailable", r.Unavailable, []string{})
		})
	}
}
