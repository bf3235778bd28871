package membership

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	instA = Member{InstanceID: "a", HTTP: "10.0.0.1:8080"}
	instB = Member{InstanceID: "b", HTTP: "10.0.0.2:8080"}
	t0    = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
)

// member builds a described member with cartstream metadata (userData nil:
// none) assigned parts of every topic in topics.
func member(id string, userData []byte, topics []string, parts ...int32) rawMember {
	a := &kmsg.ConsumerMemberAssignment{}
	for _, tp := range topics {
		a.Topics = append(a.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: tp, Partitions: slices.Clone(parts)})
	}
	return rawMember{
		memberID: id, clientID: "client-" + id, clientHost: "/127.0.0.1",
		meta:   &kmsg.ConsumerMemberMetadata{Topics: topics, UserData: userData},
		assign: a,
	}
}

func ours(m Member) []byte { return EncodeUserData(m) }

// ownerOf is lookup at t0 without a staleness check.
func ownerOf(v *view, p int32) (Member, error) { return v.lookup(p, t0, 0) }

func TestViewStableOwners(t *testing.T) {
	topics := []string{"cart-events", "ticks"}
	v := buildView("g", StateStable, []rawMember{
		member("m-b", ours(instB), topics, 3, 2),
		member("m-a", ours(instA), topics, 0, 1),
	}, "", t0, nil)
	for p, want := range map[int32]Member{0: instA, 1: instA, 2: instB, 3: instB} {
		got, err := ownerOf(v, p)
		if err != nil || got != want {
			t.Errorf("partition %d: owner %+v, %v; want %+v", p, got, err, want)
		}
	}
	if _, err := ownerOf(v, 4); !errors.Is(err, ErrRebalancing) {
		t.Errorf("unassigned partition 4: %v, want ErrRebalancing", err)
	}
	if v.Rebalancing || len(v.Unroutable) != 0 {
		t.Errorf("stable view: rebalancing %v, unroutable %v", v.Rebalancing, v.Unroutable)
	}
	wantOwners := []Owner{{instA, 0}, {instA, 1}, {instB, 2}, {instB, 3}}
	if !slices.Equal(v.Owners, wantOwners) {
		t.Errorf("Owners = %v, want %v", v.Owners, wantOwners)
	}
	if v.Members[0].Member != instA || v.Members[1].Member != instB {
		t.Errorf("members not sorted by instance id: %+v", v.Members)
	}
	if !slices.Equal(v.Members[1].Partitions, []int32{2, 3}) || !slices.Equal(v.Members[1].Topics["ticks"], []int32{2, 3}) {
		t.Errorf("member b: partitions %v, topics %v", v.Members[1].Partitions, v.Members[1].Topics)
	}
}

// TestViewForeignMember: a member without cartstream's UserData is reported
// but owns nothing routable; its partitions are ErrUnroutable.
func TestViewForeignMember(t *testing.T) {
	topics := []string{"in"}
	v := buildView("g", StateStable, []rawMember{
		member("m-a", ours(instA), topics, 0, 1),
		member("m-x", nil, topics, 2),
		member("m-y", []byte("sticky-assignor-data"), topics, 3),
	}, "", t0, nil)
	if _, err := ownerOf(v, 0); err != nil {
		t.Fatalf("partition 0: %v", err)
	}
	for _, p := range []int32{2, 3} {
		if _, err := ownerOf(v, p); !errors.Is(err, ErrUnroutable) {
			t.Errorf("partition %d held by a foreign member: %v, want ErrUnroutable", p, err)
		}
	}
	if !slices.Equal(v.Unroutable, []int32{2, 3}) {
		t.Errorf("Unroutable = %v, want [2 3]", v.Unroutable)
	}
	var foreign int
	for _, m := range v.Members {
		if m.Foreign != "" {
			foreign++
			if m.Member != (Member{}) {
				t.Errorf("foreign member %s has identity %+v", m.MemberID, m.Member)
			}
		}
	}
	if foreign != 2 || len(v.Members) != 3 {
		t.Errorf("members %+v: want 3 with 2 foreign", v.Members)
	}
}

// TestViewStableWithoutConsumerMetadata: in a Stable group every member has
// metadata; one without consumer-protocol metadata is foreign.
func TestViewStableWithoutConsumerMetadata(t *testing.T) {
	v := buildView("g", StateStable, []rawMember{{memberID: "m-x"}}, "", t0, nil)
	if v.Members[0].Foreign == "" {
		t.Fatalf("member without metadata in a Stable group is not foreign: %+v", v.Members[0])
	}
}

// TestViewDoubleClaim: a partition assigned to two members has no owner.
func TestViewDoubleClaim(t *testing.T) {
	v := buildView("g", StateStable, []rawMember{
		member("m-a", ours(instA), []string{"in"}, 0, 1),
		member("m-b", ours(instB), []string{"in"}, 1, 2),
	}, "", t0, nil)
	if _, err := ownerOf(v, 1); !errors.Is(err, ErrUnroutable) {
		t.Fatalf("doubly claimed partition: %v, want ErrUnroutable", err)
	}
	if got, _ := ownerOf(v, 2); got != instB {
		t.Fatalf("partition 2: %+v, want b", got)
	}
}

// TestViewNamedTopic: WithTopic restricts group partitions to one topic.
func TestViewNamedTopic(t *testing.T) {
	a := member("m-a", ours(instA), []string{"in"}, 0)
	a.assign.Topics = append(a.assign.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: "other", Partitions: []int32{5}})
	union := buildView("g", StateStable, []rawMember{a}, "", t0, nil)
	if !slices.Equal(union.Members[0].Partitions, []int32{0, 5}) {
		t.Fatalf("default partitions = %v, want the union [0 5]", union.Members[0].Partitions)
	}
	named := buildView("g", StateStable, []rawMember{a}, "in", t0, nil)
	if !slices.Equal(named.Members[0].Partitions, []int32{0}) {
		t.Fatalf("partitions of topic in = %v, want [0]", named.Members[0].Partitions)
	}
	if _, err := ownerOf(named, 5); !errors.Is(err, ErrRebalancing) {
		t.Fatalf("partition 5 of another topic: %v, want ErrRebalancing", err)
	}
}

// TestViewNotStable: while rebalancing every partition is ErrRebalancing,
// and members keep the identity they had in the previous view.
func TestViewNotStable(t *testing.T) {
	stable := buildView("g", StateStable, []rawMember{
		member("m-a", ours(instA), []string{"in"}, 0, 1),
		member("m-x", nil, []string{"in"}),
	}, "", t0, nil)
	for _, state := range []string{StatePreparingRebalance, StateCompletingRebalance, StateEmpty, StateDead} {
		var members []rawMember
		if state != StateEmpty && state != StateDead {
			members = []rawMember{{memberID: "m-a"}, {memberID: "m-x"}, {memberID: "m-new"}}
		}
		v := buildView("g", state, members, "", t0, stable)
		if !v.Rebalancing {
			t.Errorf("%s: Rebalancing false", state)
		}
		if _, err := ownerOf(v, 0); !errors.Is(err, ErrRebalancing) {
			t.Errorf("%s: owner of 0: %v, want ErrRebalancing", state, err)
		}
		if len(v.Owners) != 0 {
			t.Errorf("%s: owners %v, want none", state, v.Owners)
		}
		if members == nil {
			continue
		}
		byID := map[string]MemberView{}
		for _, m := range v.Members {
			byID[m.MemberID] = m
		}
		if byID["m-a"].Member != instA || byID["m-x"].Foreign == "" || byID["m-new"].Member != (Member{}) || byID["m-new"].Foreign != "" {
			t.Errorf("%s: identities not carried over: %+v", state, v.Members)
		}
	}
}

func TestViewStale(t *testing.T) {
	v := buildView("g", StateStable, []rawMember{member("m-a", ours(instA), []string{"in"}, 0)}, "", t0, nil)
	if _, err := v.lookup(0, t0.Add(10*time.Second), 10*time.Second); err != nil {
		t.Fatalf("at max age: %v", err)
	}
	if _, err := v.lookup(0, t0.Add(11*time.Second), 10*time.Second); !errors.Is(err, ErrStale) {
		t.Fatalf("past max age: %v, want ErrStale", err)
	}
	if _, err := v.lookup(0, t0.Add(time.Hour), -1); err != nil {
		t.Fatalf("with the check disabled: %v", err)
	}
}

// TestWatcherWithoutBroker covers Owner, Ready and Snapshot on installed
// views: unknown groups, staleness from the watcher's clock, and that
// Snapshot returns copies.
func TestWatcherWithoutBroker(t *testing.T) {
	now := t0
	w := New(nil, []string{"g", "h", "g"}, 0, withClock(func() time.Time { return now }))
	if w.interval != DefaultInterval || w.opts.maxAge != DefaultMaxAge || len(w.groups) != 2 {
		t.Fatalf("defaults: interval %v, max age %v, groups %v", w.interval, w.opts.maxAge, w.groups)
	}
	if _, err := w.Owner("g", 0); !errors.Is(err, ErrUnknownGroup) {
		t.Fatalf("before any poll: %v, want ErrUnknownGroup", err)
	}
	w.views["g"] = buildView("g", StateStable, []rawMember{member("m-a", ours(instA), []string{"in"}, 0)}, "", t0, nil)
	if w.Ready() {
		t.Fatal("Ready with one of two groups read")
	}
	w.views["h"] = buildView("h", StateEmpty, nil, "", t0, nil)
	if !w.Ready() {
		t.Fatal("not Ready with every group read")
	}
	if m, err := w.Owner("g", 0); err != nil || m != instA {
		t.Fatalf("Owner(g, 0) = %+v, %v", m, err)
	}
	if _, err := w.Owner("unwatched", 0); !errors.Is(err, ErrUnknownGroup) {
		t.Fatalf("unwatched group: %v, want ErrUnknownGroup", err)
	}
	now = t0.Add(DefaultMaxAge + time.Second)
	if _, err := w.Owner("g", 0); !errors.Is(err, ErrStale) {
		t.Fatalf("old view: %v, want ErrStale", err)
	}

	snap := w.Snapshot()
	if len(snap) != 2 || snap["h"].State != StateEmpty {
		t.Fatalf("Snapshot = %+v", snap)
	}
	snap["g"].Members[0].Partitions[0] = 99
	snap["g"].Owners[0].Partition = 99
	if again := w.Snapshot(); again["g"].Members[0].Partitions[0] != 0 || again["g"].Owners[0].Partition != 0 {
		t.Fatalf("Snapshot shares memory with the watcher: %+v", again["g"])
	}

	if New(nil, nil, time.Minute).opts.maxAge != 3*time.Minute {
		t.Fatal("default max age is not three intervals for a long interval")
	}
	if New(nil, nil, 0, WithMaxAge(-1)).opts.maxAge != -1 {
		t.Fatal("WithMaxAge(-1) not kept")
	}
}

// TestWatcherKeepsLastViewWhenPollsFail: with the broker unreachable,
// Refresh fails, the group's last good view stays in place with the error
// recorded, Owner keeps answering from it until it is older than the
// maximum age, then answers ErrStale.
func TestWatcherKeepsLastViewWhenPollsFail(t *testing.T) {
	// A port nothing listens on: the listener is closed before use.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	now := t0
	w := New(kadm.NewClient(cl), []string{"g"}, time.Second, WithMaxAge(10*time.Second), withClock(func() time.Time { return now }))
	w.views["g"] = buildView("g", StateStable, []rawMember{member("m-a", ours(instA), []string{"in"}, 0)}, "", t0, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	now = t0.Add(5 * time.Second)
	if err := w.Refresh(ctx); err == nil {
		t.Fatal("Refresh against an unreachable broker succeeded")
	}
	v := w.Snapshot()["g"]
	if v.Err == "" || !v.Polled.Equal(t0) || len(v.Owners) != 1 {
		t.Fatalf("after a failed poll: %+v; want the last good view with the error", v)
	}
	t.Logf("failed poll recorded: %s", v.Err)
	if m, err := w.Owner("g", 0); err != nil || m != instA {
		t.Fatalf("Owner within the max age: %+v, %v", m, err)
	}
	now = t0.Add(11 * time.Second)
	if _, err := w.Owner("g", 0); !errors.Is(err, ErrStale) {
		t.Fatalf("Owner past the max age: %v, want ErrStale", err)
	}
}
