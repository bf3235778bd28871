//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cartstream/internal/checkoutsim"
	"cartstream/internal/streams"
)

// lockedBuffer collects a simulation's logs for a failing test; the
// instance's goroutines may still log after the test returned, so it never
// calls t.Log itself.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCheckoutSimLong runs the Busy checkout simulation at length: thousands
// of checkouts against a real instance that is restarted four times
// mid-stream, then audits zero oversell, double application and leaked
// holds. CHECKOUTSIM_SEED replays one seed.
func TestCheckoutSimLong(t *testing.T) {
	streams.InstallGlobalConfig()
	seed := int64(1)
	if v := os.Getenv("CHECKOUTSIM_SEED"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("CHECKOUTSIM_SEED=%q: %v", v, err)
		}
		seed = s
	}
	logs := &lockedBuffer{}
	sc := checkoutsim.Busy(seed, 5000, 4)
	sc.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sc.Replay = "CHECKOUTSIM_SEED=" + strconv.FormatInt(seed, 10) + " go test -tags e2e ./e2e -run '^TestCheckoutSimLong$' -v"
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	began := time.Now()
	sum, err := checkoutsim.Run(ctx, sc)
	if err != nil || sum.Failed() {
		t.Logf("logs:\n%s", logs.String())
	}
	if err != nil {
		t.Fatalf("seed %d: %v\nreplay: %s", seed, err, sc.Replay)
	}
	t.Logf("%s (%.1fs in all)", sum, time.Since(began).Seconds())
	if sum.Failed() {
		for _, p := range sum.Problems {
			t.Log(p)
		}
		t.Fatalf("seed %d failed the audit; replay: %s", seed, sc.Replay)
	}
	if sum.Checkouts < 5000 || sum.Restarts != 4 || sum.Orders == 0 {
		t.Errorf("the run was smaller than intended: %s", sum)
	}
}

// TestFlashSaleCommand runs `cartstream simulate flash-sale` as make
// flash-sale does and requires the summary DESIGN §6 promises: exactly the
// stock reserved, nothing oversold, applied twice or leaked.
func TestFlashSaleCommand(t *testing.T) {
	bin := binary(t)
	out, err := exec.Command(bin, "simulate", "flash-sale").CombinedOutput()
	if err != nil {
		t.Fatalf("flash sale: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), "checkouts=10000 reserved_units=100 oversold=0 double_applied=0 leaked_holds=0 ") {
		t.Errorf("unexpected summary:\n%s", out)
	}
}
