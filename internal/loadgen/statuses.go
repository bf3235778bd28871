package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/shopsim"
)

// statusReader consumes cartstream.checkouts from its end as it was before
// the load and keeps the statuses of the namespace's checkouts for the
// driver. Records it cannot decode are counted and skipped: the stack's
// checkout statuses are not loadgen's to validate.
type statusReader struct {
	cl     *kgo.Client
	prefix string
	signal chan struct{}
	stop   context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	fresh []shopsim.CheckoutStatus
	bad   int
}

// readStatuses starts a statusReader at the topic's current end, which
// the load's first checkout comes after.
func (r *run) readStatuses(ctx context.Context) (*statusReader, error) {
	topic := r.topo.Names.Checkouts
	ends, err := r.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("loadgen: end offsets of %s: %w", topic, err)
	}
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { from[o.Partition] = kgo.NewOffset().At(o.Offset) })
	if len(from) == 0 {
		return nil, fmt.Errorf("loadgen: %s has no partitions", topic)
	}
	cl, err := r.cfg.NewClient(kgo.ClientID("cartstream-loadgen-statuses"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}), kgo.FetchMaxWait(pollEvery))
	if err != nil {
		return nil, fmt.Errorf("loadgen: status reader: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	s := &statusReader{cl: cl, prefix: r.cfg.Namespace + "-", signal: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go s.loop(rctx)
	return s, nil
}

func (s *statusReader) loop(ctx context.Context) {
	defer close(s.done)
	for {
		fs := s.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		got := false
		s.mu.Lock()
		fs.EachRecord(func(rec *kgo.Record) {
			// The key is the cart id: skip other carts undecoded.
			if !strings.HasPrefix(string(rec.Key), s.prefix) {
				return
			}
			var st shopsim.CheckoutStatus
			if err := json.Unmarshal(rec.Value, &st); err != nil {
				s.bad++
				return
			}
			s.fresh = append(s.fresh, st)
			got = true
		})
		s.mu.Unlock()
		if got {
			select {
			case s.signal <- struct{}{}:
			default:
			}
		}
	}
}

// take returns the statuses read since the last call.
func (s *statusReader) take() []shopsim.CheckoutStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.fresh
	s.fresh = nil
	return out
}

func (s *statusReader) badCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bad
}

func (s *statusReader) close() {
	s.stop()
	<-s.done
	s.cl.Close()
}
