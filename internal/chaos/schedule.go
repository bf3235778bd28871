package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"time"
)

// FaultKind is what a fault does.
type FaultKind string

const (
	// KillInstance sends SIGKILL to an instance and starts it again on
	// the same data dir after Fault.Down.
	KillInstance FaultKind = "kill"
	// TermInstance sends SIGTERM to an instance, waits for it to exit,
	// starts it again after Fault.Down and waits until it is ready before
	// the next fault (a rolling restart's step).
	TermInstance FaultKind = "term"
	// RestartBroker stops the broker with Fault.Signal and starts it again
	// on the same data dir after Fault.Down.
	RestartBroker FaultKind = "broker"
	// PauseInstance freezes an instance (SIGSTOP) for Fault.Down and lets
	// it go on (SIGCONT): a long GC pause, a frozen VM, or a network
	// partition as the others see it. Longer than the session timeout, the
	// others take its partitions while it cannot tell.
	PauseInstance FaultKind = "pause"
)

// Fault is one planned fault.
type Fault struct {
	// At is when it happens, from the start of the load.
	At   time.Duration
	Kind FaultKind
	// Instance is the index of the instance an instance fault hits.
	Instance int
	// Signal stops the broker (SIGTERM or SIGKILL).
	Signal syscall.Signal
	// Down is how long the process stays down.
	Down time.Duration
	// Starting: the kill comes while the instance is starting again
	// after the previous one (it joins its groups), not while it runs.
	Starting bool
}

func (f Fault) String() string {
	switch f.Kind {
	case RestartBroker:
		return fmt.Sprintf("%s broker %s, down %s", f.At.Round(time.Millisecond), signalName(f.Signal), f.Down.Round(time.Millisecond))
	default:
		starting := ""
		if f.Starting {
			starting = " while it starts"
		}
		return fmt.Sprintf("%s %s instance %d%s, down %s", f.At.Round(time.Millisecond), f.Kind, f.Instance, starting, f.Down.Round(time.Millisecond))
	}
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// Mode is the kind of schedule.
type Mode string

const (
	// ModeChaos kills random instances and restarts the broker.
	ModeChaos Mode = "chaos"
	// ModeRolling restarts every instance once, in turn, with SIGTERM.
	ModeRolling Mode = "rolling"
)

// ScheduleConfig shapes a schedule. Durations are of the load.
type ScheduleConfig struct {
	Mode Mode
	Seed int64
	// Load is how long the load runs; faults fall in [Warmup, Load−Quiet].
	Load, Warmup, Quiet time.Duration
	// Instances is the number of instances; at least one is always up.
	Instances int
	// Kills is the number of instance kills (ModeChaos), spread evenly
	// over the window with jitter; KillDown bounds each one's downtime.
	// StartingKills is the share of them followed by a second kill of the
	// same instance while it starts again.
	Kills         int
	KillDown      [2]time.Duration
	StartingKills float64
	// BrokerRestarts is the number of broker restarts (ModeChaos), evenly
	// spread; they alternate SIGTERM and SIGKILL, SIGTERM first.
	// BrokerDown bounds each one's downtime.
	BrokerRestarts int
	BrokerDown     [2]time.Duration
	// TermDown is how long an instance stays down in a rolling restart.
	TermDown time.Duration
	// Pauses is the number of instance pauses (ModeChaos), evenly spread,
	// each frozen for PauseDown.
	Pauses    int
	PauseDown [2]time.Duration
}

// minKillGap is the least time between two planned kills.
const minKillGap = 3 * time.Second

// readyAllowance is how long a restarted instance takes to be ready, as
// the schedule plans (a join costs a rebalance: about 9 s measured).
const readyAllowance = 10 * time.Second

// brokerClearance is the least time between a kill and a broker restart
// (before it, or after the broker is back).
const brokerClearance = 10 * time.Second

// NewSchedule returns the faults of cfg in time order; the same config
// always gives the same schedule.
func NewSchedule(cfg ScheduleConfig) ([]Fault, error) {
	window := cfg.Load - cfg.Warmup - cfg.Quiet
	if window <= 0 {
		return nil, fmt.Errorf("chaos: load %s leaves no time for faults after a warm-up of %s and before the last %s", cfg.Load, cfg.Warmup, cfg.Quiet)
	}
	if cfg.Instances < 1 {
		return nil, fmt.Errorf("chaos: %d instances", cfg.Instances)
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x636861_6f73))
	var out []Fault
	switch cfg.Mode {
	case ModeRolling:
		// Evenly spread; the supervisor waits for each restarted
		// instance to be ready before the next step anyway.
		slot := window / time.Duration(cfg.Instances)
		for i := range cfg.Instances {
			out = append(out, Fault{At: cfg.Warmup + time.Duration(i)*slot, Kind: TermInstance, Instance: i, Down: cfg.TermDown})
		}
		return out, nil
	case ModeChaos:
	default:
		return nil, fmt.Errorf("chaos: unknown mode %q", cfg.Mode)
	}
	if cfg.Instances < 2 && cfg.Kills > 0 {
		return nil, fmt.Errorf("chaos: killing instances needs at least two, so one is always up")
	}
	for i := range cfg.BrokerRestarts {
		slot := window / time.Duration(cfg.BrokerRestarts+1)
		at := cfg.Warmup + time.Duration(i+1)*slot + jitter(rng, slot/5)
		sig := syscall.SIGTERM
		if i%2 == 1 {
			sig = syscall.SIGKILL
		}
		out = append(out, Fault{At: at, Kind: RestartBroker, Signal: sig, Down: between(rng, cfg.BrokerDown)})
	}
	for i := range cfg.Pauses {
		slot := window / time.Duration(cfg.Pauses+1)
		at := cfg.Warmup + time.Duration(i+1)*slot + jitter(rng, slot/5)
		out = append(out, Fault{At: at, Kind: PauseInstance, Instance: rng.IntN(cfg.Instances), Down: between(rng, cfg.PauseDown)})
	}
	brokerAt := make([]time.Duration, 0, len(out))
	for _, f := range out {
		if f.Kind == RestartBroker {
			brokerAt = append(brokerAt, f.At)
		}
	}
	// upAt[i] is when instance i is back, as planned.
	upAt := make([]time.Duration, cfg.Instances)
	lastKill := -minKillGap
	for i := range cfg.Kills {
		slot := window / time.Duration(cfg.Kills)
		at := cfg.Warmup + time.Duration(i)*slot + slot/2 + jitter(rng, slot*2/5)
		// Keep kills apart from broker restarts, so each failover can
		// be measured alone.
		// Two kills moved past the same restart would land together.
		at = max(at, lastKill+minKillGap)
		for _, b := range brokerAt {
			if nearBroker(at, b, cfg.BrokerDown[1]) {
				at = b + cfg.BrokerDown[1] + brokerClearance
			}
		}
		lastKill = at
		var up []int
		for j, t := range upAt {
			if t <= at {
				up = append(up, j)
			}
		}
		if len(up) < 2 {
			continue // killing the last instance up would leave nothing to fail over to
		}
		victim := up[rng.IntN(len(up))]
		down := between(rng, cfg.KillDown)
		upAt[victim] = at + down + readyAllowance
		out = append(out, Fault{At: at, Kind: KillInstance, Instance: victim, Down: down})
		if rng.Float64() < cfg.StartingKills {
			// Killed again while it joins its groups, 0.5–4 s after it
			// started.
			again := at + down + between(rng, [2]time.Duration{500 * time.Millisecond, 4 * time.Second})
			down2 := between(rng, cfg.KillDown)
			if !slices.ContainsFunc(brokerAt, func(b time.Duration) bool { return nearBroker(again, b, cfg.BrokerDown[1]) }) {
				upAt[victim] = again + down2 + readyAllowance
				lastKill = max(lastKill, again)
				out = append(out, Fault{At: again, Kind: KillInstance, Instance: victim, Down: down2, Starting: true})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Fault) int { return int(a.At - b.At) })
	return out, nil
}

// nearBroker reports whether a kill at t is within brokerClearance of a
// broker restart at b that lasts up to down.
func nearBroker(t, b, down time.Duration) bool {
	return t > b-brokerClearance && t < b+down+brokerClearance
}

// jitter is uniform in [−d, d].
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rng.Int64N(int64(2*d)+1)) - d
}

// between is uniform in [r[0], r[1]].
func between(rng *rand.Rand, r [2]time.Duration) time.Duration {
	if r[1] <= r[0] {
		return r[0]
	}
	return r[0] + time.Duration(rng.Int64N(int64(r[1]-r[0])+1))
}
