//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"cartstream/internal/shopsim"
	"cartstream/schemas"
)

// checkoutStatus is the part of a cartstream.checkouts record the test
// checks.
type checkoutStatus struct {
	CartID     string  `json:"cart_id"`
	CheckoutID string  `json:"checkout_id"`
	Status     string  `json:"status"`
	Reason     *string `json:"reason"`
}

// TestFlashSaleWithKcat is the inventory acceptance check from outside:
// 100 units of one SKU set through a Debezium-format inventory record,
// 2 000 carts produced with kcat each adding the SKU and checking out, 10 %
// of the events delivered twice. By the latest status per checkout id,
// exactly 100 checkouts are reserved and 1 900 failed (insufficient_stock);
// producing every event again changes nothing.
func TestFlashSaleWithKcat(t *testing.T) {
	bin := binary(t)
	kafkaAddr, httpAddr := freeAddr(t), freeAddr(t)
	p := start(t, bin, "run", "--data-dir", t.TempDir(), "--kafka-listen", kafkaAddr, "--http-listen", httpAddr, "--seed=false")
	waitReady(t, p, httpAddr, 30*time.Second)

	sim := shopsim.New(7, shopsim.Options{Start: time.Now().UTC().Truncate(time.Second)})
	recs, err := sim.AddProduct(shopsim.Product{SKU: "FLASH", Name: "Launch sneaker", Category: "shoes", Brand: "Acme",
		Price: mustAmount(t, "120.00"), Currency: "USD", Active: true}, 100)
	if err != nil {
		t.Fatal(err)
	}
	produceKcat(t, kafkaAddr, recs...)
	waitRecord(t, kafkaAddr, "cartstream.products", "FLASH", false)
	// Stock rows and reservation commands are different topics: wait until
	// the inventory group holds the stock before any checkout can reach it.
	waitGet(t, "http://"+httpAddr+"/v1/inventory/FLASH", func(r response) bool {
		return r.code == 200 && strings.Contains(r.body, `"on_hand":100`)
	})

	const carts = 2000
	rng := rand.New(rand.NewPCG(2026, 11))
	var lines []string
	duplicates := 0
	for i := range carts {
		cart := fmt.Sprintf("fc-%04d", i)
		for _, body := range []string{
			fmt.Sprintf(`{"event_id":"%s-add","cart_id":"%s","type":"item_added","sku":"FLASH","qty":1,"currency":"USD"}`, cart, cart),
			fmt.Sprintf(`{"event_id":"%s-co","cart_id":"%s","type":"checkout_started","checkout_id":"co-%s"}`, cart, cart, cart),
		} {
			line := cart + "\x1f" + body
			lines = append(lines, line)
			if rng.IntN(10) == 0 {
				lines = append(lines, line)
				duplicates++
			}
		}
	}
	events := strings.Join(lines, "\n") + "\n"
	produce := func() {
		kcat(t, events, "-P", "-b", kafkaAddr, "-t", "cart-events", "-K", "\x1f",
			"-X", "partitioner=murmur2_random", "-X", "topic.request.required.acks=-1")
	}
	start := time.Now()
	produce()
	latest, total := waitCheckouts(t, kafkaAddr, carts)
	t.Logf("%d checkouts (%d events, %d delivered twice) decided in %s", carts, len(lines), duplicates, time.Since(start).Round(time.Millisecond))
	assertFlashSale(t, latest)

	// Every event again: all are duplicates of applied events.
	produce()
	time.Sleep(3 * time.Second)
	again, totalAgain := waitCheckouts(t, kafkaAddr, carts)
	assertFlashSale(t, again)
	if totalAgain != total {
		t.Errorf("producing the same events again wrote %d more checkout statuses", totalAgain-total)
	}
	if m := httpGet(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, `cartstream_reservations_total{op="reserve",reason="",status="reserved"} 100`) {
		t.Errorf("the inventory group did not count exactly 100 reserved holds:\n%s", grepLines(m, "cartstream_reservations_total"))
	}
}

func assertFlashSale(t *testing.T, latest map[string]checkoutStatus) {
	t.Helper()
	counts := map[string]int{}
	for _, s := range latest {
		key := s.Status
		if s.Reason != nil {
			key += "/" + *s.Reason
		}
		counts[key]++
	}
	if counts["reserved"] != 100 || counts["failed/insufficient_stock"] != 1900 || len(counts) != 2 {
		t.Errorf("latest statuses per checkout: %v, want 100 reserved and 1900 failed/insufficient_stock", counts)
	}
}

// waitCheckouts reads cartstream.checkouts with kcat until n checkout ids
// have a status; it returns the latest status per checkout id and the
// number of status records. Every status is validated against the
// published JSON Schema.
func waitCheckouts(t *testing.T, addr string, n int) (map[string]checkoutStatus, int) {
	t.Helper()
	schema, err := schemas.CompileJSONSchema(schemas.JSONCheckoutStatus)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := kcat(t, "", "-C", "-b", addr, "-t", "cartstream.checkouts", "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n")
		// Latest per checkout id: statuses of one cart are in one
		// partition, in order.
		type rec struct {
			partition, offset int64
			s                 checkoutStatus
		}
		latest := map[string]rec{}
		total := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			parts := strings.SplitN(line, " ", 3)
			if len(parts) != 3 {
				t.Fatalf("kcat line %q", line)
			}
			var r rec
			if _, err := fmt.Sscanf(parts[0]+" "+parts[1], "%d %d", &r.partition, &r.offset); err != nil {
				t.Fatalf("kcat line %q: %v", line, err)
			}
			body := parts[2]
			if err := json.Unmarshal([]byte(body), &r.s); err != nil {
				t.Fatalf("checkout status is not JSON: %v: %s", err, body)
			}
			if total < 50 {
				doc, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if err := schema.Validate(doc); err != nil {
					t.Errorf("status does not match schemas/json/checkout_status.schema.json: %v\n%s", err, body)
				}
			}
			total++
			if prev, ok := latest[r.s.CheckoutID]; !ok || prev.partition != r.partition || prev.offset < r.offset {
				latest[r.s.CheckoutID] = r
			}
		}
		if len(latest) >= n {
			m := make(map[string]checkoutStatus, len(latest))
			for id, r := range latest {
				m[id] = r.s
			}
			return m, total
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d checkouts have a status after 2 min", len(latest), n)
		}
		time.Sleep(time.Second)
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
