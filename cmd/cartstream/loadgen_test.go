package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"cartstream/internal/loadgen"
)

// Bad settings fail before loadgen connects to anything.
func TestLoadgenCommandChecksItsFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"zero rate":                     {"loadgen", "--rate", "0"},
		"no duration":                   {"loadgen", "--duration", "0s"},
		"flash-sale SKU not in catalog": {"loadgen", "--skus", "10", "--flash-sale", "SKU-00011"},
		"browse rate above 1":           {"loadgen", "--browse-rate", "1.5"},
		"no brokers":                    {"loadgen", "--brokers", ""},
	} {
		if _, _, err := runCLIWithInput(t, "", args...); !errors.Is(err, loadgen.ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Without a terminal, progress is a plain line every few seconds.
func TestLoadgenPlainProgress(t *testing.T) {
	var b bytes.Buffer
	p := newLoadProgress(&b, 1000)
	p.update(loadgen.Stats{Elapsed: time.Second, Events: 100, Lag: 3})
	p.update(loadgen.Stats{Elapsed: 5 * time.Second, Events: 500, Checkouts: 9, Reserved: 7, Failed: 2, Completed: 4, Lag: -1})
	p.update(loadgen.Stats{Elapsed: 6 * time.Second, Events: 600, Lag: 3})
	p.done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := "loadgen: 5s events=500 rate=100/s checkouts=9 reserved=7 failed=2 completed=4 lag=?"
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("progress:\n%s\nwant one line:\n%s", b.String(), want)
	}
}
