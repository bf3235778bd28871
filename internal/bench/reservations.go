package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/shopsim"
	"cartstream/schemas"
	"cartstream/topology"
)

// flashSKU is the flash sale's hot SKU.
const flashSKU = "FLASH-00001"

// flashSale measures reservations_per_s on the pipeline's stack (instance
// running, catalog loaded): a hot SKU with units in stock is inserted in
// the shop database (its product and inventory rows through CDC), then
// carts each add one unit of it and start a checkout, produced as fast as
// the broker takes them, as in `cartstream simulate flash-sale` but with
// every checkout at once. Each checkout sends one reserve command to the
// inventory group, which answers on cartstream.reservation-results.
// reservations_per_s is the results over the time from the first to the
// last received: the whole path, carts group included (cart event →
// reserve command → hot-SKU decision → result). The results are decoded to
// check that no more units were reserved than the SKU had.
func (e *env) flashSale(ctx context.Context, s *stack, cat *catalog, carts, units int, res *Results) error {
	recs, err := cat.sim.AddProduct(shopsim.Product{
		SKU: flashSKU, Name: "Flash sale console", Category: "electronics", Brand: "Acme",
		Price: shopsim.MustAmount("299.00"), Currency: benchCurrency, Active: true,
	}, int32(units))
	if err != nil {
		return fmt.Errorf("bench: flash sale: %w", err)
	}
	cl, err := s.cluster.NewClient(bulkProducerOpts("bench-flash")...)
	if err != nil {
		return fmt.Errorf("bench: flash sale producer: %w", err)
	}
	defer cl.Close()
	if err := shopsim.Produce(ctx, cl, recs); err != nil {
		return fmt.Errorf("bench: flash sale stock: %w", err)
	}
	for _, name := range []string{topology.GroupCDCProducts, topology.GroupCDCInventory, topology.GroupInventory} {
		g := s.group(name)
		if err := waitCaughtUp(ctx, s.adm, loadTimeout, g.ID, g.Inputs[0]); err != nil {
			return err
		}
	}
	if err := e.waitProduct(ctx, s, flashSKU); err != nil {
		return err
	}

	const prefix = "fl"
	offsets, err := endOffsets(ctx, s.adm, s.topo.Names.ReservationRes)
	if err != nil {
		return err
	}
	var (
		mu        sync.Mutex
		reserved  int
		rejected  int
		undecoded int
	)
	got := newCounter()
	w, err := startWatch(s.cluster, "results", s.topo.Names.ReservationRes, offsets, func(r *kgo.Record, at time.Time) {
		var rr schemas.ReservationResult
		if err := schemas.Unmarshal(r.Value, &rr); err != nil {
			mu.Lock()
			undecoded++
			mu.Unlock()
			return
		}
		if rr.Op != schemas.OpReserve || !strings.HasPrefix(rr.CartID, prefix+"-") {
			return
		}
		mu.Lock()
		switch rr.Status {
		case schemas.ResultReserved:
			reserved++
		default:
			rejected++
		}
		mu.Unlock()
		got.add(at)
	})
	if err != nil {
		return err
	}
	defer w.close()

	now := time.Now()
	events := make([]*kgo.Record, 0, 2*carts)
	for c := range carts {
		k, add, co := flashEvents(prefix, c, flashSKU, now)
		events = append(events,
			&kgo.Record{Topic: s.topo.Names.CartEvents, Key: k, Value: add},
			&kgo.Record{Topic: s.topo.Names.CartEvents, Key: k, Value: co})
	}
	if err := produceAll(ctx, cl, events); err != nil {
		return err
	}
	if err := got.waitFor(ctx, carts, 60*time.Second); err != nil {
		return fmt.Errorf("bench: flash sale: %w", err)
	}
	n, first, last := got.snapshot()
	mu.Lock()
	defer mu.Unlock()
	if undecoded > 0 {
		return fmt.Errorf("bench: flash sale: %d reservation results did not decode", undecoded)
	}
	res.Set("reservations_per_s", Rate(n, last.Sub(first)))
	res.Set("flash_reserved_units", float64(reserved))
	res.Set("flash_oversold", float64(max(0, reserved-units)))
	e.logf("flash sale: %d checkouts of one unit, %d units: %d reserved, %d rejected", carts, units, reserved, rejected)
	return nil
}

// waitProduct waits until the instance's products table serves sku.
func (e *env) waitProduct(ctx context.Context, s *stack, sku string) error {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.http+"/v1/products/"+sku, nil)
		if err != nil {
			return fmt.Errorf("bench: product query: %w", err)
		}
		if resp, err := e.hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: product %s never served: %w", sku, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
