package inventory

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
)

func TestPartitionWritesOneContextPerRun(t *testing.T) {
	w := &partitionWrites{grace: 50 * time.Millisecond}
	run1, stop1 := context.WithCancel(context.Background())
	a, b := w.context(3, run1), w.context(3, run1)
	if a != b {
		t.Fatal("two records of one run got different write contexts")
	}
	if w.context(4, run1) == a {
		t.Fatal("two partitions share a write context")
	}
	stop1()
	if a.Err() != nil {
		t.Fatal("writes were cancelled as soon as the partition stopped, without their grace")
	}
	select {
	case <-a.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("writes of a stopped partition were never cancelled")
	}
	run2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	if c := w.context(3, run2); c == a || c.Err() != nil {
		t.Fatal("the partition's next run got the stopped run's writes context")
	}
}

// TestStoppedPartitionWritesDoNotLandLate: a table write sent to a broker
// that stopped answering (its request is out, its outcome unknown) is
// failed once its partition stopped and the grace ran out, and is not
// retried into the changelog when the broker answers again, where it
// would follow the next owner's writes. franz-go's idempotent producer
// would otherwise retry it until the broker answered, however late.
func TestStoppedPartitionWritesDoNotLandLate(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(t.TempDir(), "broker"), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	px := startBlackHoleProxy(t, b.Addr())
	// The broker advertises its own address; the dialer sends every
	// connection through the proxy.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, px.addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(px.addr), kgo.Dialer(dial), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0), kgo.AllowIdempotentProduceCancellation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const topic = "late-writes"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	px.blackHole(true) // the broker stops answering: requests go out, nothing comes back
	w := &partitionWrites{grace: 500 * time.Millisecond}
	run, stop := context.WithCancel(ctx)
	failed := make(chan error, 1)
	cl.Produce(w.context(0, run), &kgo.Record{Topic: topic, Value: []byte("held back")}, func(_ *kgo.Record, err error) { failed <- err })
	time.Sleep(300 * time.Millisecond)
	stop() // the partition stops while its write waits for an answer
	select {
	case err := <-failed:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the held-back write ended with %v, want it cancelled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held-back write was neither acknowledged nor failed")
	}

	px.blackHole(false)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("new owner")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a late retry would land by now
	rd, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var got []string
	for len(got) < 2 {
		fs := rd.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %q: %v", got, err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Second)
	defer rcancel()
	rd.PollFetches(rctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	if len(got) != 2 || got[0] != "before" || got[1] != "new owner" {
		t.Fatalf("changelog holds %q, want [before, new owner]: the cancelled write landed", got)
	}
}

// blackHoleProxy forwards TCP to a broker; while black-holing it drops
// what the client sends (so requests are out, unanswered, and never
// reach the broker) and keeps connections open.
type blackHoleProxy struct {
	addr string
	drop atomic.Bool

	mu    sync.Mutex
	conns []net.Conn // closed when the test ends
}

func startBlackHoleProxy(t *testing.T, target string) *blackHoleProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackHoleProxy{addr: l.Addr().String()}
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(c, up) }()
			go p.forward(c, up)
		}
	}()
	return p
}

// forward copies what the client sends to the broker, dropping it while
// black-holing.
func (p *blackHoleProxy) forward(c, up net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			up.Close()
			return
		}
		if p.drop.Load() {
			continue
		}
		if _, err := up.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *blackHoleProxy) blackHole(on bool) { p.drop.Store(on) }
