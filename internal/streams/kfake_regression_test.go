package streams

// Regression tests for goka over sarama against the embedded kfake broker.
// docs/sarama-kfake.md explains the incompatibility they guard against: from
// sarama Version 2.4.0 on, a new consumer group cannot start against kfake.
//
// TestKfakeGroupTableViewCatchUp is the end-to-end check at saramaVersion().
// TestKfakeSaramaVersionSweep shows which sarama versions complete a small
// join-and-consume cycle; it runs a representative set of versions by default
// and every version sarama knows from 2.0.0 on with CARTSTREAM_SARAMA_SWEEP=1.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/partition"
)

const (
	// kfakeRegRecords is how many records the end-to-end test produces.
	kfakeRegRecords = 100_000
	// kfakeRegKeys is how many distinct keys those records spread over.
	kfakeRegKeys = 1_000
	// kfakeRegPartitions is the partition count of the input topic and of
	// the group table.
	kfakeRegPartitions = 8
	// kfakeRegTimeout bounds the end-to-end test as a whole.
	kfakeRegTimeout = 120 * time.Second
	// kfakeRegStall fails a test early when neither the processor nor the
	// view made progress for this long: the symptom of the incompatibility
	// is a pipeline that silently stops moving.
	kfakeRegStall = 15 * time.Second
	// kfakeRegStop bounds how long goka may take to shut down.
	kfakeRegStop = 15 * time.Second

	// kfakeSweepEnv enables the full version sweep.
	kfakeSweepEnv = "CARTSTREAM_SARAMA_SWEEP"
	// kfakeSweepRecords is how many records each sweep case consumes.
	kfakeSweepRecords = 200
	// kfakeSweepDeadline bounds one sweep case.
	kfakeSweepDeadline = 15 * time.Second
)

// kfakeFirstBrokenVersion is the first sarama Version with which a new goka
// consumer group fails against kfake: it makes sarama fetch committed offsets
// with OffsetFetch v6, whose decoder rejects kfake's null metadata.
var kfakeFirstBrokenVersion = sarama.V2_4_0_0

// TestKfakeGroupTableViewCatchUp runs a goka processor that counts records
// per key into its group table, and a view of that table, over TCP against the
// embedded broker, with the sarama version cartstream uses. The records are
// produced before the processor starts, by franz-go with its default murmur2
// partitioner, so the test also checks that the group reads from the earliest
// offset and that goka's hasher agrees with Kafka's default partitioning.
func TestKfakeGroupTableViewCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test; skipped with -short")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), kfakeRegTimeout)
	defer cancel()

	b := startKfakeRegBroker(ctx, t)
	cl, adm := newKfakeRegClient(t, b.Addr())

	const group goka.Group = "kfake-regression-count"
	input := goka.Stream("kfake-regression-input")
	table := goka.GroupTable(group)
	if err := createKfakeRegTopics(ctx, adm, kfakeRegPartitions, string(input), string(table)); err != nil {
		t.Fatal(err)
	}
	want, err := produceKfakeRegRecords(ctx, cl, string(input), kfakeRegRecords, kfakeRegKeys)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("produced %d records over %d keys in %v", kfakeRegRecords, len(want), time.Since(start).Round(time.Millisecond))

	cfg := SaramaConfig("kfake-regression", 0)
	if cfg.Version != saramaVersion() {
		t.Fatalf("SaramaConfig uses version %s, want saramaVersion() %s", cfg.Version, saramaVersion())
	}
	if cfg.Consumer.Offsets.Initial != sarama.OffsetOldest {
		t.Fatalf("SaramaConfig: Consumer.Offsets.Initial = %d, want OffsetOldest: a new group must read its inputs from the start", cfg.Consumer.Offsets.Initial)
	}

	logs := newKfakeRegLogger(t)
	var processed atomic.Int64
	proc, err := newKfakeRegProcessor([]string{b.Addr()}, countingGraph(group, input, &processed), saramaVersion(), logs)
	if err != nil {
		t.Fatal(err)
	}
	view, err := goka.NewView([]string{b.Addr()}, table, new(codec.Int64),
		goka.WithViewHasher(partition.Hasher()),
		goka.WithViewStorageBuilder(storage.MemoryBuilder()),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(SaramaConfig("kfake-regression-view", 0))),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(SaramaConfig("kfake-regression-view-topics", 0), kfakeRegTopicManagerConfig())),
		goka.WithViewLogger(logs),
	)
	if err != nil {
		t.Fatalf("build view of %s: %v", table, err)
	}

	runCtx, stop := context.WithCancel(ctx)
	runs := newKfakeRegRuns()
	runs.start(runCtx, "processor", proc.Run)
	runs.start(runCtx, "view", view.Run)
	defer func() {
		stop()
		if err := runs.wait(kfakeRegStop); err != nil {
			t.Error(err)
		}
		logs.close()
	}()

	// Poll until the view holds every expected count. goka's
	// WaitForReady returns nil when the processor has failed, so the loop
	// watches the runs' errors itself instead of relying on it.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastProcessed, lastMatched := int64(-1), -1
	lastProgress := time.Now()
	for {
		matched, mismatch := kfakeRegCompare(view, want)
		if matched == len(want) {
			break
		}
		p := processed.Load()
		if p != lastProcessed || matched != lastMatched {
			lastProcessed, lastMatched, lastProgress = p, matched, time.Now()
		}
		progress := fmt.Sprintf("processor handled %d/%d records, view matches %d/%d keys (first mismatch: %s)",
			p, kfakeRegRecords, matched, len(want), mismatch)
		if time.Since(lastProgress) > kfakeRegStall {
			t.Fatalf("no progress for %v with sarama %s (see docs/sarama-kfake.md): %s", kfakeRegStall, saramaVersion(), progress)
		}
		select {
		case err := <-runs.errs:
			t.Fatalf("%v before the view caught up; %s", err, progress)
		case <-ctx.Done():
			t.Fatalf("timed out after %v with sarama %s (see docs/sarama-kfake.md): %s", kfakeRegTimeout, saramaVersion(), progress)
		case <-tick.C:
		}
	}
	if p := processed.Load(); p != kfakeRegRecords {
		t.Errorf("processor handled %d records, want %d", p, kfakeRegRecords)
	}
	t.Logf("view caught up with %d keys after %v in total", len(want), time.Since(start).Round(time.Millisecond))
}

// TestKfakeSaramaVersionSweep runs a small join-and-consume cycle (a new
// group, one processor, kfakeSweepRecords records) for several sarama
// versions and asserts the boundary docs/sarama-kfake.md describes: versions
// before kfakeFirstBrokenVersion complete, later ones fail to start the group
// with sarama's "error decoding packet" error. The failure is deterministic
// (every new group hits it on its first offset fetch), so it is asserted; when
// a dependency upgrade fixes it, this test fails and says so, which is the
// signal to raise saramaVersion.
//
// By default the sweep covers a representative set of versions; with
// CARTSTREAM_SARAMA_SWEEP=1 it covers every version sarama supports from
// 2.0.0 on.
func TestKfakeSaramaVersionSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test; skipped with -short")
	}
	versions := []sarama.KafkaVersion{
		sarama.V2_0_0_0, sarama.V2_1_0_0, sarama.V2_2_0_0, sarama.V2_3_0_0, saramaVersion(),
		sarama.V2_4_0_0, sarama.V2_5_0_0, sarama.V2_8_0_0, sarama.V3_0_0_0, sarama.V3_9_0_0, sarama.MaxVersion,
	}
	if os.Getenv(kfakeSweepEnv) != "" {
		versions = versions[:0]
		for _, v := range sarama.SupportedVersions {
			if v.IsAtLeast(sarama.V2_0_0_0) {
				versions = append(versions, v)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(len(versions)+1)*kfakeSweepDeadline)
	defer cancel()
	b := startKfakeRegBroker(ctx, t)
	cl, adm := newKfakeRegClient(t, b.Addr())

	seen := map[string]bool{}
	for _, v := range versions {
		name := v.String()
		if seen[name] {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			elapsed, err := kfakeSweepCycle(ctx, t, b.Addr(), cl, adm, v)
			works := !v.IsAtLeast(kfakeFirstBrokenVersion)
			switch {
			case works && err != nil:
				t.Fatalf("sarama %s should complete a join-and-consume cycle against kfake: %v", v, err)
			case works:
				t.Logf("sarama %s: completed in %v", v, elapsed.Round(time.Millisecond))
			case err == nil:
				t.Fatalf("sarama %s now completes a join-and-consume cycle against kfake: the incompatibility in docs/sarama-kfake.md is gone; re-run with %s=1, raise saramaVersion and update kfakeFirstBrokenVersion", v, kfakeSweepEnv)
			case !isPacketDecodingError(err):
				t.Fatalf("sarama %s fails against kfake, but not with the OffsetFetch decoding error docs/sarama-kfake.md describes: %v", v, err)
			default:
				t.Logf("sarama %s: fails as documented after %v: %v", v, elapsed.Round(time.Millisecond), err)
			}
		})
	}
}

// TestSaramaVersionIsHighestWorking checks that saramaVersion is the newest
// version sarama knows below kfakeFirstBrokenVersion, so it is not lowered by
// accident and is revisited when the boundary moves.
func TestSaramaVersionIsHighestWorking(t *testing.T) {
	var highest sarama.KafkaVersion
	for _, v := range sarama.SupportedVersions {
		if !v.IsAtLeast(kfakeFirstBrokenVersion) && v.IsAtLeast(highest) {
			highest = v
		}
	}
	if got := saramaVersion(); got != highest {
		t.Fatalf("saramaVersion() = %s, want %s, the newest version below %s", got, highest, kfakeFirstBrokenVersion)
	}
	if err := SaramaConfig("validate", 0).Validate(); err != nil {
		t.Fatalf("SaramaConfig is invalid: %v", err)
	}
}

// kfakeSweepCycle creates a fresh topic and group for version v, produces
// kfakeSweepRecords records, and runs a processor until it has handled all of
// them. It returns how long that took, or why it did not complete.
func kfakeSweepCycle(ctx context.Context, t *testing.T, addr string, cl *kgo.Client, adm *kadm.Client, v sarama.KafkaVersion) (time.Duration, error) {
	suffix := strings.ReplaceAll(v.String(), ".", "-")
	group := goka.Group("kfake-sweep-" + suffix)
	input := goka.Stream("kfake-sweep-input-" + suffix)
	if err := createKfakeRegTopics(ctx, adm, 2, string(input), string(goka.GroupTable(group))); err != nil {
		t.Fatal(err)
	}
	if _, err := produceKfakeRegRecords(ctx, cl, string(input), kfakeSweepRecords, 10); err != nil {
		t.Fatal(err)
	}

	logs := newKfakeRegLogger(t)
	defer logs.close()
	var processed atomic.Int64
	proc, err := newKfakeRegProcessor([]string{addr}, countingGraph(group, input, &processed), v, logs)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runCtx, stop := context.WithCancel(ctx)
	runs := newKfakeRegRuns()
	runs.start(runCtx, "processor", proc.Run)
	defer func() {
		stop()
		if err := runs.wait(kfakeRegStop); err != nil {
			t.Error(err)
		}
	}()

	deadline := time.NewTimer(kfakeSweepDeadline)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for processed.Load() < kfakeSweepRecords {
		select {
		case err := <-runs.errs:
			return time.Since(start), err
		case <-deadline.C:
			return time.Since(start), fmt.Errorf("no completion within %v: handled %d/%d records", kfakeSweepDeadline, processed.Load(), kfakeSweepRecords)
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("sweep deadline: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return time.Since(start), nil
}

// isPacketDecodingError reports whether err is sarama's failure to decode a
// response.
func isPacketDecodingError(err error) bool {
	var pde sarama.PacketDecodingError
	return errors.As(err, &pde) || strings.Contains(err.Error(), "error decoding packet")
}

// countingGraph is a group that counts the records of input per key in its
// group table.
func countingGraph(group goka.Group, input goka.Stream, processed *atomic.Int64) *goka.GroupGraph {
	return goka.DefineGroup(group,
		goka.Input(input, new(codec.Bytes), func(ctx goka.Context, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			processed.Add(1)
		}),
		goka.Persist(new(codec.Int64)),
	)
}

// newKfakeRegProcessor builds a processor with in-memory storage, murmur2
// partitioning and cartstream's sarama settings at version v. Every builder
// gets its own config, because goka's ...WithConfig builders set ClientID on
// the config they are given.
func newKfakeRegProcessor(brokers []string, gg *goka.GroupGraph, v sarama.KafkaVersion, logs goka.Logger) (*goka.Processor, error) {
	cfg := func(clientID string) *sarama.Config {
		c := SaramaConfig(clientID, 0)
		c.Version = v
		return c
	}
	p, err := goka.NewProcessor(brokers, gg,
		goka.WithHasher(partition.Hasher()),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithConsumerGroupBuilder(goka.ConsumerGroupBuilderWithConfig(cfg("group"))),
		goka.WithProducerBuilder(goka.ProducerBuilderWithConfig(cfg("producer"))),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg("topics"), kfakeRegTopicManagerConfig())),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg("consumer"))),
		goka.WithLogger(logs),
	)
	if err != nil {
		return nil, fmt.Errorf("build processor %s with sarama %s: %w", gg.Group(), v, err)
	}
	return p, nil
}

// kfakeRegTopicManagerConfig makes goka check, not create, topics: the tests
// create them up front, as cartstream's topology does.
func kfakeRegTopicManagerConfig() *goka.TopicManagerConfig {
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = 1
	tmc.Stream.Replication = 1
	tmc.NoCreate = true
	return tmc
}

// startKfakeRegBroker starts the embedded broker on a free port and closes it
// when the test ends.
func startKfakeRegBroker(ctx context.Context, t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start embedded broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// newKfakeRegClient returns a franz-go client (default partitioner: murmur2
// on the key, as Kafka's Java client) and an admin client on top of it.
func newKfakeRegClient(t *testing.T, addr string) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatalf("franz-go client for %s: %v", addr, err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

// createKfakeRegTopics creates each topic with the given partition count and
// replication factor 1. Names ending in "-table" are compacted, as goka's
// topic manager expects of group tables.
func createKfakeRegTopics(ctx context.Context, adm *kadm.Client, partitions int32, topics ...string) error {
	for _, topic := range topics {
		var configs map[string]*string
		if strings.HasSuffix(topic, "-table") {
			configs = map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
		}
		resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("create topic %s with %d partitions: %w", topic, partitions, err)
		}
	}
	return nil
}

// produceKfakeRegRecords produces n records to topic, round-robin over keys
// distinct keys, and returns how many records each key got.
func produceKfakeRegRecords(ctx context.Context, cl *kgo.Client, topic string, n, keys int) (map[string]int64, error) {
	want := make(map[string]int64, keys)
	var (
		mu       sync.Mutex
		firstErr error
	)
	for i := range n {
		key := "key-" + strconv.Itoa(i%keys)
		want[key]++
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush records to %s: %w", topic, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return nil, fmt.Errorf("produce to %s: %w", topic, firstErr)
	}
	return want, nil
}

// kfakeRegCompare returns how many keys the view holds the expected count
// for, and a description of the first key it does not.
func kfakeRegCompare(view *goka.View, want map[string]int64) (int, string) {
	matched, mismatch := 0, "none"
	for key, n := range want {
		v, err := view.Get(key)
		switch {
		case err != nil:
			if mismatch == "none" {
				mismatch = fmt.Sprintf("%s: %v", key, err)
			}
		case v != nil && v.(int64) == n:
			matched++
		case mismatch == "none":
			mismatch = fmt.Sprintf("%s = %v, want %d", key, v, n)
		}
	}
	return matched, mismatch
}

// kfakeRegRuns runs goka components and collects how they end.
type kfakeRegRuns struct {
	wg   sync.WaitGroup
	errs chan error
}

func newKfakeRegRuns() *kfakeRegRuns {
	// Buffered for every component a test starts, so a run that ends
	// never blocks on a reader that is gone.
	return &kfakeRegRuns{errs: make(chan error, 4)}
}

// start runs fn in a goroutine; if it returns before ctx is canceled (or
// with an error), that is reported on errs.
func (r *kfakeRegRuns) start(ctx context.Context, name string, fn func(context.Context) error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := fn(ctx)
		if ctx.Err() != nil && err == nil {
			return
		}
		if err == nil {
			err = errors.New("returned without error")
		}
		r.errs <- fmt.Errorf("%s stopped: %w", name, err)
	}()
}

// wait waits up to d for every run to return.
func (r *kfakeRegRuns) wait(d time.Duration) error {
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("goka components did not stop within %v", d)
	}
}

// kfakeRegLogger sends goka's log lines to the test log (shown with -v or on
// failure) until the test closes it; goka may log from goroutines that end
// after the test body.
type kfakeRegLogger struct {
	t      *testing.T
	mu     sync.Mutex
	closed bool
}

func newKfakeRegLogger(t *testing.T) *kfakeRegLogger { return &kfakeRegLogger{t: t} }

func (l *kfakeRegLogger) log(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log("goka: " + strings.TrimSuffix(s, "\n"))
	}
}

func (l *kfakeRegLogger) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

func (l *kfakeRegLogger) Print(v ...any)                 { l.log(fmt.Sprint(v...)) }
func (l *kfakeRegLogger) Println(v ...any)               { l.log(fmt.Sprintln(v...)) }
func (l *kfakeRegLogger) Printf(format string, v ...any) { l.log(fmt.Sprintf(format, v...)) }
