//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestReplayCartsAcrossProcesses drives the real binary as an operator
// would: replay refuses while `cartstream run` holds the data directory;
// after SIGTERM a reset to the earliest offsets goes through; the restarted
// instance rebuilds the carts, sends no reservation command again, and
// verify finds every partition equal.
func TestReplayCartsAcrossProcesses(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	kafka, httpAddr := freeAddr(t), freeAddr(t)
	args := []string{"run", "--data-dir", dir, "--kafka-listen", kafka, "--http-listen", httpAddr, "--partitions", "2"}
	replayCmd := func(extra ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"replay", "--data-dir", dir, "--partitions", "2"}, extra...)...).CombinedOutput()
		return string(out), err
	}

	p := start(t, bin, args...)
	waitReady(t, p, httpAddr, 30*time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafka))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	var recs []*kgo.Record
	for i := range 8 {
		cart := fmt.Sprint("e2e-cart-", i)
		for j, typ := range []string{"item_added", "item_added", "checkout_started"} {
			v := fmt.Sprintf(`{"event_id":"%s-%d","cart_id":%q,"type":%q,"sku":"SKU-%05d","qty":1,"checkout_id":"k-%d","currency":"USD"}`, cart, j, cart, typ, 1+j, i)
			recs = append(recs, &kgo.Record{Topic: "cart-events", Key: []byte(cart), Value: []byte(v)})
		}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	caughtUp := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ends, _ := adm.ListEndOffsets(context.Background(), "cart-events")
			c, _ := adm.FetchOffsets(context.Background(), "cartstream-carts")
			behind := false
			ends.Each(func(o kadm.ListedOffset) {
				if co, ok := c.Lookup(o.Topic, o.Partition); !ok || co.At < o.Offset {
					behind = true
				}
			})
			if !behind {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("carts did not catch up")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	caughtUp()
	time.Sleep(2 * time.Second) // the inventory answers, results come back
	countCommands := func() int64 {
		ends, _ := adm.ListEndOffsets(context.Background(), "cartstream.reservations")
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	commands := countCommands()
	if commands == 0 {
		t.Fatal("no reservation commands in the first run")
	}
	cl.Close()

	if out, err := replayCmd("--group", "carts", "--to-earliest"); err == nil || !strings.Contains(out, "in use") {
		t.Fatalf("replay while running: %v\n%s", err, out)
	}
	if _, err := p.stop(t, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if out, err := replayCmd("--group", "carts", "--to-earliest", "--dry-run"); err != nil || !strings.Contains(out, "dry run: nothing changed") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out, err := replayCmd("--group", "carts", "--to-earliest"); err != nil || !strings.Contains(out, "reset carts to --to-earliest (epoch 1)") {
		t.Fatalf("replay: %v\n%s", err, out)
	}

	p = start(t, bin, args...)
	waitReady(t, p, httpAddr, 30*time.Second)
	cl, err = kgo.NewClient(kgo.SeedBrokers(kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm = kadm.NewClient(cl)
	caughtUp()
	time.Sleep(time.Second)
	if c := countCommands(); c != commands {
		t.Errorf("%d reservation commands after the replay, want the first run's %d", c, commands)
	}
	if _, err := p.stop(t, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	out, err := replayCmd("--verify", "--group", "carts")
	if err != nil || !strings.Contains(out, "all partitions equal") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}
