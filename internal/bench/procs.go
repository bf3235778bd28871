package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is one child process the harness started: a broker, a cartstream
// instance or the baseline worker. Its output goes to a log file in the
// work directory.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // Wait's result, once done is closed
	// started is when the process was started (just before exec).
	started time.Time
}

// startProc starts bin with args, its stdout and stderr appended to
// <dir>/<name>.log. The process is not tied to ctx: stop it with stop.
func startProc(dir, name, bin string, args ...string) (*proc, error) {
	log, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bench: %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = childEnv()
	cmd.SysProcAttr = childAttr()
	p := &proc{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// childEnv is the harness's environment without CARTSTREAM_ variables, so
// an operator's settings cannot change what the children measure.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if len(kv) >= len("CARTSTREAM_") && kv[:len("CARTSTREAM_")] == "CARTSTREAM_" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited returns an error saying the process exited when it has, nil
// while it runs.
func (p *proc) exited() error {
	select {
	case <-p.done:
		if p.err == nil {
			return fmt.Errorf("bench: %s exited (see %s)", p.name, p.log.Name())
		}
		return fmt.Errorf("bench: %s exited: %w (see %s)", p.name, p.err, p.log.Name())
	default:
		return nil
	}
}

// stop sends SIGTERM and waits for the exit; after timeout it sends
// SIGKILL. It returns an error when the process did not exit cleanly.
func (p *proc) stop(timeout time.Duration) error {
	defer p.log.Close()
	select {
	case <-p.done:
		return p.err
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("bench: stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("bench: %s did not stop cleanly: %w (see %s)", p.name, p.err, p.log.Name())
		}
		return nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("bench: %s did not stop within %s; killed", p.name, timeout)
	}
}

// kill stops the process at once, for cleanup after a failure.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitTCP waits until addr accepts connections or p exits.
func waitTCP(ctx context.Context, p *proc, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: %s not listening on %s: %w", p.name, addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitReady polls http://<addr>/readyz every poll until it answers 200,
// and returns when it did.
func waitReady(ctx context.Context, p *proc, addr string, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
		if err != nil {
			return time.Time{}, fmt.Errorf("bench: readyz: %w", err)
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		if err := p.exited(); err != nil {
			return time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("bench: %s not ready: %w", p.name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
