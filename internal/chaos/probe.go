package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// probeEvery is the pause between two probe queries.
const probeEvery = 200 * time.Millisecond

// probe asks the instances for a cart and a SKU all through the run, as a
// storefront behind a load balancer would: each query goes to the next
// instance in turn and, when it cannot answer, to the others, until one
// does. It measures how often no instance could answer and for how long.
type probe struct {
	addrs []string
	paths []string
	cl    *http.Client

	mu    sync.Mutex
	stats ProbeStats
	// downSince is when the current run of unanswered queries began.
	downSince time.Time
}

// ProbeStats are the probe's figures.
type ProbeStats struct {
	// Queries asked; Answered by some instance with 200 or 404 (a key
	// not there yet is an answer).
	Queries, Answered int
	// Rebalancing answers (503 with Retry-After) and Unavailable ones
	// (refused connections, timeouts, other 5xx); NoRetryAfter counts 503s
	// without Retry-After (a contract violation, DESIGN §7).
	Rebalancing, Unavailable, NoRetryAfter int
	// LongestOutage is the longest time no instance answered.
	LongestOutage time.Duration
}

func newProbe(addrs []string, paths ...string) *probe {
	return &probe{addrs: addrs, paths: paths, cl: &http.Client{Timeout: 2 * time.Second}}
}

// run probes until ctx ends.
func (p *probe) run(ctx context.Context) {
	next := 0
	for i := 0; ctx.Err() == nil; i++ {
		path := p.paths[i%len(p.paths)]
		answered := false
		for k := range p.addrs {
			addr := p.addrs[(next+k)%len(p.addrs)]
			if p.ask(ctx, addr, path) {
				answered = true
				break
			}
		}
		next = (next + 1) % len(p.addrs)
		if ctx.Err() != nil {
			return
		}
		p.record(answered, time.Now())
		select {
		case <-ctx.Done():
		case <-time.After(probeEvery):
		}
	}
}

// ask sends one query and counts a non-answer by its kind.
func (p *probe) ask(ctx context.Context, addr, path string) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	resp, err := p.cl.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			p.count(func(s *ProbeStats) { s.Unavailable++ })
		}
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound:
		return true
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		p.count(func(s *ProbeStats) { s.Rebalancing++ })
	case resp.StatusCode == http.StatusServiceUnavailable:
		p.count(func(s *ProbeStats) { s.NoRetryAfter++ })
	default:
		p.count(func(s *ProbeStats) { s.Unavailable++ })
	}
	return false
}

func (p *probe) count(f func(*ProbeStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.stats)
}

func (p *probe) record(answered bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Queries++
	if answered {
		p.stats.Answered++
		p.downSince = time.Time{}
		return
	}
	if p.downSince.IsZero() {
		p.downSince = now
	}
	p.stats.LongestOutage = max(p.stats.LongestOutage, now.Sub(p.downSince))
}

func (p *probe) snapshot() ProbeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (s ProbeStats) String() string {
	return fmt.Sprintf("queries=%d answered=%d rebalancing_503=%d unavailable=%d no_retry_after=%d longest_outage_s=%.1f",
		s.Queries, s.Answered, s.Rebalancing, s.Unavailable, s.NoRetryAfter, s.LongestOutage.Seconds())
}
