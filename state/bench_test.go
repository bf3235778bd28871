package state_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lovoo/goka/storage"

	"cartstream/state"
)

const (
	benchKeySpace  = 1 << 16 // distinct keys written by the write benchmarks
	benchValueSize = 100     // bytes per value
)

// BenchmarkStorage compares the Pebble store with goka's default LevelDB
// storage (opened through storage.DefaultBuilder, as goka does) for each
// operation, before MarkRecovered (recovering) and after it (recovered).
// Sub-benchmark names are op=<op>[/keys=<n>]/mode=<mode>/impl=<impl> so
// that `benchstat -col /impl` puts the implementations side by side.
func BenchmarkStorage(b *testing.B) {
	impls := []struct {
		name string
		open func(dir string) (storage.Storage, error)
	}{
		{"pebble", func(dir string) (storage.Storage, error) {
			return state.Builder(dir, state.Options{Logger: quietLogger{}})("bench", 0)
		}},
		{"leveldb", func(dir string) (storage.Storage, error) {
			return storage.DefaultBuilder(dir)("bench", 0)
		}},
	}
	// Numbers of keys preloaded for Get and Iterate: 10k keys (~1 MiB) fit
	// in memtables and cache; 100k keys (~11 MiB of uncompressed blocks)
	// exceed the default block cache of both stores.
	benchReadSizes := []int{10_000, 100_000}
	keys := make([]string, max(benchKeySpace, slices.Max(benchReadSizes)))
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%08d", i)
	}
	value := bytes.Repeat([]byte{'v'}, benchValueSize)

	type benchOp struct {
		name    string
		prefill int // keys written before the timer starts
		run     func(b *testing.B, st storage.Storage)
	}
	ops := []benchOp{
		{"Set", 0, func(b *testing.B, st storage.Storage) {
			for i := range b.N {
				if err := st.Set(keys[i%benchKeySpace], value); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"SetOffset", 0, func(b *testing.B, st storage.Storage) {
			for i := range b.N {
				if err := st.SetOffset(int64(i)); err != nil {
					b.Fatal(err)
				}
			}
		}},
		// SetAndOffset is what goka does per changelog record.
		{"SetAndOffset", 0, func(b *testing.B, st storage.Storage) {
			for i := range b.N {
				if err := st.Set(keys[i%benchKeySpace], value); err != nil {
					b.Fatal(err)
				}
				if err := st.SetOffset(int64(i)); err != nil {
					b.Fatal(err)
				}
			}
		}},
	}
	for _, n := range benchReadSizes {
		order := rand.New(rand.NewPCG(1, 2)).Perm(n) // fixed-seed random read order
		ops = append(ops, benchOp{fmt.Sprintf("Get/keys=%d", n), n, func(b *testing.B, st storage.Storage) {
			for i := range b.N {
				v, err := st.Get(keys[order[i%n]])
				if err != nil || v == nil {
					b.Fatalf("Get: %q, %v", v, err)
				}
			}
		}})
		// Iterate measures one step (Next+Key+Value) of a full iteration;
		// a new iterator is created whenever the previous one is exhausted.
		ops = append(ops, benchOp{fmt.Sprintf("Iterate/keys=%d", n), n, func(b *testing.B, st storage.Storage) {
			var it storage.Iterator
			for range b.N {
				if it == nil || !it.Next() {
					if it != nil {
						if err := it.Err(); err != nil {
							b.Fatal(err)
						}
						it.Release()
					}
					var err error
					if it, err = st.Iterator(); err != nil {
						b.Fatal(err)
					}
					if !it.Next() {
						b.Fatal("empty iterator")
					}
				}
				if _, err := it.Value(); err != nil || it.Key() == nil {
					b.Fatal(err)
				}
			}
			if it != nil {
				it.Release()
			}
		}})
	}

	for _, op := range ops {
		for _, recovered := range []bool{false, true} {
			mode := "recovering"
			if recovered {
				mode = "recovered"
			}
			for _, impl := range impls {
				b.Run(fmt.Sprintf("op=%s/mode=%s/impl=%s", op.name, mode, impl.name), func(b *testing.B) {
					st, err := impl.open(b.TempDir())
					if err != nil {
						b.Fatal(err)
					}
					if err := st.Open(); err != nil {
						b.Fatal(err)
					}
					if op.prefill > 0 {
						for i := range op.prefill {
							if err := st.Set(keys[i], value); err != nil {
								b.Fatal(err)
							}
						}
						if err := st.SetOffset(int64(op.prefill)); err != nil {
							b.Fatal(err)
						}
					}
					if recovered {
						if err := st.MarkRecovered(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportAllocs()
					b.ResetTimer()
					op.run(b, st)
					b.StopTimer()
					if err := st.Close(); err != nil {
						b.Fatal(err)
					}
				})
			}
		}
	}
}
