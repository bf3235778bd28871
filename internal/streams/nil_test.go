package streams

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/broker"
)

// TestTombstonesReachCallbacksWhenAsked checks the Factory's nil handling:
// with goka.NilProcess a nil-value record (a Debezium tombstone) reaches the
// callback and can delete state; with goka's default it is silently dropped,
// which is why groups whose inputs carry meaning in tombstones must ask.
func TestTombstonesReachCallbacksWhenAsked(t *testing.T) {
	if testing.Short() {
		t.Skip("broker test")
	}
	tests := []struct {
		name        string
		nil         goka.NilHandling
		wantDeleted bool // the tombstone deleted the key (a nil in the changelog)
	}{
		{name: "NilProcess deletes", nil: goka.NilProcess, wantDeleted: true},
		{name: "NilIgnore drops", nil: goka.NilIgnore, wantDeleted: false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dir := t.TempDir()
			b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dir, "broker"), Listen: "127.0.0.1:0"})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			group := goka.Group("nil" + string(rune('a'+i)))
			input := goka.Stream(string(group) + "-in")
			cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			compact := "compact"
			if _, err := adm.CreateTopic(ctx, 2, 1, nil, string(input)); err != nil {
				t.Fatal(err)
			}
			if _, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"cleanup.policy": &compact}, string(goka.GroupTable(group))); err != nil {
				t.Fatal(err)
			}
			f := NewFactory(Config{Brokers: []string{b.Addr()}, DataDir: filepath.Join(dir, "state")})
			p, err := f.NewProcessor(goka.DefineGroup(group,
				goka.Input(input, new(codec.String), func(ctx goka.Context, msg any) {
					if msg == nil {
						ctx.Delete()
						return
					}
					ctx.SetValue(msg)
				}),
				goka.Persist(new(codec.String)),
			), ProcessorOptions{NilHandling: tc.nil})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- p.Run(runCtx) }()
			defer func() { stop(); <-done }()

			// One key, so one partition and one order: a value, a
			// tombstone, and a marker that tells when the tombstone has
			// been handled or skipped.
			recs := []*kgo.Record{
				{Topic: string(input), Key: []byte("k"), Value: []byte("v1")},
				{Topic: string(input), Key: []byte("k"), Value: nil},
				{Topic: string(input), Key: []byte("k"), Value: []byte("marker")},
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			// The table's changelog shows every write the callback made.
			changelog, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()),
				kgo.ConsumeTopics(string(goka.GroupTable(group))),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer changelog.Close()
			var seen []string
			deleted := false
			for len(seen) == 0 || seen[len(seen)-1] != "marker" {
				fs := changelog.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatalf("read changelog: %v (seen %q)", err, seen)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if r.Value == nil {
						deleted = true
					}
					seen = append(seen, string(r.Value))
				})
			}
			if deleted != tc.wantDeleted {
				t.Errorf("changelog %q: tombstone deleted the key = %v, want %v", seen, deleted, tc.wantDeleted)
			}
		})
	}
}
