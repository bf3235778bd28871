package checkoutsim

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"cartstream/internal/streams"
)

// seedFlag replays one seed: go test ./internal/checkoutsim -run TestCheckoutSim -seed 7
// (or CHECKOUTSIM_SEED=7).
var seedFlag = flag.Int64("seed", 0, "run the checkout simulation for this seed only")

func TestMain(m *testing.M) {
	streams.InstallGlobalConfig()
	os.Exit(m.Run())
}

// seeds returns the seeds to run: the one asked for, or the defaults.
func seeds(t *testing.T, defaults ...int64) []int64 {
	t.Helper()
	if *seedFlag != 0 {
		return []int64{*seedFlag}
	}
	if v := os.Getenv("CHECKOUTSIM_SEED"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("CHECKOUTSIM_SEED=%q: %v", v, err)
		}
		return []int64{s}
	}
	return defaults
}

// logBuffer collects the run's logs, shown when the test fails. It never
// calls t.Log: the instance's goroutines may log after the test returned.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func runScenario(t *testing.T, sc Scenario, replay string) Summary {
	t.Helper()
	logs := &logBuffer{}
	sc.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sc.Replay = replay
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	sum, err := Run(ctx, sc)
	if err != nil || sum.Failed() {
		t.Logf("logs of seed %d:\n%s", sc.Seed, logs.String())
	}
	if err != nil {
		t.Fatalf("seed %d: %v\nreplay: %s", sc.Seed, err, replay)
	}
	t.Logf("%s (%.1fs in all)", sum, time.Since(began).Seconds())
	if sum.Failed() {
		for _, p := range sum.Problems {
			t.Log(p)
		}
		t.Errorf("seed %d failed the audit; replay: %s", sc.Seed, replay)
	}
	return sum
}

// TestCheckoutSim runs the Busy scenario (a few hot SKUs, hundreds of
// checkouts, duplicates, reordering, expiring holds) for a few seeds
// against a real instance and broker, restarting the instance once
// mid-stream, and requires zero oversell, double application and leaked
// holds.
func TestCheckoutSim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker and an instance")
	}
	for _, seed := range seeds(t, 1, 2, 3) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			sum := runScenario(t, Busy(seed, 200, 1), fmt.Sprintf("go test ./internal/checkoutsim -run '^TestCheckoutSim$' -seed %d -v", seed))
			if sum.Orders == 0 || sum.FailedCheckouts == 0 || sum.Restarts != 1 || sum.LateCommits == 0 && sum.RefusedLate == 0 {
				t.Errorf("the scenario did not exercise what it should: %s", sum)
			}
		})
	}
}

// A small flash sale: exactly the stock is reserved and sold.
func TestFlashSale(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a broker and an instance")
	}
	for _, seed := range seeds(t, 1) {
		sc := FlashSale(seed, 1000, 20)
		sc.Partitions = 4
		sum := runScenario(t, sc, fmt.Sprintf("go test ./internal/checkoutsim -run '^TestFlashSale$' -seed %d -v", seed))
		if sum.ReservedUnits != 20 || sum.Orders != 20 || sum.Completed != 20 || sum.FailedCheckouts != 980 || sum.LateOrders != 0 {
			t.Errorf("flash sale of 20 units to 1000 carts: %s", sum)
		}
	}
}
