package topology

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestDeclaredGraphMatchesDesign(t *testing.T) {
	topo := New(Config{})
	// Every topic of DESIGN §3 by default name, plus group tables and the
	// carts loop.
	for _, name := range []string{
		"shop.public.products", "shop.public.promotions", "shop.public.inventory", "outbox.event.order",
		"cart-events", "cartstream.products", "cartstream.promotions", "cartstream.inventory-changes",
		"cartstream.order-lines", "cartstream.reservations", "cartstream.reservation-results",
		"cartstream.offers", "cartstream.checkouts", "cartstream.dlq", "cartstream.carts-ticks",
		"cartstream.inventory-ticks", "cartstream.resets",
		"cartstream-carts-table", "cartstream-carts-loop", "cartstream-inventory-table",
		"cartstream-cdc-products-table", "cartstream-cdc-outbox-table",
	} {
		if _, ok := topo.Topic(name); !ok {
			t.Errorf("topic %s not declared", name)
		}
	}
	seen := map[string]bool{}
	for _, tp := range topo.Topics {
		if seen[tp.Name] {
			t.Errorf("topic %s declared twice", tp.Name)
		}
		seen[tp.Name] = true
	}
	sets := topo.CoPartitionSets()
	wantSets := map[string]string{
		SetCarts:     "cart-events,cartstream-carts-loop,cartstream-carts-table,cartstream.carts-ticks,cartstream.reservation-results",
		SetInventory: "cartstream-inventory-loop,cartstream-inventory-table,cartstream.inventory-changes,cartstream.inventory-ticks,cartstream.order-lines,cartstream.reservations",
	}
	for s, want := range wantSets {
		if got := strings.Join(sets[s], ","); got != want {
			t.Errorf("set %s = %s, want %s", s, got, want)
		}
	}
	// Every group input of a co-partitioned group is in its set.
	for _, g := range topo.Groups {
		if g.ID != "cartstream-"+g.Name {
			t.Errorf("group %s has id %s", g.Name, g.ID)
		}
		for _, in := range g.Inputs {
			tp, ok := topo.Topic(in)
			if !ok {
				t.Errorf("group %s reads undeclared %s", g.Name, in)
			}
			if tp.CoPartitionSet != g.CoPartitionSet {
				t.Errorf("group %s input %s is in set %q, group in %q", g.Name, in, tp.CoPartitionSet, g.CoPartitionSet)
			}
		}
	}
}

func TestTopicConfigs(t *testing.T) {
	topo := New(Config{})
	tests := []struct {
		topic string
		want  map[string]string
	}{
		{"cart-events", map[string]string{"retention.ms": "604800000", "message.timestamp.type": "LogAppendTime"}},
		{"cartstream.dlq", map[string]string{"retention.ms": "1209600000"}},
		{"cartstream.products", map[string]string{"cleanup.policy": "compact"}},
		{"cartstream-carts-table", map[string]string{"cleanup.policy": "compact"}},
		{"cartstream.resets", map[string]string{"cleanup.policy": "compact"}},
	}
	for _, tc := range tests {
		tp, _ := topo.Topic(tc.topic)
		got := tp.Configs()
		if len(got) != len(tc.want) {
			t.Errorf("%s: configs %v, want %v", tc.topic, got, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.topic, k, got[k], v)
			}
		}
	}
}

func TestCustomPrefixAndPartitions(t *testing.T) {
	topo := New(Config{GroupPrefix: "shopA", Partitions: 3})
	g, _ := topo.Group(GroupCarts)
	if g.ID != "shopA-carts" || g.Table != "shopA-carts-table" || g.Loop != "shopA-carts-loop" {
		t.Errorf("group = %+v", g)
	}
	if topo.Partitions != 3 {
		t.Errorf("partitions = %d", topo.Partitions)
	}
}

func TestDescribeNamesEveryTopicAndGroup(t *testing.T) {
	topo := New(Config{})
	var b bytes.Buffer
	if err := topo.Describe(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, tp := range topo.Topics {
		if !strings.Contains(out, tp.Name) {
			t.Errorf("describe lacks topic %s", tp.Name)
		}
	}
	for _, g := range topo.Groups {
		if !strings.Contains(out, "Group "+g.Name+" ") {
			t.Errorf("describe lacks group %s", g.Name)
		}
	}
}

func newAdmin(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, *kadm.Client) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, kadm.NewClient(cl)
}

func TestEnsureCreatesOnceWithSettings(t *testing.T) {
	ctx := context.Background()
	_, adm := newAdmin(t)
	// A source topic that exists already with another count: its cdc
	// table follows it; cdc groups are co-partitioned with their source only.
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "shop.public.products"); err != nil {
		t.Fatal(err)
	}
	topo := New(Config{Partitions: 4})
	res, err := topo.Ensure(ctx, adm, EnsureOptions{})
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if len(res.Created) != len(topo.Topics)-1 || len(res.Existing) != 1 {
		t.Errorf("created %d existing %d of %d", len(res.Created), len(res.Existing), len(topo.Topics))
	}
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(details["cartstream-cdc-products-table"].Partitions); n != 3 {
		t.Errorf("cdc-products table has %d partitions, want its source's 3", n)
	}
	if n := len(details["cartstream-cdc-products-loop"].Partitions); n != 3 {
		t.Errorf("cdc-products loop has %d partitions, want its source's 3", n)
	}
	if n := len(details["cart-events"].Partitions); n != 4 {
		t.Errorf("cart-events has %d partitions, want 4", n)
	}
	rc, err := adm.DescribeTopicConfigs(ctx, "cart-events", "cartstream.products")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rc {
		for _, c := range r.Configs {
			switch {
			case r.Name == "cart-events" && c.Key == "message.timestamp.type" && c.MaybeValue() != "LogAppendTime",
				r.Name == "cartstream.products" && c.Key == "cleanup.policy" && c.MaybeValue() != "compact":
				t.Errorf("%s: %s = %s", r.Name, c.Key, c.MaybeValue())
			}
		}
	}
	// A second run creates nothing.
	res, err = topo.Ensure(ctx, adm, EnsureOptions{})
	if err != nil || len(res.Created) != 0 {
		t.Errorf("second ensure created %v, err %v", res.Created, err)
	}
}

func TestEnsureRejectsMismatchedCoPartitioning(t *testing.T) {
	ctx := context.Background()
	_, adm := newAdmin(t)
	if _, err := adm.CreateTopic(ctx, 6, 1, nil, "cart-events"); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{}).Ensure(ctx, adm, EnsureOptions{})
	if !errors.Is(err, ErrCoPartitioning) {
		t.Fatalf("err = %v, want ErrCoPartitioning", err)
	}
	for _, want := range []string{`set "carts"`, "cart-events=6", "cartstream.carts-ticks=8"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `set "inventory"`) {
		t.Errorf("error blames the inventory set: %v", err)
	}
}
