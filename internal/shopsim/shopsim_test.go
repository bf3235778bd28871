package shopsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"cartstream/topology"
)

// schemaNode is a Kafka Connect schema as the JSON converter writes it,
// decoded independently of the package's encoder.
type schemaNode struct {
	Type       string            `json:"type"`
	Fields     []schemaNode      `json:"fields"`
	Items      *schemaNode       `json:"items"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name"`
	Version    int               `json:"version"`
	Parameters map[string]string `json:"parameters"`
	Default    any               `json:"default"`
	Field      string            `json:"field"`
}

func (s schemaNode) field(name string) (schemaNode, bool) {
	for _, f := range s.Fields {
		if f.Field == name {
			return f, true
		}
	}
	return schemaNode{}, false
}

// message is one decoded schemas.enable=true record.
type message struct {
	Schema  schemaNode
	Payload any
	keys    []string // top-level keys in order
}

func decodeMessage(t *testing.T, raw []byte) message {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	var m message
	m.keys = objectKeys(t, raw)
	if err := json.Unmarshal(top["schema"], &m.Schema); err != nil {
		t.Fatalf("schema: %v", err)
	}
	m.Payload = decodeNumbers(t, top["payload"])
	return m
}

func decodeNumbers(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// objectKeys returns the keys of a JSON object in document order.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// conform checks that v is a valid value of schema s, with the value
// encodings the JSON converter uses for Debezium's logical types.
func conform(s schemaNode, v any, path string) error {
	if v == nil {
		if !s.Optional {
			return fmt.Errorf("%s: null for a required %s", path, s.Type)
		}
		return nil
	}
	switch s.Type {
	case "struct":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want object", path, v)
		}
		if len(obj) != len(s.Fields) {
			return fmt.Errorf("%s: %d fields, schema has %d", path, len(obj), len(s.Fields))
		}
		for _, f := range s.Fields {
			fv, ok := obj[f.Field]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, f.Field)
			}
			if err := conform(f, fv, path+"."+f.Field); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want array", path, v)
		}
		for i, e := range arr {
			if err := conform(*s.Items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %T, want boolean", path, v)
		}
	case "int32", "int64":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %T, want integer", path, v)
		}
		i, err := n.Int64()
		if err != nil || s.Type == "int32" && (i > 1<<31-1 || i < -1<<31) {
			return fmt.Errorf("%s: %s is not an %s", path, n, s.Type)
		}
	case "float", "double":
		if _, ok := v.(json.Number); !ok {
			return fmt.Errorf("%s: %T, want number", path, v)
		}
	case "bytes":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %T, want base64 string", path, v)
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil || len(b) == 0 {
			return fmt.Errorf("%s: %q is not padded standard base64", path, str)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %T, want string", path, v)
		}
		switch s.Name {
		case zonedTimestampSchemaName:
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is not an ISO-8601 zoned timestamp", path, str)
			}
		case jsonSchemaName:
			if str != "" && !json.Valid([]byte(str)) {
				return fmt.Errorf("%s: %q is not JSON", path, str)
			}
		}
	default:
		return fmt.Errorf("%s: unexpected schema type %q", path, s.Type)
	}
	return nil
}

// The validator must accept the real messages it judges the simulator by.
func TestConformAcceptsRealMessages(t *testing.T) {
	for _, name := range []string{"pg-2.5-snapshot-first-decimal-microts-schema.json", "pg-2.2-snapshot-decimal-microts-schema.json", "pg-1.2-create-schema.json", "sqlserver-1.6-decimal-delete-schema.json", "sqlserver-1.6-decimal-delete-schema.key.json", "outbox-routed.json", "outbox-routed.key.json"} {
		m := decodeMessage(t, readFixture(t, name))
		if err := conform(m.Schema, m.Payload, name); err != nil {
			t.Error(err)
		}
	}
}

// column is the expected Connect schema of one column.
type column struct {
	name, typ string
	optional  bool
	semantic  string
}

func TestValuesMatchTheRealEnvelopeStructure(t *testing.T) {
	fixture := decodeMessage(t, readFixture(t, "pg-2.5-snapshot-first-decimal-microts-schema.json"))
	fixPayload := fixture.Payload.(map[string]any)

	s := New(7, Options{})
	snap := s.SnapshotCatalog(20, DemoPromotionTemplates)
	first := func(topic string) Record {
		for _, r := range snap {
			if r.Topic == topic {
				return r
			}
		}
		t.Fatalf("no snapshot record on %s", topic)
		return Record{}
	}
	added, err := s.AddProduct(Product{SKU: "SKU-NEW", Name: "New", Category: "toys", Brand: "Acme", Price: 999, Currency: "USD", Active: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Product(SKU(4))
	p.Price = MustAmount("17.49")
	upd, err := s.UpdateProduct(p)
	if err != nil {
		t.Fatal(err)
	}
	restock, err := s.Restock(SKU(4), 10)
	if err != nil {
		t.Fatal(err)
	}
	promo, _ := s.Promotion(PromotionID(2))
	promo.Priority = 99
	promoUpd, err := s.UpsertPromotion(promo)
	if err != nil {
		t.Fatal(err)
	}
	del, err := s.DeleteProduct(SKU(5))
	if err != nil {
		t.Fatal(err)
	}
	delPromo, err := s.DeletePromotion(PromotionID(3))
	if err != nil {
		t.Fatal(err)
	}

	products := []column{
		{"sku", "string", false, ""}, {"name", "string", false, ""}, {"category", "string", false, ""}, {"brand", "string", false, ""},
		{"price", "bytes", false, decimalSchemaName}, {"currency", "string", false, ""}, {"active", "boolean", false, ""},
		{"updated_at", "string", false, zonedTimestampSchemaName},
	}
	promotions := []column{
		{"id", "string", false, ""}, {"name", "string", false, ""}, {"active", "boolean", false, ""}, {"priority", "int32", false, ""},
		{"stacking", "string", false, ""}, {"coupon_code", "string", true, ""}, {"valid_from", "string", true, zonedTimestampSchemaName},
		{"valid_until", "string", true, zonedTimestampSchemaName}, {"segments", "array", false, ""}, {"currency", "string", false, ""},
		{"condition", "string", false, jsonSchemaName}, {"target", "string", false, jsonSchemaName}, {"effect", "string", false, jsonSchemaName},
		{"max_discount", "bytes", true, decimalSchemaName},
	}
	inventory := []column{
		{"sku", "string", false, ""}, {"on_hand", "int32", false, ""}, {"version", "int64", false, ""},
		{"updated_at", "string", false, zonedTimestampSchemaName},
	}

	cases := []struct {
		name     string
		rec      Record
		table    string
		columns  []column
		op       string
		snapshot string
		before   bool // before is a row (deletes); null otherwise
		after    bool
	}{
		{"snapshot product", first("shop.public.products"), "products", products, "r", "first", false, true},
		{"snapshot promotion", first("shop.public.promotions"), "promotions", promotions, "r", "first_in_data_collection", false, true},
		{"snapshot inventory", first("shop.public.inventory"), "inventory", inventory, "r", "first_in_data_collection", false, true},
		{"last snapshot record", snap[len(snap)-1], "inventory", inventory, "r", "last", false, true},
		{"insert product", added[0], "products", products, "c", "false", false, true},
		{"insert inventory", added[1], "inventory", inventory, "c", "false", false, true},
		{"update product", upd, "products", products, "u", "false", false, true},
		{"restock", restock, "inventory", inventory, "u", "false", false, true},
		{"update promotion", promoUpd, "promotions", promotions, "u", "false", false, true},
		{"delete product", del[0], "products", products, "d", "false", true, false},
		{"delete promotion", delPromo[0], "promotions", promotions, "d", "false", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if want := "shop.public." + c.table; c.rec.Topic != want {
				t.Errorf("topic %s, want %s", c.rec.Topic, want)
			}
			m := decodeMessage(t, c.rec.Value)
			if !slices.Equal(m.keys, fixture.keys) {
				t.Errorf("top-level keys %v, want %v", m.keys, fixture.keys)
			}
			if err := conform(m.Schema, m.Payload, "value"); err != nil {
				t.Fatal(err)
			}

			// The envelope: the fixture's fields, types and names, with
			// the table's own name.
			env := m.Schema
			if env.Type != "struct" || env.Optional || env.Version != fixture.Schema.Version || env.Name != "shop.public."+c.table+".Envelope" {
				t.Errorf("envelope schema %s/%v/v%d/%s", env.Type, env.Optional, env.Version, env.Name)
			}
			if got, want := fieldShapes(env), fieldShapes(fixture.Schema); !slices.Equal(got, want) {
				t.Errorf("envelope fields\n got %v\nwant %v", got, want)
			}
			for _, name := range []string{"source", "transaction", "op", "ts_ms"} {
				got, _ := env.field(name)
				want, _ := fixture.Schema.field(name)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s schema differs from Debezium 2.5's:\n got %+v\nwant %+v", name, got, want)
				}
			}
			for _, side := range []string{"before", "after"} {
				f, _ := env.field(side)
				if f.Name != "shop.public."+c.table+".Value" || !f.Optional {
					t.Errorf("%s: name %s optional %v", side, f.Name, f.Optional)
				}
				checkColumns(t, f, c.columns)
			}

			// The payload: the fixture's keys in the fixture's order.
			payload := m.Payload.(map[string]any)
			if got, want := sortedMapKeys(payload), sortedMapKeys(fixPayload); !slices.Equal(got, want) {
				t.Errorf("payload keys %v, want %v", got, want)
			}
			if got, want := objectKeys(t, rawPayload(t, c.rec.Value)), objectKeys(t, rawPayload(t, readFixture(t, "pg-2.5-snapshot-first-decimal-microts-schema.json"))); !slices.Equal(got, want) {
				t.Errorf("payload key order %v, want %v", got, want)
			}
			src := payload["source"].(map[string]any)
			if got, want := sortedMapKeys(src), sortedMapKeys(fixPayload["source"].(map[string]any)); !slices.Equal(got, want) {
				t.Errorf("source keys %v, want %v", got, want)
			}
			if payload["op"] != c.op || src["snapshot"] != c.snapshot || src["table"] != c.table || src["schema"] != "public" ||
				src["connector"] != "postgresql" || src["name"] != "shop" || src["version"] != DebeziumVersion || src["xmin"] != nil {
				t.Errorf("op %v snapshot %v table %v source %v", payload["op"], src["snapshot"], src["table"], src)
			}
			if payload["transaction"] != nil {
				t.Errorf("transaction %v, want null", payload["transaction"])
			}
			if (payload["before"] != nil) != c.before || (payload["after"] != nil) != c.after {
				t.Errorf("before %v after %v", payload["before"], payload["after"])
			}
			srcTs, _ := src["ts_ms"].(json.Number).Int64()
			ts, _ := payload["ts_ms"].(json.Number).Int64()
			if ts < srcTs || ts-srcTs > int64(maxLag/time.Millisecond)+100 {
				t.Errorf("ts_ms %d vs source.ts_ms %d: lag out of range", ts, srcTs)
			}
			if c.rec.Timestamp.UnixMilli() != ts {
				t.Errorf("record timestamp %v, want ts_ms %d", c.rec.Timestamp, ts)
			}

			// The key: a struct of the primary key, as in the fixtures.
			k := decodeMessage(t, c.rec.Key)
			if err := conform(k.Schema, k.Payload, "key"); err != nil {
				t.Fatal(err)
			}
			pk := c.columns[0]
			if k.Schema.Type != "struct" || k.Schema.Optional || k.Schema.Name != "shop.public."+c.table+".Key" || len(k.Schema.Fields) != 1 ||
				k.Schema.Fields[0].Field != pk.name || k.Schema.Fields[0].Type != "string" || k.Schema.Fields[0].Optional {
				t.Errorf("key schema %+v", k.Schema)
			}
			row := payload["after"]
			if row == nil {
				row = payload["before"]
			}
			if k.Payload.(map[string]any)[pk.name] != row.(map[string]any)[pk.name] {
				t.Errorf("key %v does not match the row's %s", k.Payload, pk.name)
			}
		})
	}
}

func rawPayload(t *testing.T, raw []byte) []byte {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	return top["payload"]
}

// fieldShapes summarises a struct's fields as name:type:optional:schema-name,
// ignoring table-specific names.
func fieldShapes(s schemaNode) []string {
	var out []string
	for _, f := range s.Fields {
		name := f.Name
		if strings.HasSuffix(name, ".Value") {
			name = "<table>.Value"
		}
		out = append(out, fmt.Sprintf("%s:%s:%v:%s", f.Field, f.Type, f.Optional, name))
	}
	return out
}

func checkColumns(t *testing.T, s schemaNode, want []column) {
	t.Helper()
	if len(s.Fields) != len(want) {
		t.Fatalf("%d columns, want %d", len(s.Fields), len(want))
	}
	fixture := decodeMessage(t, readFixture(t, "pg-2.5-snapshot-first-decimal-microts-schema.json"))
	after, _ := fixture.Schema.field("after")
	fixDecimal, _ := after.field("price")
	for i, w := range want {
		f := s.Fields[i]
		if f.Field != w.name || f.Type != w.typ || f.Optional != w.optional || f.Name != w.semantic {
			t.Errorf("column %d: %s %s optional=%v %s, want %s %s optional=%v %s", i, f.Field, f.Type, f.Optional, f.Name, w.name, w.typ, w.optional, w.semantic)
		}
		switch w.semantic {
		case decimalSchemaName:
			// Same shape as a real numeric(10,2) column, precision 12.
			if f.Version != fixDecimal.Version || f.Parameters["scale"] != fixDecimal.Parameters["scale"] ||
				f.Parameters["connect.decimal.precision"] != "12" || len(f.Parameters) != len(fixDecimal.Parameters) {
				t.Errorf("%s: decimal schema %+v, want like %+v with precision 12", f.Field, f, fixDecimal)
			}
		case zonedTimestampSchemaName, jsonSchemaName:
			if f.Version != 1 {
				t.Errorf("%s: version %d, want 1", f.Field, f.Version)
			}
		}
		if w.typ == "array" && (f.Items == nil || f.Items.Type != "string" || !f.Items.Optional) {
			t.Errorf("%s: items %+v, want optional strings", f.Field, f.Items)
		}
		if f.Default != nil {
			t.Errorf("%s: default %v; the schema declares no defaults", f.Field, f.Default)
		}
	}
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestSnapshotMarksAndSharesOneTransaction(t *testing.T) {
	s := New(3, Options{})
	recs := s.SnapshotCatalog(5, 4)
	if len(recs) != 5+4+5 {
		t.Fatalf("%d records, want 14", len(recs))
	}
	var markers []string
	var txIDs, lsns, srcTs []int64
	var lastTs int64
	for _, r := range recs {
		m := decodeMessage(t, r.Value).Payload.(map[string]any)
		src := m["source"].(map[string]any)
		markers = append(markers, src["snapshot"].(string))
		tx, _ := src["txId"].(json.Number).Int64()
		lsn, _ := src["lsn"].(json.Number).Int64()
		ts, _ := src["ts_ms"].(json.Number).Int64()
		txIDs, lsns, srcTs = append(txIDs, tx), append(lsns, lsn), append(srcTs, ts)
		if m["op"] != "r" || m["before"] != nil {
			t.Errorf("op %v before %v", m["op"], m["before"])
		}
		if src["sequence"] != fmt.Sprintf(`[null,"%d"]`, lsn) {
			t.Errorf("sequence %v", src["sequence"])
		}
		ets, _ := m["ts_ms"].(json.Number).Int64()
		if ets < lastTs {
			t.Errorf("envelope ts_ms went back: %d after %d", ets, lastTs)
		}
		lastTs = ets
	}
	want := []string{
		"first", "true", "true", "true", "last_in_data_collection", // products
		"first_in_data_collection", "true", "true", "last_in_data_collection", // promotions
		"first_in_data_collection", "true", "true", "true", "last", // inventory
	}
	if !slices.Equal(markers, want) {
		t.Errorf("markers\n got %v\nwant %v", markers, want)
	}
	for i := range recs {
		if txIDs[i] != txIDs[0] || lsns[i] != lsns[0] || srcTs[i] != srcTs[0] {
			t.Fatalf("record %d: txId %d lsn %d ts_ms %d differ from the first record's", i, txIDs[i], lsns[i], srcTs[i])
		}
	}
}

func TestDeleteIsFollowedByATombstone(t *testing.T) {
	s := New(1, Options{})
	s.SnapshotCatalog(3, 0)
	recs, err := s.DeleteProduct(SKU(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want delete and tombstone", len(recs))
	}
	del, tomb := recs[0], recs[1]
	if tomb.Value != nil || !bytes.Equal(tomb.Key, del.Key) || tomb.Topic != del.Topic {
		t.Errorf("tombstone %+v does not follow delete %+v", tomb, del)
	}
	p := decodeMessage(t, del.Value).Payload.(map[string]any)
	before := p["before"].(map[string]any)
	// REPLICA IDENTITY DEFAULT: only the key is known; Debezium fills the
	// other NOT NULL columns with its fallbacks.
	want := map[string]any{"sku": SKU(2), "name": "", "category": "", "brand": "", "price": "AA==", "currency": "", "active": false, "updated_at": "1970-01-01T00:00:00Z"}
	if !reflect.DeepEqual(before, want) {
		t.Errorf("before %v, want %v", before, want)
	}
	if _, ok := s.Product(SKU(2)); ok {
		t.Error("product still there")
	}
	if _, ok := s.Stock(SKU(2)); !ok {
		t.Error("inventory row deleted with the product")
	}
	if _, err := s.DeleteProduct(SKU(2)); !errors.Is(err, ErrUnknownSKU) {
		t.Errorf("second delete: %v, want ErrUnknownSKU", err)
	}
}

func TestTimestampsAreZonedWithSixFractionDigits(t *testing.T) {
	s := New(1, Options{Start: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600))})
	recs := s.SnapshotCatalog(1, 0)
	after := decodeMessage(t, recs[0].Value).Payload.(map[string]any)["after"].(map[string]any)
	if got := after["updated_at"]; got != "2026-01-02T02:04:05.123456Z" {
		t.Errorf("updated_at %v", got)
	}
}

func TestSameSeedSameRecords(t *testing.T) {
	run := func(seed int64) [][]byte {
		s := New(seed, Options{})
		var out [][]byte
		add := func(recs ...Record) {
			for _, r := range recs {
				out = append(out, r.Key, r.Value, []byte(r.Topic), []byte(r.Timestamp.String()))
				for _, h := range r.Headers {
					out = append(out, []byte(h.Key), h.Value)
				}
			}
		}
		add(s.SnapshotCatalog(50, 30)...)
		for i := 1; i <= 20; i++ {
			if r, err := s.Restock(SKU(i), 5); err == nil {
				add(r)
			}
			inv, ob, err := s.PlaceOrder(fmt.Sprintf("o-%d", i), fmt.Sprintf("co-%d", i), fmt.Sprintf("c-%d", i), []Line{{SKU(i), 1}, {SKU(i + 1), 2}})
			if err == nil {
				add(inv...)
				add(ob)
			}
		}
		p, _ := s.Product(SKU(7))
		p.Active = false
		r, _ := s.UpdateProduct(p)
		add(r)
		d, _ := s.DeleteProduct(SKU(8))
		add(d...)
		return out
	}
	a, b, c := run(42), run(42), run(43)
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with seed 42 differ")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 42 and 43 give the same records")
	}
}

func TestDefaultTopicsAreTheTopologys(t *testing.T) {
	got := New(1, Options{}).Topics()
	n := topology.DefaultNames()
	want := Topics{Products: n.Products, Promotions: n.Promotions, Inventory: n.Inventory, Outbox: n.Outbox}
	if got != want {
		t.Errorf("topics %+v, want the topology's %+v", got, want)
	}
	custom := New(1, Options{TopicPrefix: "eu", OutboxTopic: "outbox.event.eu-order"}).Topics()
	if custom.Products != "eu.public.products" || custom.Outbox != "outbox.event.eu-order" {
		t.Errorf("custom topics %+v", custom)
	}
	recs := New(1, Options{TopicPrefix: "eu"}).SnapshotCatalog(1, 0)
	m := decodeMessage(t, recs[0].Value)
	if m.Schema.Name != "eu.public.products.Envelope" || m.Payload.(map[string]any)["source"].(map[string]any)["name"] != "eu" {
		t.Errorf("prefix not applied: %s", m.Schema.Name)
	}
}

func TestConstraintsRejectBadRows(t *testing.T) {
	s := New(1, Options{})
	s.SnapshotCatalog(2, 0)
	good := Product{SKU: "SKU-X", Name: "x", Category: "toys", Brand: "Acme", Price: 100, Currency: "USD", Active: true}
	cases := []struct {
		name string
		do   func() error
		want error
	}{
		{"duplicate product", func() error { _, err := s.AddProduct(Product{SKU: SKU(1), Currency: "USD"}, 1); return err }, ErrDuplicateKey},
		{"negative stock", func() error { _, err := s.AddProduct(good, -1); return err }, ErrInvalid},
		{"lower-case currency", func() error { p := good; p.Currency = "usd"; _, err := s.AddProduct(p, 1); return err }, ErrInvalid},
		{"negative price", func() error { p := good; p.Price = -1; _, err := s.AddProduct(p, 1); return err }, ErrInvalid},
		{"update unknown", func() error { _, err := s.UpdateProduct(good); return err }, ErrUnknownSKU},
		{"restock unknown", func() error { _, err := s.Restock("nope", 1); return err }, ErrUnknownSKU},
		{"restock by zero", func() error { _, err := s.Restock(SKU(1), 0); return err }, ErrInvalid},
		{"bad stacking", func() error {
			_, err := s.UpsertPromotion(Promotion{ID: "p", Stacking: "sometimes", Currency: "USD", Effect: doc(obj{"type": "free_shipping"})})
			return err
		}, ErrInvalid},
		{"effect without type", func() error {
			_, err := s.UpsertPromotion(Promotion{ID: "p", Stacking: StackingStop, Currency: "USD", Effect: doc(obj{"bps": 1})})
			return err
		}, ErrInvalid},
		{"target not an object", func() error {
			_, err := s.UpsertPromotion(Promotion{ID: "p", Stacking: StackingStop, Currency: "USD", Target: json.RawMessage(`[]`), Effect: doc(obj{"type": "free_shipping"})})
			return err
		}, ErrInvalid},
		{"empty window", func() error {
			at := s.Now()
			_, err := s.UpsertPromotion(Promotion{ID: "p", Stacking: StackingStop, Currency: "USD", ValidFrom: &at, ValidUntil: &at, Effect: doc(obj{"type": "free_shipping"})})
			return err
		}, ErrInvalid},
		{"delete unknown promotion", func() error { _, err := s.DeletePromotion("nope"); return err }, ErrUnknownPromotion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.do(); !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
		})
	}
}

func TestUpsertPromotionStoresJSONBAndReportsCreateThenUpdate(t *testing.T) {
	s := New(1, Options{})
	p := Promotion{ID: "p-1", Name: "n", Active: true, Stacking: StackingStackable, Currency: "USD",
		Effect: json.RawMessage(`{"type":"percent_off","bps":1000}`)}
	for i, wantOp := range []string{"c", "u"} {
		rec, err := s.UpsertPromotion(p)
		if err != nil {
			t.Fatal(err)
		}
		after := decodeMessage(t, rec.Value).Payload.(map[string]any)
		if after["op"] != wantOp {
			t.Errorf("upsert %d: op %v, want %s", i, after["op"], wantOp)
		}
		row := after["after"].(map[string]any)
		if row["effect"] != `{"bps": 1000, "type": "percent_off"}` || row["condition"] != "{}" || row["target"] != "{}" {
			t.Errorf("jsonb columns %v %v %v", row["effect"], row["condition"], row["target"])
		}
		if !reflect.DeepEqual(row["segments"], []any{}) {
			t.Errorf("segments %v, want []", row["segments"])
		}
	}
	got, _ := s.Promotion("p-1")
	if string(got.Effect) != `{"bps": 1000, "type": "percent_off"}` {
		t.Errorf("stored effect %s", got.Effect)
	}
}
