package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
	"cartstream/internal/config"
	"cartstream/internal/instance"
	"cartstream/internal/shopsim"
	"cartstream/internal/streams"
	"cartstream/topology"
)

func TestMain(m *testing.M) {
	streams.InstallGlobalConfig()
	os.Exit(m.Run())
}

// logBuffer collects logs, shown when a test fails; the instance's
// goroutines may still log after the test returned, so never t.Log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startStack starts what `make run` starts, in this process: a broker over
// TCP, an instance with default settings (hold TTL, max skew) against it,
// and the demo catalog of shopsim seed 1. It returns the broker's address.
func startStack(t *testing.T, logs *logBuffer) string {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := broker.Start(context.Background(), broker.Config{DataDir: filepath.Join(dir, "broker"), Listen: "127.0.0.1:0", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	var cfg config.Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	cfg.RegisterRun(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPListen = l.Addr().String()
	l.Close()
	cfg.Brokers = []string{b.Addr()}
	cfg.DataDir = filepath.Join(dir, "instance")
	cfg.InstanceID = "loadgen-test"
	cfg.Partitions = 4
	cfg.Seed = false
	cfg.LogLevel = "warn"
	in, err := instance.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("instance: %v", err)
		}
	})

	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + cfg.HTTPListen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance not ready\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	demo := shopsim.New(demoSeed, shopsim.Options{Start: time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second)})
	if err := shopsim.Produce(context.Background(), cl, demo.SnapshotCatalog(shopsim.DemoProducts, shopsim.DemoPromotions)); err != nil {
		t.Fatal(err)
	}
	return b.Addr()
}

// step is one cart event as far as the seed decides it: its bytes with the
// namespace replaced and ts left out.
type step map[string]any

// sequences returns, per cart (namespace replaced), its distinct cart
// events in order.
func sequences(t *testing.T, recs []shopsim.Record, namespace string) map[string][]step {
	t.Helper()
	out := map[string][]step{}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Topic != topology.DefaultNames().CartEvents {
			continue
		}
		v := bytes.ReplaceAll(r.Value, []byte(namespace+"-"), []byte("NS-"))
		var s step
		if err := json.Unmarshal(v, &s); err != nil {
			t.Fatal(err)
		}
		id := s["event_id"].(string)
		if seen[id] {
			continue
		}
		seen[id] = true
		delete(s, "ts")
		cart := s["cart_id"].(string)
		out[cart] = append(out[cart], s)
	}
	return out
}

// countOffers counts the offers of the namespace's carts.
func countOffers(t *testing.T, addr, namespace string) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topology.DefaultNames().Offers),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n := 0
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			if strings.HasPrefix(string(r.Key), namespace+"-") {
				n++
			}
		})
		if n > 0 && fs.NumRecords() == 0 {
			break
		}
	}
	return n
}

// Against a running stack, loadgen holds its rate, gets offers and
// checkout statuses back, completes reserved checkouts, and a second run
// with the same seed (in another namespace) makes every cart do the same.
func TestLoadgen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and an instance")
	}
	logs := &logBuffer{}
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	}()
	addr := startStack(t, logs)

	const rate, duration = 150.0, 4 * time.Second
	runOnce := func(namespace string) (Summary, []shopsim.Record, error) {
		cfg := Defaults()
		cfg.Brokers = []string{addr}
		cfg.NewClient = func(opts ...kgo.Opt) (*kgo.Client, error) {
			return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
		}
		cfg.Seed = 7
		cfg.Namespace = namespace
		cfg.Rate, cfg.Duration = rate, duration
		cfg.SKUs, cfg.Stock = 20, 100_000
		cfg.BrowseRate, cfg.ThinkTime = 0.5, 150*time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		var recs []shopsim.Record
		cfg.OnRecords = func(b []shopsim.Record) { recs = append(recs, b...) }
		sum, err := Run(context.Background(), cfg)
		return sum, recs, err
	}

	a, recsA, err := runOnce("")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s\n%s", a, a.Details())
	if r := a.Rate(); r < 0.8*rate || r > 1.1*rate {
		t.Errorf("achieved %.1f events/s, target %v", r, rate)
	}
	if a.Reserved == 0 || a.Completed == 0 || a.Checkouts < a.Reserved {
		t.Errorf("checkouts %d, reserved %d, completed %d: statuses did not come back", a.Checkouts, a.Reserved, a.Completed)
	}
	if a.Anomalies != 0 || a.Failed != 0 || a.CDC == 0 {
		t.Errorf("anomalies %d, failed %d, cdc records %d", a.Anomalies, a.Failed, a.CDC)
	}
	if n := countOffers(t, addr, a.Namespace); n == 0 {
		t.Error("no offers for the load's carts")
	}

	b, recsB, err := runOnce("again")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s\n%s", b, b.Details())
	seqA, seqB := sequences(t, recsA, a.Namespace), sequences(t, recsB, "again")
	same, prefix := 0, 0
	for cart, x := range seqA {
		y, ok := seqB[cart]
		if !ok {
			continue
		}
		// A run ends at its own time: a cart cut short is a prefix of
		// the same cart in the other run.
		n := min(len(x), len(y))
		for i := range n {
			if !equalStep(x[i], y[i]) {
				t.Fatalf("cart %s differs at event %d:\n%v\n%v", cart, i, x[i], y[i])
			}
		}
		if len(x) == len(y) {
			same++
		} else {
			prefix++
		}
	}
	if same < 100 {
		t.Errorf("only %d carts identical in both runs (%d cut short)", same, prefix)
	}

	if _, _, err := runOnce(""); !errors.Is(err, ErrNamespaceUsed) {
		t.Errorf("a reused namespace: %v", err)
	}
}

func equalStep(x, y step) bool {
	if len(x) != len(y) {
		return false
	}
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		xb, _ := json.Marshal(x[k])
		yb, _ := json.Marshal(y[k])
		if !bytes.Equal(xb, yb) {
			return false
		}
	}
	return true
}

// With KeepLedger and BadEvery, a run accounts for everything it did:
// every acknowledged cart event under its cart, the database's rows
// (on_hand is the stock ever had less the units sold), and every bad
// record with where the broker put it.
func TestLoadgenLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and an instance")
	}
	logs := &logBuffer{}
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	}()
	addr := startStack(t, logs)
	cfg := Defaults()
	cfg.Brokers = []string{addr}
	cfg.NewClient = func(opts ...kgo.Opt) (*kgo.Client, error) {
		return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	}
	cfg.Seed, cfg.Rate, cfg.Duration = 9, 150, 3*time.Second
	cfg.SKUs, cfg.Stock, cfg.BrowseRate, cfg.ThinkTime = 10, 50, 0.3, 150*time.Millisecond
	cfg.BadEvery, cfg.KeepLedger = 40, true
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := sum.Ledger
	if l == nil {
		t.Fatal("no ledger")
	}
	distinct := 0
	for cart, n := range l.Carts {
		if !strings.HasPrefix(cart, l.Namespace+"-c") || n < 1 {
			t.Errorf("cart %s with %d events", cart, n)
		}
		distinct += n
	}
	if int64(distinct+l.DuplicateEvents) != l.CartEvents || l.CartEvents != sum.Events {
		t.Errorf("%d distinct events + %d duplicates, %d acknowledged, summary %d", distinct, l.DuplicateEvents, l.CartEvents, sum.Events)
	}
	if len(l.SKUs) != cfg.SKUs {
		t.Errorf("%d SKUs in the ledger, want %d", len(l.SKUs), cfg.SKUs)
	}
	for _, s := range l.SKUs {
		if s.OnHand != s.StockEver-s.Sold || s.Version < 1 {
			t.Errorf("%+v: on_hand is not the stock ever had less the units sold", s)
		}
	}
	if len(l.Orders) != sum.Orders || len(l.Checkouts) != sum.Checkouts || sum.Orders == 0 {
		t.Errorf("%d orders and %d checkouts in the ledger, the summary %d and %d", len(l.Orders), len(l.Checkouts), sum.Orders, sum.Checkouts)
	}
	if want := int(sum.Events) / cfg.BadEvery; len(l.BadRecords) < want-1 || len(l.BadRecords) > want+1 {
		t.Errorf("%d bad records for %d events, want about %d", len(l.BadRecords), sum.Events, want)
	}
	kinds := map[string]bool{}
	for _, b := range l.BadRecords {
		kinds[b.Kind] = true
		if b.Topic != topology.DefaultNames().CartEvents || b.Offset < 0 || !strings.HasPrefix(b.Key, l.Namespace+"-bad-") {
			t.Errorf("bad record %+v", b)
		}
	}
	if len(kinds) != len(badKinds) {
		t.Errorf("bad record kinds %v, want all %d", kinds, len(badKinds))
	}
}
