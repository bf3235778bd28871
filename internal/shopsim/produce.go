package shopsim

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrAcks is returned when Produce is given a client that does not wait
// for all in-sync replicas: a simulator standing in for Debezium must not
// lose records the way a misconfigured producer would.
var ErrAcks = errors.New("client does not use acks=all")

// Produce writes recs with cl and waits until every record is acknowledged.
//
// The client must use acks=all (checked; ErrAcks otherwise) and franz-go's
// default partitioner, which hashes keys with murmur2 exactly as Kafka
// Connect's Java producer does, so every key lands in the partition
// Debezium would have chosen. Each record keeps its headers and, when set,
// its timestamp. Records of one partition are written in slice order;
// records of different partitions or topics are not ordered relative to
// each other, so call Produce once per step to force an order across
// topics (e.g. the outbox before the inventory changes).
//
// It fails with the first record's error, wrapped with its topic; records
// of the same call may or may not have been written.
func Produce(ctx context.Context, cl *kgo.Client, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	if acks, ok := cl.OptValue(kgo.RequiredAcks).(kgo.Acks); ok && acks != kgo.AllISRAcks() {
		return fmt.Errorf("shopsim: produce: %w", ErrAcks)
	}
	krs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		kr := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		krs[i] = kr
	}
	for _, res := range cl.ProduceSync(ctx, krs...) {
		if res.Err != nil {
			return fmt.Errorf("shopsim: produce %d records: %s: %w", len(recs), res.Record.Topic, res.Err)
		}
	}
	return nil
}
