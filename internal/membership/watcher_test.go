package membership_test

// End-to-end test of the Watcher over TCP against the embedded broker, with
// real goka processors built by streams.Factory for a small group graph.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/membership"
	"cartstream/internal/streams"
)

const (
	// e2ePartitions is the partition count of the group's input and table.
	e2ePartitions = 4
	// e2ePoll is the watcher's interval in the test: much shorter than a
	// rebalance (several seconds with goka, see the test), so the
	// watcher sees the group while it is not Stable.
	e2ePoll = 20 * time.Millisecond
	// e2eSettle bounds each phase: goka waits 5 s after a session ends
	// before rejoining, and members notice a rebalance at their next
	// heartbeat (sarama: every 3 s).
	e2eSettle = 20 * time.Second
	// e2eTimeout bounds the whole test.
	e2eTimeout = 60 * time.Second
)

// instance is one "cartstream instance" in the test: its own factory (own
// Member, own data dir) and one processor of the group.
type instance struct {
	member membership.Member
	stop   context.CancelFunc
	done   chan error

	mu       sync.Mutex
	assigned []int32 // partitions of goka's latest rebalance callback
	running  bool
}

func (in *instance) partitions() ([]int32, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.assigned), in.running
}

// TestWatcherFollowsGokaAssignments runs processors of one group as separate
// instances and checks that the watcher's ownership map always settles on
// what goka itself assigned each processor (its rebalance callback), with
// every partition owned by exactly one instance at its advertised address:
// with two instances, after a third joins, and after one of them stops. While
// a rebalance is under way Owner must answer ErrRebalancing; a goka
// rebalance takes seconds (heartbeat interval plus goka's 5 s pause before
// rejoining), so with a 20 ms poll this is observed deterministically.
func TestWatcherFollowsGokaAssignments(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test; skipped with -short")
	}
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()

	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)

	const group goka.Group = "membership-e2e"
	const absent = "membership-e2e-absent"
	input := goka.Stream("membership-e2e-input")
	for topic, configs := range map[string]map[string]*string{
		string(input):                  nil,
		string(goka.GroupTable(group)): {"cleanup.policy": kadm.StringPtr("compact")},
	} {
		resp, err := adm.CreateTopic(ctx, e2ePartitions, 1, configs, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}

	w := membership.New(adm, []string{string(group), absent}, e2ePoll)
	if _, err := w.Owner(string(group), 0); !errors.Is(err, membership.ErrUnknownGroup) {
		t.Fatalf("Owner before the first poll: %v, want ErrUnknownGroup", err)
	}
	if w.Ready() {
		t.Fatal("Ready before the first poll")
	}
	wctx, wstop := context.WithCancel(ctx)
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(wctx) }()
	defer func() {
		wstop()
		if err := <-wdone; err != nil {
			t.Errorf("watcher Run: %v", err)
		}
	}()

	// The observer samples the watcher far more often than it polls and
	// records whether it saw a rebalance since the last reset.
	var (
		obsMu          sync.Mutex
		sawRebalancing bool
		sawNotStable   bool
	)
	resetObserved := func() {
		obsMu.Lock()
		sawRebalancing, sawNotStable = false, false
		obsMu.Unlock()
	}
	observed := func() (bool, bool) {
		obsMu.Lock()
		defer obsMu.Unlock()
		return sawRebalancing, sawNotStable
	}
	octx, ostop := context.WithCancel(ctx)
	var owg sync.WaitGroup
	owg.Add(1)
	go func() {
		defer owg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			_, err := w.Owner(string(group), 0)
			state := w.Snapshot()[string(group)].State
			obsMu.Lock()
			sawRebalancing = sawRebalancing || errors.Is(err, membership.ErrRebalancing)
			sawNotStable = sawNotStable || (state != "" && state != membership.StateStable)
			obsMu.Unlock()
			select {
			case <-octx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { ostop(); owg.Wait() }()

	var instances []*instance
	defer func() {
		for _, in := range instances {
			if _, running := in.partitions(); running {
				in.stop()
				<-in.done
			}
		}
	}()
	start := func(id, addr string) *instance {
		in := &instance{member: membership.Member{InstanceID: id, HTTP: addr}, done: make(chan error, 1), running: true}
		f := streams.NewFactory(streams.Config{
			Brokers: []string{b.Addr()}, InstanceID: id, AdvertisedHTTP: addr, DataDir: t.TempDir(),
		})
		gg := goka.DefineGroup(group,
			goka.Input(input, new(codec.Bytes), func(goka.Context, any) {}),
			goka.Persist(new(codec.Int64)),
		)
		p, err := f.NewProcessor(gg, streams.ProcessorOptions{Extra: []goka.ProcessorOption{
			goka.WithRebalanceCallback(func(a goka.Assignment) {
				in.mu.Lock()
				in.assigned = slices.Sorted(maps.Keys(a))
				in.mu.Unlock()
			}),
		}})
		if err != nil {
			t.Fatal(err)
		}
		pctx, pstop := context.WithCancel(ctx)
		in.stop = pstop
		go func() { in.done <- p.Run(pctx) }()
		instances = append(instances, in)
		return in
	}
	stop := func(in *instance) {
		in.stop()
		if err := <-in.done; err != nil {
			t.Errorf("processor of %s: %v", in.member.InstanceID, err)
		}
		in.mu.Lock()
		in.running, in.assigned = false, nil
		in.mu.Unlock()
	}
	settle := func(phase string, want []*instance) map[int32]membership.Member {
		t.Helper()
		phaseStart := time.Now()
		deadline := time.Now().Add(e2eSettle)
		for {
			owners, why := consistent(w, string(group), instances, want)
			if why == "" {
				t.Logf("%s: settled after %v: %v", phase, time.Since(phaseStart).Round(time.Millisecond), owners)
				return owners
			}
			for _, in := range instances {
				if _, running := in.partitions(); !running {
					continue
				}
				select {
				case err := <-in.done:
					t.Fatalf("%s: processor of %s stopped: %v", phase, in.member.InstanceID, err)
				default:
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not consistent after %v: %s\nsnapshot: %+v", phase, e2eSettle, why, w.Snapshot()[string(group)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Phase 1: two instances.
	i1 := start("inst-1", "127.0.0.1:18081")
	i2 := start("inst-2", "127.0.0.1:18082")
	settle("two instances", []*instance{i1, i2})
	if !w.Ready() {
		t.Fatal("not Ready after the group was read")
	}
	if v := w.Snapshot()[absent]; v.State != membership.StateDead || len(v.Members) != 0 || v.Err != "" {
		t.Fatalf("group that does not exist: %+v, want Dead with no members", v)
	}
	if _, err := w.Owner(absent, 0); !errors.Is(err, membership.ErrRebalancing) {
		t.Fatalf("Owner of a group that does not exist: %v, want ErrRebalancing", err)
	}

	// Phase 2: a third joins.
	resetObserved()
	i3 := start("inst-3", "127.0.0.1:18083")
	settle("third instance joined", []*instance{i1, i2, i3})
	if rebalancing, notStable := observed(); !rebalancing || !notStable {
		t.Errorf("third instance joined: observed ErrRebalancing %v, a non-Stable state %v; want both", rebalancing, notStable)
	}

	// Phase 3: one stops; its partitions move to the others.
	moved, _ := i2.partitions()
	resetObserved()
	stop(i2)
	owners := settle("instance 2 stopped", []*instance{i1, i3})
	for _, p := range moved {
		if o := owners[p]; o != i1.member && o != i3.member {
			t.Errorf("partition %d of the stopped instance is owned by %+v", p, o)
		}
	}
	if rebalancing, notStable := observed(); !rebalancing || !notStable {
		t.Errorf("instance 2 stopped: observed ErrRebalancing %v, a non-Stable state %v; want both", rebalancing, notStable)
	}
	t.Logf("whole test took %v", time.Since(begin).Round(time.Millisecond))
}

// consistent returns the watcher's owners of group and "" when they match
// want exactly: the group is Stable, its routable members are want (with
// their addresses) and nothing else, every partition has exactly one owner,
// Owner agrees with Snapshot, and each partition's owner is the instance whose
// goka processor was assigned it in its latest rebalance, and no other
// running instance was. Otherwise it says what differs.
func consistent(w *membership.Watcher, group string, all, want []*instance) (map[int32]membership.Member, string) {
	v, ok := w.Snapshot()[group]
	switch {
	case !ok:
		return nil, "group not read yet"
	case v.Err != "":
		return nil, "poll error: " + v.Err
	case v.State != membership.StateStable:
		return nil, "state " + v.State
	case len(v.Unroutable) > 0:
		return nil, fmt.Sprintf("unroutable partitions %v", v.Unroutable)
	}
	var members []membership.Member
	for _, m := range v.Members {
		if m.Foreign != "" {
			return nil, "foreign member " + m.MemberID
		}
		members = append(members, m.Member)
	}
	var wantMembers []membership.Member
	for _, in := range want {
		wantMembers = append(wantMembers, in.member)
	}
	if !slices.Equal(members, wantMembers) {
		return nil, fmt.Sprintf("members %v, want %v", members, wantMembers)
	}
	owners := map[int32]membership.Member{}
	for _, o := range v.Owners {
		owners[o.Partition] = o.Member
	}
	if len(owners) != e2ePartitions || len(v.Owners) != e2ePartitions {
		return nil, fmt.Sprintf("owners %v, want one for each of %d partitions", v.Owners, e2ePartitions)
	}
	for p := range int32(e2ePartitions) {
		got, err := w.Owner(group, p)
		if err != nil || got != owners[p] {
			return nil, fmt.Sprintf("Owner(%d) = %+v, %v; Snapshot says %+v", p, got, err, owners[p])
		}
		for _, in := range all {
			parts, running := in.partitions()
			has := running && slices.Contains(parts, p)
			if owns := in.member == owners[p]; owns != has {
				return nil, fmt.Sprintf("partition %d: watcher says owner %s, goka assigned %s %v (running %v)",
					p, owners[p].InstanceID, in.member.InstanceID, parts, running)
			}
		}
	}
	return owners, ""
}
