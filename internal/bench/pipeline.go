package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// pipelineSample is what the harness reads of the instance at the first
// and at the last offer of the pipeline run.
type pipelineSample struct {
	proc    ProcSample
	mallocs float64
	err     error
}

// mainStack starts the stack the pipeline, latency and flash sale runs
// share: a broker, an instance, and the catalog loaded through CDC. The
// instance is left running.
func (e *env) mainStack(ctx context.Context, sz Sizes) (*stack, *catalog, error) {
	s, err := e.newStack(ctx, "main")
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.startInstance(ctx); err != nil {
		s.close()
		return nil, nil, err
	}
	cat, err := e.loadedCatalog(ctx, s, sz.Products, sz.Promotions)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, cat, nil
}

// pipeline measures pipeline_eps and, in the same run, rss_mib,
// cpu_us_per_event and allocs_per_event, and takes the CPU and allocation
// profiles, on the main stack (its instance running, the catalog loaded).
// It leaves the instance running.
//
// Method: the instance is stopped; n cart events are produced while it is
// down; it is started again (its views then hold the whole catalog before
// the carts group reads an event), and the harness consumes the offers.
// pipeline_eps is n over the time from the first to the last offer
// received, every event's offer counted once (matched by its source
// partition and offset). CPU (utime + stime from /proc) and allocations
// (go_memstats_mallocs_total from /metrics) are read when the first and
// the last offer arrive; rss_mib is the process's peak RSS (VmHWM) at the
// end.
func (e *env) pipeline(ctx context.Context, s *stack, sz Sizes, profileSeconds int, res *Results) error {
	if err := s.stopInstance(); err != nil {
		return err
	}
	n := sz.Events
	keys, err := e.produceEvents(ctx, s, cartEvents{Prefix: "pl", Carts: max(n/4, 1), Products: sz.Products, Seed: 3}, n)
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

	var (
		first    = make(chan pipelineSample, 1)
		profiles sync.WaitGroup
		profErrs = make(chan error, 2)
	)
	ow.mu.Lock()
	ow.onFirst = func(time.Time) {
		go func() {
			first <- e.sampleInstance(ctx, s)
		}()
		if profileSeconds <= 0 {
			return
		}
		for kind, file := range map[string]string{"profile": "cpu.pprof", "allocs": "allocs.pprof"} {
			profiles.Add(1)
			go func() {
				defer profiles.Done()
				if err := fetchProfile(ctx, s.http, kind, profileSeconds, filepath.Join(e.out, file)); err != nil {
					profErrs <- err
				}
			}()
		}
	}
	ow.mu.Unlock()
	ow.setWant(keys)

	began := time.Now()
	startup, err := s.startInstance(ctx)
	if err != nil {
		return err
	}
	e.logf("pipeline: instance ready %.1fs after its start with %d events waiting", startup.Seconds(), n)
	if err := ow.wanted.waitFor(ctx, n, 60*time.Second); err != nil {
		got, _, _ := ow.wanted.snapshot()
		return fmt.Errorf("bench: pipeline: %d of %d offers after %s: %w", got, n, time.Since(began).Round(time.Second), err)
	}
	last := e.sampleInstance(ctx, s)
	at := <-first
	if err := errors.Join(at.err, last.err); err != nil {
		return err
	}
	_, t0, t1 := ow.wanted.snapshot()
	res.Set("pipeline_eps", Rate(n, t1.Sub(t0)))
	res.Set("rss_mib", float64(last.proc.PeakRSSKiB)/1024)
	res.Set("cpu_us_per_event", float64((last.proc.CPU-at.proc.CPU).Microseconds())/float64(n))
	res.Set("allocs_per_event", (last.mallocs-at.mallocs)/float64(n))
	if bad := ow.badOffers(); bad > 0 {
		e.logf("pipeline: %d offers without a cart event source", bad)
	}
	profiles.Wait()
	close(profErrs)
	for err := range profErrs {
		e.logf("pipeline: %v", err)
	}
	return nil
}

// sampleInstance reads the running instance's /proc and its malloc count.
func (e *env) sampleInstance(ctx context.Context, s *stack) pipelineSample {
	var out pipelineSample
	out.proc, out.err = ReadProc(s.inst.pid())
	if out.err != nil {
		return out
	}
	out.mallocs, out.err = scrapeMetric(ctx, e.hc, s.http, MallocsMetric)
	return out
}

// loadedCatalog builds a catalog and loads it into the running instance,
// reporting how long that took.
func (e *env) loadedCatalog(ctx context.Context, s *stack, products, promotions int) (*catalog, error) {
	began := time.Now()
	cat, err := newCatalog(int64(promotions)+1, products, promotions, time.Now())
	if err != nil {
		return nil, err
	}
	built := time.Since(began)
	if err := s.loadCatalog(ctx, cat); err != nil {
		return nil, err
	}
	took := time.Since(began) - built
	e.logf("%s: catalog of %d products and %d promotions (%d CDC records) loaded in %.1fs (%.0f records/s)",
		s.name, products, promotions, len(cat.recs), took.Seconds(), Rate(len(cat.recs), took))
	return cat, nil
}

// produceEvents writes events 0..n-1 of gen to the cart events topic as
// fast as the broker takes them and returns where each landed.
func (e *env) produceEvents(ctx context.Context, s *stack, gen cartEvents, n int) ([]sourceKey, error) {
	cl, err := s.cluster.NewClient(bulkProducerOpts("bench-events")...)
	if err != nil {
		return nil, fmt.Errorf("bench: events producer: %w", err)
	}
	defer cl.Close()
	now := time.Now()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		k, v := gen.Event(i, now)
		recs[i] = &kgo.Record{Topic: s.topo.Names.CartEvents, Key: k, Value: v}
	}
	if err := produceAll(ctx, cl, recs); err != nil {
		return nil, err
	}
	keys := make([]sourceKey, n)
	for i, r := range recs {
		keys[i] = sourceKey{r.Partition, r.Offset}
	}
	return keys, nil
}
