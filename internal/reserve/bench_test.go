package reserve_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

// benchState builds the state of a hot SKU after n commands, and the dedup
// store holding them: checkouts reserve one unit each, half commit
// (reconciled by order lines and stock rows in batches of ten), half
// release, and the last 20 still hold.
func benchState(tb testing.TB, n int) (*reserve.State, reserve.MemoryLog, time.Time) {
	defer runtime.GC() // leave no garbage of the build to the measurement
	cfg := reserve.DefaultConfig()
	now := t0
	version := int64(1)
	onHand := int32(1_000_000)
	log := reserve.MemoryLog{}
	apply := func(s *reserve.State, c schemas.ReservationCommand) *reserve.State {
		s, res, store := reserve.ApplyCommand(s, c, now, cfg, log)
		if !store {
			tb.Fatalf("%s: not to be stored", c.CommandID)
		}
		log.Put(c.CommandID, reserve.Handled{At: now, Result: res})
		return s
	}
	s := reserve.ApplyStock(nil, stockRow(onHand, version, now), now, cfg)
	var lines []schemas.OrderLine
	for i := 0; len(log) < n; i++ {
		co := fmt.Sprintf("chk-%08d", i)
		now = now.Add(10 * time.Millisecond)
		s = apply(s, command(schemas.OpReserve, co, 1, now))
		if n-len(log) <= 20 {
			continue
		}
		op := schemas.OpRelease
		if i%2 == 0 {
			op = schemas.OpCommit
			version++
			onHand--
			lines = append(lines, orderLine(co, 1, version, now))
		}
		s = apply(s, command(op, co, 1, now))
		if len(lines) == 10 {
			for _, l := range lines {
				s = reserve.ApplyOrderLine(s, l, now, cfg, log)
			}
			s = reserve.ApplyStock(s, stockRow(onHand, version, now), now, cfg)
			lines = lines[:0]
		}
	}
	return s, log, now
}

// The benchmarks' sizes: commands in the dedup store (dedup=n), which the
// SKU's state no longer holds.
var benchSizes = []int{0, 100, 1000, 10000}

func BenchmarkEncode(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("dedup=%d", n), func(b *testing.B) {
			s, _, _ := benchState(b, n)
			enc := mustEncode(b, s)
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			buf := make([]byte, 0, len(enc))
			for b.Loop() {
				var err error
				if buf, err = reserve.AppendEncode(buf[:0], s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "bytes")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("dedup=%d", n), func(b *testing.B) {
			s, _, _ := benchState(b, n)
			enc := mustEncode(b, s)
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := reserve.Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSON measures encoding/json on the same states, for comparison
// with the binary encoding.
func BenchmarkJSON(b *testing.B) {
	for _, n := range benchSizes {
		s, _, _ := benchState(b, n)
		enc, err := json.Marshal(s)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("encode/dedup=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := json.Marshal(s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "bytes")
		})
		b.Run(fmt.Sprintf("decode/dedup=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				var d reserve.State
				if err := json.Unmarshal(enc, &d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyCommand measures one reserve on a hot SKU's state (three
// dedup store lookups, copy, decision), and the same with the table writes
// the processor pays per record: decode the state, apply, encode the state
// and the new dedup entry.
func BenchmarkApplyCommand(b *testing.B) {
	cfg := reserve.DefaultConfig()
	for _, n := range benchSizes {
		s, log, now := benchState(b, n)
		enc := mustEncode(b, s)
		c := command(schemas.OpReserve, "fresh", 1, now)
		b.Run(fmt.Sprintf("apply/dedup=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, res, _ := reserve.ApplyCommand(s, c, now, cfg, log); res.Status != schemas.ResultReserved {
					b.Fatal(res.Status)
				}
			}
		})
		b.Run(fmt.Sprintf("decode+apply+encode/dedup=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2*len(enc))
			var entry []byte
			for b.Loop() {
				d, err := reserve.Decode(enc)
				if err != nil {
					b.Fatal(err)
				}
				next, res, _ := reserve.ApplyCommand(d, c, now, cfg, log)
				if buf, err = reserve.AppendEncode(buf[:0], next); err != nil {
					b.Fatal(err)
				}
				entry = reserve.AppendHandled(entry[:0], reserve.Handled{At: now, Result: res})
			}
		})
		if n == 0 {
			continue
		}
		// The oldest command (the dedup lookup once scanned every entry).
		b.Run(fmt.Sprintf("duplicate/dedup=%d", n), func(b *testing.B) {
			dup := command(schemas.OpReserve, fmt.Sprintf("chk-%08d", 0), 1, t0.Add(10*time.Millisecond))
			if _, _, store := reserve.ApplyCommand(s, dup, now, cfg, log); store {
				b.Fatal("not a duplicate")
			}
			b.ReportAllocs()
			for b.Loop() {
				reserve.ApplyCommand(s, dup, now, cfg, log)
			}
		})
	}
}

// BenchmarkHandled measures the encoding of one dedup entry, what the
// processor writes per command beside the state.
func BenchmarkHandled(b *testing.B) {
	_, log, _ := benchState(b, 1)
	var h reserve.Handled
	for _, e := range log {
		h = e
	}
	enc := reserve.AppendHandled(nil, h)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		buf := make([]byte, 0, len(enc))
		for b.Loop() {
			buf = reserve.AppendHandled(buf[:0], h)
		}
		b.ReportMetric(float64(len(enc)), "bytes")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := reserve.DecodeHandled(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
