package forward

import (
	"testing"

	"github.com/lovoo/goka"
)

func TestHeadersRoundTrip(t *testing.T) {
	tests := []Origin{
		{Topic: "cart-events", Partition: 0, Offset: 0},
		{Topic: "shop.public.products", Partition: 7, Offset: 1 << 40},
	}
	for _, o := range tests {
		got, ok := FromHeaders(Headers(o))
		if !ok || got != o {
			t.Errorf("round trip of %+v = %+v, %v", o, got, ok)
		}
	}
}

func TestFromHeadersRejectsPartialOrBad(t *testing.T) {
	tests := []goka.Headers{
		nil,
		{HeaderTopic: []byte("t")},
		{HeaderTopic: []byte("t"), HeaderPartition: []byte("x"), HeaderOffset: []byte("1")},
		{HeaderTopic: []byte("t"), HeaderPartition: []byte("1"), HeaderOffset: []byte("")},
	}
	for _, h := range tests {
		if o, ok := FromHeaders(h); ok {
			t.Errorf("FromHeaders(%v) = %+v, want none", h, o)
		}
	}
}
