package state_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"cartstream/state"
)

// Environment of the crash child process (TestCrashChild).
const (
	crashDirEnv  = "CARTSTREAM_STATE_CRASH_DIR"
	crashModeEnv = "CARTSTREAM_STATE_CRASH_MODE" // "recovering" or "recovered"
)

// crashOptions returns the options of the child and of the verification.
// Small memtables and batches make flushes, compactions and batch commits
// happen while the child is being killed.
func crashOptions() state.Options {
	return state.Options{
		MemTableBytes:    1 << 20,
		RecoveryBatchOps: 100,
		Logger:           quietLogger{},
	}
}

func crashKey(n int64) string { return fmt.Sprintf("k/%012d", n) }

func crashValue(n int64) []byte {
	v := fmt.Appendf(nil, "v/%d/", n)
	return append(v, bytes.Repeat([]byte{'x'}, 100-len(v))...)
}

// TestCrashRecovery re-executes the test binary as a child that writes
// records (data for offset N, then SetOffset(N)) as fast as it can, kills it
// with SIGKILL at a random point, reopens the store and checks that it opens
// and that the stored offset never runs ahead of its data. It does several
// rounds on the same directory, in recovery mode and after MarkRecovered.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("running as crash child")
	}
	const rounds = 4
	for _, mode := range []string{"recovering", "recovered"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			var prev int64 = -1
			for round := range rounds {
				runtime := time.Duration(80+70*round) * time.Millisecond
				crashChild(t, dir, mode, runtime)
				off := verifyCrashedStore(t, dir)
				t.Logf("round %d: killed after %v, stored offset %d", round, runtime, off)
				if off < prev {
					t.Fatalf("round %d: stored offset went back from %d to %d", round, prev, off)
				}
				prev = off
			}
			if prev < 0 {
				t.Fatal("the child never stored an offset; the test proves nothing")
			}
		})
	}
}

// crashChild starts the child on dir, lets it write for runtime after it
// reported being ready, and kills it.
func crashChild(t *testing.T, dir, mode string, runtime time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashModeEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				// Keep draining so the child never blocks on stdout.
				for sc.Scan() {
				}
				return
			}
		}
		ready <- fmt.Errorf("child exited before becoming ready: %v", sc.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child not ready after 20s\nstderr:\n%s", stderr.String())
	}
	time.Sleep(runtime)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("child exited cleanly instead of being killed\nstderr:\n%s", stderr.String())
	}
}

// verifyCrashedStore reopens dir and checks that every record up to the
// stored offset is present and intact. It returns the stored offset.
func verifyCrashedStore(t *testing.T, dir string) int64 {
	t.Helper()
	st, err := state.Open(dir, crashOptions())
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	off, err := st.GetOffset(-1)
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.IteratorWithRange([]byte("k/"), []byte("k0"))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Release()
	// Keys are written in order from 0 and never deleted, so the first
	// off+1 keys in key order must be exactly records 0..off.
	var n int64
	for ; n <= off && it.Next(); n++ {
		if got, want := string(it.Key()), crashKey(n); got != want {
			t.Fatalf("stored offset %d but record %d is missing (next key is %q)", off, n, got)
		}
		v, err := it.Value()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(v, crashValue(n)) {
			t.Fatalf("record %d has value %q", n, v)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if n != off+1 {
		t.Fatalf("stored offset %d runs ahead of the data: only records 0..%d present", off, n-1)
	}
	if off >= 0 {
		last, err := st.Get("last")
		if err != nil {
			t.Fatal(err)
		}
		l, err := strconv.ParseInt(string(last), 10, 64)
		if err != nil || l < off {
			t.Fatalf("key last = %q, want >= stored offset %d", last, off)
		}
	}
	return off
}

// TestCrashChild is the child process of TestCrashRecovery. It resumes
// after the stored offset and writes until it is killed.
func TestCrashChild(t *testing.T) {
	dir, mode := os.Getenv(crashDirEnv), os.Getenv(crashModeEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecovery")
	}
	st, err := state.Open(dir, crashOptions())
	if err != nil {
		t.Fatal(err)
	}
	off, err := st.GetOffset(-1)
	if err != nil {
		t.Fatal(err)
	}
	n := off + 1
	write := func(n int64) {
		if err := st.Set(crashKey(n), crashValue(n)); err != nil {
			t.Fatal(err)
		}
		if err := st.Set("last", []byte(strconv.FormatInt(n, 10))); err != nil {
			t.Fatal(err)
		}
	}
	switch mode {
	case "recovering":
		fmt.Println("ready")
		for ; ; n++ {
			write(n)
			if err := st.SetOffset(n); err != nil {
				t.Fatal(err)
			}
		}
	case "recovered":
		if err := st.MarkRecovered(); err != nil {
			t.Fatal(err)
		}
		// Like a goka processor: the partition goroutine writes, and the
		// producer callback goroutine sets the offset once the write has
		// returned.
		offsets := make(chan int64, 64)
		go func() {
			for o := range offsets {
				if err := st.SetOffset(o); err != nil {
					panic(err)
				}
			}
		}()
		fmt.Println("ready")
		for ; ; n++ {
			write(n)
			offsets <- n
		}
	default:
		t.Fatalf("unknown mode %q", strings.TrimSpace(mode))
	}
}
