package streams

// Benchmarks behind DefaultFlushInterval: how the producer flush interval of
// a goka processor trades end-to-end latency against throughput, measured over
// TCP against the embedded broker. They run only with -bench. Run them in
// rounds of one iteration each, so the intervals interleave in time (-count=N
// would run each sub-benchmark N times back to back, and a machine that gets
// busier or quieter would pass for a difference between intervals):
//
//	for i in $(seq 10); do go test -run '^$' -bench Flush -benchtime=1x -timeout 30m ./internal/streams/; done > flush.txt
//
// docs/benchmarks.md records the results, how to compare them with benchstat
// and the choice.
//
// Every iteration starts a fresh broker, creates the topics, and runs one
// processor built by the Factory (Pebble state, murmur2, cartstream's sarama
// settings) whose callback updates its group table and emits one record to an
// output topic per input record: two produced records per input, as in
// cartstream's groups. Records go in and come out through franz-go.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"log"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
)

const (
	// flushBenchPartitions is the partition count of every topic, the
	// default of cartstream's topology.
	flushBenchPartitions = 8
	// flushBenchKeys is how many distinct keys the records spread over.
	flushBenchKeys = 1_000
	// flushBenchWarmup is how many records each latency iteration sends,
	// at its rate, before the measured ones: they open every partition's
	// connections and state before the clock matters.
	flushBenchWarmup = 500
	// flushBenchLatencyDuration is how long each latency iteration offers
	// measured records at its rate.
	flushBenchLatencyDuration = 2 * time.Second
	// flushBenchThroughputRecords is how many records each throughput
	// iteration pre-produces and then waits to see processed.
	flushBenchThroughputRecords = 300_000
	// flushBenchIterationTimeout bounds one iteration, setup included.
	flushBenchIterationTimeout = 2 * time.Minute
	// flushBenchStopTimeout bounds the processor's shutdown.
	flushBenchStopTimeout = 30 * time.Second

	// flushBenchNoLinger is the flush interval that stands for "send as
	// soon as possible". sarama sends a batch without waiting only when
	// Producer.Flush.Frequency, .Bytes and .Messages are all 0
	// (produceSet.readyToFlush); a Frequency of 0 with SaramaConfig's
	// Flush.Bytes left in place would instead wait for 64 KiB. The Factory
	// cannot express it (a FlushInterval of 0 means DefaultFlushInterval),
	// so flushBenchProcessor installs flushBenchNoLingerProducer for it.
	flushBenchNoLinger time.Duration = 0
)

// flushBenchIntervals are the producer flush intervals compared: no linger,
// then from DefaultFlushInterval's neighbourhood up to goka's own default.
var flushBenchIntervals = []time.Duration{flushBenchNoLinger, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond}

// flushBenchRates are the offered loads of the latency benchmark in records
// per second: a modest one, and the design target's 5 000 events/s.
var flushBenchRates = []int{1_000, 5_000}

// Record kinds, the first byte of every benchmark value.
const (
	flushBenchWarmupRecord   byte = 'w'
	flushBenchMeasuredRecord byte = 'm'
)

// BenchmarkFlushLatency measures the latency of one record through a goka
// processor: franz-go produces an input record carrying its send time (no
// producer linger), the processor updates its table and emits the record to
// the output topic, and a franz-go consumer takes the difference when it
// receives it. Records are offered at a fixed rate for
// flushBenchLatencyDuration after a warm-up; the percentiles cover every
// measured record of every iteration and are reported in milliseconds.
func BenchmarkFlushLatency(b *testing.B) {
	flushBenchQuietLog(b)
	for _, flush := range flushBenchIntervals {
		for _, rate := range flushBenchRates {
			b.Run(fmt.Sprintf("flush=%s/rate=%d", flushBenchName(flush), rate), func(b *testing.B) {
				n := int(flushBenchLatencyDuration.Seconds() * float64(rate))
				var all []time.Duration
				for range b.N {
					all = append(all, flushBenchLatencyIteration(b, flush, rate, n)...)
				}
				slices.Sort(all)
				b.ReportMetric(flushBenchMillis(flushBenchPercentile(all, 0.50)), "p50-ms")
				b.ReportMetric(flushBenchMillis(flushBenchPercentile(all, 0.99)), "p99-ms")
				b.ReportMetric(flushBenchMillis(all[len(all)-1]), "max-ms")
			})
		}
	}
}

// BenchmarkFlushThroughput measures how many records per second a goka
// processor handles with a saturated input: flushBenchThroughputRecords
// records are produced before the processor starts, and the rate is taken
// from the first to the last output the consumer receives, so the group's
// join and the processor's start-up are left out.
func BenchmarkFlushThroughput(b *testing.B) {
	flushBenchQuietLog(b)
	for _, flush := range flushBenchIntervals {
		b.Run("flush="+flushBenchName(flush), func(b *testing.B) {
			var records int
			var elapsed time.Duration
			for range b.N {
				n, d := flushBenchThroughputIteration(b, flush, flushBenchThroughputRecords)
				records += n
				elapsed += d
			}
			b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
		})
	}
}

// flushBenchLatencyIteration runs one latency iteration: n measured records
// at rate records/s through a processor with the given flush interval. It
// returns each record's latency.
func flushBenchLatencyIteration(b *testing.B, flush time.Duration, rate, n int) []time.Duration {
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), flushBenchIterationTimeout)
	defer cancel()
	env := newFlushBenchEnv(ctx, b, flush)
	defer env.close(b)

	base := time.Now()
	out := newFlushBenchCollector(n, base)
	env.consume(ctx, b, out)
	env.run(ctx, b)

	period := time.Second / time.Duration(rate)
	offer := func(kind byte, count int, c *flushBenchCount) {
		start := time.Now()
		for i := range count {
			if wait := time.Until(start.Add(time.Duration(i) * period)); wait > 0 {
				time.Sleep(wait)
			}
			env.produce(ctx, flushBenchRecord(env.input, kind, i, time.Since(base)))
		}
		env.await(ctx, b, c, count)
	}
	offer(flushBenchWarmupRecord, flushBenchWarmup, &out.warmup)
	b.StartTimer()
	offer(flushBenchMeasuredRecord, n, &out.measured)
	b.StopTimer()
	return out.latencies()
}

// flushBenchThroughputIteration runs one throughput iteration: it produces n
// records, starts a processor with the given flush interval, and returns how
// many outputs arrived after the first one and how long they took.
func flushBenchThroughputIteration(b *testing.B, flush time.Duration, n int) (int, time.Duration) {
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), flushBenchIterationTimeout)
	defer cancel()
	env := newFlushBenchEnv(ctx, b, flush)
	defer env.close(b)

	for i := range n {
		env.produce(ctx, flushBenchRecord(env.input, flushBenchMeasuredRecord, i, 0))
	}
	if err := env.cl.Flush(ctx); err != nil {
		b.Fatalf("pre-produce %d records: %v", n, err)
	}
	env.checkProduced(b)

	out := newFlushBenchCollector(n, time.Now())
	env.consume(ctx, b, out)
	b.StartTimer()
	env.run(ctx, b)
	env.await(ctx, b, &out.measured, n)
	b.StopTimer()
	first, last := out.span()
	return n - 1, last.Sub(first)
}

// flushBenchQuietLog discards the standard library logger for the rest of
// the benchmark unless it runs with -v. Pebble's default logger writes through
// it (a "Found 0 WALs" line each time a partition's store opens), and those
// lines would split the benchmark's result lines, which benchstat then cannot
// read.
func flushBenchQuietLog(b *testing.B) {
	if testing.Verbose() {
		return
	}
	prev := log.Writer()
	log.SetOutput(io.Discard)
	b.Cleanup(func() { log.SetOutput(prev) })
}

// flushBenchEnv is one iteration's broker, topics, clients and processor.
type flushBenchEnv struct {
	brk     *broker.Broker
	cl      *kgo.Client // producer and admin
	cons    *kgo.Client // consumer of the output topic
	factory *Factory
	flush   time.Duration
	group   goka.Group
	input   string
	output  string

	produceErr atomic.Pointer[error]

	cancelRun context.CancelFunc
	runDone   chan struct{}
	runErr    error // set before runDone is closed
	consDone  chan struct{}
}

// newFlushBenchEnv starts a broker and creates the topics: input, output and
// the group table (compacted), since the Factory's topic manager never
// creates topics.
func newFlushBenchEnv(ctx context.Context, b *testing.B, flush time.Duration) *flushBenchEnv {
	b.Helper()
	brk, err := broker.Start(ctx, broker.Config{DataDir: b.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatalf("start embedded broker: %v", err)
	}
	env := &flushBenchEnv{
		brk:    brk,
		flush:  flush,
		group:  "flush-bench",
		input:  "flush-bench-input",
		output: "flush-bench-output",
	}
	// No linger, so the input side adds no batching delay of its own.
	env.cl, err = kgo.NewClient(kgo.SeedBrokers(brk.Addr()), kgo.ProducerLinger(0), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		brk.Close()
		b.Fatalf("franz-go client: %v", err)
	}
	adm := kadm.NewClient(env.cl)
	compact := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	for topic, configs := range map[string]map[string]*string{
		env.input:                          nil,
		env.output:                         nil,
		string(goka.GroupTable(env.group)): compact,
	} {
		resp, err := adm.CreateTopic(ctx, flushBenchPartitions, 1, configs, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			env.close(b)
			b.Fatalf("create topic %s: %v", topic, err)
		}
	}
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	env.factory = NewFactory(Config{
		Brokers:       []string{brk.Addr()},
		InstanceID:    "bench",
		DataDir:       b.TempDir(),
		FlushInterval: flush,
		Logger:        logger,
	})
	return env
}

// produce sends one record asynchronously, keeping the first error.
func (e *flushBenchEnv) produce(ctx context.Context, r *kgo.Record) {
	e.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		if err != nil {
			e.produceErr.CompareAndSwap(nil, &err)
		}
	})
}

// checkProduced fails the benchmark if a produce failed.
func (e *flushBenchEnv) checkProduced(b *testing.B) {
	b.Helper()
	if err := e.produceErr.Load(); err != nil {
		b.Fatalf("produce to %s: %v", e.input, *err)
	}
}

// run builds the processor and runs it until the environment is closed.
func (e *flushBenchEnv) run(ctx context.Context, b *testing.B) {
	b.Helper()
	gg := goka.DefineGroup(e.group,
		goka.Input(goka.Stream(e.input), new(codec.Bytes), func(ctx goka.Context, msg any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
			ctx.Emit(goka.Stream(e.output), ctx.Key(), msg)
		}),
		goka.Persist(new(codec.Int64)),
		goka.Output(goka.Stream(e.output), new(codec.Bytes)),
	)
	proc, err := flushBenchProcessor(e.factory, gg, e.flush)
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	e.cancelRun = cancel
	e.runDone = make(chan struct{})
	go func() {
		defer close(e.runDone)
		e.runErr = proc.Run(runCtx)
	}()
}

// consume reads the output topic from the start into out until the
// environment is closed.
func (e *flushBenchEnv) consume(ctx context.Context, b *testing.B, out *flushBenchCollector) {
	b.Helper()
	cons, err := kgo.NewClient(kgo.SeedBrokers(e.brk.Addr()),
		kgo.ConsumeTopics(e.output),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		b.Fatalf("franz-go consumer: %v", err)
	}
	e.cons = cons
	e.consDone = make(chan struct{})
	go func() {
		defer close(e.consDone)
		for {
			fs := cons.PollFetches(ctx)
			if fs.IsClientClosed() || ctx.Err() != nil {
				return
			}
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) { out.add(r.Value, now) })
		}
	}()
}

// await waits until c reaches want, failing the benchmark if the processor
// stops, a produce fails, or the iteration times out.
func (e *flushBenchEnv) await(ctx context.Context, b *testing.B, c *flushBenchCount, want int) {
	b.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for c.n.Load() < int64(want) {
		e.checkProduced(b)
		select {
		case <-e.runDone:
			b.Fatalf("processor stopped after %d/%d outputs: %v", c.n.Load(), want, e.runErr)
		case <-ctx.Done():
			b.Fatalf("timed out after %d/%d outputs", c.n.Load(), want)
		case <-tick.C:
		}
	}
}

// close stops the processor and the clients and closes the broker.
func (e *flushBenchEnv) close(b *testing.B) {
	b.Helper()
	if e.cancelRun != nil {
		e.cancelRun()
		select {
		case <-e.runDone:
			if e.runErr != nil && !errors.Is(e.runErr, context.Canceled) {
				b.Errorf("processor: %v", e.runErr)
			}
		case <-time.After(flushBenchStopTimeout):
			b.Errorf("processor did not stop within %v", flushBenchStopTimeout)
		}
	}
	if e.cons != nil {
		e.cons.Close()
		<-e.consDone
	}
	if e.cl != nil {
		e.cl.Close()
	}
	e.brk.Close()
}

// flushBenchProcessor builds the processor with the Factory; for
// flushBenchNoLinger, which the Factory's Config cannot express, it replaces
// the producer with flushBenchNoLingerProducer.
func flushBenchProcessor(f *Factory, gg *goka.GroupGraph, flush time.Duration) (*goka.Processor, error) {
	var po ProcessorOptions
	if flush == flushBenchNoLinger {
		po.Extra = []goka.ProcessorOption{goka.WithProducerBuilder(flushBenchNoLingerProducer())}
	}
	return f.NewProcessor(gg, po)
}

// flushBenchNoLingerProducer is the Factory's producer builder with every
// sarama flush trigger at 0, which makes sarama send each batch as soon as
// the previous request to the broker allows.
func flushBenchNoLingerProducer() goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		c := SaramaConfig(clientID, 0)
		c.Producer.Flush.Frequency = 0
		c.Producer.Flush.Bytes = 0
		c.Producer.Flush.Messages = 0
		c.Producer.Partitioner = sarama.NewCustomHashPartitioner(hasher)
		return goka.NewProducer(brokers, c)
	}
}

// flushBenchRecord is input record i of the given kind, sent at offset sent
// from the iteration's base time. The value is kind, i and sent; the
// processor copies it to the output unchanged.
func flushBenchRecord(topic string, kind byte, i int, sent time.Duration) *kgo.Record {
	v := make([]byte, 17)
	v[0] = kind
	binary.BigEndian.PutUint64(v[1:9], uint64(i))
	binary.BigEndian.PutUint64(v[9:17], uint64(sent))
	return &kgo.Record{Topic: topic, Key: []byte("cart-" + strconv.Itoa(i%flushBenchKeys)), Value: v}
}

// flushBenchCount counts distinct records of one kind.
type flushBenchCount struct {
	n    atomic.Int64
	seen []bool // guarded by the collector's mu
}

// flushBenchCollector records what the output consumer receives: distinct
// warm-up and measured records, and for measured ones their latency and
// the first and last arrival.
type flushBenchCollector struct {
	base time.Time

	mu          sync.Mutex
	warmup      flushBenchCount
	measured    flushBenchCount
	lat         []time.Duration
	first, last time.Time
}

func newFlushBenchCollector(n int, base time.Time) *flushBenchCollector {
	c := &flushBenchCollector{base: base, lat: make([]time.Duration, 0, n)}
	c.warmup.seen = make([]bool, flushBenchWarmup)
	c.measured.seen = make([]bool, n)
	return c
}

// add records an output value received at now. Duplicates (at-least-once
// delivery) and foreign values are ignored.
func (c *flushBenchCollector) add(v []byte, now time.Time) {
	if len(v) != 17 {
		return
	}
	i := binary.BigEndian.Uint64(v[1:9])
	sent := time.Duration(binary.BigEndian.Uint64(v[9:17]))
	c.mu.Lock()
	defer c.mu.Unlock()
	count := &c.measured
	if v[0] == flushBenchWarmupRecord {
		count = &c.warmup
	}
	if i >= uint64(len(count.seen)) || count.seen[i] {
		return
	}
	count.seen[i] = true
	if count == &c.measured {
		c.lat = append(c.lat, now.Sub(c.base)-sent)
		if c.first.IsZero() {
			c.first = now
		}
		c.last = now
	}
	count.n.Add(1)
}

// latencies returns the measured records' latencies.
func (c *flushBenchCollector) latencies() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lat)
}

// span returns when the first and the last measured record arrived.
func (c *flushBenchCollector) span() (first, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first, c.last
}

// flushBenchPercentile returns the nearest-rank q-quantile of sorted.
func flushBenchPercentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// flushBenchMillis converts d to fractional milliseconds.
func flushBenchMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// flushBenchName names a flush interval in benchmark names; 0 is no linger.
func flushBenchName(d time.Duration) string {
	if d == flushBenchNoLinger {
		return "0"
	}
	return d.String()
}
