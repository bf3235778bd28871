// Package forward carries a record's original coordinates through a group's
// loop topic. DESIGN §2.3: a record found in a partition that does not own
// its key (a producer with another partitioner) is forwarded once to the
// owner; outputs and dead letters must still name the record the producer
// wrote, so the forwarded copy carries topic, partition and offset in headers.
package forward

import (
	"strconv"

	"github.com/lovoo/goka"

	"cartstream/internal/partition"
)

// Header names of a forwarded record.
const (
	HeaderTopic     = "cartstream.origin.topic"
	HeaderPartition = "cartstream.origin.partition"
	HeaderOffset    = "cartstream.origin.offset"
)

// Origin is where a record was first read.
type Origin struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Of returns the record's own coordinates, or its origin when it came
// through the group's loop topic with origin headers.
func Of(ctx goka.Context, loop string) Origin {
	if string(ctx.Topic()) == loop {
		if o, ok := FromHeaders(ctx.Headers()); ok {
			return o
		}
	}
	return Origin{Topic: string(ctx.Topic()), Partition: ctx.Partition(), Offset: ctx.Offset()}
}

// Misplaced reports whether a record read from an input (not the loop) sits
// in a partition other than the one Kafka's default partitioner gives its
// key among n partitions.
func Misplaced(ctx goka.Context, loop string, n int32) bool {
	return string(ctx.Topic()) != loop && partition.For([]byte(ctx.Key()), n) != ctx.Partition()
}

// Loopback forwards the record to its owner with its origin in headers.
func Loopback(ctx goka.Context, value any, o Origin) {
	ctx.Loopback(ctx.Key(), value, goka.WithCtxEmitHeaders(Headers(o)))
}

// Headers renders an origin as record headers.
func Headers(o Origin) goka.Headers {
	return goka.Headers{
		HeaderTopic:     []byte(o.Topic),
		HeaderPartition: []byte(strconv.FormatInt(int64(o.Partition), 10)),
		HeaderOffset:    []byte(strconv.FormatInt(o.Offset, 10)),
	}
}

// FromHeaders reads an origin back; false when the headers carry none.
func FromHeaders(h goka.Headers) (Origin, bool) {
	topic, ok := h[HeaderTopic]
	if !ok {
		return Origin{}, false
	}
	p, err1 := strconv.ParseInt(string(h[HeaderPartition]), 10, 32)
	off, err2 := strconv.ParseInt(string(h[HeaderOffset]), 10, 64)
	if err1 != nil || err2 != nil {
		return Origin{}, false
	}
	return Origin{Topic: string(topic), Partition: int32(p), Offset: off}, true
}

// Route is the prelude of every input callback of a group with a loop
// topic: it returns the record's origin and true when this partition owns
// the record, or forwards the record to its owner (calling forwarded, for a
// metric) and returns false.
func Route(ctx goka.Context, loop string, n int32, value any, forwarded func()) (Origin, bool) {
	o := Of(ctx, loop)
	if Misplaced(ctx, loop, n) {
		forwarded()
		Loopback(ctx, value, o)
		return o, false
	}
	return o, true
}
