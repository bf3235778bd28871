package replay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cartstream/internal/membership"
)

// ErrLiveMembers is wrapped when a group has members a reset would race:
// they would commit offsets over the reset and write to the changelog
// being truncated.
var ErrLiveMembers = errors.New("replay: the group has live members; stop every instance first")

// DefaultForceWait is how long --force watches a group after evicting its
// members. A live goka member notices its eviction at its next heartbeat
// (sarama: every 3 s) and rejoins after goka's 5 s back-off; a dead one
// never comes back.
const DefaultForceWait = 15 * time.Second

// Member is one member of a group as the coordinator describes it.
type Member struct {
	MemberID   string
	InstanceID string // group.instance.id of a static member (KIP-345); "" when dynamic
	ClientID   string
	Host       string
	// Cartstream is what the member's metadata says about its instance
	// (zero when it is not a cartstream instance, or the group is not
	// Stable, when the broker returns no metadata).
	Cartstream membership.Member
}

func (m Member) String() string {
	var parts []string
	if m.Cartstream.InstanceID != "" {
		parts = append(parts, "instance "+m.Cartstream.InstanceID)
	}
	if m.InstanceID != "" {
		parts = append(parts, "static id "+m.InstanceID)
	}
	parts = append(parts, "member "+m.MemberID, "client "+m.ClientID, "host "+m.Host)
	if m.Cartstream.HTTP != "" {
		parts = append(parts, "http "+m.Cartstream.HTTP)
	}
	return strings.Join(parts, ", ")
}

// Members returns a group's members and state.
func Members(ctx context.Context, adm *kadm.Client, groupID string) ([]Member, string, error) {
	ds, err := adm.DescribeGroups(ctx, groupID)
	if err != nil {
		return nil, "", fmt.Errorf("replay: describe group %s: %w", groupID, err)
	}
	d, ok := ds[groupID]
	if !ok {
		return nil, "", nil
	}
	if d.Err != nil {
		if errors.Is(d.Err, kerr.GroupIDNotFound) {
			return nil, "Dead", nil
		}
		return nil, "", fmt.Errorf("replay: describe group %s: %w", groupID, d.Err)
	}
	out := make([]Member, 0, len(d.Members))
	for _, m := range d.Members {
		mm := Member{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
		if m.InstanceID != nil {
			mm.InstanceID = *m.InstanceID
		}
		if meta, ok := m.Join.AsConsumer(); ok {
			if cm, err := membership.DecodeUserData(meta.UserData); err == nil {
				mm.Cartstream = cm
			}
		}
		out = append(out, mm)
	}
	return out, d.State, nil
}

// StopCheck says how CheckStopped treats a group that has members.
type StopCheck struct {
	// Force evicts members that prove dead (see CheckStopped).
	Force bool
	// Wait is how long to watch for evicted members coming back; default
	// DefaultForceWait.
	Wait time.Duration
	// Probe reports whether a member's advertised HTTP address answers
	// (default: GET http://<addr>/healthz within 2 s).
	Probe func(ctx context.Context, addr string) bool
	// Log receives progress lines (may be nil).
	Log func(format string, args ...any)
}

// CheckStopped returns nil when the group has no members. Otherwise,
// without Force it returns ErrLiveMembers naming them. With Force:
//
//  1. a member advertising an HTTP address that answers is alive: refuse
//     without touching the group;
//  2. every member is evicted with LeaveGroup (KIP-345): static members by
//     their group.instance.id, dynamic ones by member id;
//  3. the group is watched for Wait: a member that rejoins is alive (an
//     evicted live member rejoins at its next heartbeat), so refuse;
//     otherwise the members were dead (killed processes whose sessions had
//     not timed out, or static members, which do not leave on a clean
//     stop) and the reset may go on.
//
// A rejoining member costs the live group one rebalance; nothing has been
// changed when CheckStopped refuses.
func CheckStopped(ctx context.Context, cl *kgo.Client, adm *kadm.Client, groupID string, sc StopCheck) error {
	logf := sc.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	members, state, err := Members(ctx, adm, groupID)
	if err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	list := func(ms []Member) string {
		lines := make([]string, len(ms))
		for i, m := range ms {
			lines[i] = "  " + m.String()
		}
		return strings.Join(lines, "\n")
	}
	if !sc.Force {
		return fmt.Errorf("%w: %s is %s with %d members:\n%s\n(--force evicts members that prove dead)", ErrLiveMembers, groupID, state, len(members), list(members))
	}
	probe := sc.Probe
	if probe == nil {
		probe = probeHTTP
	}
	for _, m := range members {
		if m.Cartstream.HTTP != "" && probe(ctx, m.Cartstream.HTTP) {
			return fmt.Errorf("%w: %s: instance %s answers at %s; --force evicts only dead members", ErrLiveMembers, groupID, m.Cartstream.InstanceID, m.Cartstream.HTTP)
		}
	}
	logf("evicting %d members of %s:\n%s", len(members), groupID, list(members))
	if err := evict(ctx, cl, adm, groupID, members); err != nil {
		return err
	}
	wait := sc.Wait
	if wait <= 0 {
		wait = DefaultForceWait
	}
	logf("watching %s for %s: a live member would rejoin", groupID, wait)
	deadline := time.Now().Add(wait)
	for {
		back, state, err := Members(ctx, adm, groupID)
		if err != nil {
			return err
		}
		if len(back) > 0 {
			return fmt.Errorf("%w: %s: members rejoined after eviction (%s), so they are alive:\n%s", ErrLiveMembers, groupID, state, list(back))
		}
		if time.Now().After(deadline) {
			logf("no member came back; %s is empty", groupID)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// evict removes members with one LeaveGroup (v3+): static members by
// instance id, dynamic ones by member id (kadm.LeaveGroup knows only
// instance ids).
func evict(ctx context.Context, cl *kgo.Client, adm *kadm.Client, groupID string, members []Member) error {
	var static []string
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = groupID
	for _, m := range members {
		if m.InstanceID != "" {
			static = append(static, m.InstanceID)
			continue
		}
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = m.MemberID
		reason := "cartstream replay --force"
		lm.Reason = &reason
		req.Members = append(req.Members, lm)
	}
	if len(static) > 0 {
		rs, err := adm.LeaveGroup(ctx, kadm.LeaveGroup(groupID).InstanceIDs(static...).Reason("cartstream replay --force"))
		if err != nil {
			return fmt.Errorf("replay: evict static members of %s: %w", groupID, err)
		}
		if err := rs.Error(); err != nil {
			return fmt.Errorf("replay: evict static members of %s: %w", groupID, err)
		}
	}
	if len(req.Members) > 0 {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return fmt.Errorf("replay: evict members of %s: %w", groupID, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return fmt.Errorf("replay: evict members of %s: %w", groupID, err)
		}
		for _, m := range resp.Members {
			if err := kerr.ErrorForCode(m.ErrorCode); err != nil && !errors.Is(err, kerr.UnknownMemberID) {
				return fmt.Errorf("replay: evict member %s of %s: %w", m.MemberID, groupID, err)
			}
		}
	}
	return nil
}

func probeHTTP(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, scheme := range []string{"http", "https"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/healthz", nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return true
		}
	}
	return false
}
