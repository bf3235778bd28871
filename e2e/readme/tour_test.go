// Package readme runs the README's five-minute tour as a reader would: its
// ```sh tour blocks, in order, in one bash, against a fresh `cartstream run`
// on free ports and a scratch data directory. It is part of `make test`
// (it builds the binary unless $CARTSTREAM_BIN names one, and skips without
// kcat or curl).
package readme

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// block is one ```sh tour block of the README.
type block struct {
	line   int
	script string
	prints [][]string // per "# prints: a … b" comment, its parts in order
}

var (
	printsComment = regexp.MustCompile(`#\s*prints:\s*(.+)$`)
	tourVar       = regexp.MustCompile(`\b(CS_[A-Z]+)=(\S+)`)
)

func tourBlocks(t *testing.T) []block {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var (
		out []block
		cur *block
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh tour":
			cur = &block{line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.script += line + "\n"
			if m := printsComment.FindStringSubmatch(line); m != nil {
				var parts []string
				for _, p := range strings.Split(m[1], "…") {
					if p = strings.TrimSpace(p); p != "" {
						parts = append(parts, p)
					}
				}
				cur.prints = append(cur.prints, parts)
			}
		}
	}
	if cur != nil {
		t.Fatalf("README.md: the tour block at line %d is not closed", cur.line)
	}
	if len(out) < 5 {
		t.Fatalf("README.md has %d ```sh tour blocks; the tour is missing", len(out))
	}
	return out
}

// binary returns $CARTSTREAM_BIN (set by make test-e2e) or builds one.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CARTSTREAM_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "cartstream")
	cmd := exec.Command("go", "build", "-o", out, "../../cmd/cartstream")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build cartstream: %v", err)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestReadmeTour runs every ```sh tour block of README.md in order in one
// bash (set -euo pipefail, so a failing command fails its block), with the
// tour's CS_* variables pointed at free ports and a scratch directory, and
// the cartstream under test first on PATH. Each block's stdout must contain
// what its "# prints:" comments show (parts separated by … in order).
// Background processes the tour starts are killed with its process group.
func TestReadmeTour(t *testing.T) {
	for _, tool := range []string{"bash", "kcat", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs kcat)", tool)
		}
	}
	bin := binary(t)
	blocks := tourBlocks(t)
	dir := t.TempDir()
	values := map[string]string{"CS_KAFKA": freeAddr(t), "CS_HTTP": freeAddr(t), "CS_DATA": filepath.Join(dir, "tour-data")}

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	substituted := map[string]bool{}
	for i, b := range blocks {
		fmt.Fprintf(&script, "printf '\\n@@tour-block %d@@\\n'; printf '\\n@@tour-block %d@@\\n' >&2\n", i, i)
		// The README's exported values are for a reader's machine: use ours.
		for _, line := range strings.SplitAfter(b.script, "\n") {
			if strings.HasPrefix(line, "export ") {
				line = tourVar.ReplaceAllStringFunc(line, func(m string) string {
					name := tourVar.FindStringSubmatch(m)[1]
					v, ok := values[name]
					if !ok {
						t.Fatalf("README.md line %d: unknown tour variable %s", b.line, name)
					}
					substituted[name] = true
					return name + "=" + v
				})
			}
			script.WriteString(line)
		}
	}
	for name := range values {
		if !substituted[name] {
			t.Fatalf("the tour never sets %s: the test could not point it at free ports", name)
		}
	}
	fmt.Fprintf(&script, "printf '\\n@@tour-block %d@@\\n'\n", len(blocks))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the tour left running
	}
	t.Logf("tour took %s", time.Since(begin).Round(100*time.Millisecond))

	outs := splitBlocks(stdout.String())
	errs := splitBlocks(stderr.String())
	failed := false
	for i, b := range blocks {
		out, ran := outs[i]
		if !ran {
			t.Errorf("README.md line %d: the block never ran (an earlier block failed)", b.line)
			failed = true
			break
		}
		if _, next := outs[i+1]; !next {
			t.Errorf("README.md line %d: the block failed: %v\nstdout:\n%s\nstderr:\n%s", b.line, runErr, out, errs[i])
			failed = true
			break
		}
		for _, parts := range b.prints {
			rest := out
			for _, p := range parts {
				j := strings.Index(rest, p)
				if j < 0 {
					t.Errorf("README.md line %d: the output lacks %q (of %q)\nstdout:\n%s", b.line, p, strings.Join(parts, " … "), out)
					failed = true
					break
				}
				rest = rest[j+len(p):]
			}
		}
	}
	if runErr != nil && !failed {
		t.Errorf("the tour failed: %v\nstderr:\n%s", runErr, stderr.String())
		failed = true
	}
	if failed {
		if log, err := os.ReadFile(filepath.Join(dir, "cartstream.log")); err == nil {
			t.Logf("cartstream.log:\n%s", log)
		}
	}
}

// splitBlocks cuts output at the @@tour-block N@@ markers.
func splitBlocks(s string) map[int]string {
	out := map[int]string{}
	marker := regexp.MustCompile(`(?m)^@@tour-block (\d+)@@$`)
	idx := marker.FindAllStringSubmatchIndex(s, -1)
	for k, m := range idx {
		var n int
		fmt.Sscan(s[m[2]:m[3]], &n)
		end := len(s)
		if k+1 < len(idx) {
			end = idx[k+1][0]
		}
		out[n] = s[m[1]:end]
	}
	return out
}
