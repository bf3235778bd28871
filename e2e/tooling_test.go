//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/registry/registrytest"
	"cartstream/internal/shopsim"
)

// TestReplayWithStandaloneBroker is the replay acceptance check against a
// standalone `cartstream broker`: a few thousand events produced with
// `cartstream produce`, state captured through the HTTP API, the instance
// stopped, a dry run that moves no offsets, `replay --to-earliest`, a
// restart that rebuilds identical state without new reservation commands,
// and `replay --verify` reporting every partition equal.
func TestReplayWithStandaloneBroker(t *testing.T) {
	bin := binary(t)
	kafkaAddr := freeAddr(t)
	start(t, bin, "broker", "--data-dir", t.TempDir(), "--listen", kafkaAddr)
	waitTCP(t, kafkaAddr, 20*time.Second)
	httpAddr, dataDir := freeAddr(t), t.TempDir()
	runArgs := []string{"run", "--brokers", kafkaAddr, "--http-listen", httpAddr, "--data-dir", dataDir, "--partitions", "4", "--instance-id", "replay-a"}
	p := start(t, bin, runArgs...)
	waitReady(t, p, httpAddr, 60*time.Second)

	sim := shopsim.New(3, shopsim.Options{Start: time.Now().UTC().Add(-time.Minute).Truncate(time.Second)})
	for i, sku := range []string{"R-1", "R-2", "R-3"} {
		recs, err := sim.AddProduct(shopsim.Product{SKU: sku, Name: "Thing " + sku, Category: "misc", Brand: "Acme",
			Price: mustAmount(t, "10.00"), Currency: "USD", Active: true}, int32(200+100*i))
		if err != nil {
			t.Fatal(err)
		}
		produceKcat(t, kafkaAddr, recs...)
	}
	for _, sku := range []string{"R-1", "R-2", "R-3"} {
		waitGet(t, "http://"+httpAddr+"/v1/inventory/"+sku, func(r response) bool { return r.code == 200 && strings.Contains(r.body, `"known":true`) })
	}

	const carts = 400
	var lines strings.Builder
	events := 0
	for i := range carts {
		id := fmt.Sprintf("rc-%03d", i)
		for j := range 6 {
			fmt.Fprintf(&lines, `{"event_id":"%s-%d","cart_id":"%s","type":"item_added","sku":"R-%d","qty":1,"currency":"USD"}`+"\n", id, j, id, 1+(i+j)%3)
			events++
		}
		if i%5 == 0 {
			fmt.Fprintf(&lines, `{"event_id":"%s-co","cart_id":"%s","type":"checkout_started","checkout_id":"co-%s"}`+"\n", id, id, id)
			events++
		}
	}
	cmd := exec.Command(bin, "produce", "--brokers", kafkaAddr)
	cmd.Stdin = strings.NewReader(lines.String())
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), fmt.Sprintf("produced=%d", events)) {
		t.Fatalf("produce: %v\n%s", err, out)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	caughtUp := func() {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			ends, _ := adm.ListEndOffsets(ctx, "cart-events", "cartstream.reservation-results")
			c, _ := adm.FetchOffsets(ctx, "cartstream-carts")
			behind := false
			ends.Each(func(o kadm.ListedOffset) {
				if co, ok := c.Lookup(o.Topic, o.Partition); o.Offset > 0 && (!ok || co.At < o.Offset) {
					behind = true
				}
			})
			if !behind {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("carts did not catch up")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	capture := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for i := range carts {
			id := fmt.Sprintf("rc-%03d", i)
			out[id] = waitGet(t, "http://"+httpAddr+"/v1/carts/"+id, func(r response) bool { return r.code == 200 && checkoutSettled(r.body) }).body
		}
		return out
	}
	commandCount := func() int64 {
		ends, err := adm.ListEndOffsets(ctx, "cartstream.reservations")
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	committed := func() string {
		c, err := adm.FetchOffsets(ctx, "cartstream-carts")
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		c.Each(func(o kadm.OffsetResponse) {
			parts = append(parts, fmt.Sprintf("%s/%d=%d", o.Topic, o.Partition, o.At))
		})
		return strings.Join(sortedStrings(parts), " ")
	}

	caughtUp()
	time.Sleep(2 * time.Second) // the last results come back
	caughtUp()
	before := capture()
	commands := commandCount()
	if commands == 0 {
		t.Fatal("no reservation commands were sent")
	}
	var sample struct {
		CartVersion int64 `json:"cart_version"`
	}
	if err := json.Unmarshal([]byte(before["rc-000"]), &sample); err != nil || sample.CartVersion != 7 {
		t.Fatalf("cart rc-000 before the replay: %s", before["rc-000"])
	}
	if _, err := p.stop(t, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}

	replay := func(extra ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"replay", "--brokers", kafkaAddr, "--data-dir", dataDir}, extra...)...).CombinedOutput()
		return string(out), err
	}
	offsetsBefore := committed()
	if out, err := replay("--group", "carts", "--to-earliest", "--dry-run"); err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if after := committed(); after != offsetsBefore {
		t.Fatalf("the dry run moved offsets:\n before %s\n after  %s", offsetsBefore, after)
	}
	if out, err := replay("--group", "carts", "--to-earliest"); err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	if committed() == offsetsBefore {
		t.Fatal("the replay moved no offsets")
	}

	p = start(t, bin, runArgs...)
	waitReady(t, p, httpAddr, 60*time.Second)
	caughtUp()
	time.Sleep(time.Second)
	after := capture()
	for id, b := range before {
		if after[id] != b {
			t.Errorf("cart %s after the replay:\n%s\nwant\n%s", id, after[id], b)
		}
	}
	if c := commandCount(); c != commands {
		t.Errorf("%d reservation commands after the replay, want %d (none new)", c, commands)
	}
	if _, err := p.stop(t, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if out, err := replay("--verify", "--group", "carts"); err != nil || !strings.Contains(out, "all partitions equal") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}

// TestRedriveAfterFix: an Avro cart event reaches an instance that has no
// schema registry configured and is dead-lettered (decode). After the fix
// (the instance restarted with --registry), `cartstream dlq redrive`
// sends it back and it is processed once; a second redrive changes nothing.
func TestRedriveAfterFix(t *testing.T) {
	bin := binary(t)
	reg := registrytest.Start()
	defer reg.Close()
	kafkaAddr, httpAddr, dataDir := freeAddr(t), freeAddr(t), t.TempDir()
	args := []string{"run", "--data-dir", dataDir, "--kafka-listen", kafkaAddr, "--http-listen", httpAddr}
	p := start(t, bin, args...)
	waitReady(t, p, httpAddr, 30*time.Second)

	cmd := exec.Command(bin, "produce", "--brokers", kafkaAddr, "--format", "avro", "--registry", reg.URL())
	cmd.Stdin = strings.NewReader(`{"event_id":"av-1","cart_id":"c-avro","type":"item_added","sku":"SKU-00003","qty":1,"currency":"USD"}` + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("produce avro: %v\n%s", err, out)
	}
	dlq := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"dlq"}, append(args, "--brokers", kafkaAddr)...)...).CombinedOutput()
		return string(out), err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := dlq("list")
		if strings.Contains(out, "decode") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Avro event was not dead-lettered:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The group may still be settling (503 rebalancing); once it answers,
	// the cart must not exist.
	if r := waitGet(t, "http://"+httpAddr+"/v1/carts/c-avro", func(r response) bool { return r.code != 503 }); r.code != 404 {
		t.Fatalf("the undecodable event made a cart: %d %s", r.code, r.body)
	}

	// The fix: the instance learns the registry.
	if _, err := p.stop(t, 20*time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	p = start(t, bin, append(args, "--registry", reg.URL())...)
	waitReady(t, p, httpAddr, 30*time.Second)
	if out, err := dlq("redrive", "--class", "decode"); err != nil {
		t.Fatalf("redrive: %v\n%s", err, out)
	}
	r := waitGet(t, "http://"+httpAddr+"/v1/carts/c-avro", ok200)
	if !strings.Contains(r.body, `"cart_version":1`) {
		t.Fatalf("cart after the redrive: %s", r.body)
	}
	out, _ := dlq("redrive", "--class", "decode")
	time.Sleep(2 * time.Second)
	if r := get(t, "http://"+httpAddr+"/v1/carts/c-avro"); !strings.Contains(r.body, `"cart_version":1`) {
		t.Fatalf("a second redrive changed the cart: %s\nredrive said: %s", r.body, out)
	}
	offers := kcat(t, "", "-C", "-b", kafkaAddr, "-t", "cartstream.offers", "-o", "beginning", "-e", "-q", "-f", "%k\n")
	if n := strings.Count(offers, "c-avro\n"); n != 1 {
		t.Errorf("%d offers for c-avro, want exactly 1", n)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
