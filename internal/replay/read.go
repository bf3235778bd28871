package replay

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/kafkasec"
)

// Range is the records [From, To) of one partition.
type Range struct {
	Topic     string
	Partition int32
	From, To  int64
}

// stallTimeout ends a read that gets no record for this long while records
// are still due: a partition whose last records were compacted or deleted
// away would otherwise be waited for forever.
const stallTimeout = 15 * time.Second

// readRanges reads every record of the given ranges with a client of its
// own (partitions assigned directly, no group), calling fn for each in
// partition order (partitions interleave). add, when not nil, is told the
// number of records as they arrive.
func readRanges(ctx context.Context, cluster kafkasec.Cluster, ranges []Range, fn func(*kgo.Record) error, add func(int)) error {
	want := map[string]map[int32]kgo.Offset{}
	due := map[string]map[int32]int64{}
	for _, r := range ranges {
		if r.To <= r.From {
			continue
		}
		if want[r.Topic] == nil {
			want[r.Topic] = map[int32]kgo.Offset{}
			due[r.Topic] = map[int32]int64{}
		}
		want[r.Topic][r.Partition] = kgo.NewOffset().At(r.From)
		due[r.Topic][r.Partition] = r.To
	}
	left := 0
	for _, m := range due {
		left += len(m)
	}
	if left == 0 {
		return nil
	}
	cl, err := cluster.NewClient(kgo.ConsumePartitions(want),
		kgo.ClientID("cartstream-replay-reader"), kgo.FetchMaxBytes(32<<20))
	if err != nil {
		return fmt.Errorf("replay: reader: %w", err)
	}
	defer cl.Close()
	for left > 0 {
		pctx, cancel := context.WithTimeout(ctx, stallTimeout)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if pctx.Err() != nil && fs.NumRecords() == 0 {
			return fmt.Errorf("replay: reading %s: no record for %s while %d partitions are still due (records deleted or compacted away?)", describeDue(due), stallTimeout, left)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && ferr == nil {
				ferr = fmt.Errorf("replay: read %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		n := 0
		var cbErr error
		fs.EachRecord(func(r *kgo.Record) {
			if cbErr != nil {
				return
			}
			to, ok := due[r.Topic][r.Partition]
			if !ok || r.Offset >= to {
				return
			}
			n++
			if err := fn(r); err != nil {
				cbErr = err
				return
			}
			if r.Offset >= to-1 {
				delete(due[r.Topic], r.Partition)
				left--
			}
		})
		if cbErr != nil {
			return cbErr
		}
		if add != nil && n > 0 {
			add(n)
		}
	}
	return nil
}

func describeDue(due map[string]map[int32]int64) string {
	var topics []string
	for t, m := range due {
		if len(m) > 0 {
			topics = append(topics, t)
		}
	}
	sort.Strings(topics)
	return fmt.Sprint(topics)
}

// wholeTopics returns the ranges from log start to end of every partition
// of the topics.
func wholeTopics(ctx context.Context, adm *kadm.Client, topics ...string) ([]Range, error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("replay: start offsets of %v: %w", topics, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("replay: end offsets of %v: %w", topics, err)
	}
	var out []Range
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			if lerr == nil {
				lerr = fmt.Errorf("replay: end offset of %s[%d]: %w", o.Topic, o.Partition, o.Err)
			}
			return
		}
		from := int64(0)
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && s.Err == nil {
			from = s.Offset
		}
		out = append(out, Range{Topic: o.Topic, Partition: o.Partition, From: from, To: o.Offset})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, lerr
}
