package dlq

import (
	"fmt"

	"github.com/lovoo/goka"

	"cartstream/internal/forward"
	"cartstream/internal/streams"
)

// Reject is the dead-letter step of a goka callback: it writes the record
// the callback is processing (read at origin o, with value) as a dead letter
// of group and returns its class. When err is not classified as poison, or
// the write fails, it fails the partition instead (streams.Fail: the callback
// ends there), so the record is redelivered rather than lost.
func (w *Writer) Reject(ctx goka.Context, group string, o forward.Origin, value []byte, err error) Class {
	class, ok := ClassOf(err)
	if !ok {
		streams.Fail(ctx, fmt.Errorf("%s: %w", group, err))
	}
	l := Letter{
		Key: []byte(ctx.Key()), Value: value, Timestamp: ctx.Timestamp(),
		Class: class, Message: err.Error(),
		SourceTopic: o.Topic, SourcePartition: o.Partition, SourceOffset: o.Offset,
		Group: group,
	}
	if err := w.Write(ctx.Context(), l); err != nil {
		streams.Fail(ctx, err)
	}
	return class
}
