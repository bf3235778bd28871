package reserve_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

// step is one record at stream time t0 + at: a command, a stock row, an
// order line, or a tick (rec nil).
type step struct {
	at  time.Duration
	rec any
}

func rsv(co string, qty int32, at time.Duration) step {
	return step{at, command(schemas.OpReserve, co, qty, t0.Add(at))}
}

func rel(co, why string, at time.Duration) step {
	c := command(schemas.OpRelease, co, 0, t0.Add(at))
	if why != "" {
		c.Reason = ptr(why)
	}
	return step{at, c}
}

func cmt(co string, qty int32, at time.Duration) step {
	c := command(schemas.OpCommit, co, qty, t0.Add(at))
	c.OrderID = ptr("o-" + co)
	return step{at, c}
}

func stk(onHand int32, version int64, at time.Duration) step {
	return step{at, stockRow(onHand, version, t0.Add(at))}
}

func del(at time.Duration) step {
	return step{at, schemas.StockRow{SKU: sku, Deleted: true, EventTime: t0.Add(at)}}
}

func delv(version int64, at time.Duration) step {
	return step{at, schemas.StockRow{SKU: sku, Deleted: true, Version: version, EventTime: t0.Add(at)}}
}

func ol(co string, qty int32, version int64, at time.Duration) step {
	return step{at, orderLine(co, qty, version, t0.Add(at))}
}

func tick(at time.Duration) step { return step{at, nil} }

// run applies steps in order with a never-decreasing stream time, keeping
// the dedup store as the processor does: every result ApplyCommand says to
// store is put in a MemoryLog, which is pruned at every tick when prune is
// set (and never otherwise: the core must ignore aged entries itself). It
// returns the final state, every command's result, the final stream time
// and the log. It checks on the way that no function mutates its input
// state, and that store is false exactly for an invalid command or one the
// log holds within the dedup window, which then changes nothing.
func run(t *testing.T, cfg reserve.Config, steps []step, prune bool) (*reserve.State, []schemas.ReservationResult, time.Time, reserve.MemoryLog) {
	t.Helper()
	var (
		s       *reserve.State
		results []schemas.ReservationResult
		now     time.Time
		log     = reserve.MemoryLog{}
	)
	for i, st := range steps {
		if at := t0.Add(st.at); at.After(now) {
			now = at
		}
		before := mustEncode(t, s)
		switch r := st.rec.(type) {
		case schemas.ReservationCommand:
			s2, res, store := reserve.ApplyCommand(s, r, now, cfg, log)
			stored, dup := inWindow(log, r.CommandID, now, cfg)
			invalid := reasonOf(res) == reserve.ReasonInvalidCommand
			switch {
			case store && (dup || invalid):
				t.Fatalf("step %d: store true for a duplicate or invalid command: %+v", i, res)
			case !store && !dup && !invalid:
				t.Fatalf("step %d: store false for a new command: %+v", i, res)
			case !store && s2 != s:
				t.Fatalf("step %d: a command not to store changed the state", i)
			case dup && !reflect.DeepEqual(res, stored.Result):
				t.Fatalf("step %d: duplicate got %+v, stored %+v", i, res, stored.Result)
			}
			if store {
				log.Put(r.CommandID, reserve.Handled{At: now.UTC(), Result: res})
			}
			results = append(results, res)
			s = keep(t, i, s, s2, before)
		case schemas.StockRow:
			s = keep(t, i, s, reserve.ApplyStock(s, r, now, cfg), before)
		case schemas.OrderLine:
			s = keep(t, i, s, reserve.ApplyOrderLine(s, r, now, cfg, log), before)
		case nil:
			s = keep(t, i, s, reserve.Tick(s, now, cfg), before)
			if prune {
				log.Prune(now, cfg.DedupWindow)
			}
		default:
			t.Fatalf("step %d: unknown record %T", i, st.rec)
		}
		checkRoundTrip(t, s)
	}
	return s, results, now, log
}

// keep checks that the step left its input state as it was and returns the
// new state.
func keep(t *testing.T, i int, old, next *reserve.State, before []byte) *reserve.State {
	t.Helper()
	if after := mustEncode(t, old); !bytes.Equal(before, after) {
		t.Fatalf("step %d mutated its input state", i)
	}
	return next
}

func TestRules(t *testing.T) {
	const m = time.Minute
	def := reserve.DefaultConfig()
	noOutbox := def
	noOutbox.Outbox = false
	tests := []struct {
		name  string
		cfg   *reserve.Config
		steps []step
		// status and reason of the last command's result
		status, reason string
		avail          int64 // Available at the final stream time
		holds          int
		check          func(t *testing.T, s *reserve.State, res []schemas.ReservationResult)
	}{
		// reserve
		{name: "reserve within stock", steps: []step{stk(10, 1, 0), rsv("co1", 3, m)},
			status: "reserved", avail: 7, holds: 1,
			check: func(t *testing.T, s *reserve.State, res []schemas.ReservationResult) {
				last := res[len(res)-1]
				if last.ExpiresAt == nil || !last.ExpiresAt.Equal(t0.Add(11*m)) {
					t.Errorf("ExpiresAt = %v, want %v", last.ExpiresAt, t0.Add(11*m))
				}
				if last.Available != 7 {
					t.Errorf("result Available = %d, want 7", last.Available)
				}
			}},
		{name: "reserve exactly the available units", steps: []step{stk(3, 1, 0), rsv("co1", 3, 0)},
			status: "reserved", avail: 0, holds: 1},
		{name: "insufficient stock", steps: []step{stk(5, 1, 0), rsv("co1", 3, 0), rsv("co2", 3, 0)},
			status: "rejected", reason: "insufficient_stock", avail: 2, holds: 1},
		{name: "unknown sku: no inventory row", steps: []step{rsv("co1", 1, 0)},
			status: "rejected", reason: "unknown_sku", avail: 0},
		{name: "unknown sku: row deleted", steps: []step{stk(10, 1, 0), del(m), rsv("co1", 1, 2*m)},
			status: "rejected", reason: "unknown_sku", avail: 0},
		{name: "invalid quantity zero", steps: []step{stk(10, 1, 0), rsv("co1", 0, 0)},
			status: "rejected", reason: "invalid_quantity", avail: 10},
		{name: "invalid quantity negative, also on an unknown sku", steps: []step{rsv("co1", -2, 0)},
			status: "rejected", reason: "invalid_quantity", avail: 0},
		{name: "hold TTL from the command", steps: []step{stk(10, 1, 0), {0, func() schemas.ReservationCommand {
			c := command(schemas.OpReserve, "co1", 1, t0)
			c.HoldTTLMillis = ptr(int64(90_000))
			return c
		}()}}, status: "reserved", avail: 9, holds: 1,
			check: func(t *testing.T, s *reserve.State, res []schemas.ReservationResult) {
				if got := *res[0].ExpiresAt; !got.Equal(t0.Add(90 * time.Second)) {
					t.Errorf("ExpiresAt = %v, want t0+90s", got)
				}
			}},
		{name: "hold TTL from the command is capped at the dedup window", steps: []step{stk(10, 1, 0), {0, func() schemas.ReservationCommand {
			c := command(schemas.OpReserve, "co1", 1, t0)
			c.HoldTTLMillis = ptr(int64(1 << 50))
			return c
		}()}}, status: "reserved", avail: 9, holds: 1,
			check: func(t *testing.T, s *reserve.State, res []schemas.ReservationResult) {
				if got := *res[0].ExpiresAt; !got.Equal(t0.Add(48 * time.Hour)) {
					t.Errorf("ExpiresAt = %v, want t0+48h", got)
				}
			}},
		{name: "stale reserve beyond the dedup window", steps: []step{stk(10, 1, 0), tick(49 * time.Hour), rsv("co1", 1, 0)},
			status: "rejected", reason: "stale_command", avail: 10},
		{name: "reserve after its release (reordered)", steps: []step{stk(10, 1, 0), rel("co1", "abandoned", 0), rsv("co1", 1, m)},
			status: "rejected", reason: "request_closed", avail: 10},
		{name: "reserve after its commit (reordered)", steps: []step{stk(10, 1, 0), cmt("co1", 2, 0), rsv("co1", 2, m)},
			status: "rejected", reason: "request_closed", avail: 8, holds: 1},
		{name: "reserve never makes available negative", steps: []step{stk(4, 1, 0), rsv("co1", 4, 0), rsv("co2", 1, 0)},
			status: "rejected", reason: "insufficient_stock", avail: 0, holds: 1},

		// expiry
		{name: "hold counts at exactly its expiry", steps: []step{stk(5, 1, 0), rsv("co1", 5, 0), tick(10 * m)},
			status: "reserved", avail: 0, holds: 1},
		{name: "expired hold stops counting and is pruned by the next record", steps: []step{stk(5, 1, 0), rsv("co1", 5, 0), tick(10*m + time.Millisecond)},
			status: "reserved", avail: 5, holds: 0},
		{name: "expired hold frees stock for another reserve", steps: []step{stk(5, 1, 0), rsv("co1", 5, 0), rsv("co2", 5, 11*m)},
			status: "reserved", avail: 0, holds: 1},

		// release
		{name: "release a live hold", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), rel("co1", "cart_changed", m)},
			status: "released", reason: "cart_changed", avail: 10},
		{name: "release without a reason", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), rel("co1", "", m)},
			status: "released", avail: 10},
		{name: "release an unknown hold", steps: []step{stk(10, 1, 0), rel("co1", "abandoned", 0)},
			status: "released", reason: "unknown_hold", avail: 10},
		{name: "release of a rejected reserve is an unknown hold", steps: []step{stk(1, 1, 0), rsv("co1", 4, 0), rel("co1", "checkout_failed", 0)},
			status: "released", reason: "unknown_hold", avail: 1},
		{name: "release an expired hold not yet pruned", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), rel("co1", "abandoned", 11*m)},
			status: "released", reason: "hold_expired", avail: 10},
		{name: "release an expired hold already pruned", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), tick(11 * m), rel("co1", "abandoned", 12*m)},
			status: "released", reason: "hold_expired", avail: 10},
		{name: "release a committed hold changes nothing", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), cmt("co1", 4, m), rel("co1", "cart_cleared", 2*m)},
			status: "committed", reason: "already_committed", avail: 6, holds: 1},
		{name: "release after the committed hold was reflected", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), cmt("co1", 4, m), ol("co1", 4, 2, m), stk(6, 2, m), rel("co1", "cart_cleared", 2*m)},
			status: "committed", reason: "already_committed", avail: 6, holds: 0},

		// commit
		{name: "commit a live hold", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), cmt("co1", 4, m)},
			status: "committed", avail: 6, holds: 1,
			check: func(t *testing.T, s *reserve.State, _ []schemas.ReservationResult) {
				h, ok := s.Hold(reserve.RequestID("co1", sku))
				if !ok || h.State != reserve.Committed || !h.CommittedAt.Equal(t0.Add(m)) || h.HasInventoryVersion {
					t.Errorf("hold = %+v, %v", h, ok)
				}
			}},
		{name: "commit after expiry is late and counts", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), cmt("co1", 4, 11*m)},
			status: "committed", reason: "late_commit", avail: 6, holds: 1},
		{name: "commit after release is late and counts", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), rel("co1", "cart_changed", m), cmt("co1", 4, 2*m)},
			status: "committed", reason: "late_commit", avail: 6, holds: 1},
		{name: "commit with no hold is late and counts", steps: []step{stk(10, 1, 0), cmt("co1", 3, 0)},
			status: "committed", reason: "late_commit", avail: 7, holds: 1},
		{name: "commit of more units than held is late", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 3, m)},
			status: "committed", reason: "late_commit", avail: 7, holds: 1},
		{name: "commit on an unknown sku counts once the row arrives", steps: []step{cmt("co1", 3, 0), stk(10, 1, m)},
			status: "committed", reason: "late_commit", avail: 7, holds: 1},
		{name: "late commit can make available negative", steps: []step{stk(4, 1, 0), rsv("co1", 4, 0), rsv("co2", 4, 11*m), cmt("co1", 4, 12*m)},
			status: "committed", reason: "late_commit", avail: -4, holds: 2},
		{name: "commit with invalid quantity", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 0, m)},
			status: "rejected", reason: "invalid_quantity", avail: 8, holds: 1},

		// reconciliation by inventory_version
		{name: "order line then stock row drops the committed hold", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), ol("co1", 2, 2, m), stk(8, 2, 2*m)},
			status: "committed", avail: 8, holds: 0},
		{name: "order line alone keeps counting", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), ol("co1", 2, 2, m)},
			status: "committed", avail: 8, holds: 1},
		{name: "stock row then order line drops the committed hold", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), stk(8, 2, m), ol("co1", 2, 2, 2*m)},
			status: "committed", avail: 8, holds: 0},
		{name: "stock row alone double counts for a moment (safe side)", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), stk(8, 2, m)},
			status: "committed", avail: 6, holds: 1},
		{name: "an older version does not reflect", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), ol("co1", 2, 3, m), stk(9, 2, 2*m)},
			status: "committed", avail: 7, holds: 1},
		{name: "order line and stock before the commit: reflected at once", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), ol("co1", 2, 2, m), stk(8, 2, m), cmt("co1", 2, 2*m)},
			status: "committed", avail: 8, holds: 0,
			check: func(t *testing.T, s *reserve.State, _ []schemas.ReservationResult) {
				if len(s.Pending) != 0 {
					t.Errorf("pending = %+v, want none", s.Pending)
				}
			}},
		{name: "order line before the commit, stock after", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), ol("co1", 2, 2, m), cmt("co1", 2, 2*m), stk(8, 2, 3*m)},
			status: "committed", avail: 8, holds: 0},
		{name: "order line before the commit keeps the held hold counting", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), ol("co1", 2, 2, m), stk(8, 2, m)},
			status: "reserved", avail: 6, holds: 1},
		{name: "duplicate order line after the drop changes nothing", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), ol("co1", 2, 2, m), stk(8, 2, m), ol("co1", 2, 2, 2*m)},
			status: "committed", avail: 8, holds: 0,
			check: func(t *testing.T, s *reserve.State, _ []schemas.ReservationResult) {
				if len(s.Pending) != 0 {
					t.Errorf("pending = %+v, want none", s.Pending)
				}
			}},
		{name: "order line without a checkout id changes nothing", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), ol("", 2, 2, m)},
			status: "reserved", avail: 8, holds: 1,
			check: func(t *testing.T, s *reserve.State, _ []schemas.ReservationResult) {
				if len(s.Pending) != 0 {
					t.Errorf("pending = %+v, want none", s.Pending)
				}
			}},
		{name: "late commit reconciled like any other", steps: []step{stk(10, 1, 0), cmt("co1", 3, 0), ol("co1", 3, 2, m), stk(7, 2, 2*m)},
			status: "committed", reason: "late_commit", avail: 7, holds: 0},

		// outbox off: commit grace
		{name: "outbox off: committed hold counts through the grace", cfg: &noOutbox,
			steps:  []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), tick(16 * m)},
			status: "committed", avail: 8, holds: 1},
		{name: "outbox off: committed hold dropped after the grace", cfg: &noOutbox,
			steps:  []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), stk(8, 2, 2*m), tick(16*m + time.Millisecond)},
			status: "committed", avail: 8, holds: 0},
		{name: "outbox on: committed hold stays past the grace", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), tick(3 * time.Hour)},
			status: "committed", avail: 8, holds: 1},
		{name: "outbox on: safety valve after the dedup window", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), tick(48*time.Hour + m + time.Millisecond)},
			status: "committed", avail: 10, holds: 0},

		// stock rows
		{name: "stale stock row is ignored", steps: []step{stk(10, 5, 0), stk(3, 4, m)}, avail: 10},
		{name: "equal version is applied", steps: []step{stk(10, 5, 0), stk(3, 5, m)}, avail: 3},
		{name: "delete keeps holds and makes the sku unknown", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), rsv("co2", 3, 0), cmt("co1", 2, m), del(2 * m)},
			status: "committed", avail: 0, holds: 2,
			check: func(t *testing.T, s *reserve.State, _ []schemas.ReservationResult) {
				if s.Known || s.OnHand != 0 || s.Version != 1 {
					t.Errorf("state after delete: known %v on_hand %d version %d", s.Known, s.OnHand, s.Version)
				}
			}},
		{name: "after a delete a higher version re-creates the sku", steps: []step{stk(10, 7, 0), rsv("co1", 2, 0), del(m), stk(5, 8, 2*m)},
			status: "reserved", avail: 3, holds: 1},
		{name: "after a delete the replayed row before it is ignored", steps: []step{stk(10, 7, 0), del(m), stk(10, 7, 2*m), stk(9, 6, 2*m), rsv("co1", 1, 3*m)},
			status: "rejected", reason: "unknown_sku", avail: 0},
		{name: "a re-created row with a reset version is ignored", steps: []step{stk(10, 7, 0), del(m), stk(5, 1, 2*m), rsv("co1", 1, 3*m)},
			status: "rejected", reason: "unknown_sku", avail: 0},
		{name: "a versioned delete older than the row is ignored", steps: []step{stk(10, 8, 0), delv(7, m), rsv("co1", 1, 2*m)},
			status: "reserved", avail: 9, holds: 1},
		{name: "a versioned delete of the current row applies", steps: []step{stk(10, 8, 0), delv(8, m), stk(10, 8, 2*m), rsv("co1", 1, 2*m)},
			status: "rejected", reason: "unknown_sku", avail: 0},
		{name: "an unversioned replayed delete: unknown until a higher version", steps: []step{stk(10, 8, 0), del(m), stk(10, 8, m), stk(9, 9, 2*m), rsv("co1", 1, 2*m)},
			status: "reserved", avail: 8, holds: 1},
		{name: "a committed hold survives a delete and is reflected after re-creation", steps: []step{stk(10, 1, 0), rsv("co1", 2, 0), cmt("co1", 2, m), del(2 * m), stk(8, 3, 3*m), ol("co1", 2, 2, 3*m)},
			status: "committed", avail: 8, holds: 0},
		{name: "stock below holds: negative available, reserves rejected", steps: []step{stk(5, 1, 0), rsv("co1", 4, 0), stk(2, 2, m), rsv("co2", 1, 2*m)},
			status: "rejected", reason: "insufficient_stock", avail: -2, holds: 1},
		{name: "stock below holds recovers on release", steps: []step{stk(5, 1, 0), rsv("co1", 4, 0), stk(2, 2, m), rel("co1", "abandoned", 2*m)},
			status: "released", reason: "abandoned", avail: 2},

		// dedup
		{name: "duplicate reserve returns the original result", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), stk(2, 2, m), rsv("co1", 4, 0)},
			status: "reserved", avail: -2, holds: 1,
			check: func(t *testing.T, s *reserve.State, res []schemas.ReservationResult) {
				if !reflect.DeepEqual(res[0], res[1]) {
					t.Errorf("duplicate result %+v differs from the original %+v", res[1], res[0])
				}
			}},
		{name: "duplicate rejection stays rejected after stock arrives", steps: []step{stk(1, 1, 0), rsv("co1", 4, 0), stk(100, 2, m), rsv("co1", 4, 0)},
			status: "rejected", reason: "insufficient_stock", avail: 100},
		{name: "duplicate commit counts once", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), cmt("co1", 4, m), cmt("co1", 4, m), cmt("co1", 4, m)},
			status: "committed", avail: 6, holds: 1},
		{name: "duplicate release after a new reserve of another request", steps: []step{stk(4, 1, 0), rsv("co1", 4, 0), rel("co1", "abandoned", m), rsv("co2", 4, m), rel("co1", "abandoned", m)},
			status: "released", reason: "abandoned", avail: 0, holds: 1},
		{name: "redelivered reserve at exactly the window gets its stored result", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), tick(48 * time.Hour), rsv("co1", 4, 0)},
			status: "reserved", avail: 10,
			check: func(t *testing.T, s *reserve.State, res []schemas.ReservationResult) {
				if !reflect.DeepEqual(res[0], res[1]) {
					t.Errorf("redelivery got %+v, want the stored %+v", res[1], res[0])
				}
			}},
		{name: "release at exactly the window still finds its expired reserve", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), rel("co1", "abandoned", 48*time.Hour)},
			status: "released", reason: "hold_expired", avail: 10},
		{name: "release past the window ignores its reserve's aged entry", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), rel("co1", "abandoned", 48*time.Hour+time.Millisecond)},
			status: "released", reason: "unknown_hold", avail: 10},
		{name: "release past the window ignores its commit's aged entry", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), cmt("co1", 4, m), ol("co1", 4, 2, m), stk(6, 2, m), rel("co1", "abandoned", 48*time.Hour+m+time.Millisecond)},
			status: "released", reason: "unknown_hold", avail: 6},
		{name: "reserve reordered after an aged release is stale, not closed", steps: []step{stk(10, 1, 0), rel("co1", "abandoned", 0), tick(48*time.Hour + time.Millisecond), rsv("co1", 1, 0)},
			status: "rejected", reason: "stale_command", avail: 10},
		{name: "order line after its commit's entry aged out waits as pending", steps: []step{stk(10, 1, 0), cmt("co1", 2, 0), tick(48*time.Hour + time.Millisecond), ol("co1", 2, 2, 48*time.Hour+time.Millisecond)},
			status: "committed", reason: "late_commit", avail: 10,
			check: func(t *testing.T, s *reserve.State, _ []schemas.ReservationResult) {
				if len(s.Pending) != 1 {
					t.Errorf("pending = %+v, want the line", s.Pending)
				}
			}},
		{name: "redelivered reserve after the window is refused as stale", steps: []step{stk(10, 1, 0), rsv("co1", 4, 0), tick(49 * time.Hour), rsv("co1", 4, 0)},
			status: "rejected", reason: "stale_command", avail: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := def
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			// The core ignores aged entries itself: keeping or pruning
			// them gives the same results and states.
			s, res, now, _ := run(t, cfg, tc.steps, false)
			ps, pres, _, _ := run(t, cfg, tc.steps, true)
			if !reflect.DeepEqual(res, pres) || !bytes.Equal(mustEncode(t, s), mustEncode(t, ps)) {
				t.Errorf("pruning the log changed the run:\n kept   %+v %+v\n pruned %+v %+v", res, s, pres, ps)
			}
			if len(res) > 0 {
				last := res[len(res)-1]
				if last.Status != tc.status || reasonOf(last) != tc.reason {
					t.Errorf("last result = %s/%s, want %s/%s", last.Status, reasonOf(last), tc.status, tc.reason)
				}
				if last.Status == schemas.ResultReserved && last.Available < 0 {
					t.Errorf("a reserve left available %d", last.Available)
				}
			}
			if got := reserve.Available(s, now); got != tc.avail {
				t.Errorf("Available = %d, want %d", got, tc.avail)
			}
			if s != nil && len(s.Holds) != tc.holds {
				t.Errorf("holds = %+v, want %d", s.Holds, tc.holds)
			}
			if tc.check != nil {
				tc.check(t, s, res)
			}
		})
	}
}

func TestDuplicateChangesNothing(t *testing.T) {
	cfg := reserve.DefaultConfig()
	log := reserve.MemoryLog{}
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	c := command(schemas.OpReserve, "co1", 3, t0)
	s1, r1, store := reserve.ApplyCommand(s, c, t0, cfg, log)
	if !store {
		t.Fatal("a new command is not to be stored")
	}
	log.Put(c.CommandID, reserve.Handled{At: t0, Result: r1})
	want := r1
	want.ExpiresAt = ptr(*r1.ExpiresAt)
	// The caller changing the result it stored does not change the store.
	*r1.ExpiresAt = time.Time{}
	// Even much later (and with expired holds to prune), a duplicate
	// returns the same pointer and the stored result, and nothing to store.
	later := t0.Add(time.Hour)
	s2, r2, store := reserve.ApplyCommand(s1, c, later, cfg, log)
	if s2 != s1 || store {
		t.Errorf("a duplicate returned a new state (%v) or store %v", s2 != s1, store)
	}
	if !reflect.DeepEqual(r2, want) {
		t.Errorf("duplicate result %+v, want %+v", r2, want)
	}
	// The returned result does not alias the stored one.
	*r2.ExpiresAt = time.Time{}
	if r3 := log[c.CommandID].Result; !reflect.DeepEqual(r3, want) {
		t.Errorf("stored result changed through a returned pointer: %+v", r3)
	}
}
