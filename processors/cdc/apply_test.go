package cdc

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"cartstream/internal/debezium"
	"cartstream/internal/dlq"
	"cartstream/internal/shopsim"
	"cartstream/schemas"
)

var (
	at     = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	origin = Origin{At: at, Source: schemas.Source{Topic: "shop.public.products", Partition: 2, Offset: 41}}
)

func decodeAll(t *testing.T, k Kind, recs []shopsim.Record) []debezium.Record {
	t.Helper()
	d := &debezium.Decoder{}
	var out []debezium.Record
	for _, r := range recs {
		var rec debezium.Record
		var err error
		if k == Outbox {
			rec, err = d.DecodeOutbox(context.Background(), r.Key, r.Value)
		} else {
			rec, err = d.Decode(context.Background(), r.Key, r.Value)
		}
		if err != nil {
			t.Fatalf("decode %s: %v", r.Topic, err)
		}
		out = append(out, rec)
	}
	return out
}

func only(recs []shopsim.Record, topic string) []shopsim.Record {
	var out []shopsim.Record
	for _, r := range recs {
		if r.Topic == topic {
			out = append(out, r)
		}
	}
	return out
}

// TestSimulatedCatalogNormalizes runs every record of the demo catalog, as
// Debezium writes it, through decode and Apply: every product, promotion
// (every effect type) and stock row must normalize without a dead letter.
func TestSimulatedCatalogNormalizes(t *testing.T) {
	sim := shopsim.New(7, shopsim.Options{Start: at})
	all := sim.SnapshotCatalog(50, shopsim.DemoPromotions)
	topics := sim.Topics()
	effects := map[string]bool{}
	for _, tc := range []struct {
		kind  Kind
		topic string
		want  int
	}{
		{Products, topics.Products, 50},
		{Promotions, topics.Promotions, shopsim.DemoPromotions},
		{Inventory, topics.Inventory, 50},
	} {
		recs := decodeAll(t, tc.kind, only(all, tc.topic))
		if len(recs) != tc.want {
			t.Fatalf("%s: %d records, want %d", tc.kind, len(recs), tc.want)
		}
		for _, rec := range recs {
			res, err := Apply(tc.kind, rec, nil, origin)
			if err != nil {
				t.Fatalf("%s: %v", tc.kind, err)
			}
			if len(res.Emits) != 1 || res.State == nil {
				t.Fatalf("%s: result %+v", tc.kind, res)
			}
			switch v := res.Emits[0].Value.(type) {
			case *schemas.Product:
				want, _ := sim.Product(v.SKU)
				if int64(v.PriceMinor) != int64(want.Price) || v.Name != want.Name || !v.EventTime.Equal(at) || v.Source != origin.Source {
					t.Errorf("product %s = %+v, simulator has %+v", v.SKU, v, want)
				}
			case *schemas.Promotion:
				effects[v.Effect.Type] = true
			case *schemas.StockRow:
				want, _ := sim.Stock(v.SKU)
				if int64(v.OnHand) != int64(want.OnHand) || v.Version != want.Version {
					t.Errorf("stock %s = %+v, simulator has %+v", v.SKU, v, want)
				}
			}
		}
	}
	for _, e := range []string{"percent_off", "amount_off", "fixed_price", "buy_x_get_y", "tiered_percent", "free_shipping"} {
		if !effects[e] {
			t.Errorf("no promotion with effect %s normalized", e)
		}
	}
}

func TestDeleteThenTombstone(t *testing.T) {
	sim := shopsim.New(1, shopsim.Options{Start: at})
	snap := sim.SnapshotCatalog(3, 0)
	first := decodeAll(t, Products, only(snap, sim.Topics().Products)[:1])[0]
	res, err := Apply(Products, first, nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	state := res.State
	sku := res.Emits[0].Key
	del, err := sim.DeleteProduct(sku)
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeAll(t, Products, only(del, sim.Topics().Products))
	if len(recs) != 2 || !recs[1].Tombstone {
		t.Fatalf("want delete + tombstone, got %d records", len(recs))
	}
	res, err = Apply(Products, recs[0], state, origin)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DeleteState || len(res.Emits) != 1 || res.Emits[0].Key != sku || res.Emits[0].Value != nil {
		t.Fatalf("delete result %+v, want state removed and a tombstone for %s", res, sku)
	}
	// The tombstone after the delete finds no state and emits nothing more.
	res, err = Apply(Products, recs[1], nil, origin)
	if err != nil || len(res.Emits) != 0 || !res.DeleteState {
		t.Fatalf("tombstone result %+v, %v", res, err)
	}
}

// TestToastedColumnKeepsPreviousValue: an update whose name column is the
// unavailable-value placeholder keeps the previous name, and fails as a
// validation error when no previous row is known.
func TestToastedColumnKeepsPreviousValue(t *testing.T) {
	d := &debezium.Decoder{}
	key := []byte(`{"sku":"SKU-9"}`)
	create := []byte(`{"before":null,"after":{"sku":"SKU-9","name":"Long description","category":"c","brand":"b","price":"12.50","currency":"USD","active":true},"source":{"ts_ms":1767610078000},"op":"c","ts_ms":1767610078001}`)
	update := []byte(`{"before":null,"after":{"sku":"SKU-9","name":"__debezium_unavailable_value","category":"c","brand":"b","price":"13.00","currency":"USD","active":true},"source":{"ts_ms":1767610079000},"op":"u","ts_ms":1767610079001}`)
	c, err := d.Decode(context.Background(), key, create)
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.Decode(context.Background(), key, update)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Unavailable) != 1 || u.Unavailable[0] != "name" {
		t.Fatalf("decoder did not mark name unavailable: %v", u.Unavailable)
	}
	res, err := Apply(Products, c, nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	res, err = Apply(Products, u, res.State, origin)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Emits[0].Value.(*schemas.Product)
	if p.Name != "Long description" || p.PriceMinor != 1300 {
		t.Errorf("product %+v, want the previous name and the new price", p)
	}
	var state map[string]any
	_ = json.Unmarshal(res.State, &state)
	if state["name"] != "Long description" {
		t.Errorf("state keeps %v, want the filled name", state["name"])
	}

	_, err = Apply(Products, u, nil, origin)
	if class, _ := dlq.ClassOf(err); class != dlq.ClassValidation || !strings.Contains(err.Error(), "name") {
		t.Errorf("without a previous row: %v (class %q), want a validation error naming the column", err, class)
	}
}

func TestPoisonIsClassified(t *testing.T) {
	d := &debezium.Decoder{}
	tests := []struct {
		name  string
		kind  Kind
		value string
		class dlq.Class
	}{
		{"truncate", Products, `{"before":null,"after":null,"source":{},"op":"t","ts_ms":1}`, dlq.ClassUnsupported},
		{"inexact price", Products, `{"before":null,"after":{"sku":"S","price":"1.234","currency":"USD"},"source":{},"op":"c","ts_ms":1}`, dlq.ClassValidation},
		{"unknown effect", Promotions, `{"before":null,"after":{"id":"P","currency":"USD","effect":"{\"type\":\"bogo\"}"},"source":{},"op":"c","ts_ms":1}`, dlq.ClassValidation},
		{"stock without version", Inventory, `{"before":null,"after":{"sku":"S","on_hand":3},"source":{},"op":"c","ts_ms":1}`, dlq.ClassValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := d.Decode(context.Background(), []byte(`{"k":1}`), []byte(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Apply(tc.kind, rec, nil, origin)
			if class, ok := dlq.ClassOf(err); !ok || class != tc.class {
				t.Errorf("err = %v, class %q; want class %q", err, class, tc.class)
			}
		})
	}
}

func TestOutboxFansOutOnce(t *testing.T) {
	sim := shopsim.New(3, shopsim.Options{Start: at})
	sim.SnapshotCatalog(5, 0)
	skus := sim.Products()
	_, outbox, err := sim.PlaceOrder("o-1", "co-1", "c-1", []shopsim.Line{{SKU: skus[0].SKU, Qty: 2}, {SKU: skus[1].SKU, Qty: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rec := decodeAll(t, Outbox, []shopsim.Record{outbox})[0]
	res, err := Apply(Outbox, rec, nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Emits) != 2 || res.State == nil {
		t.Fatalf("result %+v", res)
	}
	l := res.Emits[0].Value.(*schemas.OrderLine)
	stock, _ := sim.Stock(l.SKU)
	if l.OrderID != "o-1" || l.CheckoutID != "co-1" || l.CartID != "c-1" || l.Qty != 2 || l.InventoryVersion != stock.Version {
		t.Errorf("line %+v (stock version %d)", l, stock.Version)
	}
	// The connector delivering the record again (another offset) finds
	// the order's state and does nothing.
	state := res.State
	again := origin
	again.Source.Offset++
	res, err = Apply(Outbox, rec, state, again)
	if err != nil || len(res.Emits) != 0 || res.State != nil {
		t.Errorf("duplicate: %+v, %v", res, err)
	}
	// The same record read again after a crash (the state reached the
	// changelog, the order lines perhaps not) fans out again and leaves
	// the state as it is.
	res, err = Apply(Outbox, rec, state, origin)
	if err != nil || len(res.Emits) != 2 || res.State != nil {
		t.Errorf("read again: %+v, %v", res, err)
	}
	// A state written before it named its source: a duplicate.
	res, err = Apply(Outbox, rec, []byte(`{"state":"fanned_out"}`), origin)
	if err != nil || len(res.Emits) != 0 {
		t.Errorf("old state: %+v, %v", res, err)
	}
	// A payload without lines is a validation error.
	rec.Row = debezium.Row{"order_id": "o-1"}
	rec.KeyString = "o-1"
	_, err = Apply(Outbox, rec, nil, origin)
	if class, _ := dlq.ClassOf(err); class != dlq.ClassValidation || !strings.Contains(err.Error(), "lines") {
		t.Errorf("no lines: %v, want a validation error about lines", err)
	}
}

// TestInventoryDeleteCarriesVersion: an inventory delete says which row
// version it deletes (from the row this group kept), so the inventory group
// can tell it from a replayed older delete.
func TestInventoryDeleteCarriesVersion(t *testing.T) {
	sim := shopsim.New(1, shopsim.Options{Start: at})
	snap := sim.SnapshotCatalog(1, 0)
	row := decodeAll(t, Inventory, only(snap, sim.Topics().Inventory)[:1])[0]
	res, err := Apply(Inventory, row, nil, origin)
	if err != nil {
		t.Fatal(err)
	}
	created := res.Emits[0].Value.(*schemas.StockRow)
	if created.Version == 0 {
		t.Fatalf("snapshot row without version: %+v", created)
	}
	// The delete as Debezium writes it under REPLICA IDENTITY DEFAULT: the
	// before-image holds the key and zeros.
	del := shopsim.Record{Topic: sim.Topics().Inventory, Key: []byte(`{"sku":"` + created.SKU + `"}`),
		Value: []byte(`{"before":{"sku":"` + created.SKU + `","on_hand":0,"version":0,"updated_at":null},"after":null,` +
			`"source":{"version":"2.5.4.Final","connector":"postgresql","name":"shop","ts_ms":1795255200000,"db":"shop","schema":"public","table":"inventory"},` +
			`"op":"d","ts_ms":1795255200100}`)}
	recs := decodeAll(t, Inventory, []shopsim.Record{del})
	for _, c := range []struct {
		name string
		prev []byte
		want int64
	}{{"previous row kept", res.State, created.Version}, {"nothing kept", nil, 0}} {
		got, err := Apply(Inventory, recs[0], c.prev, origin)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := got.Emits[0].Value.(*schemas.StockRow)
		if !ok || !s.Deleted || s.SKU != created.SKU || s.Version != c.want {
			t.Errorf("%s: delete emitted %+v, want deleted %s at version %d", c.name, got.Emits[0].Value, created.SKU, c.want)
		}
	}
}
