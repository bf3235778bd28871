package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is one cartstream child process, started and stopped as an
// operator would, again and again under the same name. Its output goes to
// <logs>/<name>.log, every start appending a marker line.
type proc struct {
	name string
	bin  string
	args []string
	log  string
	// onLine, when set, sees every line the process writes.
	onLine func(string)

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current incarnation exited
	exitErr error
	starts  int
}

// start starts a new incarnation; the previous one must have exited.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.done) {
		return fmt.Errorf("chaos: %s is already running", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("chaos: log of %s: %w", p.name, err)
	}
	p.starts++
	fmt.Fprintf(f, "==== chaos: start %d of %s at %s: %s %s\n", p.starts, p.name, time.Now().UTC().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.SysProcAttr = childAttr()
	var out io.Writer = f
	var pw *io.PipeWriter
	if p.onLine != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		out = io.MultiWriter(f, pw)
		go func() {
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				p.onLine(sc.Text())
			}
			_, _ = io.Copy(io.Discard, pr)
		}()
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		f.Close()
		if pw != nil {
			pw.Close()
		}
		return fmt.Errorf("chaos: start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.exitErr = cmd, done, nil
	go func() {
		err := cmd.Wait()
		f.Close()
		if pw != nil {
			pw.Close()
		}
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// running reports whether the current incarnation is alive.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !closed(p.done)
}

// exited returns a channel closed when the current incarnation exits.
func (p *proc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// signal sends sig to the current incarnation.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || closed(p.done) {
		return fmt.Errorf("chaos: %s is not running", p.name)
	}
	return p.cmd.Process.Signal(sig)
}

// stop sends sig and waits up to within for the exit, then kills. It
// returns how long the exit took and the exit error.
func (p *proc) stop(sig syscall.Signal, within time.Duration) (time.Duration, error) {
	begin := time.Now()
	if err := p.signal(sig); err != nil {
		return 0, err
	}
	select {
	case <-p.exited():
	case <-time.After(within):
		_ = p.signal(syscall.SIGKILL)
		<-p.exited()
		return time.Since(begin), fmt.Errorf("chaos: %s did not exit within %s of %s; killed", p.name, within, signalName(sig))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(begin), p.exitErr
}

// wait waits for the current incarnation to exit and returns its error.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.exited():
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

// instance is one `cartstream run --brokers` process.
type instance struct {
	id, http, dataDir string
	p                 *proc
	// kills counts the kills: a restart scheduled after kill n gives way
	// to the one of a later kill (the instance was killed again while it
	// started).
	kills atomic.Int64
}

// cluster is the processes under test: a broker and the instances.
type cluster struct {
	bin, dir   string
	brokerAddr string
	broker     *proc
	instances  []*instance
}

// newCluster lays out a broker and n instances under dir; every instance
// gets flags on top of its own.
func newCluster(bin, dir string, n, partitions int, flags []string) (*cluster, error) {
	for _, d := range []string{"logs", "broker"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, brokerAddr: addr}
	c.broker = &proc{name: "broker", bin: bin, log: filepath.Join(dir, "logs", "broker.log"),
		args: []string{"broker", "--data-dir", filepath.Join(dir, "broker"), "--listen", addr}}
	for i := range n {
		httpAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		in := &instance{id: fmt.Sprintf("chaos-%d", i+1), http: httpAddr, dataDir: filepath.Join(dir, fmt.Sprintf("instance-%d", i+1))}
		args := append([]string{"run", "--brokers", addr, "--instance-id", in.id, "--http-listen", httpAddr,
			"--data-dir", in.dataDir, "--partitions", fmt.Sprint(partitions)}, flags...)
		in.p = &proc{name: in.id, bin: bin, args: args, log: filepath.Join(dir, "logs", in.id+".log")}
		c.instances = append(c.instances, in)
	}
	return c, nil
}

// startBroker starts the broker and waits until it accepts connections.
func (c *cluster) startBroker(ctx context.Context) error {
	if err := c.broker.start(); err != nil {
		return err
	}
	return waitTCP(ctx, c.brokerAddr, c.broker)
}

// startInstance starts instance i and waits until /readyz says ready; it
// returns how long that took.
func (c *cluster) startInstance(ctx context.Context, i int, within time.Duration) (time.Duration, error) {
	in := c.instances[i]
	begin := time.Now()
	if err := in.p.start(); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		if ready(ctx, in.http) {
			return time.Since(begin), nil
		}
		select {
		case <-in.p.exited():
			return 0, fmt.Errorf("chaos: %s exited before it was ready (see %s)", in.id, in.p.log)
		case <-ctx.Done():
			return 0, fmt.Errorf("chaos: %s not ready within %s (see %s)", in.id, within, in.p.log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopAll stops every process with SIGTERM, instances first.
func (c *cluster) stopAll(within time.Duration) {
	var wg sync.WaitGroup
	for _, in := range c.instances {
		if in.p.running() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = in.p.stop(syscall.SIGTERM, within)
			}()
		}
	}
	wg.Wait()
	if c.broker.running() {
		_, _ = c.broker.stop(syscall.SIGTERM, within)
	}
}

// httpAddrs are the instances' HTTP addresses.
func (c *cluster) httpAddrs() []string {
	out := make([]string, len(c.instances))
	for i, in := range c.instances {
		out[i] = in.http
	}
	return out
}

func ready(ctx context.Context, addr string) bool {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func waitTCP(ctx context.Context, addr string, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited():
			return fmt.Errorf("chaos: %s exited before it listened on %s (see %s)", p.name, addr, p.log)
		case <-ctx.Done():
			return fmt.Errorf("chaos: %s not listening on %s: %w", p.name, addr, errors.Join(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("chaos: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
