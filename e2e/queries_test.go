//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"cartstream/internal/shopsim"
)

// TestQueriesAcrossInstances is the interactive-query acceptance check:
// one `cartstream broker` and two `cartstream run --brokers` processes;
// after cart events produced with kcat, every cart is answered identically
// by both instances, some through forwarding (X-Cartstream-Via), inventory
// answers agree too; a third instance joining causes 503 rebalancing (or
// stale-allowed answers) during the rebalance, then correct answers from
// all three.
func TestQueriesAcrossInstances(t *testing.T) {
	bin := binary(t)
	kafkaAddr := freeAddr(t)
	start(t, bin, "broker", "--data-dir", t.TempDir(), "--listen", kafkaAddr)
	waitTCP(t, kafkaAddr, 20*time.Second)

	type instance struct {
		id, http string
		p        *proc
	}
	run := func(id string) instance {
		in := instance{id: id, http: freeAddr(t)}
		in.p = start(t, bin, "run", "--brokers", kafkaAddr, "--instance-id", id, "--http-listen", in.http,
			"--data-dir", t.TempDir(), "--partitions", "4")
		return in
	}
	a := run("inst-a")
	waitReady(t, a.p, a.http, 60*time.Second) // creates the topics
	b := run("inst-b")
	waitReady(t, b.p, b.http, 60*time.Second)
	waitOwners(t, []string{a.http, b.http}, 2, 60*time.Second)

	sim := shopsim.New(11, shopsim.Options{Start: time.Now().UTC().Truncate(time.Second)})
	for i, sku := range []string{"Q-1", "Q-2"} {
		recs, err := sim.AddProduct(shopsim.Product{SKU: sku, Name: "Thing " + sku, Category: "misc", Brand: "Acme",
			Price: mustAmount(t, "10.00"), Currency: "USD", Active: true}, int32(50+i))
		if err != nil {
			t.Fatal(err)
		}
		produceKcat(t, kafkaAddr, recs...)
	}
	waitRecord(t, kafkaAddr, "cartstream.inventory-changes", "Q-2", false)

	const carts = 24
	var events strings.Builder
	for i := range carts {
		id := fmt.Sprintf("qc-%02d", i)
		fmt.Fprintf(&events, "%s\x1f{\"event_id\":\"%s-1\",\"cart_id\":\"%s\",\"type\":\"item_added\",\"sku\":\"Q-%d\",\"qty\":%d,\"currency\":\"USD\"}\n", id, id, id, 1+i%2, 1+i%3)
		if i%4 == 0 {
			fmt.Fprintf(&events, "%s\x1f{\"event_id\":\"%s-2\",\"cart_id\":\"%s\",\"type\":\"checkout_started\",\"checkout_id\":\"co-%s\"}\n", id, id, id, id)
		}
	}
	kcat(t, events.String(), "-P", "-b", kafkaAddr, "-t", "cart-events", "-K", "\x1f", "-X", "partitioner=murmur2_random")

	// Every cart, from both instances: the same body; some forwarded.
	forwarded := 0
	for i := range carts {
		id := fmt.Sprintf("qc-%02d", i)
		ra := waitGet(t, "http://"+a.http+"/v1/carts/"+id, func(r response) bool { return r.code == 200 && checkoutSettled(r.body) })
		rb := waitGet(t, "http://"+b.http+"/v1/carts/"+id, func(r response) bool { return r.code == 200 && checkoutSettled(r.body) })
		if ra.body != rb.body {
			t.Errorf("cart %s differs:\n a: %s\n b: %s", id, ra.body, rb.body)
		}
		for _, r := range []response{ra, rb} {
			if r.header.Get("X-Cartstream-Via") != "" {
				forwarded++
				if r.header.Get("X-Cartstream-Served-By") == r.header.Get("X-Cartstream-Via") {
					t.Errorf("cart %s: forwarded by and served by the same instance: %v", id, r.header)
				}
			}
			if r.header.Get("X-Cartstream-Partition") == "" || r.header.Get("X-Cartstream-Owner") == "" {
				t.Errorf("cart %s: headers %v", id, r.header)
			}
		}
	}
	if forwarded == 0 {
		t.Error("no cart was answered through forwarding")
	}
	for _, sku := range []string{"Q-1", "Q-2"} {
		ia := inventoryState(t, waitGet(t, "http://"+a.http+"/v1/inventory/"+sku, ok200).body)
		ib := inventoryState(t, waitGet(t, "http://"+b.http+"/v1/inventory/"+sku, ok200).body)
		if ia != ib {
			t.Errorf("inventory %s differs:\n a: %s\n b: %s", sku, ia, ib)
		}
	}

	// A third instance joins: during the rebalance answers are 503
	// rebalancing (or stale when allowed), never wrong; then all three
	// answer correctly.
	want := waitGet(t, "http://"+a.http+"/v1/carts/qc-00", ok200).body
	c := run("inst-c")
	sawRebalancing, sawStale := false, false
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && !(sawRebalancing && sawStale) {
		for _, h := range []string{a.http, b.http} {
			r := get(t, "http://"+h+"/v1/carts/qc-00")
			switch {
			case r.code == 503 && strings.Contains(r.body, `"rebalancing"`):
				sawRebalancing = true
				if r.header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
			case r.code == 200 && r.body != want:
				t.Fatalf("during the rebalance %s answered a different cart:\n%s\nwant\n%s", h, r.body, want)
			}
			if sawRebalancing {
				if s := get(t, "http://"+h+"/v1/carts/qc-00?stale=ok"); s.code == 200 {
					if s.body != want {
						t.Fatalf("stale answer differs:\n%s\nwant\n%s", s.body, want)
					}
					sawStale = true
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawRebalancing {
		t.Error("a third instance joined and no query saw 503 rebalancing")
	}
	t.Logf("%d of %d answers forwarded; during the join: rebalancing=%v stale answers=%v", forwarded, 2*carts, sawRebalancing, sawStale)
	waitReady(t, c.p, c.http, 60*time.Second)
	waitOwners(t, []string{a.http, b.http, c.http}, 3, 60*time.Second)
	for i := range carts {
		id := fmt.Sprintf("qc-%02d", i)
		first := waitGet(t, "http://"+a.http+"/v1/carts/"+id, ok200).body
		for _, h := range []string{b.http, c.http} {
			if got := waitGet(t, "http://"+h+"/v1/carts/"+id, ok200).body; got != first {
				t.Errorf("after the rebalance cart %s differs on %s:\n%s\nwant\n%s", id, h, got, first)
			}
		}
	}
}

type response struct {
	code   int
	header http.Header
	body   string
}

func ok200(r response) bool { return r.code == 200 }

func get(t *testing.T, url string) response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return response{code: -1, body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// waitGet polls url until done accepts the response (30 s).
func waitGet(t *testing.T, url string, done func(response) bool) response {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := get(t, url)
		if done(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: last answer %d %s", url, r.code, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkoutSettled: a cart with a checkout has its decision (not pending).
func checkoutSettled(body string) bool {
	var c struct {
		Checkout *struct{ Status string } `json:"checkout"`
	}
	return json.Unmarshal([]byte(body), &c) == nil && (c.Checkout == nil || c.Checkout.Status != "pending")
}

// inventoryState is an inventory body without its stream time, which moves
// with ticks between two requests.
func inventoryState(t *testing.T, body string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("inventory body: %v: %s", err, body)
	}
	delete(m, "stream_time")
	b, _ := json.Marshal(m)
	return string(b)
}

// waitOwners waits until every instance's /v1/status shows both groups
// stable with every partition owned, spread over want instances.
func waitOwners(t *testing.T, https []string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		settled := true
		for _, h := range https {
			var st struct {
				Membership map[string]struct {
					State  string `json:"state"`
					Owners []struct {
						Member struct {
							InstanceID string `json:"instance_id"`
						} `json:"member"`
					} `json:"owners"`
				} `json:"membership"`
			}
			r := get(t, "http://"+h+"/v1/status")
			if r.code != 200 || json.Unmarshal([]byte(r.body), &st) != nil || len(st.Membership) < 2 {
				settled = false
				break
			}
			for _, g := range st.Membership {
				owners := map[string]bool{}
				for _, o := range g.Owners {
					owners[o.Member.InstanceID] = true
				}
				if g.State != "Stable" || len(g.Owners) != 4 || len(owners) != want {
					settled = false
				}
			}
		}
		if settled {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("groups not settled over %d instances within %s", want, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitTCP waits until addr accepts connections.
func waitTCP(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening within %s: %v", addr, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
