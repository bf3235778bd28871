package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/kafkasec"
)

// watch consumes one topic from given offsets in a goroutine and hands
// every record, with the time its fetch returned, to fn (called from that
// goroutine only).
type watch struct {
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}
}

// startWatch starts consuming topic from offsets (per partition).
func startWatch(cluster kafkasec.Cluster, name, topic string, offsets map[int32]int64, fn func(*kgo.Record, time.Time)) (*watch, error) {
	cl, err := cluster.NewClient(kgo.ClientID("bench-"+name), fromOffsets(topic, offsets),
		kgo.FetchMaxWait(50*time.Millisecond), kgo.FetchMaxBytes(32<<20))
	if err != nil {
		return nil, fmt.Errorf("bench: %s consumer: %w", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watch{cl: cl, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			at := time.Now()
			fs.EachRecord(func(r *kgo.Record) { fn(r, at) })
		}
	}()
	return w, nil
}

// close stops the consumer.
func (w *watch) close() {
	w.stop()
	<-w.done
	w.cl.Close()
}

// counter counts records and notes when the first and last arrived.
type counter struct {
	mu          sync.Mutex
	n           int
	first, last time.Time
	changed     chan struct{}
}

func newCounter() *counter { return &counter{changed: make(chan struct{}, 1)} }

func (c *counter) add(at time.Time) {
	c.mu.Lock()
	if c.n == 0 {
		c.first = at
	}
	c.n++
	c.last = at
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// snapshot returns the count and the first and last arrival.
func (c *counter) snapshot() (int, time.Time, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.first, c.last
}

// waitFor waits until at least n records were counted, or timeout with no
// new record (a stall), or ctx ends.
func (c *counter) waitFor(ctx context.Context, n int, stall time.Duration) error {
	for {
		got, _, _ := c.snapshot()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.changed:
		case <-time.After(stall):
			got, _, _ = c.snapshot()
			if got < n {
				return fmt.Errorf("bench: %d of %d records after %s without progress", got, n, stall)
			}
		}
	}
}

// offerWatch notes when the offer of each cart event first arrived.
type offerWatch struct {
	w      *watch
	events string // the cart events topic, the offers' source topic

	mu      sync.Mutex
	first   map[sourceKey]time.Time
	want    map[sourceKey]bool
	wanted  *counter // offers of wanted sources, first of each
	bad     int
	onFirst func(time.Time) // called once, with the first wanted offer
}

// startOfferWatch consumes the offers topic from offsets.
func startOfferWatch(s *stack, offsets map[int32]int64) (*offerWatch, error) {
	o := &offerWatch{events: s.topo.Names.CartEvents, first: map[sourceKey]time.Time{}, wanted: newCounter()}
	w, err := startWatch(s.cluster, "offers", s.topo.Names.Offers, offsets, o.record)
	if err != nil {
		return nil, err
	}
	o.w = w
	return o, nil
}

func (o *offerWatch) record(r *kgo.Record, at time.Time) {
	src, err := parseOfferSource(r.Value)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil || src.Topic != o.events {
		o.bad++
		return
	}
	k := sourceKey{src.Partition, src.Offset}
	if _, seen := o.first[k]; seen {
		return
	}
	o.first[k] = at
	if o.want[k] {
		o.countWanted(at)
	}
}

// countWanted counts a wanted offer; o.mu is held.
func (o *offerWatch) countWanted(at time.Time) {
	if n, _, _ := o.wanted.snapshot(); n == 0 && o.onFirst != nil {
		o.onFirst(at)
	}
	o.wanted.add(at)
}

// setWant says which cart events' offers to count, counting those already
// received.
func (o *offerWatch) setWant(keys []sourceKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.want = make(map[sourceKey]bool, len(keys))
	for _, k := range keys {
		o.want[k] = true
	}
	// Count what already came in arrival order, so first and last are
	// right.
	var early []time.Time
	for _, k := range keys {
		if at, ok := o.first[k]; ok {
			early = append(early, at)
		}
	}
	slices.SortFunc(early, func(a, b time.Time) int { return a.Compare(b) })
	for _, at := range early {
		o.countWanted(at)
	}
}

// arrival returns when the offer of cart event k first arrived.
func (o *offerWatch) arrival(k sourceKey) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	at, ok := o.first[k]
	return at, ok
}

// badOffers is how many records were not offers of cart events.
func (o *offerWatch) badOffers() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bad
}

func (o *offerWatch) close() { o.w.close() }
