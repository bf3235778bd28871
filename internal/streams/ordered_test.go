package streams

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeSession records the marks an orderedSession forwards.
type fakeSession struct {
	sarama.ConsumerGroupSession
	marks []string
}

func (f *fakeSession) MarkOffset(topic string, partition int32, offset int64, _ string) {
	f.marks = append(f.marks, fmt.Sprintf("%s/%d@%d", topic, partition, offset))
}

// Marks are forwarded only up to the first record that is not done: a
// record done early waits for the ones before it.
func TestOrderedSessionMarksInOrder(t *testing.T) {
	inner := &fakeSession{}
	s := &orderedSession{ConsumerGroupSession: inner, parts: map[topicPartition]*doneTracker{}}
	a, b := s.tracker("in", 0), s.tracker("in", 1)
	for _, o := range []int64{10, 11, 13, 14} { // 12 is not in the log (compacted)
		a.deliver(o)
	}
	b.deliver(5)
	steps := []struct {
		topic     string
		partition int32
		offset    int64 // as goka marks: the record's offset + 1
		want      []string
	}{
		{"in", 0, 12, nil},                     // 11 done, 10 still in flight
		{"in", 0, 15, nil},                     // 14 done
		{"in", 1, 6, []string{"in/1@6"}},       // another partition moves alone
		{"in", 0, 11, []string{"in/0@12"}},     // 10 done: 10 and 11 commit
		{"in", 0, 14, []string{"in/0@15"}},     // 13 done: up to 14
		{"in", 0, 12, []string{"in/0@12"}},     // a repeated mark below passes (sarama keeps the highest)
		{"other", 0, 8, []string{"other/0@8"}}, // a record it did not deliver
	}
	for i, st := range steps {
		inner.marks = nil
		s.MarkOffset(st.topic, st.partition, st.offset, "")
		if fmt.Sprint(inner.marks) != fmt.Sprint(st.want) {
			t.Errorf("step %d: mark %s/%d@%d forwarded %v, want %v", i, st.topic, st.partition, st.offset, inner.marks, st.want)
		}
	}
	if len(a.pending) != 0 || len(a.done) != 0 {
		t.Errorf("partition 0 still tracks %v %v", a.pending, a.done)
	}
}

// TestProcessorCommitsInOrder runs a goka processor built by the Factory
// against the broker: a record whose commit is deferred (as the inventory
// group defers it until its table writes are acknowledged) keeps the
// group's committed offset at it while later records are done, and once
// it is done the offset moves past all of them.
func TestProcessorCommitsInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := startKfakeRegBroker(ctx, t)
	cl, adm := newKfakeRegClient(t, b.Addr())
	const group goka.Group = "ordered-commit"
	input := goka.Stream("ordered-commit-input")
	if err := createKfakeRegTopics(ctx, adm, 1, string(input)); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		release  func(error)
		done     int
		slowSeen = make(chan struct{})
	)
	gg := goka.DefineGroup(group, goka.Input(input, new(codec.String), func(gctx goka.Context, msg any) {
		mu.Lock()
		defer mu.Unlock()
		if gctx.Key() == "slow" {
			release = gctx.DeferCommit()
			close(slowSeen)
			return
		}
		done++
	}))
	f := NewFactory(Config{Brokers: []string{b.Addr()}, DataDir: t.TempDir()})
	p, err := f.NewProcessor(gg, ProcessorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(runCtx) }()
	defer func() {
		stop()
		<-ran
	}()

	for _, k := range []string{"slow", "a", "b", "c"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: string(input), Key: []byte(k), Value: []byte(k)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	committed := func() int64 {
		os, err := adm.FetchOffsets(ctx, string(group))
		if err != nil {
			return -1
		}
		o, ok := os.Lookup(string(input), 0)
		if !ok {
			return -1
		}
		return o.At
	}
	select {
	case <-slowSeen:
	case err := <-ran:
		t.Fatalf("processor stopped: %v", err)
	case <-ctx.Done():
		t.Fatal("the slow record never came")
	}
	for {
		mu.Lock()
		n := done
		mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// sarama commits every second: give it three.
	time.Sleep(3 * time.Second)
	if c := committed(); c > 0 {
		t.Fatalf("committed offset %d while the record at offset 0 is not done", c)
	}
	mu.Lock()
	release(nil)
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for committed() != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("committed offset %d once every record was done, want 4", committed())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
