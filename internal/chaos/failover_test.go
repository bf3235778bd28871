package chaos

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// every returns timestamps from..to every step seconds.
func every(from, to, step float64) []time.Time {
	var out []time.Time
	for s := from; s <= to; s += step {
		out = append(out, at(s))
	}
	return out
}

func TestTimelineGap(t *testing.T) {
	tl := timeline{
		0: append(every(0, 10, 0.5), every(22, 30, 0.5)...), // a failover: 10 → 22
		1: every(0, 30, 0.5),                                // another owner's partition, never paused
		2: every(0, 10, 1),                                  // nothing after the fault: not measurable
	}
	cases := []struct {
		name  string
		parts []int32
		t     float64
		want  time.Duration
	}{
		{"victim's partition", []int32{0}, 11, 12 * time.Second},
		{"fault at the last record", []int32{0}, 10, 12 * time.Second},
		{"other partitions", []int32{1, 2}, 11, 500 * time.Millisecond},
		{"every partition", nil, 11, 12 * time.Second},
		{"owned nothing", []int32{}, 11, 0},
	}
	for _, c := range cases {
		if got := tl.gap(c.parts, at(c.t)); got != c.want {
			t.Errorf("%s: gap %s, want %s", c.name, got, c.want)
		}
	}
	if got := tl.longestPause(at(15), at(16)); got != 12*time.Second {
		t.Errorf("longest pause over [15, 16]: %s, want 12s", got)
	}
	if got := tl.longestPause(at(25), at(26)); got != 500*time.Millisecond {
		t.Errorf("longest pause over [25, 26]: %s, want 0.5s (partition 2 ended before)", got)
	}
}

// A failover is measured on the victim's partitions of each group, and
// counts alone only away from broker restarts.
func TestFailovers(t *testing.T) {
	carts := timeline{0: append(every(0, 10, 0.5), every(22, 120, 0.5)...), 1: append(every(0, 60, 0.5), every(67, 120, 0.5)...)}
	inv := timeline{0: append(every(0, 10, 1), every(23, 120, 1)...), 1: every(0, 120, 1)}
	owned := map[string][]int32{"carts": {0}, "inventory": {0}}
	faults := []executed{
		{Fault: Fault{Kind: KillInstance}, Instance: "a", At: at(10.2), Restart: at(30), Back: at(38), Owned: owned},
		{Fault: Fault{Kind: RestartBroker}, At: at(60.1), Restart: at(63), Back: at(64)},
		{Fault: Fault{Kind: KillInstance}, Instance: "b", At: at(55), Owned: map[string][]int32{"carts": {1}, "inventory": {1}}},
	}
	fo, gaps := failovers(faults, "carts", "inventory", carts, inv)
	if len(fo) != 2 || len(gaps) != 1 {
		t.Fatalf("%d failovers, %d broker gaps", len(fo), len(gaps))
	}
	if f := fo[0]; f.Carts != 12*time.Second || f.Inventory != 13*time.Second || !f.Clean || f.Worst() != 13*time.Second {
		t.Errorf("first kill: %+v", f)
	}
	if fo[0].Rejoin != 500*time.Millisecond {
		t.Errorf("rejoin pause %s, want the 0.5 s between records", fo[0].Rejoin)
	}
	if fo[1].Clean {
		t.Errorf("a kill 5 s before a broker restart counted alone: %+v", fo[1])
	}
	if gaps[0] != 7*time.Second {
		t.Errorf("broker gap %s, want 7s", gaps[0])
	}
}
