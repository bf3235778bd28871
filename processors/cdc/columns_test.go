package cdc

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"cartstream/internal/debezium"
	"cartstream/internal/shopsim"
)

// bare strips the JSON converter's schema wrapper: the record as the
// connector writes it with schemas.enable=false.
func bare(t *testing.T, wrapped []byte) []byte {
	t.Helper()
	if wrapped == nil {
		return nil
	}
	var m struct {
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(wrapped, &m); err != nil {
		t.Fatalf("not a schema-wrapped record: %v", err)
	}
	return m.Payload
}

// TestSchemalessRecordsNormalizeAlike: every product, promotion and stock
// row of the demo catalog, written without schemas (schemas.enable=false,
// decimal.handling.mode=precise: decimals as bare base64, jsonb as
// strings), normalizes to exactly what its schema-wrapped form does when
// the decoder has the tables' column types, as the instance's has.
func TestSchemalessRecordsNormalizeAlike(t *testing.T) {
	sim := shopsim.New(11, shopsim.Options{Start: at})
	all := sim.SnapshotCatalog(40, shopsim.DemoPromotions)
	topics := sim.Topics()
	columns, err := AllColumns()
	if err != nil {
		t.Fatal(err)
	}
	typed := &debezium.Decoder{Columns: columns}
	for _, tc := range []struct {
		kind  Kind
		topic string
	}{
		{Products, topics.Products},
		{Promotions, topics.Promotions},
		{Inventory, topics.Inventory},
	} {
		recs := only(all, tc.topic)
		if len(recs) == 0 {
			t.Fatalf("%s: no records", tc.kind)
		}
		for i, r := range recs {
			withSchema, err := typed.Decode(context.Background(), r.Key, r.Value)
			if err != nil {
				t.Fatalf("%s #%d with schema: %v", tc.kind, i, err)
			}
			want, err := Apply(tc.kind, withSchema, nil, origin)
			if err != nil {
				t.Fatalf("%s #%d with schema: %v", tc.kind, i, err)
			}
			without, err := typed.Decode(context.Background(), bare(t, r.Key), bare(t, r.Value))
			if err != nil {
				t.Fatalf("%s #%d without schema: %v\n%s", tc.kind, i, err, bare(t, r.Value))
			}
			got, err := Apply(tc.kind, without, nil, origin)
			if err != nil {
				t.Fatalf("%s #%d without schema: %v\n%s", tc.kind, i, err, bare(t, r.Value))
			}
			if !reflect.DeepEqual(got.Emits, want.Emits) {
				t.Errorf("%s #%d: schemaless emits %+v, with schema %+v", tc.kind, i, got.Emits, want.Emits)
			}
		}
	}
}

// TestColumnsCoverTheSchema: every column of deploy/postgres/schema.sql
// whose wire form needs a type (numeric, timestamptz, jsonb) is in its
// table's Columns with that type, so a column added to the database
// without one here fails.
func TestColumnsCoverTheSchema(t *testing.T) {
	f, err := os.Open("../../deploy/postgres/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := regexp.MustCompile(`^CREATE TABLE (\w+) \(`)
	column := regexp.MustCompile(`^\s+(\w+)\s+(numeric\(\d+,\d+\)|numeric|timestamptz|jsonb)(?:\s|,|$)`)
	want := map[string]debezium.Column{
		"numeric(12,2)": {Type: debezium.TypeDecimal, Scale: 2},
		"timestamptz":   {Type: debezium.TypeZonedTimestamp},
		"jsonb":         {Type: debezium.TypeJSON},
	}
	var cur string
	seen := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := table.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		m := column.FindStringSubmatch(line)
		if m == nil || cur == "" || cur == string(Outbox) {
			continue
		}
		k := Kind(cur)
		w, ok := want[m[2]]
		if !ok {
			t.Errorf("%s.%s: type %s has no expected column type here", cur, m[1], m[2])
			continue
		}
		if got := Columns(k)[m[1]]; got != w {
			t.Errorf("Columns(%s)[%q] = %+v, want %+v (schema.sql: %s)", k, m[1], got, w, strings.TrimSpace(line))
		}
		seen++
	}
	if seen < 6 {
		t.Fatalf("found %d typed columns in schema.sql; the parser missed them", seen)
	}
}
