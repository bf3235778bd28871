package replay_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"

	"cartstream/internal/broker"
	"cartstream/internal/replay"
	"cartstream/internal/streams"
	"cartstream/topology"
)

// TestRefusesLiveMembers: with an instance running against a broker, a
// reset refuses while the group has members, and --force refuses too
// because the members' advertised HTTP addresses answer.
func TestRefusesLiveMembers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dir, "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	startInstance(t, filepath.Join(dir, "instance"), false, "--brokers", b.Addr())
	cl, adm := client(t, b.Addr())
	topo := topology.New(topology.Config{Partitions: testPartitions})
	g, _ := topo.Group(topology.GroupCarts)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ms, _, err := replay.Members(ctx, adm, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) > 0 && ms[0].Cartstream.HTTP != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the carts group has no described member: %+v", ms)
		}
		time.Sleep(100 * time.Millisecond)
	}
	err = replay.CheckStopped(ctx, cl, adm, g.ID, replay.StopCheck{})
	if !errors.Is(err, replay.ErrLiveMembers) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("without --force: %v", err)
	}
	err = replay.CheckStopped(ctx, cl, adm, g.ID, replay.StopCheck{Force: true, Wait: time.Second})
	if !errors.Is(err, replay.ErrLiveMembers) || !strings.Contains(err.Error(), "answers at") {
		t.Fatalf("with --force: %v", err)
	}
	// Execute cannot get past the coordinator either: a simple commit
	// into a group with members fails.
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: topo.Names.CartEvents, Partition: 0, At: 0})
	if err := adm.CommitAllOffsets(ctx, g.ID, offs); err == nil {
		t.Error("the broker accepted an offset commit into a live group")
	}
}

type nopHandler struct{ joined chan struct{} }

func (h nopHandler) Setup(sarama.ConsumerGroupSession) error {
	select {
	case h.joined <- struct{}{}:
	default:
	}
	return nil
}
func (nopHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (nopHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for range c.Messages() {
	}
	return nil
}

// TestForceEvictsStaticMember: a sarama consumer with a group.instance.id
// (KIP-345, protocol 2.3.1 as cartstream speaks it) does not leave its group
// when it closes, so the group keeps a member until the session times out.
// --force evicts it by instance id and, as it never comes back, lets the
// reset go on.
func TestForceEvictsStaticMember(t *testing.T) {
	ctx := context.Background()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, adm := client(t, b.Addr())
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "static-in"); err != nil {
		t.Fatal(err)
	}
	const group = "static-group"
	cfg := streams.SaramaConfig("static-test", 0)
	cfg.Consumer.Group.InstanceId = "host-a"
	cfg.Consumer.Group.Session.Timeout = time.Minute
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	cg, err := sarama.NewConsumerGroup([]string{b.Addr()}, group, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := nopHandler{joined: make(chan struct{}, 1)}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cg.Consume(cctx, []string{"static-in"}, h) }()
	select {
	case <-h.joined:
	case <-time.After(20 * time.Second):
		t.Fatal("the static member did not join")
	}
	cancel()
	<-done
	if err := cg.Close(); err != nil {
		t.Fatal(err)
	}

	ms, _, err := replay.Members(ctx, adm, group)
	if err != nil || len(ms) != 1 || ms[0].InstanceID != "host-a" {
		t.Fatalf("after a clean close the static member should remain: %+v, %v", ms, err)
	}
	if err := replay.CheckStopped(ctx, cl, adm, group, replay.StopCheck{}); !errors.Is(err, replay.ErrLiveMembers) {
		t.Fatalf("without --force: %v", err)
	}
	if err := replay.CheckStopped(ctx, cl, adm, group, replay.StopCheck{Force: true, Wait: 2 * time.Second}); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if ms, _, _ := replay.Members(ctx, adm, group); len(ms) != 0 {
		t.Fatalf("members after eviction: %+v", ms)
	}
}
