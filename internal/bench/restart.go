package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/partition"
	"cartstream/internal/shopsim"
	"cartstream/processors/carts"
)

// restarts measures restore_rps and warm_restart_s with keys carts.
//
// The carts are written straight into the carts table's changelog, as
// the carts group itself writes them (carts.Cart.Encode, partitioned by
// murmur2 as goka's hasher does): building a million carts through the
// pipeline would take longer than the rest of the run. Each cart has two
// lines and two remembered event ids, like a cart after a few events.
//
// restore_rps: an instance starts on an empty data dir and rebuilds every
// group table from its changelog; the figure is the changelog records
// over the time from the process's start until /readyz answers 200
// (startup included, so it understates the restore's own rate).
//
// warm_restart_s: that instance is stopped with SIGTERM and started again
// on its data dir, with one new cart event waiting; the figure is the
// time from the process's start until /readyz answers 200 and that
// event's offer has arrived (the carts group is processing).
func (e *env) restarts(ctx context.Context, keys int, res *Results) error {
	s, err := e.newStack(ctx, "restart")
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.ensureTopics(ctx); err != nil {
		return err
	}
	table := s.group("carts").Table
	wrote := time.Now()
	size, err := e.writeCarts(ctx, s, table, keys)
	if err != nil {
		return err
	}
	e.logf("restart: wrote %d carts (%.1f MiB) to %s in %.1fs", keys, float64(size)/(1<<20), table, time.Since(wrote).Seconds())

	var total int64
	for _, g := range s.topo.Groups {
		n, err := records(ctx, s.adm, g.Table)
		if err != nil {
			return err
		}
		total += n
	}
	cold, err := s.startInstance(ctx)
	if err != nil {
		return err
	}
	res.Set("restore_rps", Rate(int(total), cold))
	res.Set("restore_s", cold.Seconds())
	if err := s.stopInstance(); err != nil {
		return err
	}

	probe, err := e.produceEvents(ctx, s, cartEvents{Prefix: "probe", Carts: 1, Products: 1, Seed: 4}, 1)
	if err != nil {
		return err
	}
	offsets, err := endOffsets(ctx, s.adm, s.topo.Names.Offers)
	if err != nil {
		return err
	}
	ow, err := startOfferWatch(s, offsets)
	if err != nil {
		return err
	}
	defer ow.close()
	ow.setWant(probe)
	ready, err := s.startInstance(ctx)
	if err != nil {
		return err
	}
	if err := ow.wanted.waitFor(ctx, 1, startTimeout); err != nil {
		return fmt.Errorf("bench: warm restart: no offer for the waiting event: %w", err)
	}
	_, offer, _ := ow.wanted.snapshot()
	warm := max(ready, offer.Sub(s.inst.started))
	res.Set("warm_restart_s", warm.Seconds())
	res.Set("warm_ready_s", ready.Seconds())
	return nil
}

// writeCarts produces n carts into the carts table's changelog and
// returns the bytes written.
func (e *env) writeCarts(ctx context.Context, s *stack, table string, n int) (int64, error) {
	opts := append(bulkProducerOpts("bench-carts"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	cl, err := s.cluster.NewClient(opts...)
	if err != nil {
		return 0, fmt.Errorf("bench: carts producer: %w", err)
	}
	defer cl.Close()
	gen := cartEvents{Prefix: "rs", Carts: n, Products: 100_000, Seed: 5}
	now := time.Now().UTC().Truncate(time.Millisecond)
	parts := int32(e.partitions)
	var size int64
	const batch = 50_000
	for lo := 0; lo < n; lo += batch {
		recs := make([]*kgo.Record, 0, min(batch, n-lo))
		for c := lo; c < min(lo+batch, n); c++ {
			id := gen.cartID(c)
			i := int(gen.draw(c, 0) % 100_000)
			lines := []carts.Line{{SKU: shopsim.SKU(1 + i), Qty: 1}, {SKU: shopsim.SKU(1 + (i+1)%100_000), Qty: 2}}
			slices.SortFunc(lines, func(a, b carts.Line) int { return strings.Compare(a.SKU, b.SKU) })
			cart := carts.Cart{
				ID: id, Version: 2, Currency: benchCurrency, Segments: []string{}, Coupons: []string{},
				Lines:         lines,
				LastEventTime: now,
				Applied:       []carts.Applied{{ID: id + "-e0", At: now}, {ID: id + "-e1", At: now}},
			}
			v, err := cart.Encode()
			if err != nil {
				return 0, fmt.Errorf("bench: %w", err)
			}
			size += int64(len(id) + len(v))
			recs = append(recs, &kgo.Record{Topic: table, Key: []byte(id), Value: v, Partition: partition.For([]byte(id), parts)})
		}
		if err := produceAll(ctx, cl, recs); err != nil {
			return 0, err
		}
	}
	return size, nil
}
