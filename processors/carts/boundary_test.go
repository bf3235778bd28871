package carts

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/tester"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/dlq"
	"cartstream/internal/metrics"
	"cartstream/internal/promo"
	"cartstream/internal/streamtime"
	"cartstream/schemas"
	"cartstream/topology"
)

func TestBoundaryBelow(t *testing.T) {
	b := Boundary{{"cart-events", 0}: 3, {"cart-events", 1}: 0}
	tests := []struct {
		topic     string
		partition int32
		offset    int64
		want      bool
	}{
		{"cart-events", 0, 0, true},
		{"cart-events", 0, 2, true},
		{"cart-events", 0, 3, false},
		{"cart-events", 1, 0, false},
		{"cart-events", 2, 0, false},
		{"other", 0, 0, false},
	}
	for _, tt := range tests {
		if got := b.Below(tt.topic, tt.partition, tt.offset); got != tt.want {
			t.Errorf("Below(%s, %d, %d) = %v, want %v", tt.topic, tt.partition, tt.offset, got, tt.want)
		}
	}
	if Boundary(nil).Below("cart-events", 0, 0) {
		t.Error("a nil boundary holds a record back")
	}
}

func TestReplayGate(t *testing.T) {
	g := newReplayGate(Boundary{{"a", 0}: 3, {"b", 0}: 1, {"a", 1}: 2})
	if !g.replaying(0) || !g.replaying(1) || g.replaying(2) {
		t.Fatal("gate does not start with the boundary's partitions")
	}
	if g.passed("a", 0, 1) || !g.replaying(0) {
		t.Fatal("partition 0 left replay below its boundary on a")
	}
	if g.passed("a", 0, 2) { // last record below a's boundary; b still pending
		t.Fatal("partition 0 left replay with b pending")
	}
	if !g.passed("b", 0, 5) || g.replaying(0) {
		t.Fatal("partition 0 still replaying past both boundaries")
	}
	if !g.passed("a", 1, 7) || g.replaying(1) {
		t.Fatal("a record past the boundary did not end partition 1's replay")
	}
}

// TestBoundaryHoldsBackCommandsAndStatuses runs the carts group under goka's
// tester with a boundary at cart-events offset 3 and reservation-results
// offset 2 (partition 0): records below it make offers again but send no
// reservation command and no checkout status; from the boundary on,
// everything is sent.
func TestBoundaryHoldsBackCommandsAndStatuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topo := topology.New(topology.Config{Partitions: groupPartitions})
	n := topo.Names
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, n.DLQ))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	graph, err := Graph(Config{
		Topology:   topo,
		Partitions: groupPartitions,
		Promotions: promo.NewIndex(),
		Rule:       streamtime.Rule{MaxSkew: math.MaxInt64},
		DLQ:        dlq.NewWriter(cl, n.DLQ, nil),
		Metrics:    metrics.New(),
		Boundary: Boundary{
			{n.CartEvents, 0}:     3,
			{n.ReservationRes, 0}: 2,
		},
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
	event := func(id, typ, fields string) {
		tt.Consume(n.CartEvents, cart, []byte(fmt.Sprintf(`{"event_id":%q,"cart_id":%q,"type":%q,"ts":%q,"currency":"USD"%s}`,
			id, cart, typ, t0.Format(time.RFC3339Nano), fields)))
	}
	res := func(r *schemas.ReservationResult) {
		r.CartID, r.EventTime = cart, t0
		b, err := schemas.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		tt.Consume(n.ReservationRes, cart, b)
	}
	count := func(q *tester.QueueTracker) int {
		n := 0
		for {
			if _, _, ok := q.Next(); !ok {
				return n
			}
			n++
		}
	}
	expect := func(what string, wantOffers, wantCommands, wantStatuses int) {
		t.Helper()
		o, c, s := count(offers), count(commands), count(statuses)
		if o != wantOffers || c != wantCommands || s != wantStatuses {
			t.Fatalf("%s: %d offers, %d commands, %d statuses; want %d, %d, %d", what, o, c, s, wantOffers, wantCommands, wantStatuses)
		}
	}

	// Offsets 0..2 of cart-events and 0..1 of results: below the boundary.
	event("e1", ItemAdded, `,"sku":"A","qty":1`)
	event("e2", ItemAdded, `,"sku":"B","qty":2`)
	event("e3", CheckoutStarted, `,"checkout_id":"k1"`)
	expect("events below the boundary", 3, 0, 0)
	res(reserved("k1", "A", 1, 10*time.Minute))
	res(reserved("k1", "B", 2, 10*time.Minute))
	expect("results below the boundary", 0, 0, 0)
	v := tt.TableValue(goka.Table(mustGroup(t, topo).Table), cart)
	c, err := DecodeCart(v.([]byte))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 3 || c.Checkout == nil || c.Checkout.Status != StatusReserved {
		t.Fatalf("the replayed cart was not re-derived: %+v", c)
	}

	// From the boundary on: a line change releases the reserved holds
	// (two commands, one status), and a new checkout reserves again.
	event("e4", ItemAdded, `,"sku":"C","qty":1`)
	expect("a new event past the boundary", 1, 2, 1)
	event("e5", CheckoutStarted, `,"checkout_id":"k2"`)
	expect("a new checkout past the boundary", 1, 3, 0)
	res(reserved("k2", "A", 1, 10*time.Minute))
	res(reserved("k2", "B", 2, 10*time.Minute))
	res(reserved("k2", "C", 1, 10*time.Minute))
	expect("new results past the boundary", 0, 0, 1)
}
