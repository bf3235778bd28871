package replay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/config"
	"cartstream/internal/instance"
	"cartstream/internal/kafkasec"
	"cartstream/internal/replay"
	"cartstream/processors/carts"
	"cartstream/topology"
)

const testPartitions = 2

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// running is an in-process instance (embedded broker, every processor).
type running struct {
	kafka, http string
	cancel      context.CancelFunc
	done        chan error
}

func startInstance(t *testing.T, dataDir string, seed bool, extra ...string) *running {
	t.Helper()
	var cfg config.Config
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	cfg.RegisterRun(fs)
	r := &running{kafka: freeAddr(t), http: freeAddr(t), done: make(chan error, 1)}
	args := append([]string{"--data-dir", dataDir, "--kafka-listen", r.kafka, "--http-listen", r.http,
		"--partitions", fmt.Sprint(testPartitions), fmt.Sprintf("--seed=%v", seed), "--log-level", "error"}, extra...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	in, err := instance.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- in.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("instance not ready within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("instance: %v", err)
	}
}

func client(t *testing.T, addr string) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

func produce(t *testing.T, cl *kgo.Client, topic string, kv ...string) {
	t.Helper()
	var recs []*kgo.Record
	for i := 0; i < len(kv); i += 2 {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func cartEvent(id, cart, typ, fields string) (string, string) {
	return cart, fmt.Sprintf(`{"event_id":%q,"cart_id":%q,"type":%q,"currency":"USD"%s}`, id, cart, typ, fields)
}

// someEvents are cart events for a few carts; carts 0, 3 and 6 start a
// checkout (the inventory answers, so commands, results and statuses flow).
func someEvents(prefix string, carts int) []string {
	var kv []string
	for i := range carts {
		cart := fmt.Sprintf("%s-cart-%d", prefix, i)
		for j := range 3 {
			k, v := cartEvent(fmt.Sprintf("%s-%d-%d", prefix, i, j), cart, "item_added", fmt.Sprintf(`,"sku":"SKU-%05d","qty":%d`, 1+(i+j)%20, 1+j))
			kv = append(kv, k, v)
		}
		k, v := cartEvent(fmt.Sprintf("%s-%d-c", prefix, i), cart, "coupon_applied", `,"code":"SAVE10"`)
		kv = append(kv, k, v)
		if i%3 == 0 {
			k, v := cartEvent(fmt.Sprintf("%s-%d-k", prefix, i), cart, "checkout_started", fmt.Sprintf(`,"checkout_id":"%s-k-%d"`, prefix, i))
			kv = append(kv, k, v)
		}
	}
	return kv
}

// waitCaughtUp waits until group has committed the end of every partition
// of topics.
func waitCaughtUp(t *testing.T, adm *kadm.Client, group string, topics ...string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		behind := 0
		ends.Each(func(o kadm.ListedOffset) {
			if c, ok := committed.Lookup(o.Topic, o.Partition); !ok || c.At < o.Offset {
				behind++
			}
		})
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still behind on %d partitions of %v", group, behind, topics)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count counts the records of a topic.
func count(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	ctx := context.Background()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		s, _ := starts.Lookup(o.Topic, o.Partition)
		n += o.Offset - s.Offset
	})
	return n
}

func verify(t *testing.T, dataDir string, group, override string) (replay.VerifyResult, string, error) {
	t.Helper()
	ctx := context.Background()
	conn, err := replay.Connect(ctx, kafkasec.Cluster{}, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out strings.Builder
	res, err := replay.Verify(ctx, replay.VerifyConfig{Conn: conn, Topology: topology.New(topology.Config{Partitions: testPartitions}),
		Group: group, Override: override, Out: &out})
	return res, out.String(), err
}

func digests(res replay.VerifyResult) string {
	var b strings.Builder
	for _, p := range res.Partitions {
		fmt.Fprintf(&b, "%d:%s:%d ", p.Partition, p.Digest, p.LiveKeys)
	}
	return b.String()
}

// TestReplayCartsToEarliest: a real reset of carts to the earliest offsets
// truncates its changelog and wipes its local stores; the restarted group
// rebuilds identical carts (equal digests, verify equal), re-emits offers,
// and sends no command or status again for the old records, while new
// records past the boundary send them as usual.
func TestReplayCartsToEarliest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	topo := topology.New(topology.Config{Partitions: testPartitions})
	n := topo.Names
	g, _ := topo.Group(topology.GroupCarts)

	first := startInstance(t, dir, true)
	cl, adm := client(t, first.kafka)
	produce(t, cl, n.CartEvents, someEvents("a", 12)...)
	waitCaughtUp(t, adm, g.ID, n.CartEvents)
	time.Sleep(time.Second) // results come back and are processed
	waitCaughtUp(t, adm, g.ID, n.CartEvents, n.ReservationRes)
	commands, statuses, offers := count(t, adm, n.Reservations), count(t, adm, n.Checkouts), count(t, adm, n.Offers)
	if commands == 0 || statuses == 0 {
		t.Fatalf("the first run sent %d commands and %d statuses; the test needs some", commands, statuses)
	}
	cl.Close()
	first.stop(t)

	before, report, err := verify(t, dir, topology.GroupCarts, "")
	if err != nil {
		t.Fatalf("verify after the first run: %v\n%s", err, report)
	}

	// The reset.
	conn, err := replay.Connect(ctx, kafkasec.Cluster{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := replay.NewPlan(ctx, replay.PlanConfig{Brokers: conn.Brokers, Admin: conn.Admin, Topology: topo,
		Group: topology.GroupCarts, Scenario: replay.Scenario{Kind: replay.ToEarliest}, DataDir: dir, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.LocalDirs) != testPartitions || len(plan.Changelog) != testPartitions || len(plan.Boundary) == 0 || plan.DropsEarlier {
		t.Fatalf("plan: %+v", plan)
	}
	if err := replay.CheckStopped(ctx, conn.Client, conn.Admin, g.ID, replay.StopCheck{}); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	rs, err := replay.Execute(ctx, replay.ExecConfig{Client: conn.Client, Admin: conn.Admin, Topology: topo, Plan: plan, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reset of carts (%d input records) in %s", before.Records, time.Since(started))
	if rs.Epoch != 1 {
		t.Errorf("epoch %d, want 1", rs.Epoch)
	}
	starts, err := conn.Admin.ListStartOffsets(ctx, g.Table)
	if err != nil {
		t.Fatal(err)
	}
	ends, _ := conn.Admin.ListEndOffsets(ctx, g.Table)
	ends.Each(func(o kadm.ListedOffset) {
		if s, _ := starts.Lookup(o.Topic, o.Partition); s.Offset != o.Offset {
			t.Errorf("changelog partition %d not truncated: %d..%d", o.Partition, s.Offset, o.Offset)
		}
	})
	for _, d := range plan.LocalDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s not wiped", d)
		}
	}
	conn.Close()

	// The restart re-processes everything.
	second := startInstance(t, dir, true)
	cl, adm = client(t, second.kafka)
	waitCaughtUp(t, adm, g.ID, n.CartEvents, n.ReservationRes)
	time.Sleep(500 * time.Millisecond)
	if c, s := count(t, adm, n.Reservations), count(t, adm, n.Checkouts); c != commands || s != statuses {
		t.Errorf("after the replay: %d commands, %d statuses; want the first run's %d and %d (nothing sent again)", c, s, commands, statuses)
	}
	if o := count(t, adm, n.Offers); o != 2*offers {
		t.Errorf("after the replay: %d offers, want the first run's %d twice", o, offers)
	}
	cl.Close()
	second.stop(t)
	after, report, err := verify(t, dir, topology.GroupCarts, "")
	if err != nil {
		t.Fatalf("verify after the replay: %v\n%s", err, report)
	}
	if digests(after) != digests(before) {
		t.Errorf("digests differ:\nbefore %s\nafter  %s", digests(before), digests(after))
	}
	t.Logf("verify: %d records in %s", after.Records+after.Changelog, after.Elapsed)

	// New records past the boundary decide as usual.
	third := startInstance(t, dir, true)
	cl, adm = client(t, third.kafka)
	produce(t, cl, n.CartEvents, someEvents("b", 3)...)
	waitCaughtUp(t, adm, g.ID, n.CartEvents)
	deadline := time.Now().Add(20 * time.Second)
	for count(t, adm, n.Reservations) == commands || count(t, adm, n.Checkouts) == statuses {
		if time.Now().After(deadline) {
			t.Fatal("new checkouts past the boundary sent no commands or statuses")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestVerifyAndOverride: verify is equal after a clean run, names the key
// whose changelog value was corrupted, and --promotions-override reports how
// offers would change. inventory's inputs cannot be reset.
func TestVerifyAndOverride(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	topo := topology.New(topology.Config{Partitions: testPartitions})
	n := topo.Names
	g, _ := topo.Group(topology.GroupCarts)

	r := startInstance(t, dir, true)
	cl, adm := client(t, r.kafka)
	produce(t, cl, n.CartEvents, someEvents("v", 10)...)
	waitCaughtUp(t, adm, g.ID, n.CartEvents)
	cdcg, _ := topo.Group(topology.GroupCDCProducts)
	waitCaughtUp(t, adm, cdcg.ID, n.Products)
	cl.Close()
	r.stop(t)

	for _, group := range []string{topology.GroupCarts, topology.GroupCDCProducts, topology.GroupCDCPromotions} {
		res, report, err := verify(t, dir, group, "")
		if err != nil || !strings.Contains(report, "all partitions equal") {
			t.Fatalf("verify %s after a clean run: %v\n%s", group, err, report)
		}
		t.Logf("verify %s: %d input and %d changelog records in %s", group, res.Records, res.Changelog, res.Elapsed)
	}

	// Every cart gets 10% off instead of the demo promotions.
	override := filepath.Join(t.TempDir(), "promotions.jsonl")
	if err := os.WriteFile(override, []byte(`{"id":"P-ALL","name":"all","active":true,"priority":1,"stacking":"stackable","coupon_code":null,"valid_from":null,"valid_until":null,"segments":[],"currency":"USD","condition":{},"target":{},"effect":{"type":"percent_off","bps":1000},"max_discount":null}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, report, err := verify(t, dir, topology.GroupCarts, override)
	if err != nil {
		t.Fatalf("verify with override: %v\n%s", err, report)
	}
	ov := res.Override
	if ov == nil || ov.Carts != 10 || ov.CartsAffected == 0 || ov.Offers != int(res.Records) || ov.After["USD"] <= 0 || ov.Before["USD"] == ov.After["USD"] {
		t.Fatalf("override report %+v\n%s", ov, report)
	}
	for _, want := range []string{"carts affected:", "total discount USD:", "offers re-evaluated:"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	t.Logf("override report:\n%s", report[strings.Index(report, "promotions override"):])

	// Corrupt one cart in the changelog.
	conn, err := replay.Connect(ctx, kafkasec.Cluster{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replay.NewPlan(ctx, replay.PlanConfig{Brokers: conn.Brokers, Admin: conn.Admin, Topology: topo,
		Group: topology.GroupInventory, Scenario: replay.Scenario{Kind: replay.ToEarliest}, DataDir: dir}); !errors.Is(err, replay.ErrNotReplayable) {
		t.Errorf("an inventory reset: err %v, want ErrNotReplayable", err)
	}
	p, err := replay.NewPlan(ctx, replay.PlanConfig{Brokers: conn.Brokers, Admin: conn.Admin, Topology: topo,
		Group: topology.GroupInventory, DataDir: dir})
	if err != nil || !p.LocalOnly || len(p.LocalDirs) != testPartitions || len(p.Changelog) != 0 {
		t.Errorf("inventory local rebuild plan: %+v, %v", p, err)
	}
	victim := "v-cart-4"
	var value []byte
	var part int32
	ranges, err := conn.Admin.ListEndOffsets(ctx, g.Table)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(conn.Brokers...), kgo.ConsumeTopics(g.Table), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ranges.Each(func(o kadm.ListedOffset) { total += o.Offset })
	for seen := int64(0); seen < total; {
		fs := cons.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			if string(r.Key) == victim {
				value, part = r.Value, r.Partition
			}
		})
	}
	cons.Close()
	if value == nil {
		t.Fatal("victim cart not in the changelog")
	}
	stored, err := carts.DecodeCart(value)
	if err != nil || len(stored.Lines) == 0 {
		t.Fatalf("victim cart %+v: %v", stored, err)
	}
	stored.Lines[0].Qty += 90
	bad, err := stored.Encode()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(conn.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: g.Table, Partition: part, Key: []byte(victim), Value: bad}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	prod.Close()
	conn.Close()
	res, report, err = verify(t, dir, topology.GroupCarts, "")
	if !errors.Is(err, replay.ErrDifferent) {
		t.Fatalf("verify after corruption: %v\n%s", err, report)
	}
	for _, pr := range res.Partitions {
		if pr.Partition == part && (pr.Differing != 1 || len(pr.Diffs) != 1 || pr.Diffs[0].Key != victim) {
			t.Errorf("partition %d: %+v", part, pr)
		}
		if pr.Partition != part && !pr.Equal() {
			t.Errorf("partition %d differs: %+v", pr.Partition, pr)
		}
	}
	if !strings.Contains(report, "DIFFERENT") || !strings.Contains(report, victim) {
		t.Errorf("report does not name the key:\n%s", report)
	}
}
