package streamtime

import (
	"testing"
	"time"
)

func TestPartitionsKeepOneClockEach(t *testing.T) {
	var ps Partitions
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	if !ps.Now(3).IsZero() {
		t.Fatal("unseen partition has a stream time")
	}
	for _, c := range []struct {
		p     int32
		at    time.Time
		moved bool
	}{
		{1, t0, true}, {1, t0.Add(-time.Second), false}, {2, t0.Add(time.Hour), true}, {1, t0.Add(time.Second), true},
	} {
		if got := ps.Observe(c.p, c.at); got != c.moved {
			t.Errorf("Observe(%d, %v) = %v, want %v", c.p, c.at, got, c.moved)
		}
	}
	if ps.Now(1) != t0.Add(time.Second) || ps.Now(2) != t0.Add(time.Hour) {
		t.Errorf("Now = %v, %v", ps.Now(1), ps.Now(2))
	}
}
