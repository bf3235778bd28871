package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// roundtripTopic is the topic broker_roundtrip_eps writes and reads.
const roundtripTopic = "bench-roundtrip"

// roundtrip measures broker_roundtrip_eps: n cart-event-sized records
// produced by franz-go (acks=all) to a broker process and consumed back by
// franz-go, no processing: the ceiling of any pipeline on this broker. The
// rate is n over the time from the first send to the last receipt.
func (e *env) roundtrip(ctx context.Context, n int, res *Results) error {
	s, err := e.newStack(ctx, "roundtrip")
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.adm.CreateTopic(ctx, int32(e.partitions), 1, nil, roundtripTopic); err != nil {
		return fmt.Errorf("bench: create %s: %w", roundtripTopic, err)
	}
	got := newCounter()
	var bytes int64
	offsets := map[int32]int64{}
	for p := range int32(e.partitions) {
		offsets[p] = 0
	}
	w, err := startWatch(s.cluster, "roundtrip", roundtripTopic, offsets, func(r *kgo.Record, at time.Time) {
		got.add(at)
	})
	if err != nil {
		return err
	}
	defer w.close()
	cl, err := s.cluster.NewClient(bulkProducerOpts("bench-roundtrip")...)
	if err != nil {
		return fmt.Errorf("bench: roundtrip producer: %w", err)
	}
	defer cl.Close()

	gen := cartEvents{Prefix: "rt", Carts: max(n/4, 1), Products: 100_000, Seed: 1}
	now := time.Now()
	start := time.Now()
	fail := make(chan error, 1)
	for i := range n {
		k, v := gen.Event(i, now)
		bytes += int64(len(k) + len(v))
		cl.Produce(ctx, &kgo.Record{Topic: roundtripTopic, Key: k, Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case fail <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("bench: roundtrip flush: %w", err)
	}
	select {
	case err := <-fail:
		return fmt.Errorf("bench: roundtrip produce: %w", err)
	default:
	}
	if err := got.waitFor(ctx, n, 30*time.Second); err != nil {
		return fmt.Errorf("bench: roundtrip: %w", err)
	}
	_, _, last := got.snapshot()
	res.Set("broker_roundtrip_eps", Rate(n, last.Sub(start)))
	res.Set("roundtrip_record_bytes", float64(bytes/int64(n)))
	return nil
}
