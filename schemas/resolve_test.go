package schemas

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"cartstream/internal/money"
)

// historyRegistry loads the embedded current schemas plus the test-only
// writer schemas in testdata/avro-history as if they were in avro/history.
func historyRegistry(t testing.TB, extra fstest.MapFS) *registry {
	t.Helper()
	fsys := fstest.MapFS{}
	cur, err := fs.Glob(avroFiles, "avro/*.avsc")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cur {
		b, err := fs.ReadFile(avroFiles, f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[path.Base(f)] = &fstest.MapFile{Data: b}
	}
	entries, err := os.ReadDir("testdata/avro-history")
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		b, err := os.ReadFile(path.Join("testdata/avro-history", de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fsys["history/"+de.Name()] = &fstest.MapFile{Data: b}
	}
	for k, v := range extra {
		fsys[k] = v
	}
	reg, err := loadRegistry(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// writeWith encodes a goavro native value with the writer schema whose file
// name starts with prefix, as a single-object record.
func writeWith(t *testing.T, reg *registry, prefix string, native map[string]any) []byte {
	t.Helper()
	for _, e := range reg.byFingerprint {
		if !e.Current && strings.HasPrefix(path.Base(e.File), prefix+"-") {
			body, err := e.codec.BinaryFromNative(nil, native)
			if err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
			return append(e.header[:], body...)
		}
	}
	t.Fatalf("no history schema %s", prefix)
	return nil
}

func TestReadOlderStockRow(t *testing.T) {
	reg := historyRegistry(t, nil)
	data := writeWith(t, reg, "stock_row", map[string]any{
		"sku": "SKU-1", "warehouse": "north", "on_hand": int32(5), "version": int32(41),
		"event_time": t0, "source": map[string]any{"topic": "shop.public.inventory", "partition": int32(2), "offset": int64(9)},
	})
	var got StockRow
	if err := reg.unmarshal(kindStockRow, data, &got); err != nil {
		t.Fatal(err)
	}
	want := StockRow{
		SKU: "SKU-1", OnHand: 5, Version: 41, // int promoted to long
		UpdatedAt: nil, Deleted: false, // defaults of fields the writer lacked
		EventTime: t0, Source: Source{Topic: "shop.public.inventory", Partition: 2, Offset: 9},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestReadOlderPromotion(t *testing.T) {
	reg := historyRegistry(t, nil)
	data := writeWith(t, reg, "promotion", map[string]any{
		"id": "P-1", "currency": "EUR", "name": "old", "active": true, "priority": int32(3),
		"stacking": "stop", "coupon_code": "WELCOME",
		"valid_from": map[string]any{"long.timestamp-micros": t0Micros}, "valid_until": nil,
		"condition":  map[string]any{"min_subtotal_minor": map[string]any{"long": int64(1000)}, "min_quantity": nil, "requires_skus": []any{"A"}},
		"target":     map[string]any{"skus": []any{}, "categories": []any{"shoes"}, "brands": []any{}},
		"effect":     map[string]any{"type": "amount_off", "amount_minor": int64(500), "per": "cart"},
		"event_time": t0,
		"source":     map[string]any{"topic": "shop.public.promotions", "partition": int32(0), "offset": int64(1)},
	})
	var got Promotion
	if err := reg.unmarshal(kindPromotion, data, &got); err != nil {
		t.Fatal(err)
	}
	want := Promotion{
		ID: "P-1", Name: "old", Active: true, Priority: 3, Stacking: "stop",
		CouponCode: ptr("WELCOME"), // plain string read into ["null","string"]
		ValidFrom:  ptr(t0Micros), Currency: "EUR",
		Condition: Condition{MinSubtotalMinor: ptr(money.Amount(1000)), RequiresSKUs: []string{"A"}},
		Target:    Target{Categories: []string{"shoes"}},
		Effect:    Effect{Type: "amount_off", AmountMinor: 500, Per: "cart"},
		EventTime: t0, Source: Source{Topic: "shop.public.promotions", Offset: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestReadNewerReservationCommand(t *testing.T) {
	reg := historyRegistry(t, nil)
	native := map[string]any{
		"command_id": "co:S:reserve", "request_id": "co:S", "op": "reserve", "sku": "S", "qty": int32(1),
		"cart_id": "c", "checkout_id": "co", "order_id": nil, "reason": nil, "hold_ttl_ms": nil,
		"trace_id": map[string]any{"string": "abc"}, "event_time": t0,
	}
	var got ReservationCommand
	if err := reg.unmarshal(kindReservationCommand, writeWith(t, reg, "reservation_command", native), &got); err != nil {
		t.Fatal(err)
	}
	want := ReservationCommand{CommandID: "co:S:reserve", RequestID: "co:S", Op: OpReserve, SKU: "S", Qty: 1, CartID: "c", CheckoutID: "co", EventTime: t0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// A symbol this build does not know, with no enum default, cannot be
	// read: that record (only that one) is a decode error.
	native["op"] = "extend"
	err := reg.unmarshal(kindReservationCommand, writeWith(t, reg, "reservation_command", native), &got)
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), `no symbol "extend"`) {
		t.Fatalf("error = %v", err)
	}
}

func TestHistoryFileChecks(t *testing.T) {
	stock, err := os.ReadFile("testdata/avro-history/stock_row-b0389aa827ad0552.avsc")
	if err != nil {
		t.Fatal(err)
	}
	current, err := fs.ReadFile(avroFiles, "avro/stock_row.avsc")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		file string
		data []byte
		want string
	}{
		"wrong fingerprint in name": {"history/stock_row-0000000000000000.avsc", stock, "fingerprint is b0389aa827ad0552"},
		"no fingerprint in name":    {"history/stock_row.avsc", stock, "want <record>-<fingerprint>.avsc"},
		"unknown record":            {"history/basket-b0389aa827ad0552.avsc", stock, `no record type "basket"`},
		"copy of current schema":    {"history/stock_row-bf59e2cd9aec375f.avsc", current, "same fingerprint"},
		"other record's schema":     {"history/product-b0389aa827ad0552.avsc", stock, `want record "cartstream.Product"`},
		"not a schema":              {"history/stock_row-b0389aa827ad0552.avsc", []byte(`{"type":`), "stock_row-b0389aa827ad0552.avsc"},
	} {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range []string{"product", "promotion", "stock_row", "order_line", "reservation_command", "reservation_result"} {
				b, err := fs.ReadFile(avroFiles, "avro/"+f+".avsc")
				if err != nil {
					t.Fatal(err)
				}
				fsys[f+".avsc"] = &fstest.MapFile{Data: b}
			}
			fsys[tc.file] = &fstest.MapFile{Data: tc.data}
			_, err := loadRegistry(fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// The embedded registry loads, has one current schema per record type, and
// every history file it ships (none yet) resolves.
func TestEmbeddedRegistry(t *testing.T) {
	all, err := Schemas()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < int(numKinds) {
		t.Fatalf("%d schemas", len(all))
	}
	for i := kind(0); i < numKinds; i++ {
		if !all[i].Current || all[i].Name != kinds[i].name {
			t.Fatalf("schema %d = %s current=%v", i, all[i].Name, all[i].Current)
		}
		if !strings.HasPrefix(all[i].Canonical, `{"name":"`+kinds[i].name+`"`) {
			t.Fatalf("%s canonical form %s", all[i].Name, all[i].Canonical)
		}
	}
}

// A history record whose array count claims more items than there are
// bytes is rejected before goavro sees it (goavro would try to allocate
// them all).
func TestHistoryBodyIsCheckedBeforeGoavro(t *testing.T) {
	reg := historyRegistry(t, nil)
	var e *schemaEntry
	for _, x := range reg.byFingerprint {
		if x.kind == kindPromotion && !x.Current {
			e = x
		}
	}
	// id "", currency "", name "", active false, priority 0, stacking "",
	// coupon_code "", valid_from null, valid_until null, then the
	// condition's min_subtotal null, min_quantity null and requires_skus
	// with a block count of 2^40.
	body := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40}
	err := reg.unmarshal(kindPromotion, append(e.header[:], body...), new(Promotion))
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "array block") {
		t.Fatalf("error = %v", err)
	}
}
