package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of utime and stime in
// /proc/PID/stat: 100 on every architecture Go supports on Linux (it is
// fixed in the kernel's ABI, unlike the kernel's internal HZ).
const clockTicks = 100

// ErrProcFormat is wrapped when a /proc file does not read as expected.
var ErrProcFormat = errors.New("bench: unexpected /proc format")

// ProcSample is what the harness reads of a process: CPU time used so far
// (user plus system) and memory.
type ProcSample struct {
	CPU time.Duration
	// RSSKiB is the resident set now (VmRSS); PeakRSSKiB its high-water
	// mark over the process's life (VmHWM).
	RSSKiB, PeakRSSKiB int64
}

// ReadProc samples /proc/<pid>/stat and /proc/<pid>/status.
func ReadProc(pid int) (ProcSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("bench: read stat of %d: %w", pid, err)
	}
	cpu, err := ParseStatCPU(stat)
	if err != nil {
		return ProcSample{}, fmt.Errorf("bench: stat of %d: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("bench: read status of %d: %w", pid, err)
	}
	mem, err := ParseStatusKiB(status, "VmRSS", "VmHWM")
	if err != nil {
		return ProcSample{}, fmt.Errorf("bench: status of %d: %w", pid, err)
	}
	return ProcSample{CPU: cpu, RSSKiB: mem["VmRSS"], PeakRSSKiB: mem["VmHWM"]}, nil
}

// ParseStatCPU returns utime + stime of a /proc/PID/stat line. The command
// name (field 2) is in parentheses and may hold spaces and parentheses, so
// fields are counted after its last ')': utime and stime are fields 14
// and 15 of the line, in clock ticks.
func ParseStatCPU(stat []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("%w: no command name in stat", ErrProcFormat)
	}
	fields := strings.Fields(string(stat[end+1:]))
	// fields[0] is field 3 (state), so field n is fields[n-3].
	if len(fields) < 13 {
		return 0, fmt.Errorf("%w: stat has %d fields after the command name", ErrProcFormat, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: stat cpu field %q", ErrProcFormat, f)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ParseStatusKiB returns the named "Key:   123 kB" lines of a
// /proc/PID/status file, in KiB; every name must be present.
func ParseStatusKiB(status []byte, names ...string) (map[string]int64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || !want[key] {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return nil, fmt.Errorf("%w: %s line %q", ErrProcFormat, key, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %q", ErrProcFormat, key, sc.Text())
		}
		out[key] = n
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("%w: no %s line", ErrProcFormat, n)
		}
	}
	return out, nil
}

// ReadLoadAvg returns the machine's 1-minute load average from
// /proc/loadavg: how many processes wanted the CPUs, on average, over the
// last minute. On a shared machine it says how much others took.
func ReadLoadAvg() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("bench: read loadavg: %w", err)
	}
	return ParseLoadAvg(b)
}

// ParseLoadAvg returns the first field of a /proc/loadavg line.
func ParseLoadAvg(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, fmt.Errorf("%w: loadavg %q", ErrProcFormat, b)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w: loadavg %q", ErrProcFormat, b)
	}
	return v, nil
}
