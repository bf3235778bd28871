// Package supervise keeps long-running components alive. goka's
// Processor.Run runs once: a Kafka error stops it and the processor cannot be
// started again. A Supervisor builds a fresh instance from a factory after
// every failure, waits with exponential backoff, logs why, and reports its
// state for /readyz and metrics.
//
// The package knows nothing of Kafka or goka; it never retries a component
// that returned because its context was cancelled.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Default backoff settings.
const (
	// DefaultMinBackoff is the wait before the first restart.
	DefaultMinBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff caps the wait between restarts.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultHealthyAfter is how long a run must last before the backoff
	// resets to DefaultMinBackoff.
	DefaultHealthyAfter = 1 * time.Minute
)

// Runner is one incarnation of a supervised component.
type Runner interface {
	// Run blocks until ctx is cancelled (return nil or ctx.Err()) or the
	// component fails (return the error). A Runner is used at most once.
	Run(ctx context.Context) error
	// Ready reports whether the component has finished recovering and is
	// serving (for goka: all its tables are recovered).
	Ready() bool
}

// Factory builds a fresh Runner for each attempt.
type Factory func(ctx context.Context) (Runner, error)

// State is what a supervisor is doing.
type State string

// States a supervisor reports.
const (
	StateStarting   State = "starting"   // building or running, not yet ready
	StateReady      State = "ready"      // running and ready
	StateRestarting State = "restarting" // failed; waiting to start again
	StateStopped    State = "stopped"    // context cancelled; will not restart
)

// Status is a snapshot of a supervisor for /readyz and /v1/status.
type Status struct {
	Name      string    `json:"name"`
	State     State     `json:"state"`
	Restarts  int       `json:"restarts"`
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since"`
}

// Options tune a Supervisor; zero values take the defaults above.
type Options struct {
	MinBackoff   time.Duration
	MaxBackoff   time.Duration
	HealthyAfter time.Duration
	Logger       *slog.Logger
	// OnRestart is called after each failure, before the backoff wait
	// (for a restarts metric). May be nil.
	OnRestart func(name string, err error)
	// Now is the clock for Status.Since and backoff resets; default time.Now.
	Now func() time.Time
}

// Supervisor runs one component, restarting it after failures.
type Supervisor struct {
	name    string
	factory Factory
	opts    Options

	mu      sync.Mutex
	status  Status
	current Runner
}

// New returns a supervisor for the component built by factory.
func New(name string, factory Factory, opts Options) *Supervisor {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.HealthyAfter <= 0 {
		opts.HealthyAfter = DefaultHealthyAfter
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Supervisor{
		name:    name,
		factory: factory,
		opts:    opts,
		status:  Status{Name: name, State: StateStarting, Since: opts.Now()},
	}
}

// Name is the supervised component's name.
func (s *Supervisor) Name() string { return s.name }

// Run runs and restarts the component until ctx is cancelled. It returns nil
// once the last incarnation has stopped after cancellation.
func (s *Supervisor) Run(ctx context.Context) error {
	backoff := s.opts.MinBackoff
	for {
		started := s.opts.Now()
		err := s.runOnce(ctx)
		if ctx.Err() != nil {
			s.setState(StateStopped, nil)
			return nil
		}
		if err == nil {
			err = errors.New("stopped without being asked to")
		}
		if s.opts.Now().Sub(started) >= s.opts.HealthyAfter {
			backoff = s.opts.MinBackoff
		}
		s.mu.Lock()
		s.status.Restarts++
		restarts := s.status.Restarts
		s.mu.Unlock()
		s.setState(StateRestarting, err)
		s.opts.Logger.Warn("component failed; restarting", "component", s.name, "error", err, "restarts", restarts, "backoff", backoff)
		if s.opts.OnRestart != nil {
			s.opts.OnRestart(s.name, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			s.setState(StateStopped, nil)
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, s.opts.MaxBackoff)
	}
}

func (s *Supervisor) runOnce(ctx context.Context) error {
	s.setState(StateStarting, nil)
	r, err := s.factory(ctx)
	if err != nil {
		return fmt.Errorf("build %s: %w", s.name, err)
	}
	s.mu.Lock()
	s.current = r
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.current = nil
		s.mu.Unlock()
	}()
	err = r.Run(ctx)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("run %s: %w", s.name, err)
	}
	return err
}

func (s *Supervisor) setState(st State, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.State != st {
		s.status.State = st
		s.status.Since = s.opts.Now()
	}
	if err != nil {
		s.status.LastError = err.Error()
	}
}

// Status returns the supervisor's current state. A running component is
// reported as StateReady while its Ready method says so.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	// Readiness is asked of the running incarnation each time: a goka
	// processor that rebalances is recovering again until it catches up.
	if st.State == StateStarting && s.current != nil && s.current.Ready() {
		st.State = StateReady
	}
	return st
}

// Ready reports whether the current incarnation is running and ready.
func (s *Supervisor) Ready() bool { return s.Status().State == StateReady }
