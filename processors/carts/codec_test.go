package carts

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"cartstream/schemas"
)

// normalized is what a cart decodes to after a round trip through the table
// (see codec.go): times in UTC without a monotonic reading, and the slices
// and map JSON omitted when empty nil.
func normalized(c *Cart) *Cart {
	n := clone(c)
	n.LastEventTime = n.LastEventTime.UTC()
	for i := range n.Applied {
		n.Applied[i].At = n.Applied[i].At.UTC()
	}
	normCheckout := func(k *Checkout) {
		k.EventTime = k.EventTime.UTC()
		for i := range k.Lines {
			if t := k.Lines[i].ExpiresAt; t != nil {
				u := t.UTC()
				k.Lines[i].ExpiresAt = &u
			}
		}
	}
	if n.Checkout != nil {
		normCheckout(n.Checkout)
	}
	for i := range n.PastCheckouts {
		normCheckout(&n.PastCheckouts[i])
	}
	for i := range n.EarlyResults {
		r := &n.EarlyResults[i]
		r.EventTime = r.EventTime.UTC()
		if r.ExpiresAt != nil {
			u := r.ExpiresAt.UTC()
			r.ExpiresAt = &u
		}
	}
	// clone copies nil as nil and empty as empty for these two, as a
	// decoded cart has them.
	n.Lines, n.Applied = keepNil(c.Lines, n.Lines), keepNil(c.Applied, n.Applied)
	n.Segments, n.Coupons = keepNil(c.Segments, n.Segments), keepNil(c.Coupons, n.Coupons)
	if len(n.PastCheckouts) == 0 {
		n.PastCheckouts = nil
	}
	if len(n.EarlyResults) == 0 {
		n.EarlyResults = nil
	}
	if len(n.Origins) == 0 {
		n.Origins = nil
	}
	return n
}

// keepNil returns cloned, or nil when orig was nil (clone's append turns an
// empty non-nil slice into nil and keeps nil).
func keepNil[T any](orig, cloned []T) []T {
	switch {
	case orig == nil:
		return nil
	case cloned == nil:
		return []T{}
	}
	return cloned
}

// checkCodec checks that the cart survives the table: the binary form
// decodes to the cart (normalized), encodes again to the same bytes, and
// decodes to what the JSON earlier builds stored decodes to.
func checkCodec(t *testing.T, c *Cart) {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[0] != cartFormat {
		t.Fatalf("encoded cart starts with %x", b[:min(len(b), 1)])
	}
	d, err := DecodeCart(b)
	if err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	if want := normalized(c); !reflect.DeepEqual(d, want) {
		t.Fatalf("round trip\n got %#v\nwant %#v", d, want)
	}
	if again, _ := d.Encode(); !bytes.Equal(again, b) {
		t.Fatalf("decoded cart encodes to other bytes\n got %x\nwant %x", again, b)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	dj, err := DecodeCart(j)
	if err != nil {
		t.Fatalf("decode JSON %s: %v", j, err)
	}
	if !reflect.DeepEqual(normalized(dj), d) {
		t.Fatalf("the JSON and the binary form decode differently\nJSON   %#v\nbinary %#v", dj, d)
	}
}

// codecCarts are carts of the state machine, each with something the
// codec must carry.
func codecCarts(t *testing.T) map[string]*Cart {
	t.Helper()
	out := map[string]*Cart{}
	// A cart's contents and dedup memory.
	var c *Cart
	for i, raw := range []string{
		`{"event_id":"1","cart_id":"c","type":"item_added","sku":"A","qty":1,"currency":"USD","customer_id":"u1","segments":["vip","b2b"]}`,
		`{"event_id":"2","cart_id":"c","type":"item_added","sku":"B","qty":7}`,
		`{"event_id":"3","cart_id":"c","type":"coupon_applied","code":"Launch"}`,
		`{"event_id":"4","cart_id":"c","type":"quantity_set","sku":"C","qty":1000000}`,
	} {
		at := t0.Add(time.Duration(i)*time.Second + time.Duration(i)*123456789)
		var err error
		if c, _, err = Apply(c, mustParse(t, raw), at, at); err != nil {
			t.Fatal(err)
		}
	}
	out["contents"] = c
	cleared, _, _ := Apply(c, mustParse(t, `{"event_id":"5","cart_id":"c","type":"cart_cleared","segments":[]}`), t0.Add(time.Hour), t0.Add(time.Hour))
	out["cleared, empty segments"] = cleared
	out["origins"] = withOrigin(withOrigin(withOrigin(c, "cart-events", 41), "cartstream-carts-loop", 0), "cartstream.reservation-results", 1<<40)

	// Checkouts: every state, current and past.
	out["reserved"] = runSaga(t, nil, reservedK1)
	out["released, past, pending"] = runSaga(t, nil, with(reservedK1,
		sagaStep{at: 2 * time.Minute, event: start("s2", "k2"),
			cmds:     []string{"release k1:A x1 checkout_superseded", "release k1:B x2 checkout_superseded", "reserve k2:A x1", "reserve k2:B x2"},
			statuses: []string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"}},
	))
	out["completing"] = runSaga(t, nil, with(reservedK1,
		sagaStep{at: 2 * time.Minute, event: complete("c1", "k1", "o-1"),
			cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
		sagaStep{at: 2 * time.Minute, result: committed("k1", "A", 1, "")},
	))
	out["expired"] = runSaga(t, nil, with(reservedK1,
		sagaStep{at: 12 * time.Minute, sweep: true,
			statuses: []string{"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}},
	))

	// Results kept during a replay: every field of a result.
	exp := t0.Add(10 * time.Minute)
	early := holdEarly(nil, "c-1", schemas.ReservationResult{CommandID: "k1:A:reserve", RequestID: "k1:A", Op: schemas.OpReserve,
		SKU: "A", Qty: 2, CartID: "c-1", CheckoutID: "k1", Status: schemas.ResultReserved, Available: -3, ExpiresAt: &exp,
		EventTime: t0.Add(time.Millisecond)})
	early = holdEarly(early, "c-1", schemas.ReservationResult{CommandID: "k1:B:reserve", Op: schemas.OpReserve, Qty: 1,
		Status: schemas.ResultRejected, Reason: ptr(ReasonInsufficientStock)})
	out["early results, zero times"] = early

	for name, c := range handCarts() {
		out[name] = c
	}
	return out
}

// handCarts are carts the state machine does not make but the form
// carries.
func handCarts() map[string]*Cart {
	out := map[string]*Cart{}
	empty := ""
	zero := time.Time{}
	out["zero cart"] = &Cart{}
	out["empty, not nil"] = &Cart{ID: "c", Segments: []string{}, Coupons: []string{}, Lines: []Line{}, Applied: []Applied{},
		CustomerID: &empty, Checkout: &Checkout{Lines: []CheckoutLine{}, Reason: &empty, OrderID: &empty},
		PastCheckouts: []Checkout{}, EarlyResults: []schemas.ReservationResult{}, Origins: map[string]int64{}}
	out["extremes"] = &Cart{ID: strings.Repeat("x", 300), Version: -1 << 63, Lines: []Line{{"", -1 << 31}, {"z", 1<<31 - 1}},
		LastEventTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		Applied:       []Applied{{"late", t0.Add(time.Hour)}, {"early", t0}, {"zero", time.Time{}}, {"pre-1970", time.Date(1, 2, 3, 4, 5, 6, 7, time.UTC)}},
		Checkout:      &Checkout{ID: "k", Lines: []CheckoutLine{{SKU: "A", ExpiresAt: &zero, ReserveAnswered: true}}},
		Origins:       map[string]int64{"t": -1 << 63, "": 1<<63 - 1}}
	out["offset times, monotonic reading"] = &Cart{ID: "c",
		LastEventTime: time.Now(),
		Applied:       []Applied{{"a", t0.In(time.FixedZone("x", 3600))}},
		Checkout:      &Checkout{ID: "k", EventTime: t0.In(time.FixedZone("y", -7200))}}
	out["stored JSON"] = storedJSONWant()
	return out
}

// TestCodecCartsSetEveryField: every field of a stored cart (and of what it
// holds) is set in some cart TestCartCodecRoundTrip checks, so that a field
// added to Cart without a place in the binary form fails the round trip.
func TestCodecCartsSetEveryField(t *testing.T) {
	set := map[string]bool{}
	all := map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Struct:
			typ := v.Type()
			if !strings.HasPrefix(typ.PkgPath(), "cartstream/") {
				return
			}
			for i := range typ.NumField() {
				name := typ.Name() + "." + typ.Field(i).Name
				all[name] = true
				if !v.Field(i).IsZero() {
					set[name] = true
				}
				walk(v.Field(i))
			}
		}
	}
	for _, c := range codecCarts(t) {
		walk(reflect.ValueOf(c))
	}
	for name := range all {
		if !set[name] {
			t.Errorf("no cart of codecCarts sets %s", name)
		}
	}
	if len(all) < 40 {
		t.Errorf("only %d fields seen", len(all))
	}
}

func TestCartCodecRoundTrip(t *testing.T) {
	for name, c := range codecCarts(t) {
		t.Run(name, func(t *testing.T) { checkCodec(t, c) })
	}
}

// TestCartCodecSagas runs the codec over every cart of the saga property
// (random events, results, redeliveries, expiry, crashes): checkouts in every
// state, past checkouts, origins.
func TestCartCodecSagas(t *testing.T) {
	n := 0
	for seed := range uint64(40) {
		sagaProperty(t, seed, seed%2 == 1, func(c *Cart) {
			if c != nil {
				checkCodec(t, c)
				n++
			}
		})
	}
	if n < 1000 {
		t.Errorf("only %d carts checked", n)
	}
}

// A cart as earlier builds stored it (JSON), and what it must decode to.
const storedJSONCart = `{"cart_id":"c-1","cart_version":4,"currency":"EUR","customer_id":"u-9","segments":null,` +
	`"coupons":["Launch"],"lines":[{"sku":"A","qty":2}],"last_event_time":"2026-11-21T10:00:03.5+01:00",` +
	`"applied":[{"id":"e1","at":"2026-11-21T09:00:00Z"},{"id":"e2","at":"2026-11-21T09:00:03.5Z"}],` +
	`"checkout":{"checkout_id":"k1","status":"reserved","reason":null,"order_id":null,` +
	`"lines":[{"sku":"A","qty":2,"status":"reserved","reason":null,"expires_at":"2026-11-21T09:10:00Z","reserve_answered":true}],` +
	`"event_time":"2026-11-21T09:00:03.5Z"},` +
	`"past_checkouts":[{"checkout_id":"k0","status":"failed","reason":"checkout_failed","order_id":null,"lines":[],"event_time":"2026-11-21T09:00:01Z"}],` +
	`"early_results":[{"CommandID":"k2:B:reserve","RequestID":"k2:B","Op":"reserve","SKU":"B","Qty":1,"CartID":"c-1",` +
	`"CheckoutID":"k2","Status":"rejected","Reason":"unknown_sku","Available":0,"ExpiresAt":null,"EventTime":"2026-11-21T09:00:02Z"}],` +
	`"origins":{"cart-events":17,"cartstream.reservation-results":3}}`

func storedJSONWant() *Cart {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return v.UTC()
	}
	exp := at("2026-11-21T09:10:00Z")
	return &Cart{ID: "c-1", Version: 4, Currency: "EUR", CustomerID: ptr("u-9"), Coupons: []string{"Launch"},
		Lines: []Line{{"A", 2}}, LastEventTime: at("2026-11-21T09:00:03.5Z"),
		Applied: []Applied{{"e1", at("2026-11-21T09:00:00Z")}, {"e2", at("2026-11-21T09:00:03.5Z")}},
		Checkout: &Checkout{ID: "k1", Status: StatusReserved, EventTime: at("2026-11-21T09:00:03.5Z"),
			Lines: []CheckoutLine{{SKU: "A", Qty: 2, Status: LineReserved, ExpiresAt: &exp, ReserveAnswered: true}}},
		PastCheckouts: []Checkout{{ID: "k0", Status: StatusFailed, Reason: ptr(ReasonCheckoutFailed), Lines: []CheckoutLine{},
			EventTime: at("2026-11-21T09:00:01Z")}},
		EarlyResults: []schemas.ReservationResult{{CommandID: "k2:B:reserve", RequestID: "k2:B", Op: schemas.OpReserve, SKU: "B",
			Qty: 1, CartID: "c-1", CheckoutID: "k2", Status: schemas.ResultRejected, Reason: ptr(ReasonUnknownSKU),
			EventTime: at("2026-11-21T09:00:02Z")}},
		Origins: map[string]int64{"cart-events": 17, "cartstream.reservation-results": 3},
	}
}

// TestDecodeCartReadsJSON: carts stored by earlier builds (JSON, still in
// the changelogs) decode as they did, and move to the binary form unchanged.
func TestDecodeCartReadsJSON(t *testing.T) {
	c, err := DecodeCart([]byte(storedJSONCart))
	if err != nil {
		t.Fatal(err)
	}
	want := storedJSONWant()
	if got := normalized(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("JSON cart\n got %#v\nwant %#v", got, want)
	}
	checkCodec(t, c)
	if _, err := DecodeCart([]byte(`{"cart_id":`)); err == nil || errors.Is(err, ErrCorruptCart) {
		t.Errorf("truncated JSON: %v", err)
	}
}

// TestCartEncodingIsPinned pins the layout: a change that makes stored
// carts read differently must bump the format (see codec.go).
func TestCartEncodingIsPinned(t *testing.T) {
	c := &Cart{ID: "c", Version: 2, Currency: "USD", Lines: []Line{{"A", 3}}, LastEventTime: t0.Add(1500 * time.Millisecond),
		Applied: []Applied{{"e1", t0}, {"e2", t0.Add(1500 * time.Millisecond)}}, Origins: map[string]int64{"b": 7, "a": -1}}
	const want = "01" + // format
		"0163" + "04" + "03555344" + "00" + // id, version, currency, customer id
		"00" + "00" + "02" + "0141" + "06" + // segments, coupons, lines: A x3
		"c2ae8bb00d" + "80cab5ee01" + // last event time: 2026-11-21T10:00:01.5Z
		"03" + "026531" + "c0ae8bb00d" + "00" + "026532" + "02" + "80cab5ee01" + // applied: e1 at t0, e2 1 s and 0.5e9 ns later
		"00" + "00" + "00" + // checkout, past checkouts, early results
		"02" + "0161" + "01" + "0162" + "0e" // origins
	b, _ := c.Encode()
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("encoding\n got %s\nwant %s", got, want)
	}
}

// TestDecodeCartRefusesCorruptValues: a binary value cut anywhere, with a
// byte too many or an impossible value, is an error that wraps
// ErrCorruptCart, never a panic or an allocation beyond the value's size.
func TestDecodeCartRefusesCorruptValues(t *testing.T) {
	var full []byte
	for _, c := range codecCarts(t) {
		if b, _ := c.Encode(); len(b) > len(full) && c.Checkout != nil && len(c.PastCheckouts) > 0 {
			full = b
		}
	}
	early, _ := codecCarts(t)["early results, zero times"].Encode()
	for _, b := range [][]byte{full, early} {
		for i := 1; i < len(b); i++ {
			if _, err := DecodeCart(b[:i]); !errors.Is(err, ErrCorruptCart) {
				t.Fatalf("cut at %d of %d: %v", i, len(b), err)
			}
		}
		if _, err := DecodeCart(append(bytes.Clone(b), 0)); !errors.Is(err, ErrCorruptCart) {
			t.Errorf("a byte too many: %v", err)
		}
	}
	for name, hexValue := range map[string]string{
		"just the format":         "01",
		"string past the end":     "0105",
		"huge string":             "01ffffffffffffffffff01",
		"overlong varint":         "01ffffffffffffffffffff01",
		"varint not minimal":      "018000",
		"huge lines count":        "0100000000" + "0000" + "ffffffff0f",
		"qty beyond int32":        "0100000000" + "0000" + "02" + "00" + "8080808010",
		"nanoseconds of a second": "0100000000" + "000000" + "00" + "8094ebdc03",
		"flag neither 0 nor 1":    "0100000000" + "000000" + "0000" + "00" + "02",
		"huge past count":         "0100000000" + "000000" + "0000" + "00" + "00" + "ff7f",
		"origins out of order":    "0100000000" + "000000" + "0000" + "00" + "00" + "0000" + "02" + "016200" + "016100",
		"origin repeated":         "0100000000" + "000000" + "0000" + "00" + "00" + "0000" + "02" + "016100" + "016100",
	} {
		b, err := hex.DecodeString(hexValue)
		if err != nil {
			t.Fatal(name, err)
		}
		if c, err := DecodeCart(b); !errors.Is(err, ErrCorruptCart) {
			t.Errorf("%s: %+v, %v", name, c, err)
		}
	}
	if _, err := DecodeCart([]byte{cartFormat + 1, 0}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("a newer format: %v", err)
	}
}

// TestDecodeCartAllocations: decoding allocates per slice, not per string.
func TestDecodeCartAllocations(t *testing.T) {
	c := benchCart(t, 200)
	c.CustomerID = ptr("u")
	b, _ := c.Encode()
	// The cart, one copy for every string, the customer id, lines, applied.
	n := testing.AllocsPerRun(50, func() { _, _ = DecodeCart(b) })
	t.Logf("decoding a cart with %d applied ids: %v allocations", len(c.Applied), n)
	if n > 5 {
		t.Errorf("decoding a cart with %d applied ids: %v allocations", len(c.Applied), n)
	}
	if n := testing.AllocsPerRun(50, func() { _, _ = c.Encode() }); n > 1 {
		t.Errorf("encoding: %v allocations", n)
	}
}

func FuzzDecodeCart(f *testing.F) {
	for _, c := range handCarts() {
		b, _ := c.Encode()
		f.Add(b)
		j, _ := json.Marshal(c)
		f.Add(j)
	}
	f.Add([]byte(storedJSONCart))
	f.Add([]byte{0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCart(data)
		if err != nil {
			if len(data) > 0 && data[0] == cartFormat && !errors.Is(err, ErrCorruptCart) {
				t.Fatalf("binary value refused without ErrCorruptCart: %v", err)
			}
			return
		}
		b, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := DecodeCart(b)
		if err != nil {
			t.Fatalf("re-encoded cart does not decode: %v\n%x", err, b)
		}
		if want := normalized(c); !reflect.DeepEqual(d, want) {
			t.Fatalf("re-encoded cart decodes differently\n got %#v\nwant %#v", d, want)
		}
		if again, _ := d.Encode(); !bytes.Equal(again, b) {
			t.Fatalf("not stable\n%x\n%x", again, b)
		}
		if data[0] == cartFormat && !bytes.Equal(b, data) {
			t.Fatalf("a binary value that decodes re-encodes to other bytes\n got %x\nwant %x", b, data)
		}
	})
}
