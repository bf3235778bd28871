package streams

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
)

// TestLocalStateAheadOfBrokerIsRebuilt is the "local cache has offsets Kafka
// does not" case: a group's Pebble stores survive but the broker's data dir
// is lost. Reconciliation removes exactly the stores the changelog cannot
// confirm, and the processor then starts ready on the fresh broker.
func TestLocalStateAheadOfBrokerIsRebuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	addr := freeLoopback(t)
	const (
		group = goka.Group("rc")
		input = goka.Stream("rc-in")
		parts = 2
	)
	table := string(goka.GroupTable(group))
	setup := func(brokerDir string) (*broker.Broker, *kgo.Client, *kadm.Client) {
		b, err := broker.Start(ctx, broker.Config{DataDir: brokerDir, Listen: addr})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		adm := kadm.NewClient(cl)
		compact := "compact"
		if _, err := adm.CreateTopic(ctx, parts, 1, nil, string(input)); err != nil {
			t.Fatal(err)
		}
		if _, err := adm.CreateTopic(ctx, parts, 1, map[string]*string{"cleanup.policy": &compact}, table); err != nil {
			t.Fatal(err)
		}
		return b, cl, adm
	}
	f := NewFactory(Config{Brokers: []string{addr}, DataDir: filepath.Join(dir, "state")})
	gg := goka.DefineGroup(group,
		goka.Input(input, new(codec.String), func(ctx goka.Context, msg any) { ctx.SetValue(msg) }),
		goka.Persist(new(codec.String)),
	)
	runUntil := func(cl *kgo.Client, keys []string) error {
		p, err := f.NewProcessor(gg, ProcessorOptions{})
		if err != nil {
			return err
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(runCtx) }()
		defer func() { stop(); <-done }()
		for _, k := range keys {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: string(input), Key: []byte(k), Value: []byte(k)}).FirstErr(); err != nil {
				return err
			}
		}
		for _, k := range keys {
			for {
				// goka's Get panics before the processor owns partitions.
				if p.Recovered() {
					if v, err := p.Get(k); err == nil && v == k {
						break
					}
				}
				select {
				case err := <-done:
					return fmt.Errorf("processor stopped: %w", err)
				case <-ctx.Done():
					return fmt.Errorf("key %s never processed", k)
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		return nil
	}

	// Fill local state through broker A.
	b, cl, _ := setup(filepath.Join(dir, "broker-a"))
	var keys []string
	for i := range 20 {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	if err := runUntil(cl, keys); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()

	// Broker B: same address, empty data dir. The local stores are now
	// ahead of a changelog that has nothing.
	b, cl, adm := setup(filepath.Join(dir, "broker-b"))
	defer b.Close()
	defer cl.Close()
	removed, err := f.ReconcileLocalState(ctx, adm, group)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != parts {
		t.Fatalf("removed %v, want both partitions' stores", removed)
	}
	for _, r := range removed {
		if _, err := os.Stat(r); !os.IsNotExist(err) {
			t.Errorf("%s still exists", r)
		}
	}
	if err := runUntil(cl, []string{"fresh"}); err != nil {
		t.Fatalf("after reconciliation: %v", err)
	}
	// Now the stores are covered by the changelog: nothing to remove.
	removed, err = f.ReconcileLocalState(ctx, adm, group)
	if err != nil || len(removed) != 0 {
		t.Errorf("second reconciliation removed %v, err %v", removed, err)
	}
}
