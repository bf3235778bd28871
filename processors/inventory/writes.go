package inventory

import (
	"context"
	"sync"
	"time"
)

// WriteGrace is how long table writes still unacknowledged when their
// partition stops (a rebalance, a failure, a broker outage) are given
// before they are cancelled.
//
// A write acknowledged after another instance took the partition over
// would land in the changelog after the new owner's writes and overwrite
// newer values with older ones (make chaos, seed 20261122: a broker
// restart held an owner's writes back; they landed after the new owner had
// applied order lines, and committed holds leaked). The new owner cannot
// start before the rebalance completes, and the group's members rejoin no
// sooner than goka's 5 s delay after they learn of the rebalance (within a
// heartbeat, 1 s). Writes of a stopped partition are therefore resolved,
// acknowledged or failed, within WriteGrace, well inside that. A failed
// write fails its record's commit (DeferCommit), so the record is read
// again by the next owner and nothing is lost.
//
// The changelog client must allow cancelling records already sent
// (kgo.AllowIdempotentProduceCancellation); otherwise franz-go keeps
// retrying them until the broker answers, however late that is.
const WriteGrace = 2 * time.Second

// partitionWrites hands out, per partition, a context for the table
// writes of the partition's current run: it ends WriteGrace after the
// run's context (goka's callback context, cancelled when the partition
// stops). One context per run, not per record, so nothing accumulates.
type partitionWrites struct {
	grace time.Duration // WriteGrace when 0
	mu    sync.Mutex
	runs  map[int32]partitionRun
}

type partitionRun struct {
	parent context.Context // the partition's run, as goka's callbacks see it
	writes context.Context
}

// context returns the write context of partition p's run whose callback
// context is parent.
func (w *partitionWrites) context(p int32, parent context.Context) context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.runs[p]; ok && r.parent == parent {
		return r.writes
	}
	if w.runs == nil {
		w.runs = map[int32]partitionRun{}
	}
	grace := w.grace
	if grace <= 0 {
		grace = WriteGrace
	}
	writes, cancel := context.WithCancel(context.WithoutCancel(parent))
	context.AfterFunc(parent, func() { time.AfterFunc(grace, cancel) })
	w.runs[p] = partitionRun{parent: parent, writes: writes}
	return writes
}
