//go:build e2e

// Package e2e holds the multi-process suites: the real cartstream binary,
// started and stopped as an operator would, checked with independent clients
// (kcat) over TCP. Run them with `make test-e2e`.
package e2e

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary returns the cartstream binary under test: $CARTSTREAM_BIN (set by
// make test-e2e) or one built into the test's temp dir.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CARTSTREAM_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "cartstream")
	cmd := exec.Command("go", "build", "-o", out, "../cmd/cartstream")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build cartstream: %v", err)
	}
	return out
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a cartstream child process with its combined output captured.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Stdout = p
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of cartstream %s:\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

// stop sends SIGTERM and returns how long the process took to exit and its
// exit error.
func (p *proc) stop(t *testing.T, within time.Duration) (time.Duration, error) {
	t.Helper()
	begin := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case err := <-p.done:
		return time.Since(begin), err
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		t.Fatalf("did not exit within %s of SIGTERM", within)
		return 0, nil
	}
}

// waitReady polls /readyz until it answers 200, and returns how long it took.
func waitReady(t *testing.T, p *proc, httpAddr string, within time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(begin)
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("exited before ready: %v", err)
		case <-ctx.Done():
			t.Fatalf("not ready within %s", within)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kcat runs kcat with args and returns its stdout.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat is not installed (apt-get install kcat); .ci/run installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}
