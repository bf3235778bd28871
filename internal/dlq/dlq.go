// Package dlq writes dead letters: records a group cannot use, kept with
// enough context to understand and redrive them (DESIGN §10).
//
// A dead letter's key and value are the original bytes and its timestamp is
// the source record's; headers say why and where from. Writes are
// synchronous and acknowledged by all in-sync replicas before Write returns,
// so a caller that dead-letters a record and then lets its offset commit
// never loses it. The package never decides whether a record is poison: the
// caller classifies its error with the constructors below.
package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Class is why a record was dead-lettered.
type Class string

// Classes of DESIGN §10.
const (
	ClassDecode      Class = "decode"      // the bytes cannot be decoded
	ClassValidation  Class = "validation"  // decoded, but violates the contract
	ClassUnsupported Class = "unsupported" // valid, but cartstream does not handle it (a truncate)
	ClassProcessing  Class = "processing"  // handling it failed for a reason that will not heal
)

// Header names of a dead letter.
const (
	HeaderClass           = "cartstream.error.class"
	HeaderMessage         = "cartstream.error.message"
	HeaderSourceTopic     = "cartstream.source.topic"
	HeaderSourcePartition = "cartstream.source.partition"
	HeaderSourceOffset    = "cartstream.source.offset"
	HeaderGroup           = "cartstream.group"
	HeaderFailedAt        = "cartstream.failed_at"
)

// Error is an error with its dead-letter class. Wrap errors with Decode,
// Validation, Unsupported or Processing where a record is known to be poison;
// ClassOf reads the class back through any wrapping.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string { return string(e.Class) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Decode marks err as a decode failure.
func Decode(err error) error { return &Error{Class: ClassDecode, Err: err} }

// Validation marks err as a validation failure.
func Validation(err error) error { return &Error{Class: ClassValidation, Err: err} }

// Unsupported marks err as an unsupported record.
func Unsupported(err error) error { return &Error{Class: ClassUnsupported, Err: err} }

// Processing marks err as a permanent processing failure.
func Processing(err error) error { return &Error{Class: ClassProcessing, Err: err} }

// ClassOf returns the class of a classified error, and false for an error
// nobody classified (which must not be dead-lettered: it may be transient).
func ClassOf(err error) (Class, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Class, true
	}
	return "", false
}

// Letter is one dead letter.
type Letter struct {
	Key, Value      []byte    // the original bytes
	Timestamp       time.Time // the source record's timestamp
	Class           Class
	Message         string
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	Group           string    // logical group name
	FailedAt        time.Time // wall clock, for operators only
}

// Record renders the letter as the Kafka record written to topic.
func (l Letter) Record(topic string) *kgo.Record {
	return &kgo.Record{
		Topic:     topic,
		Key:       l.Key,
		Value:     l.Value,
		Timestamp: l.Timestamp,
		Headers: []kgo.RecordHeader{
			{Key: HeaderClass, Value: []byte(l.Class)},
			{Key: HeaderMessage, Value: []byte(l.Message)},
			{Key: HeaderSourceTopic, Value: []byte(l.SourceTopic)},
			{Key: HeaderSourcePartition, Value: []byte(strconv.FormatInt(int64(l.SourcePartition), 10))},
			{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(l.SourceOffset, 10))},
			{Key: HeaderGroup, Value: []byte(l.Group)},
			{Key: HeaderFailedAt, Value: []byte(l.FailedAt.UTC().Format(time.RFC3339Nano))},
		},
	}
}

// Parse reads a dead letter back from a record of the DLQ topic.
func Parse(r *kgo.Record) (Letter, error) {
	l := Letter{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	h := map[string]string{}
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	for _, name := range []string{HeaderClass, HeaderSourceTopic, HeaderSourcePartition, HeaderSourceOffset} {
		if _, ok := h[name]; !ok {
			return l, fmt.Errorf("dlq: record at %s/%d@%d lacks header %s", r.Topic, r.Partition, r.Offset, name)
		}
	}
	p, err := strconv.ParseInt(h[HeaderSourcePartition], 10, 32)
	if err != nil {
		return l, fmt.Errorf("dlq: header %s: %w", HeaderSourcePartition, err)
	}
	o, err := strconv.ParseInt(h[HeaderSourceOffset], 10, 64)
	if err != nil {
		return l, fmt.Errorf("dlq: header %s: %w", HeaderSourceOffset, err)
	}
	l.Class = Class(h[HeaderClass])
	l.Message = h[HeaderMessage]
	l.SourceTopic = h[HeaderSourceTopic]
	l.SourcePartition = int32(p)
	l.SourceOffset = o
	l.Group = h[HeaderGroup]
	if at, err := time.Parse(time.RFC3339Nano, h[HeaderFailedAt]); err == nil {
		l.FailedAt = at
	}
	return l, nil
}

// Writer writes dead letters to one topic.
type Writer struct {
	cl    *kgo.Client
	topic string
	now   func() time.Time
}

// NewWriter returns a writer producing to topic with cl. The client should
// require acks from all in-sync replicas (kgo's default). now stamps
// FailedAt (nil: time.Now); it never enters processing.
func NewWriter(cl *kgo.Client, topic string, now func() time.Time) *Writer {
	if now == nil {
		now = time.Now
	}
	return &Writer{cl: cl, topic: topic, now: now}
}

// Write produces the letter and waits for the acknowledgement. An error
// means the letter is not known to be stored: the caller must not commit the
// source record's offset (fail the partition and let it be redelivered).
func (w *Writer) Write(ctx context.Context, l Letter) error {
	if l.FailedAt.IsZero() {
		l.FailedAt = w.now()
	}
	if err := w.cl.ProduceSync(ctx, l.Record(w.topic)).FirstErr(); err != nil {
		return fmt.Errorf("dlq: write dead letter for %s/%d@%d: %w", l.SourceTopic, l.SourcePartition, l.SourceOffset, err)
	}
	return nil
}
