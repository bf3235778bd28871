package carts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/dlq"
	"cartstream/internal/metrics"
	"cartstream/internal/money"
	"cartstream/internal/partition"
	"cartstream/internal/promo"
	"cartstream/internal/streamtime"
	"cartstream/internal/ticks"
	"cartstream/schemas"
	"cartstream/topology"
)

// groupPartitions is the carts set's partition count the wiring test
// declares. goka's tester runs everything in partition 0, so the test's
// cart is a key that partition 0 owns and a key of partition 1 plays a
// result read from the wrong partition.
const groupPartitions = 2

func keyOf(t *testing.T, p int32) string {
	t.Helper()
	for i := range 1000 {
		k := fmt.Sprint("cart-", i)
		if partition.For([]byte(k), groupPartitions) == p {
			return k
		}
	}
	t.Fatal("no key found")
	return ""
}

// TestGroupWiring runs the carts group's callbacks under goka's tester:
// cart events make offers, a checkout sends reserves keyed by sku, results
// (keyed by cart id, never making offers) decide the checkout and emit its
// status keyed by cart id, the visitor expires it at the stream time ticks
// bring, and bad results go to the dead-letter topic.
func TestGroupWiring(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topo := topology.New(topology.Config{Partitions: groupPartitions})
	n := topo.Names

	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, n.DLQ))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumeTopics(n.DLQ))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	graph, err := Graph(Config{
		Topology:   topo,
		Partitions: groupPartitions,
		Promotions: promo.NewIndex(),
		// The tester's records have no timestamp: believe every ts.
		Rule:     streamtime.Rule{MaxSkew: math.MaxInt64},
		Rounding: money.HalfEven,
		DLQ:      dlq.NewWriter(cl, n.DLQ, nil),
		Metrics:  metrics.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tt := tester.New(t)
	proc, err := goka.NewProcessor(nil, graph, goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	}()

	offers := tt.NewQueueTracker(n.Offers)
	commands := tt.NewQueueTracker(n.Reservations)
	statuses := tt.NewQueueTracker(n.Checkouts)
	cart := keyOf(t, 0)

	event := func(id, typ, fields string, at time.Duration) {
		tt.Consume(n.CartEvents, cart, []byte(fmt.Sprintf(`{"event_id":%q,"cart_id":%q,"type":%q,"ts":%q,"currency":"USD"%s}`,
			id, cart, typ, t0.Add(at).Format(time.RFC3339Nano), fields)))
	}
	res := func(key string, r *schemas.ReservationResult, at time.Duration) {
		r.CartID, r.EventTime = cart, t0.Add(at)
		b, err := schemas.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		tt.Consume(n.ReservationRes, key, b)
	}
	expectOffers := func(want int) {
		t.Helper()
		for i := range want {
			key, v, ok := offers.Next()
			if !ok || key != cart || !json.Valid(v.([]byte)) {
				t.Fatalf("offer %d: %q %v %v", i, key, v, ok)
			}
		}
		if key, _, ok := offers.Next(); ok {
			t.Fatalf("an unexpected offer for %q", key)
		}
	}
	expectCommands := func(want ...string) {
		t.Helper()
		var got []string
		for {
			key, v, ok := commands.Next()
			if !ok {
				break
			}
			cmd := v.(*schemas.ReservationCommand)
			if key != cmd.SKU || cmd.CartID != cart {
				t.Errorf("command %+v with key %q", cmd, key)
			}
			got = append(got, fmtCommand(*cmd))
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("commands\n got %q\nwant %q", got, want)
		}
	}
	expectStatuses := func(want ...string) {
		t.Helper()
		var got []string
		for {
			key, v, ok := statuses.Next()
			if !ok {
				break
			}
			b := v.([]byte)
			checkStatusSchema(t, b)
			var s struct {
				CartID     string  `json:"cart_id"`
				CheckoutID string  `json:"checkout_id"`
				Status     string  `json:"status"`
				Reason     *string `json:"reason"`
			}
			if err := json.Unmarshal(b, &s); err != nil || key != cart || s.CartID != cart {
				t.Errorf("status %s with key %q: %v", b, key, err)
			}
			got = append(got, s.CheckoutID+" "+s.Status)
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("statuses\n got %q\nwant %q", got, want)
		}
	}
	table := goka.Table(mustGroup(t, topo).Table)
	cartNow := func() *Cart {
		t.Helper()
		v := tt.TableValue(table, cart)
		if v == nil {
			return nil
		}
		c, err := DecodeCart(v.([]byte))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	event("e1", ItemAdded, `,"sku":"A","qty":1`, 0)
	event("e2", ItemAdded, `,"sku":"B","qty":2`, 0)
	event("e3", CheckoutStarted, `,"checkout_id":"k1"`, time.Minute)
	expectOffers(3)
	expectCommands("reserve k1:A x1", "reserve k1:B x2")
	expectStatuses()

	res(cart, reserved("k1", "A", 1, 11*time.Minute), time.Minute)
	res(cart, reserved("k1", "B", 2, 11*time.Minute), time.Minute)
	res(cart, reserved("k1", "B", 2, 11*time.Minute), time.Minute) // redelivered
	expectOffers(0)
	expectCommands()
	expectStatuses("k1 reserved")
	if c := cartNow(); c.Version != 3 || c.Checkout == nil || c.Checkout.Status != StatusReserved {
		t.Fatalf("stored cart %+v", c)
	}

	// A reserved result for a checkout the cart does not know: released.
	res(cart, reserved("k0", "C", 5, 11*time.Minute), time.Minute)
	expectCommands("release k0:C x5 checkout_failed")

	// The visitor expires the checkout once a tick moves stream time past
	// the holds; before, it writes nothing.
	visit := func() {
		t.Helper()
		if err := proc.VisitAll(ctx, VisitExpire, nil); err != nil {
			t.Fatal(err)
		}
	}
	tick := func(at time.Duration) {
		b, err := ticks.Tick{Instance: "test", TSMillis: t0.Add(at).UnixMilli()}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		tt.Consume(n.CartsTicks, "", b)
	}
	tick(5 * time.Minute)
	visit()
	expectStatuses()
	tick(12 * time.Minute)
	visit()
	expectStatuses("k1 expired")
	expectCommands()
	visit()
	expectStatuses()
	if c := cartNow(); c.Checkout.Status != StatusExpired || c.Version != 3 {
		t.Fatalf("stored cart %+v", c)
	}

	// A line change after expiry releases nothing; its offer is emitted.
	event("e4", ItemAdded, `,"sku":"C","qty":1`, 12*time.Minute)
	expectOffers(1)
	expectCommands()
	expectStatuses()

	// Completion: commits keyed by sku, then completed once both results
	// are in.
	event("e5", CheckoutCompleted, `,"checkout_id":"k1","order_id":"o-1"`, 13*time.Minute)
	expectOffers(1)
	expectCommands("commit k1:A x1 o-1", "commit k1:B x2 o-1")
	res(cart, committed("k1", "A", 1, ReasonLateCommit), 13*time.Minute)
	res(cart, committed("k1", "B", 2, ReasonLateCommit), 13*time.Minute)
	expectStatuses("k1 completed")
	expectOffers(0)

	// An idle cart is deleted by the visitor.
	tick(DefaultIdleTTL + 13*time.Minute)
	visit()
	if c := cartNow(); c != nil {
		t.Fatalf("idle cart kept: %+v", c)
	}
	expectStatuses()

	// Bad results are dead-lettered: undecodable, and read from a
	// partition that does not own its key.
	tt.Consume(n.ReservationRes, cart, []byte("not avro"))
	other := keyOf(t, 1)
	r := reserved("k1", "A", 1, time.Hour)
	r.CartID, r.EventTime = other, t0
	b, err := schemas.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	tt.Consume(n.ReservationRes, other, b)
	expectCommands()
	expectStatuses()

	want := []struct {
		class dlq.Class
		in    string
	}{{dlq.ClassDecode, "reservation result"}, {dlq.ClassValidation, "partition 1 of 2 owns the key"}}
	var letters []dlq.Letter
	for len(letters) < len(want) {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			l, err := dlq.Parse(rec)
			if err != nil {
				t.Fatal(err)
			}
			letters = append(letters, l)
		})
	}
	for i, w := range want {
		l := letters[i]
		if l.Class != w.class || !strings.Contains(l.Message, w.in) || l.SourceTopic != n.ReservationRes {
			t.Errorf("dead letter %d: %s %q from %s", i, l.Class, l.Message, l.SourceTopic)
		}
	}
}

func mustGroup(t *testing.T, topo *topology.Topology) topology.Group {
	t.Helper()
	g, ok := topo.Group(topology.GroupCarts)
	if !ok {
		t.Fatal("no carts group")
	}
	return g
}

// TestGroupResendsForARecordReadAgain: a record the stored cart already
// holds, read again (the committed offset was behind the state when the
// partition moved), makes the group repeat what the state says was sent
// (Resend): its first processing's commands and statuses may have died
// with the instance (make chaos, seed 21: an instance killed right after
// it wrote a checkout_started; the new owner read it again as a duplicate
// and the checkout waited for reserves never sent). The same event as a
// new record (a client's duplicate) sends nothing.
func TestGroupResendsForARecordReadAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topo := topology.New(topology.Config{Partitions: groupPartitions})
	n := topo.Names
	graph, err := Graph(Config{
		Topology: topo, Partitions: groupPartitions, Promotions: promo.NewIndex(),
		Rule: streamtime.Rule{MaxSkew: math.MaxInt64}, Rounding: money.HalfEven, Metrics: metrics.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tt := tester.New(t)
	proc, err := goka.NewProcessor(nil, graph, goka.WithTester(tt))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- proc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	}()
	commands := tt.NewQueueTracker(n.Reservations)
	offers := tt.NewQueueTracker(n.Offers)
	cart := keyOf(t, 0)
	table := goka.Table(mustGroup(t, topo).Table)
	event := func(id, typ, fields string) []byte {
		b := []byte(fmt.Sprintf(`{"event_id":%q,"cart_id":%q,"type":%q,"ts":%q,"currency":"USD"%s}`, id, cart, typ, t0.Format(time.RFC3339Nano), fields))
		tt.Consume(n.CartEvents, cart, b)
		return b
	}
	sent := func() []string {
		var got []string
		for {
			_, v, ok := commands.Next()
			if !ok {
				return got
			}
			got = append(got, fmtCommand(*v.(*schemas.ReservationCommand)))
		}
	}
	drainOffers := func() (k int) {
		for _, _, ok := offers.Next(); ok; _, _, ok = offers.Next() {
			k++
		}
		return k
	}
	event("e1", ItemAdded, `,"sku":"A","qty":1`)
	event("e2", ItemAdded, `,"sku":"B","qty":2`)
	started := event("e3", CheckoutStarted, `,"checkout_id":"k1"`)
	if got := sent(); strings.Join(got, "; ") != "reserve k1:A x1; reserve k1:B x2" {
		t.Fatalf("commands %q", got)
	}
	drainOffers()
	stored, err := DecodeCart(tt.TableValue(table, cart).([]byte))
	if err != nil {
		t.Fatal(err)
	}
	last, ok := stored.Origins[n.CartEvents]
	if !ok {
		t.Fatalf("the stored cart does not note its last record: %+v", stored.Origins)
	}

	// A client's duplicate is a new record: nothing is sent.
	tt.Consume(n.CartEvents, cart, started)
	if got := sent(); len(got) != 0 || drainOffers() != 0 {
		t.Fatalf("a duplicate sent %q", got)
	}

	// goka's tester cannot read a record again; make the stored cart say
	// that the next record of the topic is the last one it applied, as it
	// is after a crash.
	stored.Origins[n.CartEvents] = last + 2
	b, err := stored.Encode()
	if err != nil {
		t.Fatal(err)
	}
	tt.SetTableValue(table, cart, b)
	tt.Consume(n.CartEvents, cart, started)
	if got := sent(); strings.Join(got, "; ") != "reserve k1:A x1; reserve k1:B x2" {
		t.Fatalf("read again, the record sent %q, want the reserves again", got)
	}
	if k := drainOffers(); k != 0 {
		t.Fatalf("read again, the record made %d offers", k)
	}
}
