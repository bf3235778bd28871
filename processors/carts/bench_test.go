package carts

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// benchCart is a cart of the hot path: a few lines and the dedup memory of
// its last events, no checkout.
func benchCart(b testing.TB, events int) *Cart {
	b.Helper()
	var c *Cart
	for i := range events {
		e := mustParseB(b, fmt.Sprintf(`{"event_id":"warm-%d","cart_id":"c-1","type":"quantity_set","sku":"SKU-%d","qty":%d,"currency":"USD"}`, i, i%5, 1+i%3))
		at := t0.Add(time.Duration(i) * time.Second)
		var err error
		if c, _, err = Apply(c, e, at, at); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func mustParseB(b testing.TB, s string) Event {
	b.Helper()
	e, err := ParseEvent([]byte(s))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkCartEventStep measures the cart part of the offers hot path: the
// stored cart decoded, one event parsed and applied, the cart encoded again
// (the offer evaluation is measured in internal/promo).
func BenchmarkCartEventStep(b *testing.B) {
	for _, events := range []int{10, 200} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) { benchCartEventStep(b, events) })
	}
}

func benchCartEventStep(b *testing.B, events int) {
	stored, err := benchCart(b, events).Encode()
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte(`{"event_id":"e-x","cart_id":"c-1","type":"item_added","sku":"SKU-2","qty":1,"ts":"2026-11-21T10:10:00Z"}`)
	at := t0.Add(10 * time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		e, err := ParseEvent(raw)
		if err != nil {
			b.Fatal(err)
		}
		c, err := DecodeCart(stored)
		if err != nil {
			b.Fatal(err)
		}
		n, applied, err := Apply(c, e, at, at)
		if err != nil || !applied {
			b.Fatal(applied, err)
		}
		if _, err := n.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCartCodec measures the stored cart's encoding alone: Encode, and
// DecodeCart of the binary form and of the JSON earlier builds stored.
func BenchmarkCartCodec(b *testing.B) {
	for _, events := range []int{10, 200} {
		c := benchCart(b, events)
		bin, err := c.Encode()
		if err != nil {
			b.Fatal(err)
		}
		js, err := json.Marshal(c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("events=%d/op=encode", events), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, stored := range []struct {
			name string
			data []byte
		}{{"binary", bin}, {"json", js}} {
			b.Run(fmt.Sprintf("events=%d/op=decode-%s", events, stored.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(stored.data)))
				for b.Loop() {
					if _, err := DecodeCart(stored.data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
