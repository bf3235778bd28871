package bench

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	const tail = " S 1 100 100 0 -1 4194560 2619 0 0 0 250 75 0 0 20 0 12 0 3600 1266696192 65000 18446744073709551615"
	for name, tc := range map[string]struct {
		stat string
		want time.Duration
		err  bool
	}{
		"plain":                 {"4242 (cartstream)" + tail, 3250 * time.Millisecond, false},
		"spaces in the name":    {"4242 (cart stream x)" + tail, 3250 * time.Millisecond, false},
		"parentheses in name":   {"4242 (a) b (c))" + tail, 3250 * time.Millisecond, false},
		"no name":               {"4242 cartstream S 1", 0, true},
		"too few fields":        {"4242 (cartstream) S 1 2 3", 0, true},
		"not a number":          {"4242 (cartstream) S 1 100 100 0 -1 4194560 2619 0 0 0 x 75 0", 0, true},
		"negative ticks":        {"4242 (cartstream) S 1 100 100 0 -1 4194560 2619 0 0 0 -5 75 0", 0, true},
		"zero time used so far": {"1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0", 0, false},
	} {
		got, err := ParseStatCPU([]byte(tc.stat))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: ParseStatCPU = %v, %v; want %v, error %v", name, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, ErrProcFormat) {
			t.Errorf("%s: error %v is not ErrProcFormat", name, err)
		}
	}
}

func TestParseStatusKiB(t *testing.T) {
	const status = "Name:\tcartstream\nVmPeak:\t 1300000 kB\nVmHWM:\t  273700 kB\nVmRSS:\t  250000 kB\nThreads:\t12\n"
	got, err := ParseStatusKiB([]byte(status), "VmHWM", "VmRSS")
	if err != nil || got["VmHWM"] != 273700 || got["VmRSS"] != 250000 || len(got) != 2 {
		t.Errorf("ParseStatusKiB = %v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		status string
		names  []string
	}{
		"missing":    {status, []string{"VmSwap"}},
		"not kB":     {"VmHWM:\t12 MB\n", []string{"VmHWM"}},
		"no number":  {"VmHWM:\tlots kB\n", []string{"VmHWM"}},
		"empty file": {"", []string{"VmRSS"}},
	} {
		if _, err := ParseStatusKiB([]byte(tc.status), tc.names...); !errors.Is(err, ErrProcFormat) {
			t.Errorf("%s: error %v, want ErrProcFormat", name, err)
		}
	}
}

// ReadProc reads the test's own process: some CPU used, a resident set
// no larger than its peak.
func TestReadProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKiB <= 0 || s.PeakRSSKiB < s.RSSKiB || s.CPU < 0 {
		t.Errorf("ReadProc(self) = %+v", s)
	}
}

func TestParseLoadAvg(t *testing.T) {
	for in, want := range map[string]float64{
		"0.52 1.53 2.44 2/812 14307\n": 0.52,
		"21.34 15.49 10.50 9/900 1":    21.34,
	} {
		if got, err := ParseLoadAvg([]byte(in)); err != nil || got != want {
			t.Errorf("ParseLoadAvg(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.0 2.0", "x 1 2 3/4 5", "-1 0 0 1/1 1"} {
		if _, err := ParseLoadAvg([]byte(bad)); !errors.Is(err, ErrProcFormat) {
			t.Errorf("ParseLoadAvg(%q): error %v, want ErrProcFormat", bad, err)
		}
	}
}
