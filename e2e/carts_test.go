//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"cartstream/internal/shopsim"
	"cartstream/schemas"
)

// offer is the part of an evaluated offer the test checks.
type offer struct {
	CartID      string `json:"cart_id"`
	CartVersion int64  `json:"cart_version"`
	Subtotal    string `json:"subtotal"`
	Discount    string `json:"discount_total"`
	Total       string `json:"total"`
	Applied     []struct {
		PromotionID string `json:"promotion_id"`
		Amount      string `json:"amount"`
	} `json:"applied"`
	Source struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		EventID   string `json:"event_id"`
	} `json:"source"`
}

// TestCartsOffersWithKcat is the carts acceptance check from outside: a
// catalog and a promotion arrive through CDC, cart events are produced with
// kcat (murmur2, and once with kcat's default partitioner to prove
// forwarding), offers are read back with kcat with the expected totals, a
// duplicate event changes nothing, and a promotion changed through CDC
// changes the next offer.
func TestCartsOffersWithKcat(t *testing.T) {
	bin := binary(t)
	kafkaAddr, httpAddr := freeAddr(t), freeAddr(t)
	args := []string{"run", "--data-dir", t.TempDir(), "--kafka-listen", kafkaAddr, "--http-listen", httpAddr, "--seed=false"}
	p := start(t, bin, args...)
	waitReady(t, p, httpAddr, 30*time.Second)

	sim := shopsim.New(5, shopsim.Options{Start: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)})
	for _, pr := range []shopsim.Product{
		{SKU: "A", Name: "Mug", Category: "kitchen", Brand: "Acme", Price: mustAmount(t, "10.00"), Currency: "USD", Active: true},
		{SKU: "B", Name: "Pot", Category: "kitchen", Brand: "Acme", Price: mustAmount(t, "25.00"), Currency: "USD", Active: true},
	} {
		recs, err := sim.AddProduct(pr, 10)
		if err != nil {
			t.Fatal(err)
		}
		produceKcat(t, kafkaAddr, recs...)
	}
	promo := func(bps int) {
		rec, err := sim.UpsertPromotion(shopsim.Promotion{
			ID: "P-MUGS", Name: "Mugs", Active: true, Priority: 10, Stacking: "stackable", Currency: "USD",
			Condition: json.RawMessage(`{}`), Target: json.RawMessage(`{"skus":["A"]}`),
			Effect: json.RawMessage(fmt.Sprintf(`{"type":"percent_off","bps":%d}`, bps)),
		})
		if err != nil {
			t.Fatal(err)
		}
		produceKcat(t, kafkaAddr, rec)
	}
	promo(1000)
	waitRecord(t, kafkaAddr, "cartstream.products", "B", false)
	waitRecord(t, kafkaAddr, "cartstream.promotions", "P-MUGS", false)
	time.Sleep(500 * time.Millisecond) // the promotions view indexes it

	eventSchema, err := schemas.CompileJSONSchema(schemas.JSONCartEvent)
	if err != nil {
		t.Fatal(err)
	}
	event := func(partitioner, body string) {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := eventSchema.Validate(doc); err != nil {
			t.Fatalf("test event does not match the cart-event schema: %v", err)
		}
		args := []string{"-P", "-b", kafkaAddr, "-t", "cart-events", "-K", "\x1f"}
		if partitioner != "" {
			args = append(args, "-X", "partitioner="+partitioner)
		}
		kcat(t, "c-1\x1f"+body+"\n", args...)
	}
	event("murmur2_random", `{"event_id":"e1","cart_id":"c-1","type":"item_added","sku":"A","qty":2,"currency":"USD"}`)
	event("", `{"event_id":"e2","cart_id":"c-1","type":"item_added","sku":"B","qty":1}`) // kcat's default partitioner
	event("murmur2_random", `{"event_id":"e2","cart_id":"c-1","type":"item_added","sku":"B","qty":1}`)
	event("murmur2_random", `{"event_id":"e3","cart_id":"c-1","type":"coupon_applied","code":"NOPE"}`)

	offers := waitOffers(t, kafkaAddr, 3)
	for i, o := range offers {
		if o.CartVersion != int64(i+1) {
			t.Errorf("offer %d has cart_version %d: a duplicate was applied or an event lost", i, o.CartVersion)
		}
	}
	o := offers[1]
	if o.Subtotal != "45.00" || o.Discount != "2.00" || o.Total != "43.00" || len(o.Applied) != 1 || o.Applied[0].PromotionID != "P-MUGS" {
		t.Errorf("offer after e2 = %+v, want 45.00 - 2.00 = 43.00 by P-MUGS", o)
	}
	if o.Source.EventID != "e2" || o.Source.Topic != "cart-events" {
		t.Errorf("offer source %+v", o.Source)
	}
	// kcat's default partitioner (consistent_random, CRC32) puts c-1 in
	// another partition than murmur2 does: e2 was forwarded once.
	if m := httpGet(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, `cartstream_forwarded_mispartitioned_total{group="carts"} 1`) {
		t.Errorf("the event from kcat's default partitioner was not forwarded exactly once")
	}

	// The promotion changes through CDC; the next offer uses it.
	promo(2000)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("the changed promotion never reached cartstream.promotions")
		}
		var pr schemas.Promotion
		if err := schemas.Unmarshal(waitRecord(t, kafkaAddr, "cartstream.promotions", "P-MUGS", false), &pr); err != nil {
			t.Fatal(err)
		}
		if pr.Effect.Bps == 2000 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // the promotions view reads the same topic
	event("murmur2_random", `{"event_id":"e4","cart_id":"c-1","type":"quantity_set","sku":"B","qty":2}`)
	offers = waitOffers(t, kafkaAddr, 4)
	o = offers[3]
	if o.Subtotal != "70.00" || o.Discount != "4.00" || o.Total != "66.00" {
		t.Errorf("offer after the promotion change = %+v, want 70.00 - 4.00 = 66.00", o)
	}

	// A clean stop and a restart on the same data dir keep the cart: the
	// next event continues its version and contents, and the duplicate of
	// an old event is still recognised.
	if _, err := p.stop(t, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	p = start(t, bin, args...)
	waitReady(t, p, httpAddr, 30*time.Second)
	event("murmur2_random", `{"event_id":"e4","cart_id":"c-1","type":"quantity_set","sku":"B","qty":2}`)
	event("murmur2_random", `{"event_id":"e5","cart_id":"c-1","type":"item_removed","sku":"A","qty":1}`)
	offers = waitOffers(t, kafkaAddr, 5)
	o = offers[4]
	if o.CartVersion != 5 || o.Subtotal != "60.00" || o.Discount != "2.00" {
		t.Errorf("offer after restart = %+v, want version 5, 60.00 with 2.00 off", o)
	}
}

func waitOffers(t *testing.T, addr string, n int) []offer {
	t.Helper()
	offerSchema, err := schemas.CompileJSONSchema(schemas.JSONOffer)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := kcat(t, "", "-C", "-b", addr, "-t", "cartstream.offers", "-o", "beginning", "-e", "-q", "-f", "%s\n")
		var offers []offer
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var o offer
			if err := json.Unmarshal([]byte(line), &o); err != nil {
				t.Fatalf("offer is not JSON: %v: %s", err, line)
			}
			// Real output against the published JSON Schema.
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
			if err != nil {
				t.Fatal(err)
			}
			if err := offerSchema.Validate(doc); err != nil {
				t.Errorf("offer does not match schemas/json/offer.schema.json: %v\n%s", err, line)
			}
			offers = append(offers, o)
		}
		if len(offers) >= n {
			if len(offers) > n {
				t.Errorf("%d offers, want %d", len(offers), n)
			}
			return offers
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d offers within 30 s, want %d", len(offers), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
