package supervise

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptRunner fails with err after delay, or runs until cancelled when err is nil.
type scriptRunner struct {
	err   error
	delay time.Duration
	ready atomic.Bool
}

func (r *scriptRunner) Run(ctx context.Context) error {
	if r.err == nil {
		r.ready.Store(true)
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-time.After(r.delay):
		return r.err
	case <-ctx.Done():
		return nil
	}
}

func (r *scriptRunner) Ready() bool { return r.ready.Load() }

func TestSupervisorRestartsWithFreshInstances(t *testing.T) {
	boom := errors.New("broker gone")
	tests := []struct {
		name         string
		failures     int   // incarnations that fail before one runs for good
		factoryErr   error // returned by the factory on failing attempts instead
		wantRestarts int
	}{
		{name: "run fails twice then recovers", failures: 2, wantRestarts: 2},
		{name: "factory fails three times then builds", failures: 3, factoryErr: errors.New("no brokers"), wantRestarts: 3},
		{name: "never fails", failures: 0, wantRestarts: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var built []*scriptRunner
			var restarted []error
			attempts := 0
			s := New("p", func(context.Context) (Runner, error) {
				mu.Lock()
				defer mu.Unlock()
				attempts++
				if attempts <= tc.failures {
					if tc.factoryErr != nil {
						return nil, tc.factoryErr
					}
					r := &scriptRunner{err: boom, delay: 5 * time.Millisecond}
					built = append(built, r)
					return r, nil
				}
				r := &scriptRunner{}
				built = append(built, r)
				return r, nil
			}, Options{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, OnRestart: func(_ string, err error) {
				mu.Lock()
				restarted = append(restarted, err)
				mu.Unlock()
			}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()

			deadline := time.Now().Add(5 * time.Second)
			for !s.Ready() {
				if time.Now().After(deadline) {
					t.Fatalf("never became ready: %+v", s.Status())
				}
				time.Sleep(time.Millisecond)
			}
			st := s.Status()
			if st.Restarts != tc.wantRestarts {
				t.Errorf("restarts = %d, want %d", st.Restarts, tc.wantRestarts)
			}
			if tc.wantRestarts > 0 && st.LastError == "" {
				t.Errorf("last error not reported")
			}
			mu.Lock()
			if len(restarted) != tc.wantRestarts {
				t.Errorf("OnRestart called %d times, want %d", len(restarted), tc.wantRestarts)
			}
			seen := map[*scriptRunner]bool{}
			for _, r := range built {
				if seen[r] {
					t.Errorf("runner reused")
				}
				seen[r] = true
			}
			mu.Unlock()

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run after cancel = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if got := s.Status().State; got != StateStopped {
				t.Errorf("state after cancel = %s, want %s", got, StateStopped)
			}
		})
	}
}

func TestSupervisorBackoffGrowsAndCaps(t *testing.T) {
	var mu sync.Mutex
	var starts []time.Time
	s := New("p", func(context.Context) (Runner, error) {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return &scriptRunner{err: errors.New("x")}, nil
	}, Options{MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_ = s.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(starts) < 5 {
		t.Fatalf("only %d starts", len(starts))
	}
	// Gaps: ~10, ~20, ~40, ~40 ms. Allow scheduling slack upward only.
	want := []time.Duration{10, 20, 40, 40}
	for i, w := range want {
		gap := starts[i+1].Sub(starts[i])
		if gap < w*time.Millisecond {
			t.Errorf("gap %d = %v, want >= %v", i, gap, w*time.Millisecond)
		}
	}
}

func TestSupervisorStopsWhileWaiting(t *testing.T) {
	s := New("p", func(context.Context) (Runner, error) {
		return nil, errors.New("cannot build")
	}, Options{MinBackoff: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	for s.Status().State != StateRestarting {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run blocked in backoff after cancel")
	}
}
