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

// The broker answers a JoinGroup or SyncGroup only once every member has
// joined or synced, or after the longest rebalance timeout any member
// announced, when it drops the missing ones. sarama waits Net.ReadTimeout
// for any answer; a rebalance timeout above it turns one member that dies
// in the middle of a rebalance into i/o timeouts for every other member.
// Their processors fail and rejoin as new members, each join restarts the
// broker's wait, and the group never settles: `make chaos` (seed 21, an
// instance killed while it joined) saw three instances' carts and cdc
// groups stuck that way for minutes, until the rebalance timeout went
// below the read timeout.
func TestSaramaAnswersComeBeforeTheReadTimeout(t *testing.T) {
	c := SaramaConfig("check", 0)
	if c.Consumer.Group.Rebalance.Timeout+rebalanceAnswerMargin > c.Net.ReadTimeout {
		t.Fatalf("rebalance timeout %s (+%s to answer) is not below the read timeout %s", c.Consumer.Group.Rebalance.Timeout, rebalanceAnswerMargin, c.Net.ReadTimeout)
	}
}

// TestGroupSurvivesAMemberDyingMidRebalance: a member joins the group of
// a running processor and dies while its join waits. The processor must
// get through the rebalance and go on processing, without failing. (The
// broker also evicts the dead member when its session times out, so this
// simple case passed with the old rebalance timeout too; the check above
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
