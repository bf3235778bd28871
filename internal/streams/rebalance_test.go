package streams

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The consumer-group timing keeps every wait of a rebalance shorter than
// what the waiting members can afford (see the constants in sarama.go):
// members rejoin (a heartbeat, then goka's delay) within the rebalance
// timeout, and a wait that runs the whole rebalance timeout ends before a
// waiting member's session expires and before sarama's read timeout.
func TestSaramaRebalanceTiming(t *testing.T) {
	c := SaramaConfig("check", 0)
	g := c.Consumer.Group
	const margin = time.Second
	if rejoin := g.Heartbeat.Interval + gokaRejoinDelay; rejoin+margin > g.Rebalance.Timeout {
		t.Errorf("members rejoin up to %s after a rebalance starts, the rebalance timeout %s leaves no margin", rejoin, g.Rebalance.Timeout)
	}
	if g.Rebalance.Timeout+margin > g.Session.Timeout {
		t.Errorf("a wait of the rebalance timeout %s outlasts a waiting member's session %s", g.Rebalance.Timeout, g.Session.Timeout)
	}
	if g.Rebalance.Timeout+margin > c.Net.ReadTimeout {
		t.Errorf("a wait of the rebalance timeout %s outlasts sarama's read timeout %s", g.Rebalance.Timeout, c.Net.ReadTimeout)
	}
	if g.Session.Timeout != 10*time.Second {
		t.Errorf("session timeout %s: it sets how fast a dead instance is noticed (docs/reliability.md)", g.Session.Timeout)
	}
}

// TestGroupSurvivesAMemberDyingMidRebalance: a member joins the group of
// a running processor and dies while its join waits. The processor must
// get through the rebalance and go on processing, without failing. (This
// simple case passed with sarama's defaults too; TestSaramaRebalanceTiming
// is what keeps the multi-process livelock away.)
func TestGroupSurvivesAMemberDyingMidRebalance(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := startKfakeRegBroker(ctx, t)
	cl, adm := newKfakeRegClient(t, b.Addr())

	const group goka.Group = "rebalance-dying-member"
	input := goka.Stream("rebalance-dying-member-input")
	if err := createKfakeRegTopics(ctx, adm, 4, string(input), string(goka.GroupTable(group))); err != nil {
		t.Fatal(err)
	}
	var processed atomic.Int64
	p, err := newKfakeRegProcessor([]string{b.Addr()}, countingGraph(group, input, &processed), saramaVersion(), newKfakeRegLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()
	produceUntil := func(want int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for processed.Load() < want {
			if _, err := produceKfakeRegRecords(ctx, cl, string(input), 10, 10); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				t.Fatalf("the processor stopped: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("processed %d of %d records within %s", processed.Load(), want, within)
			}
		}
	}
	produceUntil(10, 30*time.Second)

	// A member that joins with cartstream's settings and then dies: it
	// never syncs, heartbeats or leaves.
	dead, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	c := SaramaConfig("dead", 0)
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{string(input)}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = string(group)
	join.SessionTimeoutMillis = int32(c.Consumer.Group.Session.Timeout / time.Millisecond)
	join.RebalanceTimeoutMillis = int32(c.Consumer.Group.Rebalance.Timeout / time.Millisecond)
	join.ProtocolType = "consumer"
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name = goka.CopartitioningStrategy.Name()
	proto.Metadata = meta.AppendTo(nil)
	join.Protocols = append(join.Protocols, proto)
	resp, err := join.RequestWith(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	if resp.MemberID != "" {
		// KIP-394: join again with the member id the broker gave.
		join.MemberID = resp.MemberID
		joined := make(chan error, 1)
		go func() {
			_, err := join.RequestWith(ctx, dead)
			joined <- err
		}()
		select {
		case err := <-joined:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Logf("the dying member's join: %v", err)
			}
		case <-time.After(30 * time.Second):
		}
	}
	before := processed.Load()
	// The processor must be back within the rebalance timeout and goka's
	// 5 s rejoin delay, with some room.
	produceUntil(before+10, c.Consumer.Group.Rebalance.Timeout+45*time.Second)
	t.Logf("processing resumed after the dead member's join")
}
