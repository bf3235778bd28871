package streamtime

import (
	"sync"
	"time"
)

// Partitions is the stream time of every partition of one group, safe for
// concurrent use: a group's callbacks advance it, and queries read it (an
// inventory answer is computed at its partition's stream time).
type Partitions struct {
	mu sync.Mutex
	m  map[int32]*Clock
}

// Observe advances partition p's stream time with t and reports whether
// it moved.
func (ps *Partitions) Observe(p int32, t time.Time) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[int32]*Clock{}
	}
	c := ps.m[p]
	if c == nil {
		c = &Clock{}
		ps.m[p] = c
	}
	return c.Observe(t)
}

// Now returns partition p's stream time; the zero time when it has seen
// nothing since the process started.
func (ps *Partitions) Now(p int32) time.Time {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if c := ps.m[p]; c != nil {
		return c.Now()
	}
	return time.Time{}
}
