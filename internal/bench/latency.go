package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// loadPoint is one offered load and what the pipeline made of it.
type loadPoint struct {
	Offered float64 // events/s the harness meant to send
	Sent    int     // events sent
	// SentRate is Sent over the time sending took: below Offered when the
	// producer itself could not keep up.
	SentRate float64
	Received int     // offers received, one per event at most
	Achieved float64 // Received over first send to last offer
	Lat      Latencies
}

// drainStall is how long a load point waits for the next offer before it
// gives up on the ones still missing.
const drainStall = 30 * time.Second

// latencyStack starts a fresh broker and instance, loads a catalog of
// products and promotions and restarts the instance, so that its views
// hold the whole catalog before the measurement starts.
func (e *env) latencyStack(ctx context.Context, name string, products, promotions int) (*stack, error) {
	s, err := e.newStack(ctx, name)
	if err != nil {
		return nil, err
	}
	if _, err := s.startInstance(ctx); err != nil {
		s.close()
		return nil, err
	}
	if _, err := e.loadedCatalog(ctx, s, products, promotions); err != nil {
		s.close()
		return nil, err
	}
	if err := s.stopInstance(); err != nil {
		s.close()
		return nil, err
	}
	if _, err := s.startInstance(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// offerLoad sends cart events at rate for dur, paced in wall time (every
// millisecond it sends what is due), one producer with no linger and
// acks=all as a storefront client would, and measures each event's
// latency: from the moment the harness handed it to its producer to the
// moment the harness received its offer (matched by the offer's source
// partition and offset). It then waits for the offers still missing until
// none comes for drainStall; an offer that never came is counted as not
// received, never as a latency.
func (e *env) offerLoad(ctx context.Context, s *stack, prefix string, products int, rate float64, dur time.Duration) (loadPoint, error) {
	pt := loadPoint{Offered: rate}
	total := max(int(rate*dur.Seconds()), 1)
	offsets, err := endOffsets(ctx, s.adm, s.topo.Names.Offers)
	if err != nil {
		return pt, err
	}
	ow, err := startOfferWatch(s, offsets)
	if err != nil {
		return pt, err
	}
	defer ow.close()
	cl, err := s.cluster.NewClient(kgo.ClientID("bench-storefront"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1_000_000))
	if err != nil {
		return pt, fmt.Errorf("bench: storefront producer: %w", err)
	}
	defer cl.Close()

	gen := cartEvents{Prefix: prefix, Carts: max(total/4, 1), Products: products, Seed: uint64(rate)}
	sends := make([]time.Time, total)
	keys := make([]sourceKey, total)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	wg.Add(total)
	start := time.Now()
	for i := 0; i < total; {
		if err := ctx.Err(); err != nil {
			return pt, err
		}
		due := min(total, int(rate*time.Since(start).Seconds())+1)
		for ; i < due; i++ {
			now := time.Now()
			k, v := gen.Event(i, now)
			sends[i] = now
			idx := i
			cl.Produce(ctx, &kgo.Record{Topic: s.topo.Names.CartEvents, Key: k, Value: v}, func(r *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("bench: produce a cart event: %w", err)
					}
					mu.Unlock()
				} else {
					keys[idx] = sourceKey{r.Partition, r.Offset}
				}
				wg.Done()
			})
		}
		if i < total {
			time.Sleep(time.Millisecond)
		}
	}
	sentAll := time.Now()
	wg.Wait()
	if firstErr != nil {
		return pt, firstErr
	}
	pt.Sent = total
	pt.SentRate = Rate(total, sentAll.Sub(start))
	ow.setWant(keys)
	if err := ow.wanted.waitFor(ctx, total, drainStall); err != nil && ctx.Err() != nil {
		return pt, err
	}
	lats := make([]time.Duration, 0, total)
	for i, k := range keys {
		if at, ok := ow.arrival(k); ok {
			lats = append(lats, at.Sub(sends[i]))
		}
	}
	n, _, last := ow.wanted.snapshot()
	pt.Received = n
	pt.Achieved = Rate(n, last.Sub(start))
	pt.Lat = Summarize(lats)
	e.logf("%s: offered %.0f ev/s for %s: sent %d at %.0f ev/s, %d offers at %.0f ev/s, latency ms p50 %.1f p99 %.1f p99.9 %.1f max %.1f",
		s.name, rate, dur, pt.Sent, pt.SentRate, pt.Received, pt.Achieved, pt.Lat.P50, pt.Lat.P99, pt.Lat.P999, pt.Lat.Max)
	if pt.Received < pt.Sent {
		e.logf("%s: %d offers never arrived (no offer for %s)", s.name, pt.Sent-pt.Received, drainStall)
	}
	return pt, nil
}

// warmUp sends a short burst the measurement does not count, so the first
// measured events do not pay for cold caches and connections.
func (e *env) warmUp(ctx context.Context, s *stack, products int) error {
	_, err := e.offerLoad(ctx, s, "warm", products, 1000, 500*time.Millisecond)
	return err
}

// latencyRun measures offered loads on a fresh stack with a catalog of
// promotions (p99_ms_100_promos, p99_ms_100k_promos), after a warm-up.
func (e *env) latencyRun(ctx context.Context, name string, products, promotions int, rates []float64, dur time.Duration) ([]loadPoint, error) {
	s, err := e.latencyStack(ctx, name, products, promotions)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := e.warmUp(ctx, s, products); err != nil {
		return nil, err
	}
	var pts []loadPoint
	for i, r := range rates {
		pt, err := e.offerLoad(ctx, s, fmt.Sprintf("l%d", i), products, r, dur)
		if err != nil {
			return pts, err
		}
		pts = append(pts, pt)
	}
	return pts, nil
}
