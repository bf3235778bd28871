package replay

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/kafkasec"
	"cartstream/processors/carts"
	"cartstream/topology"
)

// testCluster starts an embedded broker with the topology's topics.
func testCluster(t *testing.T, dataDir string) (*topology.Topology, *kgo.Client, *kadm.Client, []string) {
	t.Helper()
	ctx := context.Background()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dataDir, "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	brokers := []string{b.Addr()}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	topo := topology.New(topology.Config{Partitions: 2})
	if _, err := topo.Ensure(ctx, adm, topology.EnsureOptions{}); err != nil {
		t.Fatal(err)
	}
	return topo, cl, adm, brokers
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestPrepareWipesStateOfOlderEpochs: a reset epoch in the resets topic
// makes an instance starting on another data dir wipe its stale table
// stores (not its lookup caches, not other groups' stores), while a data
// dir already at that epoch keeps its state.
func TestPrepareWipesStateOfOlderEpochs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topo, cl, adm, brokers := testCluster(t, t.TempDir())
	g, _ := topo.Group(topology.GroupCarts)
	cdcg, _ := topo.Group(topology.GroupCDCProducts)

	if err := WriteReset(ctx, cl, topo.Names.Resets, Reset{SchemaVersion: ResetSchemaVersion, Epoch: 1, Group: g.Name, GroupID: g.ID}); err != nil {
		t.Fatal(err)
	}
	if err := WriteReset(ctx, cl, topo.Names.Resets, Reset{SchemaVersion: ResetSchemaVersion, Epoch: 2, Group: g.Name, GroupID: g.ID,
		Boundary: []Offset{{topo.Names.CartEvents, 0, 5}, {topo.Names.CartEvents, 1, 7}}}); err != nil {
		t.Fatal(err)
	}

	stale := t.TempDir() // another host's data dir, last run before the reset
	table0 := filepath.Join(stale, g.ID, g.Table+".0")
	table1 := filepath.Join(stale, g.ID, g.Table+".1")
	lookup := filepath.Join(stale, g.ID, topo.Names.ProductsTable+".0")
	other := filepath.Join(stale, cdcg.ID, cdcg.Table+".0")
	mkdirs(t, table0, table1, lookup, other)
	if err := WriteLocalEpoch(filepath.Join(stale, g.ID), 1); err != nil {
		t.Fatal(err)
	}
	current := t.TempDir() // this host, already at epoch 2
	kept := filepath.Join(current, g.ID, g.Table+".0")
	mkdirs(t, kept)
	if err := WriteLocalEpoch(filepath.Join(current, g.ID), 2); err != nil {
		t.Fatal(err)
	}

	for _, dir := range []string{stale, current} {
		resets, err := Prepare(ctx, PrepareConfig{Brokers: brokers, Admin: adm, Topology: topo, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if resets[g.ID].Epoch != 2 {
			t.Fatalf("latest epoch %d, want 2", resets[g.ID].Epoch)
		}
	}
	if exists(table0) || exists(table1) {
		t.Error("stale table stores survived")
	}
	if !exists(lookup) || !exists(other) {
		t.Error("a lookup cache or another group's store was wiped")
	}
	if !exists(kept) {
		t.Error("state at the current epoch was wiped")
	}
	for _, dir := range []string{stale, current} {
		if e, err := LocalEpoch(filepath.Join(dir, g.ID)); err != nil || e != 2 {
			t.Errorf("%s: local epoch %d, %v; want 2", dir, e, err)
		}
		if e, err := LocalEpoch(filepath.Join(dir, cdcg.ID)); err != nil || e != 0 {
			t.Errorf("%s: cdc-products epoch %d, %v; want 0 (never reset)", dir, e, err)
		}
	}

	// The boundary leaves out partitions the group committed past.
	resets, err := ReadResets(ctx, kafkasec.Cluster{Brokers: brokers}, adm, topo.Names.Resets)
	if err != nil {
		t.Fatal(err)
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: topo.Names.CartEvents, Partition: 1, At: 7})
	if err := adm.CommitAllOffsets(ctx, g.ID, offs); err != nil {
		t.Fatal(err)
	}
	b, err := CartsBoundary(ctx, adm, topo, resets)
	if err != nil {
		t.Fatal(err)
	}
	want := carts.Boundary{{Topic: topo.Names.CartEvents, Partition: 0}: 5}
	if len(b) != 1 || b[carts.TopicPartition{Topic: topo.Names.CartEvents, Partition: 0}] != 5 {
		t.Fatalf("boundary %v, want %v", b, want)
	}
}
