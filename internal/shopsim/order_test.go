package shopsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// orderPayload is the outbox payload as a consumer decodes it.
type orderPayload struct {
	OrderID    string `json:"order_id"`
	CheckoutID string `json:"checkout_id"`
	CartID     string `json:"cart_id"`
	Lines      []struct {
		SKU     string `json:"sku"`
		Qty     int    `json:"qty"`
		Version int64  `json:"inventory_version"`
	} `json:"lines"`
}

func decodeOutbox(t *testing.T, r Record) (key string, p orderPayload) {
	t.Helper()
	var k struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(r.Key, &k); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(r.Value, &v); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(v.Payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("outbox payload %s: %v", v.Payload, err)
	}
	return k.Payload, p
}

// stockAfter decodes an inventory change's after row.
func stockAfter(t *testing.T, r Record) inventoryRow {
	t.Helper()
	var v struct {
		Payload struct {
			Op    string        `json:"op"`
			After *inventoryRow `json:"after"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(r.Value, &v); err != nil {
		t.Fatal(err)
	}
	if v.Payload.After == nil {
		t.Fatalf("no after in %s", r.Value)
	}
	return *v.Payload.After
}

func TestPlaceOrderBookkeeping(t *testing.T) {
	cases := []struct {
		name    string
		stock   map[string]int32 // on_hand before, version 1
		lines   []Line
		wantErr error
		// wantAfter is on_hand and version per SKU after a success.
		wantAfter map[string][2]int64
		// wantVersions is each line's inventory_version.
		wantVersions []int64
	}{
		{"one line", map[string]int32{"A": 5}, []Line{{"A", 2}}, nil, map[string][2]int64{"A": {3, 2}}, []int64{2}},
		{"two SKUs", map[string]int32{"A": 5, "B": 1}, []Line{{"A", 1}, {"B", 1}}, nil, map[string][2]int64{"A": {4, 2}, "B": {0, 2}}, []int64{2, 2}},
		{"exact stock empties the row", map[string]int32{"A": 3}, []Line{{"A", 3}}, nil, map[string][2]int64{"A": {0, 2}}, []int64{2}},
		{"same SKU on two lines bumps twice", map[string]int32{"A": 5}, []Line{{"A", 1}, {"A", 2}}, nil, map[string][2]int64{"A": {2, 3}}, []int64{2, 3}},
		{"insufficient stock", map[string]int32{"A": 1}, []Line{{"A", 2}}, ErrInsufficientStock, nil, nil},
		{"second line oversells the same SKU", map[string]int32{"A": 3}, []Line{{"A", 2}, {"A", 2}}, ErrInsufficientStock, nil, nil},
		{"later line fails, earlier rolls back", map[string]int32{"A": 5, "B": 0}, []Line{{"A", 1}, {"B", 1}}, ErrInsufficientStock, nil, nil},
		{"unknown SKU", map[string]int32{"A": 5}, []Line{{"A", 1}, {"Z", 1}}, ErrUnknownSKU, nil, nil},
		{"zero quantity", map[string]int32{"A": 5}, []Line{{"A", 0}}, ErrInvalid, nil, nil},
		{"negative quantity", map[string]int32{"A": 5}, []Line{{"A", -1}}, ErrInvalid, nil, nil},
		{"no lines", map[string]int32{"A": 5}, nil, ErrInvalid, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(1, Options{})
			for _, sku := range sortedKeys(c.stock) {
				if _, err := s.AddProduct(Product{SKU: sku, Name: sku, Category: "c", Brand: "b", Price: 100, Currency: "USD", Active: true}, c.stock[sku]); err != nil {
					t.Fatal(err)
				}
			}
			before := s.Inventory()
			now, lsn := s.Now(), s.lsn
			inv, ob, err := s.PlaceOrder("o-1", "co-1", "c-1", c.lines)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want %v", err, c.wantErr)
				}
				if inv != nil || ob.Value != nil {
					t.Errorf("a failed order returned records")
				}
				if !reflect.DeepEqual(s.Inventory(), before) || s.Now() != now || s.lsn != lsn {
					t.Errorf("a failed order changed the database")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(inv) != len(c.lines) {
				t.Fatalf("%d inventory records, want one per line", len(inv))
			}
			for sku, w := range c.wantAfter {
				st, _ := s.Stock(sku)
				if int64(st.OnHand) != w[0] || st.Version != w[1] {
					t.Errorf("%s: on_hand %d version %d, want %d %d", sku, st.OnHand, st.Version, w[0], w[1])
				}
			}
			key, p := decodeOutbox(t, ob)
			if key != "o-1" || p.OrderID != "o-1" || p.CheckoutID != "co-1" || p.CartID != "c-1" || len(p.Lines) != len(c.lines) {
				t.Fatalf("outbox key %s payload %+v", key, p)
			}
			for i, l := range p.Lines {
				row := stockAfter(t, inv[i])
				if l.SKU != c.lines[i].SKU || l.Qty != c.lines[i].Qty || l.Version != c.wantVersions[i] {
					t.Errorf("line %d: %+v, want %s x%d version %d", i, l, c.lines[i].SKU, c.lines[i].Qty, c.wantVersions[i])
				}
				if row.SKU != l.SKU || row.Version != l.Version {
					t.Errorf("line %d: inventory record %+v does not carry the line's version %d", i, row, l.Version)
				}
			}
			if ob.Topic != "outbox.event.order" || len(ob.Headers) != 1 || ob.Headers[0].Key != "id" || len(ob.Headers[0].Value) != 36 {
				t.Errorf("outbox record topic %s headers %v", ob.Topic, ob.Headers)
			}
		})
	}
}

// Many random orders against a small stock: on_hand never goes negative,
// versions only grow by one per decrement, and every sale is accounted for.
func TestRandomOrdersNeverOversell(t *testing.T) {
	s := New(9, Options{})
	const skus = 5
	for i := 1; i <= skus; i++ {
		if _, err := s.AddProduct(Product{SKU: SKU(i), Name: "p", Category: "c", Brand: "b", Price: 100, Currency: "USD", Active: true}, 20); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	sold := map[string]int{}
	restocked := map[string]int{}
	lastVersion := map[string]int64{}
	for i := range skus {
		lastVersion[SKU(i+1)] = 1
	}
	var ok, rejected int
	for n := range 500 {
		if r.IntN(10) == 0 {
			sku, qty := SKU(1+r.IntN(skus)), 1+r.IntN(5)
			rec, err := s.Restock(sku, qty)
			if err != nil {
				t.Fatal(err)
			}
			restocked[sku] += qty
			if v := stockAfter(t, rec).Version; v != lastVersion[sku]+1 {
				t.Fatalf("restock version %d after %d", v, lastVersion[sku])
			}
			lastVersion[sku]++
			continue
		}
		var lines []Line
		for range 1 + r.IntN(3) {
			lines = append(lines, Line{SKU(1 + r.IntN(skus)), 1 + r.IntN(4)})
		}
		inv, ob, err := s.PlaceOrder(fmt.Sprintf("o-%d", n), "co", "c", lines)
		if errors.Is(err, ErrInsufficientStock) {
			rejected++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ok++
		_, p := decodeOutbox(t, ob)
		for i, l := range p.Lines {
			if l.Version != lastVersion[l.SKU]+1 {
				t.Fatalf("order %d line %d: version %d after %d", n, i, l.Version, lastVersion[l.SKU])
			}
			lastVersion[l.SKU] = l.Version
			sold[l.SKU] += l.Qty
			if row := stockAfter(t, inv[i]); row.OnHand < 0 || row.Version != l.Version {
				t.Fatalf("order %d line %d: row %+v", n, i, row)
			}
		}
		for _, st := range s.Inventory() {
			if st.OnHand < 0 {
				t.Fatalf("%s: on_hand %d", st.SKU, st.OnHand)
			}
		}
	}
	for _, st := range s.Inventory() {
		if got, want := int(st.OnHand), 20+restocked[st.SKU]-sold[st.SKU]; got != want {
			t.Errorf("%s: on_hand %d, want %d", st.SKU, got, want)
		}
		if st.Version != lastVersion[st.SKU] {
			t.Errorf("%s: version %d, want %d", st.SKU, st.Version, lastVersion[st.SKU])
		}
	}
	if ok == 0 || rejected == 0 {
		t.Errorf("%d orders placed, %d rejected: the test does not exercise both", ok, rejected)
	}
}

func TestOrderRecordsShareOneTransaction(t *testing.T) {
	s := New(2, Options{})
	for i := 1; i <= 2; i++ {
		if _, err := s.AddProduct(Product{SKU: SKU(i), Name: "p", Category: "c", Brand: "b", Price: 100, Currency: "USD", Active: true}, 10); err != nil {
			t.Fatal(err)
		}
	}
	inv, ob, err := s.PlaceOrder("o-1", "co-1", "c-1", []Line{{SKU(1), 1}, {SKU(2), 1}})
	if err != nil {
		t.Fatal(err)
	}
	var txIDs, lsns []int64
	var commit int64
	for _, r := range inv {
		src := decodeMessage(t, r.Value).Payload.(map[string]any)["source"].(map[string]any)
		tx, _ := src["txId"].(json.Number).Int64()
		lsn, _ := src["lsn"].(json.Number).Int64()
		ts, _ := src["ts_ms"].(json.Number).Int64()
		txIDs, lsns = append(txIDs, tx), append(lsns, lsn)
		if commit != 0 && ts != commit {
			t.Errorf("source.ts_ms %d, want the commit time %d", ts, commit)
		}
		commit = ts
	}
	if txIDs[0] != txIDs[1] || lsns[0] >= lsns[1] {
		t.Errorf("txIds %v lsns %v: want one transaction, increasing LSNs", txIDs, lsns)
	}
	if ob.Timestamp.Before(inv[1].Timestamp) {
		t.Errorf("outbox produced at %v, before the last inventory change at %v", ob.Timestamp, inv[1].Timestamp)
	}
}

func TestArrangeReordersAndDuplicates(t *testing.T) {
	inv := []Record{{Topic: "inv", Key: []byte("1")}, {Topic: "inv", Key: []byte("2")}}
	ob := Record{Topic: "outbox", Key: []byte("o")}
	keys := func(rs []Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Topic+":"+string(r.Key))
		}
		return out
	}
	cases := []struct {
		d    Delivery
		want []string
	}{
		{Delivery{}, []string{"inv:1", "inv:2", "outbox:o"}},
		{Delivery{OutboxFirst: true}, []string{"outbox:o", "inv:1", "inv:2"}},
		{Delivery{Duplicate: true}, []string{"inv:1", "inv:2", "outbox:o", "inv:1", "inv:2", "outbox:o"}},
		{Delivery{OutboxFirst: true, Duplicate: true}, []string{"outbox:o", "inv:1", "inv:2", "outbox:o", "inv:1", "inv:2"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c.d), func(t *testing.T) {
			if got := keys(Arrange(inv, ob, c.d)); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestOutboxRecordMatchesTheRouterFixture(t *testing.T) {
	s := New(4, Options{})
	if _, err := s.AddProduct(Product{SKU: SKU(1), Name: "p", Category: "c", Brand: "b", Price: 100, Currency: "USD", Active: true}, 10); err != nil {
		t.Fatal(err)
	}
	_, ob, err := s.PlaceOrder("o-9", "co-9", "c-9", []Line{{SKU(1), 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		fixture string
		got     []byte
	}{
		{"value", "outbox-routed.json", ob.Value},
		{"key", "outbox-routed.key.json", ob.Key},
	} {
		want := decodeMessage(t, readFixture(t, c.fixture))
		got := decodeMessage(t, c.got)
		if !reflect.DeepEqual(got.Schema, want.Schema) || !slices.Equal(got.keys, want.keys) {
			t.Errorf("%s: schema %+v keys %v, want %+v %v", c.name, got.Schema, got.keys, want.Schema, want.keys)
		}
		if _, ok := got.Payload.(string); !ok {
			t.Errorf("%s: payload %T, want a string", c.name, got.Payload)
		}
	}
	var v struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(ob.Value, &v); err != nil {
		t.Fatal(err)
	}
	want := `{"lines": [{"qty": 2, "sku": "SKU-00001", "inventory_version": 2}], "cart_id": "c-9", "order_id": "o-9", "checkout_id": "co-9"}`
	if v.Payload != want {
		t.Errorf("payload\n got %s\nwant %s (jsonb's key order and spacing)", v.Payload, want)
	}
}
