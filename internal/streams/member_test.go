package streams

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"

	"cartstream/internal/membership"
)

// TestConsumerGroupConfigCarriesMember checks what the consumer-group
// builder gives sarama: the member's encoding as UserData with an instance
// id, none without, and cartstream's other settings untouched.
func TestConsumerGroupConfigCarriesMember(t *testing.T) {
	m := membership.Member{InstanceID: "inst-a", HTTP: "10.0.0.1:8080"}
	f := NewFactory(Config{InstanceID: m.InstanceID, AdvertisedHTTP: m.HTTP})
	if got := f.Member(); got != m {
		t.Fatalf("Member() = %+v, want %+v", got, m)
	}
	c := f.consumerGroupConfig("client")
	if !bytes.Equal(c.Consumer.Group.Member.UserData, membership.EncodeUserData(m)) {
		t.Fatalf("UserData = %q, want the encoding of %+v", c.Consumer.Group.Member.UserData, m)
	}
	if c.Version != saramaVersion() || c.ClientID != "client" {
		t.Fatalf("consumer group config lost SaramaConfig's settings: version %s, client id %q", c.Version, c.ClientID)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("consumer group config is invalid: %v", err)
	}

	anon := NewFactory(Config{})
	if ud := anon.consumerGroupConfig("client").Consumer.Group.Member.UserData; ud != nil {
		t.Fatalf("a factory without an instance id sets UserData %q, want none", ud)
	}
	if got := anon.Member(); got != (membership.Member{}) {
		t.Fatalf("Member() without an instance id = %+v, want zero", got)
	}
}

// TestNewProcessorRejectsUnencodableMember: a member that cannot be carried
// in metadata fails the build rather than joining the group anonymously.
func TestNewProcessorRejectsUnencodableMember(t *testing.T) {
	f := NewFactory(Config{InstanceID: "inst", AdvertisedHTTP: strings.Repeat("x", membership.MaxFieldLen+1)})
	gg := countingGraph("member-reject", "member-reject-input", new(atomic.Int64))
	if _, err := f.NewProcessor(gg, ProcessorOptions{}); err == nil {
		t.Fatal("NewProcessor accepted an advertised address longer than membership.MaxFieldLen")
	}
}

// TestProcessorsCarryMemberUserData runs goka processors built by two
// factories against the embedded broker over TCP and reads the group back
// with DescribeGroups: each member's metadata carries its factory's Member,
// under goka's copartitioning protocol. The second processor's join makes the
// first rejoin; that its UserData survives proves sarama sends
// Member.UserData in every JoinGroup, not only the first (sarama replaces it
// with the assignment's UserData after SyncGroup when that is non-nil, and
// goka's strategy returns nil).
func TestProcessorsCarryMemberUserData(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	b := startKfakeRegBroker(ctx, t)
	_, adm := newKfakeRegClient(t, b.Addr())

	const group goka.Group = "member-userdata"
	input := goka.Stream("member-userdata-input")
	if err := createKfakeRegTopics(ctx, adm, 2, string(input), string(goka.GroupTable(group))); err != nil {
		t.Fatal(err)
	}
	members := []membership.Member{
		{InstanceID: "inst-a", HTTP: "10.0.0.1:8080"},
		{InstanceID: "inst-b", HTTP: "10.0.0.2:8080"},
	}
	logs := newKfakeRegLogger(t)
	runs := newKfakeRegRuns()
	runCtx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		if err := runs.wait(kfakeRegStop); err != nil {
			t.Error(err)
		}
		logs.close()
	}()

	for i, m := range members {
		f := NewFactory(Config{
			Brokers: []string{b.Addr()}, InstanceID: m.InstanceID, AdvertisedHTTP: m.HTTP,
			DataDir: t.TempDir(),
		})
		p, err := f.NewProcessor(countingGraph(group, input, new(atomic.Int64)), ProcessorOptions{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		runs.start(runCtx, m.InstanceID, p.Run)
		want := members[:i+1]
		err = waitGroup(ctx, adm, string(group), runs.errs, func(d kadm.DescribedGroup) error {
			return checkMembers(d, want)
		})
		if err != nil {
			t.Fatalf("after starting %s: %v", m.InstanceID, err)
		}
		t.Logf("group stable with %d members carrying their UserData %v after starting %s", len(want), time.Since(start).Round(time.Millisecond), m.InstanceID)
	}
}

// checkMembers reports why d is not a Stable copartitioning group whose
// members carry exactly want in their metadata UserData.
func checkMembers(d kadm.DescribedGroup, want []membership.Member) error {
	if d.Err != nil {
		return d.Err
	}
	if d.State != "Stable" || len(d.Members) != len(want) {
		return fmt.Errorf("state %s with %d members, want Stable with %d", d.State, len(d.Members), len(want))
	}
	if d.Protocol != goka.CopartitioningStrategy.Name() {
		return fmt.Errorf("protocol %q, want %q", d.Protocol, goka.CopartitioningStrategy.Name())
	}
	seen := map[membership.Member]bool{}
	for _, dm := range d.Members {
		meta, ok := dm.Join.AsConsumer()
		if !ok {
			return fmt.Errorf("member %s: no consumer-protocol metadata", dm.MemberID)
		}
		m, err := membership.DecodeUserData(meta.UserData)
		if err != nil {
			return fmt.Errorf("member %s (client %s): UserData %q: %v", dm.MemberID, dm.ClientID, meta.UserData, err)
		}
		seen[m] = true
	}
	for _, m := range want {
		if !seen[m] {
			return fmt.Errorf("no member carries %+v (have %v)", m, seen)
		}
	}
	return nil
}

// waitGroup describes group until check accepts it, a run fails or ctx ends.
func waitGroup(ctx context.Context, adm *kadm.Client, group string, errs <-chan error, check func(kadm.DescribedGroup) error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := fmt.Errorf("not described yet")
	for {
		ds, err := adm.DescribeGroups(ctx, group)
		if err == nil {
			last = check(ds[group])
			if last == nil {
				return nil
			}
		}
		select {
		case err := <-errs:
			return fmt.Errorf("%w; group: %v", err, last)
		case <-ctx.Done():
			return fmt.Errorf("%w; group: %v", ctx.Err(), last)
		case <-tick.C:
		}
	}
}
