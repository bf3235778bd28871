package streams

import (
	"context"
	"sync"

	"github.com/IBM/sarama"
)

// goka marks a record's offset as soon as that record's callback and its
// emits are done, whatever the records before it in the partition are
// doing; sarama keeps the highest offset marked and commits it every
// second. A record with nothing to emit (a tick, a result that changes
// nothing) is done at once, so it commits every record before it whose
// state and outputs are still in flight: when those writes then fail (a
// broker restart) or die with the process, the records are never read
// again and their effect is lost. make chaos saw it: a release result that
// changed nothing marked past twenty reservation results whose cart
// writes were still in flight when the broker was stopped, and those
// checkouts never got a status (seed 366214).
//
// orderedGroup makes offsets commit in order, as DESIGN §9 requires
// ("offsets commit after state and outputs are acknowledged"): it hands
// goka a session that forwards a mark only up to the first record of the
// partition that is not done yet.

// orderedGroup wraps a sarama.ConsumerGroup; see the comment above.
type orderedGroup struct{ sarama.ConsumerGroup }

func (g orderedGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	return g.ConsumerGroup.Consume(ctx, topics, &orderedHandler{h: h})
}

// orderedHandler gives the handler an orderedSession per session and
// claims whose messages it tracks.
type orderedHandler struct {
	h sarama.ConsumerGroupHandler

	mu   sync.Mutex
	sess *orderedSession
}

func (o *orderedHandler) session(s sarama.ConsumerGroupSession) *orderedSession {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sess == nil || o.sess.ConsumerGroupSession != s {
		o.sess = &orderedSession{ConsumerGroupSession: s, parts: map[topicPartition]*doneTracker{}}
	}
	return o.sess
}

func (o *orderedHandler) Setup(s sarama.ConsumerGroupSession) error {
	return o.h.Setup(o.session(s))
}

func (o *orderedHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	return o.h.Cleanup(o.session(s))
}

func (o *orderedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	os := o.session(s)
	t := os.tracker(c.Topic(), c.Partition())
	msgs := make(chan *sarama.ConsumerMessage)
	go func() {
		defer close(msgs)
		for m := range c.Messages() {
			// Tracked before the handler can see it, hence before it
			// can be marked.
			t.deliver(m.Offset)
			select {
			case msgs <- m:
			case <-s.Context().Done():
				return
			}
		}
	}()
	return o.h.ConsumeClaim(os, orderedClaim{ConsumerGroupClaim: c, msgs: msgs})
}

type orderedClaim struct {
	sarama.ConsumerGroupClaim
	msgs chan *sarama.ConsumerMessage
}

func (c orderedClaim) Messages() <-chan *sarama.ConsumerMessage { return c.msgs }

type topicPartition struct {
	topic     string
	partition int32
}

// orderedSession forwards marks in order per partition.
type orderedSession struct {
	sarama.ConsumerGroupSession

	mu    sync.Mutex
	parts map[topicPartition]*doneTracker
}

func (s *orderedSession) tracker(topic string, partition int32) *doneTracker {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := topicPartition{topic, partition}
	t := s.parts[k]
	if t == nil {
		t = &doneTracker{done: map[int64]bool{}}
		s.parts[k] = t
	}
	return t
}

// MarkOffset notes that the record before offset is done and marks, in
// the underlying session, the offset after the last record up to which
// every delivered record is done. A mark for a record the session did not
// deliver is passed on as is.
func (s *orderedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	if next, ok := s.tracker(topic, partition).markDone(offset - 1); ok {
		s.ConsumerGroupSession.MarkOffset(topic, partition, next, metadata)
	}
}

func (s *orderedSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}

// doneTracker is one partition's delivered records that are not done yet,
// in delivery (offset) order.
type doneTracker struct {
	mu      sync.Mutex
	pending []int64
	done    map[int64]bool
}

func (t *doneTracker) deliver(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, offset)
}

// markDone records that the record at offset is done and returns the
// offset to mark (the one after the last record of the done prefix), and
// whether the prefix moved. A record never delivered is marked as is.
func (t *doneTracker) markDone(offset int64) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 || offset < t.pending[0] || offset > t.pending[len(t.pending)-1] {
		return offset + 1, true
	}
	t.done[offset] = true
	last := int64(-1)
	n := 0
	for n < len(t.pending) && t.done[t.pending[n]] {
		last = t.pending[n]
		delete(t.done, last)
		n++
	}
	if n == 0 {
		return 0, false
	}
	t.pending = t.pending[n:]
	return last + 1, true
}
