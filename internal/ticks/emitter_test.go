package ticks_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/ticks"
)

const (
	// testInterval is the tick interval the broker tests run with.
	testInterval = 50 * time.Millisecond
	// testRun is how long the broker tests let an emitter run.
	testRun = 300 * time.Millisecond
	// testTimeout bounds each broker test's I/O.
	testTimeout = 20 * time.Second
	// testInstance is the instance id the broker tests tick as.
	testInstance = "test-instance"
)

// startCluster starts an in-process single-broker kfake cluster listening on
// a free 127.0.0.1 port, with topics named by seed and their partition counts.
func startCluster(t *testing.T, seed map[string]int32) string {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0)}
	for topic, n := range seed {
		opts = append(opts, kfake.SeedTopics(n, topic))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// newClient returns a franz-go client of the broker at addr, closed at the
// end of the test.
func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("creating client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// runFor runs e for d and returns Run's result.
func runFor(t *testing.T, e *ticks.Emitter, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after its context was canceled")
		return nil
	}
}

// readAll consumes every record currently in topics, returning them by
// topic and partition in offset order.
func readAll(t *testing.T, addr string, topics ...string) map[string]map[int32][]*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	adm := kadm.NewClient(newClient(t, addr))
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatalf("listing end offsets: %v", err)
	}
	remaining := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		remaining += int(o.Offset)
	})

	cl := newClient(t, addr, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := make(map[string]map[int32][]*kgo.Record)
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d records left unread: %v", remaining, ctx.Err())
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetching %s/%d: %v", topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if got[r.Topic] == nil {
				got[r.Topic] = make(map[int32][]*kgo.Record)
			}
			got[r.Topic][r.Partition] = append(got[r.Topic][r.Partition], r)
			remaining--
		})
	}
	return got
}

// checkTicks asserts that every partition of every topic got at least
// minTicks ticks from testInstance with strictly increasing times, each
// record's timestamp equal to its payload's time.
func checkTicks(t *testing.T, got map[string]map[int32][]*kgo.Record, want map[string]int32, minTicks int) {
	t.Helper()
	for topic, n := range want {
		if len(got[topic]) != int(n) {
			t.Errorf("%s: ticks in %d partitions, want all %d", topic, len(got[topic]), n)
		}
		for p := int32(0); p < n; p++ {
			recs := got[topic][p]
			if len(recs) < minTicks {
				t.Errorf("%s/%d: %d ticks, want at least %d", topic, p, len(recs), minTicks)
			}
			var prev int64
			for i, r := range recs {
				if r.Key != nil {
					t.Errorf("%s/%d@%d: key %q, want nil", topic, p, r.Offset, r.Key)
				}
				tick, err := ticks.Decode(r.Value)
				if err != nil {
					t.Fatalf("%s/%d@%d: %v", topic, p, r.Offset, err)
				}
				if tick.Instance != testInstance {
					t.Errorf("%s/%d@%d: instance %q, want %q", topic, p, r.Offset, tick.Instance, testInstance)
				}
				if !r.Timestamp.Equal(tick.Time()) {
					t.Errorf("%s/%d@%d: record timestamp %v, payload time %v", topic, p, r.Offset, r.Timestamp, tick.Time())
				}
				if i > 0 && tick.TSMillis <= prev {
					t.Errorf("%s/%d@%d: ts_ms %d does not increase past %d", topic, p, r.Offset, tick.TSMillis, prev)
				}
				prev = tick.TSMillis
			}
		}
	}
}

func TestEmitterTicksEveryPartitionOverTCP(t *testing.T) {
	topics := map[string]int32{"carts-ticks": 8, "inventory-ticks": 4}
	for _, discover := range []bool{true, false} {
		t.Run(fmt.Sprintf("discover=%v", discover), func(t *testing.T) {
			addr := startCluster(t, topics)
			cfg := ticks.Config{
				Client:   newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner())),
				Topics:   []string{"carts-ticks", "inventory-ticks"},
				Instance: testInstance,
				Interval: testInterval,
				OnError:  func(err error) { t.Errorf("transient error: %v", err) },
			}
			if !discover {
				cfg.Partitions = topics
			}
			e, err := ticks.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := runFor(t, e, testRun); err != nil {
				t.Fatalf("Run returned %v after cancellation, want nil", err)
			}
			// A 300ms run at 50ms ticks has ~7 rounds; demand 3 so a
			// slow machine does not fail the test.
			checkTicks(t, readAll(t, addr, "carts-ticks", "inventory-ticks"), topics, 3)
		})
	}
}

// stepClock is a deterministic clock advancing one second per reading.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) read() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func TestEmitterWritesItsClock(t *testing.T) {
	addr := startCluster(t, map[string]int32{"ticks": 2})
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	clock := &stepClock{now: start}
	e, err := ticks.New(ticks.Config{
		Client:   newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner())),
		Topics:   []string{"ticks"},
		Instance: testInstance,
		Interval: testInterval,
		Clock:    clock.read,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := runFor(t, e, 3*testInterval); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, addr, "ticks")
	for p := int32(0); p < 2; p++ {
		for i, r := range got["ticks"][p] {
			tick, err := ticks.Decode(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			// Both partitions of round i carry the clock's (i+1)th reading.
			if want := start.Add(time.Duration(i+1) * time.Second); tick.Time() != want || !r.Timestamp.Equal(want) {
				t.Errorf("ticks/%d tick %d: payload %v, timestamp %v; want %v", p, i, tick.Time(), r.Timestamp, want)
			}
		}
	}
}

func TestEmitterFollowsAddedPartitions(t *testing.T) {
	addr := startCluster(t, map[string]int32{"grow": 2})
	e, err := ticks.New(ticks.Config{
		Client:          newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner())),
		Topics:          []string{"grow"},
		Instance:        testInstance,
		Interval:        testInterval,
		MetadataRefresh: testInterval,
		OnError:         func(err error) { t.Logf("transient: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	time.Sleep(2 * testInterval)
	adm := kadm.NewClient(newClient(t, addr))
	resp, err := adm.CreatePartitions(context.Background(), 2, "grow")
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		cancel()
		t.Fatalf("adding partitions: %v", err)
	}
	time.Sleep(testRun)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The new partitions join late, so demand only one tick each.
	checkTicks(t, readAll(t, addr, "grow"), map[string]int32{"grow": 4}, 1)
}

func TestEmitterRejectsNonManualPartitioner(t *testing.T) {
	addr := startCluster(t, map[string]int32{"ticks": 4})
	e, err := ticks.New(ticks.Config{
		Client:   newClient(t, addr), // default partitioner: sticky for nil keys
		Topics:   []string{"ticks"},
		Instance: testInstance,
		Interval: testInterval,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := runFor(t, e, testTimeout/2); !errors.Is(err, ticks.ErrPartitionerNotManual) {
		t.Fatalf("Run = %v, want ErrPartitionerNotManual", err)
	}
}

func TestEmitterReportsMissingTopic(t *testing.T) {
	addr := startCluster(t, map[string]int32{"present": 1})
	var mu sync.Mutex
	var reported []error
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	e, err := ticks.New(ticks.Config{
		Client:   newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner())),
		Topics:   []string{"present", "absent"},
		Instance: testInstance,
		Interval: testInterval,
		OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		},
		// Stop once the present topic has a tick and the absent one has
		// been reported, however slow the machine is.
		OnResult: func(topic string, err error) {
			mu.Lock()
			defer mu.Unlock()
			if topic == "present" && err == nil && len(reported) > 0 {
				cancel()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) == 0 {
		t.Fatal("a missing ticks topic was not reported")
	}
	checkTicks(t, readAll(t, addr, "present"), map[string]int32{"present": 1}, 1)
}

func TestNewRejectsBadConfig(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ok := ticks.Config{Client: cl, Topics: []string{"t"}, Instance: "i"}
	tests := []struct {
		name   string
		mutate func(*ticks.Config)
	}{
		{"nil client", func(c *ticks.Config) { c.Client = nil }},
		{"no topics", func(c *ticks.Config) { c.Topics = nil }},
		{"empty topic", func(c *ticks.Config) { c.Topics = []string{""} }},
		{"duplicate topic", func(c *ticks.Config) { c.Topics = []string{"t", "t"} }},
		{"empty instance", func(c *ticks.Config) { c.Instance = "" }},
		{"invalid UTF-8 instance", func(c *ticks.Config) { c.Instance = "\xff" }},
		{"negative interval", func(c *ticks.Config) { c.Interval = -time.Second }},
		{"negative refresh", func(c *ticks.Config) { c.MetadataRefresh = -time.Second }},
		{"zero partitions", func(c *ticks.Config) { c.Partitions = map[string]int32{"t": 0} }},
		{"count for unknown topic", func(c *ticks.Config) { c.Partitions = map[string]int32{"u": 1} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			if _, err := ticks.New(cfg); !errors.Is(err, ticks.ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := ticks.New(ok); err != nil {
		t.Fatalf("New(valid config) = %v", err)
	}
}
