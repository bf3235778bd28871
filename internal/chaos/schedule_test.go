package chaos

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

func chaosSchedule(seed int64) ScheduleConfig {
	return ScheduleConfig{
		Mode: ModeChaos, Seed: seed, Load: 12 * time.Minute, Warmup: 15 * time.Second, Quiet: 10 * time.Second,
		Instances: 3, Kills: 34, KillDown: [2]time.Duration{2 * time.Second, 15 * time.Second}, StartingKills: 0.15,
		BrokerRestarts: 2, BrokerDown: [2]time.Duration{2 * time.Second, 6 * time.Second},
	}
}

// The same seed gives the same schedule; another seed another one.
func TestScheduleIsDeterministic(t *testing.T) {
	a, err := NewSchedule(chaosSchedule(7))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSchedule(chaosSchedule(7))
	c, _ := NewSchedule(chaosSchedule(8))
	if !slices.Equal(a, b) {
		t.Error("seed 7 gave two schedules")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same schedule")
	}
}

// A chaos schedule keeps its promises: faults in the window and in time
// order, broker restarts alternating SIGTERM and SIGKILL, kills clear of
// them, and never every instance down at once.
func TestScheduleShape(t *testing.T) {
	starting := 0
	for seed := int64(1); seed <= 50; seed++ {
		cfg := chaosSchedule(seed)
		faults, err := NewSchedule(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var kills, brokers []Fault
		for i, f := range faults {
			if i > 0 && f.At < faults[i-1].At {
				t.Fatalf("seed %d: %s before %s", seed, f, faults[i-1])
			}
			if f.At < cfg.Warmup || f.At > cfg.Load-cfg.Quiet+cfg.BrokerDown[1]+brokerClearance {
				t.Errorf("seed %d: %s outside the window", seed, f)
			}
			switch f.Kind {
			case KillInstance:
				kills = append(kills, f)
				if f.Down < cfg.KillDown[0] || f.Down > cfg.KillDown[1] {
					t.Errorf("seed %d: %s down outside %v", seed, f, cfg.KillDown)
				}
			case RestartBroker:
				brokers = append(brokers, f)
			}
		}
		if len(brokers) != 2 || brokers[0].Signal != syscall.SIGTERM || brokers[1].Signal != syscall.SIGKILL {
			t.Errorf("seed %d: broker restarts %v", seed, brokers)
		}
		for i, k := range kills {
			if !k.Starting {
				continue
			}
			starting++
			// The previous kill of the same instance ended just before.
			var prev Fault
			for _, o := range kills[:i] {
				if o.Instance == k.Instance {
					prev = o
				}
			}
			if since := k.At - prev.At - prev.Down; prev.Kind != KillInstance || since < 500*time.Millisecond || since > 4*time.Second {
				t.Errorf("seed %d: %s is not 0.5–4 s into a restart after %s", seed, k, prev)
			}
		}
		if len(kills) < 30 {
			t.Errorf("seed %d: %d kills planned, want at least 30 of %d", seed, len(kills), cfg.Kills)
		}
		for i, k := range kills {
			if i > 0 && !k.Starting && k.At-kills[i-1].At < minKillGap {
				t.Errorf("seed %d: %s and %s together", seed, kills[i-1], k)
			}
			for _, b := range brokers {
				if k.At > b.At-brokerClearance && k.At < b.At+cfg.BrokerDown[1]+brokerClearance {
					t.Errorf("seed %d: %s too close to %s", seed, k, b)
				}
			}
			down := 0
			for _, o := range kills {
				if o.At <= k.At && k.At < o.At+o.Down {
					down++
				}
			}
			if down >= cfg.Instances {
				t.Errorf("seed %d: at %s every instance is down", seed, k.At)
			}
		}
	}
	if starting == 0 {
		t.Error("no kill of a starting instance in 50 schedules")
	}
}

// A rolling schedule restarts every instance once, in order.
func TestScheduleRolling(t *testing.T) {
	faults, err := NewSchedule(ScheduleConfig{Mode: ModeRolling, Load: 90 * time.Second, Warmup: 15 * time.Second, Quiet: 10 * time.Second,
		Instances: 3, TermDown: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(faults) != 3 {
		t.Fatalf("%d faults: %v", len(faults), faults)
	}
	for i, f := range faults {
		if f.Kind != TermInstance || f.Instance != i || f.Down != 2*time.Second {
			t.Errorf("fault %d: %s", i, f)
		}
	}
}

func TestScheduleRefusesNoWindow(t *testing.T) {
	cfg := chaosSchedule(1)
	cfg.Load = 20 * time.Second
	if _, err := NewSchedule(cfg); err == nil {
		t.Error("a load shorter than warm-up and quiet time was accepted")
	}
	cfg = chaosSchedule(1)
	cfg.Instances = 1
	if _, err := NewSchedule(cfg); err == nil {
		t.Error("kills with one instance were accepted")
	}
}
