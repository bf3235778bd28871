package streams

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/supervise"
)

// TestSupervisorSurvivesBrokerLoss breaks the broker connection under a
// supervised goka processor (Pebble state, murmur2, cartstream's sarama
// settings): the broker goes away, the processor fails and is rebuilt with
// backoff until the broker is back on the same data dir, then it is ready
// again with its state and processes new records.
func TestSupervisorSurvivesBrokerLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("broker restart test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	addr := freeLoopback(t)
	brokerDir := filepath.Join(dir, "broker")
	b, err := broker.Start(ctx, broker.Config{DataDir: brokerDir, Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()

	const (
		group = goka.Group("sv")
		input = goka.Stream("sv-in")
		parts = 4
		keys  = 200
	)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, parts, 1, nil, string(input)); err != nil {
		t.Fatal(err)
	}
	compact := "compact"
	if _, err := adm.CreateTopic(ctx, parts, 1, map[string]*string{"cleanup.policy": &compact}, string(goka.GroupTable(group))); err != nil {
		t.Fatal(err)
	}

	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	f := NewFactory(Config{Brokers: []string{addr}, DataDir: filepath.Join(dir, "state"), Logger: logger})
	gg := goka.DefineGroup(group,
		// Keep the highest round seen per key: delivery is at-least-once
		// (records after the last commit are seen again after a restart),
		// so the state is made idempotent as cartstream's groups make theirs.
		goka.Input(input, new(codec.String), func(ctx goka.Context, msg any) {
			round, err := strconv.ParseInt(msg.(string), 10, 64)
			if err != nil {
				ctx.Fail(err)
			}
			if v := ctx.Value(); v == nil || v.(int64) < round {
				ctx.SetValue(round)
			}
		}),
		goka.Persist(new(codec.Int64)),
	)
	var (
		mu      sync.Mutex
		current *goka.Processor
		builds  atomic.Int32
	)
	sup := supervise.New("sv", f.Supervised(gg, ProcessorOptions{}, func(p *goka.Processor) {
		builds.Add(1)
		mu.Lock()
		current = p
		mu.Unlock()
	}), supervise.Options{MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = sup.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	produce := func(round int) {
		t.Helper()
		recs := make([]*kgo.Record, keys)
		for i := range recs {
			recs[i] = &kgo.Record{Topic: string(input), Key: fmt.Appendf(nil, "k%d", i), Value: []byte(strconv.Itoa(round))}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	waitRound := func(want int64) {
		t.Helper()
		for {
			mu.Lock()
			p := current
			mu.Unlock()
			ok := p != nil && sup.Ready()
			for i := 0; ok && i < keys; i++ {
				v, err := p.Get(fmt.Sprintf("k%d", i))
				ok = err == nil && v != nil && v.(int64) == want
			}
			if ok {
				return
			}
			select {
			case <-ctx.Done():
				dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
				ends, _ := adm.ListEndOffsets(dctx, string(input), string(goka.GroupTable(group)))
				committed, _ := adm.FetchOffsets(dctx, string(group))
				dcancel()
				var vals []string
				for i := 0; p != nil && i < 5; i++ {
					v, err := p.Get(fmt.Sprintf("k%d", i))
					vals = append(vals, fmt.Sprint(v, err))
				}
				t.Fatalf("rounds never reached %d; supervisor %+v\nend offsets %v\ncommitted %v\nsample %v", want, sup.Status(), ends, committed, vals)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	begin := time.Now()
	produce(1)
	waitRound(1)
	t.Logf("first round processed after %s", time.Since(begin).Round(time.Millisecond))

	// Break the connection: the broker goes away.
	b.Close()
	for sup.Status().Restarts == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("processor never failed after the broker went away: %+v", sup.Status())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if sup.Ready() {
		t.Errorf("ready while the broker is gone")
	}
	st := sup.Status()
	t.Logf("after broker loss: %+v", st)

	// The broker comes back on the same data dir and address.
	b, err = broker.Start(ctx, broker.Config{DataDir: brokerDir, Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	begin = time.Now()
	produce(2)
	waitRound(2)
	t.Logf("second round processed %s after the broker came back", time.Since(begin).Round(time.Millisecond))
	if builds.Load() < 2 {
		t.Errorf("processor built %d times, want a fresh one after the failure", builds.Load())
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
