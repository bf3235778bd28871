package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// bulkProducerOpts are the settings of a producer that writes prepared
// records as fast as the broker takes them: acks=all (as every cartstream
// producer and shopsim.Produce require), batches filled for a few
// milliseconds, a deep buffer.
func bulkProducerOpts(clientID string) []kgo.Opt {
	return []kgo.Opt{
		kgo.ClientID(clientID),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.MaxBufferedRecords(200_000),
		kgo.ProducerBatchMaxBytes(1 << 20),
	}
}

// produceAll writes recs asynchronously and waits until every one is
// acknowledged. It fails with the first error.
func produceAll(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	var (
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	wg.Add(len(recs))
	for _, r := range recs {
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				err = fmt.Errorf("bench: produce to %s: %w", r.Topic, err)
				first.CompareAndSwap(nil, &err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// endOffsets returns the end offset of every partition of topic.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("bench: end offsets of %s: %w", topic, err)
	}
	if err := listed.Error(); err != nil {
		return nil, fmt.Errorf("bench: end offsets of %s: %w", topic, err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Topic == topic {
			out[o.Partition] = o.Offset
		}
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: topic %s has no partitions", topic)
	}
	return out, nil
}

// records returns how many records the topic holds (end minus start
// offsets, summed over partitions).
func records(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	ends, err := endOffsets(ctx, adm, topic)
	if err != nil {
		return 0, err
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("bench: start offsets of %s: %w", topic, err)
	}
	var n int64
	for p, end := range ends {
		start := int64(0)
		if o, ok := starts.Lookup(topic, p); ok && o.Err == nil {
			start = o.Offset
		}
		n += end - start
	}
	return n, nil
}

// fromOffsets is the consumer option that reads topic from the given
// offsets per partition.
func fromOffsets(topic string, offsets map[int32]int64) kgo.Opt {
	m := map[int32]kgo.Offset{}
	for p, o := range offsets {
		m[p] = kgo.NewOffset().At(o)
	}
	return kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: m})
}

// behind returns how many records of topics the group has not committed
// yet: the sum over partitions of end offset minus committed offset (the
// whole partition when nothing is committed).
func behind(ctx context.Context, adm *kadm.Client, group string, topics ...string) (int64, error) {
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, fmt.Errorf("bench: offsets of group %s: %w", group, err)
	}
	var total int64
	for _, t := range topics {
		ends, err := endOffsets(ctx, adm, t)
		if err != nil {
			return 0, err
		}
		for p, end := range ends {
			c := int64(0)
			if o, ok := committed.Lookup(t, p); ok && o.Err == nil && o.At >= 0 {
				c = o.At
			}
			if end > c {
				total += end - c
			}
		}
	}
	return total, nil
}

// errStillBehind is wrapped when a group does not catch up in time.
var errStillBehind = errors.New("bench: group did not catch up")

// waitCaughtUp waits until the group has committed everything in topics,
// checking until ctx ends or timeout.
func waitCaughtUp(ctx context.Context, adm *kadm.Client, timeout time.Duration, group string, topics ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last int64 = -1
	for {
		n, err := behind(ctx, adm, group, topics...)
		if err == nil && n == 0 {
			return nil
		}
		if err == nil {
			last = n
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s is %d records behind on %v after %s", errStillBehind, group, last, topics, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
