package carts

import "sort"

// TopicPartition names one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Boundary is what `cartstream replay` records when it resets the carts
// group (DESIGN §8): per input partition, the offset the group had committed
// before the reset. Records below it had been processed once already, and
// their reservation commands and checkout statuses sent; re-processing them
// re-derives the cart and re-emits its offer, but must not decide anything
// again. A nil or empty Boundary holds nothing back.
//
// The boundary of a forwarded record (one that came through the loop topic)
// is judged at its origin: the cart-events partition and offset the producer
// wrote it to.
type Boundary map[TopicPartition]int64

// Below reports whether the record at topic, partition and offset had been
// processed before the reset.
func (b Boundary) Below(topic string, partition int32, offset int64) bool {
	end, ok := b[TopicPartition{topic, partition}]
	return ok && offset < end
}

// Entries lists the boundary by topic and partition.
func (b Boundary) Entries() []BoundaryEntry {
	out := make([]BoundaryEntry, 0, len(b))
	for tp, off := range b {
		out = append(out, BoundaryEntry{TopicPartition: tp, Offset: off})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// BoundaryEntry is one partition's boundary offset.
type BoundaryEntry struct {
	TopicPartition
	Offset int64
}

// replayGate tracks, per partition of the carts set, the boundary offsets
// not yet reached. While a partition has any, it is replaying: the periodic
// visitor may change carts but sends nothing, because what it would send
// (expired statuses, releases) was sent before the reset.
type replayGate struct {
	pending map[int32]map[string]int64 // partition → topic → boundary offset
}

func newReplayGate(b Boundary) replayGate {
	g := replayGate{pending: map[int32]map[string]int64{}}
	for tp, off := range b {
		if g.pending[tp.Partition] == nil {
			g.pending[tp.Partition] = map[string]int64{}
		}
		g.pending[tp.Partition][tp.Topic] = off
	}
	return g
}

// passed records that the record at topic, partition and offset was
// processed; it reports true when this made the partition leave replay.
func (g replayGate) passed(topic string, partition int32, offset int64) bool {
	p := g.pending[partition]
	end, ok := p[topic]
	if !ok || offset+1 < end {
		return false
	}
	delete(p, topic)
	if len(p) == 0 {
		delete(g.pending, partition)
		return true
	}
	return false
}

func (g replayGate) replaying(partition int32) bool { return len(g.pending[partition]) > 0 }
