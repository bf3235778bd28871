package dlq

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestClassOfSeesThroughWrapping(t *testing.T) {
	base := errors.New("bad byte")
	tests := []struct {
		err   error
		want  Class
		found bool
	}{
		{Decode(base), ClassDecode, true},
		{fmt.Errorf("cdc-products: %w", Validation(base)), ClassValidation, true},
		{fmt.Errorf("x: %w", fmt.Errorf("y: %w", Unsupported(base))), ClassUnsupported, true},
		{Processing(base), ClassProcessing, true},
		{base, "", false},
		{context.DeadlineExceeded, "", false},
	}
	for _, tc := range tests {
		got, ok := ClassOf(tc.err)
		if got != tc.want || ok != tc.found {
			t.Errorf("ClassOf(%v) = %q, %v; want %q, %v", tc.err, got, ok, tc.want, tc.found)
		}
		if tc.found && !errors.Is(tc.err, base) {
			t.Errorf("%v does not unwrap to its cause", tc.err)
		}
	}
}

// TestWriteKeepsOriginalBytesTimestampAndContext writes a dead letter to a
// broker over TCP and reads it back as an operator's tool would.
func TestWriteKeepsOriginalBytesTimestampAndContext(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "cartstream.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("cartstream.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	failedAt := time.Date(2026, 11, 21, 10, 0, 0, 123, time.UTC)
	w := NewWriter(cl, "cartstream.dlq", func() time.Time { return failedAt })
	src := time.UnixMilli(1767610078945)
	in := Letter{
		Key: []byte(`{"sku":"SKU-1"}`), Value: []byte{0xff, 0x00, 'x'}, Timestamp: src,
		Class: ClassDecode, Message: "debezium: invalid JSON at byte 0",
		SourceTopic: "shop.public.products", SourcePartition: 3, SourceOffset: 42, Group: "cdc-products",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Write(ctx, in); err != nil {
		t.Fatal(err)
	}
	fs := cl.PollFetches(ctx)
	if err := fs.Err0(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 {
		t.Fatalf("read %d records", len(recs))
	}
	r := recs[0]
	if !r.Timestamp.Equal(src) {
		t.Errorf("timestamp %v, want the source's %v", r.Timestamp, src)
	}
	got, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	in.FailedAt = failedAt
	if string(got.Key) != string(in.Key) || string(got.Value) != string(in.Value) ||
		got.Class != in.Class || got.Message != in.Message || got.SourceTopic != in.SourceTopic ||
		got.SourcePartition != in.SourcePartition || got.SourceOffset != in.SourceOffset ||
		got.Group != in.Group || !got.FailedAt.Equal(in.FailedAt) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, in)
	}
}

func TestParseRejectsRecordsWithoutContext(t *testing.T) {
	if _, err := Parse(&kgo.Record{Topic: "cartstream.dlq"}); err == nil {
		t.Error("parsed a record without headers")
	}
}
