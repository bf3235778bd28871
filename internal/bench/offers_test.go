package bench

import (
	"errors"
	"testing"
)

func TestParseOfferSource(t *testing.T) {
	for name, tc := range map[string]struct {
		offer string
		want  offerSource
		err   error
	}{
		"offer": {
			offer: `{"schema_version":1,"cart_id":"c-9","lines":[],"applied":[{"promotion_id":"p","name":"\"source\":{}"}],"hints":[],"source":{"topic":"cart-events","partition":3,"offset":1234,"event_id":"e-1"}}`,
			want:  offerSource{Topic: "cart-events", Partition: 3, Offset: 1234, EventID: "e-1"},
		},
		"trailing newline": {
			offer: `{"source":{"topic":"t","partition":0,"offset":0,"event_id":"e"}}` + "\n",
			want:  offerSource{Topic: "t", EventID: "e"},
		},
		"null source":   {offer: `{"cart_id":"c","source":null}`, err: errNoSource},
		"no source":     {offer: `{"cart_id":"c"}`, err: errNoSource},
		"cut off":       {offer: `{"source":{"topic":"t","partit`},
		"wrong type":    {offer: `{"source":{"topic":"t","partition":"x"}}`},
		"not an object": {offer: `{"source":[1]}`},
	} {
		got, err := parseOfferSource([]byte(tc.offer))
		switch {
		case tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("%s: error %v, want %v", name, err, tc.err)
		case tc.err == nil && tc.want == (offerSource{}) && err == nil:
			t.Errorf("%s: accepted, got %+v", name, got)
		case tc.want != (offerSource{}) && (err != nil || got != tc.want):
			t.Errorf("%s: got %+v, %v; want %+v", name, got, err, tc.want)
		}
	}
}
