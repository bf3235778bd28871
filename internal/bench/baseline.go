package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The baseline's group and topics.
const (
	baselineGroup = "bench-baseline"
	baselineInput = "bench-baseline-events"
	baselineTable = baselineGroup + "-table"
)

// baseline measures baseline_goka_leveldb_eps: n cart events produced
// beforehand, counted per key by a plain goka processor with goka's
// defaults (RunBaselineWorker) in its own process. The rate is n over the
// time from the first to the last of its table's changelog records the
// harness receives: as for pipeline_eps, events in, outputs consumed.
// The worker's CPU and peak RSS are reported too.
func (e *env) baseline(ctx context.Context, n int, res *Results) error {
	s, err := e.newStack(ctx, "baseline")
	if err != nil {
		return err
	}
	defer s.close()
	parts := int32(e.partitions)
	if _, err := s.adm.CreateTopic(ctx, parts, 1, nil, baselineInput); err != nil {
		return fmt.Errorf("bench: create %s: %w", baselineInput, err)
	}
	compact := "compact"
	if _, err := s.adm.CreateTopic(ctx, parts, 1, map[string]*string{"cleanup.policy": &compact}, baselineTable); err != nil {
		return fmt.Errorf("bench: create %s: %w", baselineTable, err)
	}

	cl, err := s.cluster.NewClient(bulkProducerOpts("bench-baseline-producer")...)
	if err != nil {
		return fmt.Errorf("bench: baseline producer: %w", err)
	}
	gen := cartEvents{Prefix: "bl", Carts: max(n/4, 1), Products: 100_000, Seed: 2}
	now := time.Now()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		k, v := gen.Event(i, now)
		recs[i] = &kgo.Record{Topic: baselineInput, Key: k, Value: v}
	}
	err = produceAll(ctx, cl, recs)
	cl.Close()
	if err != nil {
		return err
	}
	// goka's default config starts a new group at the newest offset; a
	// commit at the start makes it read the events produced above
	// without changing that setting.
	start := kadm.Offsets{}
	zero := map[int32]int64{}
	for p := range parts {
		start.AddOffset(baselineInput, p, 0, -1)
		zero[p] = 0
	}
	if err := s.adm.CommitAllOffsets(ctx, baselineGroup, start); err != nil {
		return fmt.Errorf("bench: commit the baseline's start: %w", err)
	}

	got := newCounter()
	w, err := startWatch(s.cluster, "baseline-table", baselineTable, zero, func(_ *kgo.Record, at time.Time) { got.add(at) })
	if err != nil {
		return err
	}
	defer w.close()
	worker, err := startProc(s.dir, "baseline-worker", e.bin, "bench", "baseline-worker",
		"--brokers", s.addr, "--group", baselineGroup, "--input", baselineInput,
		"--data-dir", filepath.Join(s.dir, "leveldb"))
	if err != nil {
		return err
	}
	defer worker.kill()
	var atFirst ProcSample
	sampled := make(chan error, 1)
	go func() {
		if err := got.waitFor(ctx, 1, startTimeout); err != nil {
			sampled <- err
			return
		}
		var err error
		atFirst, err = ReadProc(worker.pid())
		sampled <- err
	}()
	if err := got.waitFor(ctx, n, 60*time.Second); err != nil {
		if exitErr := worker.exited(); exitErr != nil {
			return exitErr
		}
		return fmt.Errorf("bench: baseline: %w", err)
	}
	atLast, err := ReadProc(worker.pid())
	if err != nil {
		return err
	}
	if err := <-sampled; err != nil {
		return err
	}
	_, first, last := got.snapshot()
	res.Set("baseline_goka_leveldb_eps", Rate(n, last.Sub(first)))
	res.Set("baseline_cpu_us_per_event", float64((atLast.CPU-atFirst.CPU).Microseconds())/float64(n))
	res.Set("baseline_rss_mib", float64(atLast.PeakRSSKiB)/1024)
	if err := worker.stop(stopTimeout); err != nil {
		e.logf("baseline worker: %v", err)
	}
	return nil
}
