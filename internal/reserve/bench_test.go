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

// benchState builds the state of a hot SKU after n commands: checkouts
// reserve one unit each, half commit (reconciled by order lines and stock
// rows in batches of ten), half release, and the last 20 still hold. Every
// command is in the dedup store.
func benchState(tb testing.TB, n int) (*reserve.State, time.Time) {
	defer runtime.GC() // leave no garbage of the build to the measurement
	cfg := reserve.DefaultConfig()
	now := t0
	version := int64(1)
	onHand := int32(1_000_000)
	s := reserve.ApplyStock(nil, stockRow(onHand, version, now), now, cfg)
	var lines []schemas.OrderLine
	for i := 0; len(s.Dedup) < n; i++ {
		co := fmt.Sprintf("chk-%08d", i)
		now = now.Add(10 * time.Millisecond)
		s, _ = reserve.ApplyCommand(s, command(schemas.OpReserve, co, 1, now), now, cfg)
		if n-len(s.Dedup) <= 20 {
			continue
		}
		op := schemas.OpRelease
		if i%2 == 0 {
			op = schemas.OpCommit
			version++
			onHand--
			lines = append(lines, orderLine(co, 1, version, now))
		}
		s, _ = reserve.ApplyCommand(s, command(op, co, 1, now), now, cfg)
		if len(lines) == 10 {
			for _, l := range lines {
				s = reserve.ApplyOrderLine(s, l, now, cfg)
			}
			s = reserve.ApplyStock(s, stockRow(onHand, version, now), now, cfg)
			lines = lines[:0]
		}
	}
	return s, now
}

var benchSizes = []int{0, 100, 1000, 10000}

func BenchmarkEncode(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("dedup=%d", n), func(b *testing.B) {
			s, _ := benchState(b, n)
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
			s, _ := benchState(b, n)
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
		s, _ := benchState(b, n)
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

// BenchmarkApplyCommand measures one reserve on a hot SKU's state (dedup
// lookup, copy, decision), and the same with the table round trip the
// processor pays per record (decode, apply, encode).
func BenchmarkApplyCommand(b *testing.B) {
	cfg := reserve.DefaultConfig()
	for _, n := range benchSizes {
		s, now := benchState(b, n)
		enc := mustEncode(b, s)
		c := command(schemas.OpReserve, "fresh", 1, now)
		b.Run(fmt.Sprintf("apply/dedup=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, res := reserve.ApplyCommand(s, c, now, cfg); res.Status != schemas.ResultReserved {
					b.Fatal(res.Status)
				}
			}
		})
		b.Run(fmt.Sprintf("decode+apply+encode/dedup=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 2*len(enc))
			for b.Loop() {
				d, err := reserve.Decode(enc)
				if err != nil {
					b.Fatal(err)
				}
				next, _ := reserve.ApplyCommand(d, c, now, cfg)
				if buf, err = reserve.AppendEncode(buf[:0], next); err != nil {
					b.Fatal(err)
				}
			}
		})
		if n == 0 {
			continue
		}
		// The oldest command: the dedup lookup scans every entry.
		b.Run(fmt.Sprintf("duplicate/dedup=%d", n), func(b *testing.B) {
			dup := command(schemas.OpReserve, fmt.Sprintf("chk-%08d", 0), 1, t0)
			b.ReportAllocs()
			for b.Loop() {
				reserve.ApplyCommand(s, dup, now, cfg)
			}
		})
	}
}
