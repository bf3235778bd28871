//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestBrokerIsDurableAcrossRestarts runs `cartstream broker` as its own
// process, writes with kcat, stops it with SIGTERM (exit 0), starts it again
// on the same data dir and reads every record back with kcat.
func TestBrokerIsDurableAcrossRestarts(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	addr := freeAddr(t)
	args := []string{"broker", "--data-dir", dataDir, "--listen", addr, "--auto-create-topics", "--default-partitions", "4"}

	const n = 500
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
	}
	for round := 1; round <= 2; round++ {
		p := start(t, bin, args...)
		waitListening(t, p, addr, 10*time.Second)
		if round == 1 {
			kcat(t, in.String(), "-P", "-b", addr, "-t", "durable", "-K:", "-X", "partitioner=murmur2_random", "-X", "topic.request.required.acks=-1")
		}
		out := kcat(t, "", "-C", "-b", addr, "-t", "durable", "-o", "beginning", "-e", "-f", "%k=%s\n")
		got := strings.Fields(out)
		if len(got) != n {
			t.Fatalf("round %d: read %d records, want %d", round, len(got), n)
		}
		seen := map[string]bool{}
		for _, kv := range got {
			seen[kv] = true
		}
		for i := range n {
			if !seen[fmt.Sprintf("k%d=v%d", i, i)] {
				t.Fatalf("round %d: record k%d missing", round, i)
			}
		}
		took, err := p.stop(t, 15*time.Second)
		if err != nil {
			t.Fatalf("round %d: exit after SIGTERM: %v", round, err)
		}
		t.Logf("round %d: stopped in %s", round, took.Round(time.Millisecond))
	}
}

func waitListening(t *testing.T, p *proc, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-p.done:
			t.Fatalf("exited before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening on %s within %s", addr, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
