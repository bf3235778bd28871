package membership

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Group states as the broker reports them in DescribeGroups. Only
// StateStable carries member metadata and assignments.
const (
	StateStable              = "Stable"
	StatePreparingRebalance  = "PreparingRebalance"
	StateCompletingRebalance = "CompletingRebalance"
	// StateEmpty: the group exists (it has committed offsets) but no
	// member is running it.
	StateEmpty = "Empty"
	// StateDead: the group does not exist (or is being removed).
	StateDead = "Dead"
)

// Sentinel errors of Owner. Each is wrapped with the group, partition and
// state it concerns; test with errors.Is.
var (
	// ErrUnknownGroup: the watcher does not watch the group, or has not
	// read it from the broker successfully yet.
	ErrUnknownGroup = errors.New("membership: group not known yet")
	// ErrRebalancing: the group is not Stable (a rebalance is under way, or
	// no member runs it: Empty, Dead), or the partition is assigned to
	// nobody. It passes once the group settles; the HTTP layer answers 503
	// `rebalancing` with Retry-After.
	ErrRebalancing = errors.New("membership: group is rebalancing")
	// ErrUnroutable: the group is Stable and the partition is assigned, but
	// not to exactly one member carrying cartstream's member metadata: a
	// client other than cartstream joined the group and holds it (or a
	// broken assignor gave it to several members). No instance serves it
	// until the group rebalances.
	ErrUnroutable = errors.New("membership: partition not owned by a cartstream instance")
	// ErrStale: the watcher's last successful read of the group is older
	// than its maximum age (see WithMaxAge); DescribeGroups has been failing.
	ErrStale = errors.New("membership: view of the group is stale")
)

// Owner is the instance that owns one partition of a group.
type Owner struct {
	Member    Member `json:"member"`
	Partition int32  `json:"partition"`
}

// MemberView is one member of a group as the broker reports it.
type MemberView struct {
	// MemberID is the id the broker gave the member.
	MemberID string `json:"member_id"`
	// ClientID and ClientHost are what the member's client sent and where
	// it connected from.
	ClientID   string `json:"client_id"`
	ClientHost string `json:"client_host"`
	// Member is the instance the member belongs to, decoded from its
	// metadata's UserData. The broker returns metadata only while the
	// group is Stable; during a rebalance Member is carried over from the
	// last view that had the same member id, and is zero for a member not
	// seen before.
	Member Member `json:"member"`
	// Foreign is non-empty when the member's metadata carries no
	// cartstream member encoding: another client joined the group. It
	// says why (the decoding error). Foreign members are never owners.
	Foreign string `json:"foreign,omitempty"`
	// Partitions are the group partitions assigned to the member, sorted;
	// empty unless the group is Stable.
	Partitions []int32 `json:"partitions"`
	// Topics is the member's assignment as the broker reports it.
	Topics map[string][]int32 `json:"topics,omitempty"`
}

// GroupView is one group as the watcher last read it.
type GroupView struct {
	Group string `json:"group"`
	// State is the broker's group state (StateStable, ...).
	State string `json:"state"`
	// Rebalancing is true whenever State is not StateStable: Owner fails
	// for every partition.
	Rebalancing bool `json:"rebalancing"`
	// Members are sorted by instance id, then member id.
	Members []MemberView `json:"members"`
	// Owners are the routable owners, by partition.
	Owners []Owner `json:"owners"`
	// Unroutable are partitions assigned to a foreign member or to more
	// than one member (see ErrUnroutable).
	Unroutable []int32 `json:"unroutable,omitempty"`
	// Polled is when the request that produced this view was sent; the
	// view is at least as fresh as that.
	Polled time.Time `json:"polled_at"`
	// Err is why the latest poll of the group failed; empty when it
	// succeeded. On failure the rest of the view is the last good one.
	Err string `json:"error,omitempty"`
}

// rawMember is what the view needs of a DescribeGroups member, decoded
// from the consumer protocol.
type rawMember struct {
	memberID, clientID, clientHost string
	// meta and assign are nil when the broker returned none (the group is
	// not Stable) or they are not of the consumer protocol.
	meta   *kmsg.ConsumerMemberMetadata
	assign *kmsg.ConsumerMemberAssignment
}

// view is a GroupView with the owners indexed for Owner.
type view struct {
	GroupView
	owner      map[int32]Member
	unroutable map[int32]bool
}

// buildView turns a described group into a view. topic, when not empty, is
// the only topic whose partitions count as group partitions; otherwise every
// topic of a member's assignment does (see partitionsOf). prev, when not nil,
// is the group's previous view, whose member identities are carried over to
// members the broker returns without metadata.
func buildView(group, state string, members []rawMember, topic string, polled time.Time, prev *view) *view {
	v := &view{
		GroupView: GroupView{
			Group:       group,
			State:       state,
			Rebalancing: state != StateStable,
			Members:     make([]MemberView, 0, len(members)),
			Polled:      polled,
		},
		owner: map[int32]Member{},
	}
	claims := map[int32]int{}      // partition → members claiming it
	foreign := map[int32]bool{}    // partitions held by a foreign member
	routable := map[int32]Member{} // partition → last routable claimant
	for _, rm := range members {
		mv := MemberView{MemberID: rm.memberID, ClientID: rm.clientID, ClientHost: rm.clientHost}
		switch {
		case rm.meta != nil:
			m, err := DecodeUserData(rm.meta.UserData)
			if err != nil {
				mv.Foreign = err.Error()
			} else {
				mv.Member = m
			}
		case state == StateStable:
			// A Stable group returns every member's metadata; a member
			// without consumer-protocol metadata is not one of ours.
			mv.Foreign = "no consumer-protocol metadata"
		case prev != nil:
			for _, pm := range prev.Members {
				if pm.MemberID == rm.memberID {
					mv.Member, mv.Foreign = pm.Member, pm.Foreign
					break
				}
			}
		}
		if state == StateStable && rm.assign != nil {
			mv.Topics, mv.Partitions = partitionsOf(rm.assign, topic)
			for _, p := range mv.Partitions {
				claims[p]++
				if mv.Foreign != "" {
					foreign[p] = true
				} else {
					routable[p] = mv.Member
				}
			}
		}
		v.Members = append(v.Members, mv)
	}
	slices.SortFunc(v.Members, func(a, b MemberView) int {
		return cmp.Or(cmp.Compare(a.Member.InstanceID, b.Member.InstanceID), cmp.Compare(a.MemberID, b.MemberID))
	})
	v.Owners = []Owner{}
	for p, n := range claims {
		if n == 1 && !foreign[p] {
			v.owner[p] = routable[p]
			v.Owners = append(v.Owners, Owner{Member: routable[p], Partition: p})
			continue
		}
		if v.unroutable == nil {
			v.unroutable = map[int32]bool{}
		}
		v.unroutable[p] = true
		v.Unroutable = append(v.Unroutable, p)
	}
	slices.SortFunc(v.Owners, func(a, b Owner) int { return cmp.Compare(a.Partition, b.Partition) })
	slices.Sort(v.Unroutable)
	return v
}

// partitionsOf returns a member's assignment by topic and its group
// partitions: those of topic when given, else the union over every assigned
// topic. Under goka's copartitioning strategy every topic a member is
// assigned comes with the same partition numbers, so the union is the
// partitions of any one of them; taking the union rather than "the first
// topic" does not depend on the order topics are encoded in (sarama writes
// them from a Go map), and during a rolling upgrade that adds an input topic
// (goka's CopartitioningStrategy tolerates members with different topic
// sets) it still names every partition the member processes.
func partitionsOf(a *kmsg.ConsumerMemberAssignment, topic string) (map[string][]int32, []int32) {
	var (
		topics map[string][]int32
		parts  []int32
	)
	for _, t := range a.Topics {
		if topics == nil {
			topics = make(map[string][]int32, len(a.Topics))
		}
		ps := slices.Clone(t.Partitions)
		slices.Sort(ps)
		topics[t.Topic] = append(topics[t.Topic], ps...)
		if topic == "" || t.Topic == topic {
			parts = append(parts, ps...)
		}
	}
	slices.Sort(parts)
	return topics, slices.Compact(parts)
}

// lookup is Owner on one view at time now; maxAge <= 0 disables the
// staleness check.
func (v *view) lookup(partition int32, now time.Time, maxAge time.Duration) (Member, error) {
	if age := now.Sub(v.Polled); maxAge > 0 && age > maxAge {
		why := ""
		if v.Err != "" {
			why = "; latest poll: " + v.Err
		}
		return Member{}, fmt.Errorf("%w: group %s last read %v ago%s", ErrStale, v.Group, age.Round(time.Millisecond), why)
	}
	if v.State != StateStable {
		return Member{}, fmt.Errorf("%w: group %s is %s", ErrRebalancing, v.Group, v.State)
	}
	if m, ok := v.owner[partition]; ok {
		return m, nil
	}
	if v.unroutable[partition] {
		return Member{}, fmt.Errorf("%w: group %s partition %d", ErrUnroutable, v.Group, partition)
	}
	return Member{}, fmt.Errorf("%w: group %s partition %d has no owner", ErrRebalancing, v.Group, partition)
}

// clone returns a deep copy of the exported view, for Snapshot.
func (g GroupView) clone() GroupView {
	c := g
	c.Members = make([]MemberView, len(g.Members))
	for i, m := range g.Members {
		m.Partitions = slices.Clone(m.Partitions)
		if m.Topics != nil {
			t := make(map[string][]int32, len(m.Topics))
			for k, ps := range m.Topics {
				t[k] = slices.Clone(ps)
			}
			m.Topics = t
		}
		c.Members[i] = m
	}
	c.Owners = slices.Clone(g.Owners)
	c.Unroutable = slices.Clone(g.Unroutable)
	return c
}
