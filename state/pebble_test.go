package state_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"cartstream/state"
)

func TestBuilderDirectoryPerPartition(t *testing.T) {
	base := t.TempDir()
	build := state.Builder(base, state.Options{})
	for _, p := range []int32{0, 3} {
		st, err := build("cart-table", p)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Open(); err != nil {
			t.Fatal(err)
		}
		if err := st.Set("k", []byte{byte(p)}); err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(base, fmt.Sprintf("cart-table.%d", p))
		if got := st.(*state.Store).Dir(); got != want {
			t.Errorf("partition %d stored in %s, want %s", p, got, want)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(want); err != nil {
			t.Errorf("partition directory: %v", err)
		}
	}
	for _, topic := range []string{"", ".", "..", "a/b", `a\b`} {
		if st, err := build(topic, 0); err == nil {
			_ = st.Close()
			t.Errorf("Builder accepted topic %q", topic)
		}
	}
}

func TestBuilderSharedCache(t *testing.T) {
	cache := pebble.NewCache(1 << 20)
	defer cache.Unref()
	build := state.Builder(t.TempDir(), state.Options{Cache: cache})
	a, err := build("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := build("t", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []interface{ Close() error }{a, b} {
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenValidatesOptions(t *testing.T) {
	for _, o := range []state.Options{{CacheBytes: -1}, {RecoveryBatchBytes: -1}, {CacheBytes: 4 << 20}} {
		if st, err := state.Open(t.TempDir(), o); err == nil {
			_ = st.Close()
			t.Errorf("Open accepted %+v", o)
		}
	}
}

func TestOpenRejectsForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("raw-key"), []byte("v"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(dir, state.Options{})
	if err == nil {
		_ = st.Close()
		t.Fatal("Open accepted a Pebble database without layout marker")
	}
	if !strings.Contains(err.Error(), "layout marker") || !strings.Contains(err.Error(), dir) {
		t.Errorf("error lacks context: %v", err)
	}
	// The failed Open must have released the database lock.
	db, err = pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatalf("database still locked after failed Open: %v", err)
	}
	_ = db.Close()
}

func TestOpenLocksDirectory(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st2, err := state.Open(dir, state.Options{}); err == nil {
		_ = st2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}

func TestUseAfterClose(t *testing.T) {
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Set("a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	it, err := st.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatal("Next = false")
	}
	// Closing with an unreleased iterator must succeed and disarm it.
	if err := st.Close(); err != nil {
		t.Fatalf("Close with open iterator: %v", err)
	}
	if it.Next() || it.Key() != nil {
		t.Error("iterator still usable after Close")
	}
	if err := it.Err(); !errors.Is(err, state.ErrClosed) {
		t.Errorf("iterator Err after Close = %v, want ErrClosed", err)
	}
	it.Release()
	if err := st.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	checks := map[string]error{
		"Open":          st.Open(),
		"Set":           st.Set("a", nil),
		"Delete":        st.Delete("a"),
		"SetOffset":     st.SetOffset(1),
		"MarkRecovered": st.MarkRecovered(),
	}
	_, checks["Get"] = st.Get("a")
	_, checks["Has"] = st.Has("a")
	_, checks["GetOffset"] = st.GetOffset(0)
	_, checks["Iterator"] = st.Iterator()
	_, checks["IteratorWithRange"] = st.IteratorWithRange(nil, nil)
	for name, err := range checks {
		if !errors.Is(err, state.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

// TestCloseWhileReading closes the store under concurrent readers, writers
// and iterators; run with -race. Every operation must either succeed or
// fail with ErrClosed — never panic.
func TestCloseWhileReading(t *testing.T) {
	st, err := state.Open(t.TempDir(), state.Options{SyncInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := st.Set(k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var err error
				switch g {
				case 0:
					_, err = st.Get("a")
				case 1:
					err = st.Set("b", []byte("x"))
				case 2:
					err = st.SetOffset(7)
				case 3:
					var it interface {
						Next() bool
						Err() error
						Release()
					}
					it, err = st.Iterator()
					if err == nil {
						for it.Next() {
						}
						err = it.Err()
						it.Release()
					}
				}
				if err != nil {
					if !errors.Is(err, state.ErrClosed) {
						errc <- err
					}
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestMarkRecoveredIdempotent(t *testing.T) {
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetOffset(3); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := st.MarkRecovered(); err != nil {
			t.Fatal(err)
		}
	}
	if o, err := st.GetOffset(-1); err != nil || o != 3 {
		t.Fatalf("GetOffset = %d, %v; want 3", o, err)
	}
}
