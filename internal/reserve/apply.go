package reserve

import (
	"slices"
	"time"

	"cartstream/schemas"
)

// ApplyCommand applies a reservation command at stream time streamTime (the
// partition's stream time, already advanced with the command's record) to s
// (nil for a SKU never seen), with log the dedup store of the commands
// handled so far (nil: empty), and returns the new state, the command's
// result, and whether the caller must store it: store is true exactly when
// the caller must put Handled{At: streamTime.UTC(), Result: res} in its
// dedup store under cmd.CommandID before applying the next command for
// this SKU.
//
// A command id handled within the dedup window returns the stored result,
// s itself and store false: nothing changes. A malformed command returns s,
// a rejected/invalid_command result and store false: it is not stored.
// Otherwise expired holds and aged pending lines are pruned, the command is
// decided as the package documentation describes (looking up its request's
// other operations in log), and store is true. ApplyCommand never mutates s,
// never writes to log and never reads a clock.
func ApplyCommand(s *State, cmd schemas.ReservationCommand, streamTime time.Time, cfg Config, log Log) (next *State, res schemas.ReservationResult, store bool) {
	cfg = cfg.norm()
	res = schemas.ReservationResult{
		CommandID:  cmd.CommandID,
		RequestID:  cmd.RequestID,
		Op:         cmd.Op,
		SKU:        cmd.SKU,
		Qty:        cmd.Qty,
		CartID:     cmd.CartID,
		CheckoutID: cmd.CheckoutID,
		EventTime:  cmd.EventTime.UTC(),
	}
	if ValidateCommand(cmd) != nil || s != nil && s.SKU != "" && s.SKU != cmd.SKU {
		res.Status = schemas.ResultRejected
		res.Reason = reason(ReasonInvalidCommand)
		res.Available = Available(s, streamTime)
		return s, res, false
	}
	if e, ok := lookup(log, cmd.CommandID, streamTime, cfg.DedupWindow); ok {
		return s, copyResult(e.Result), false
	}
	n := s.pruned(streamTime, cfg)
	if n.SKU == "" {
		n.SKU = cmd.SKU
	}
	switch cmd.Op {
	case schemas.OpReserve:
		n.reserve(&res, cmd, streamTime, cfg, log)
	case schemas.OpRelease:
		n.release(&res, cmd, streamTime, cfg, log)
	case schemas.OpCommit:
		n.commit(&res, cmd, streamTime, cfg)
	}
	res.Available = Available(n, streamTime)
	return n, res, true
}

// reserve decides a reserve command on the pruned state n.
func (n *State) reserve(res *schemas.ReservationResult, cmd schemas.ReservationCommand, t time.Time, cfg Config, log Log) {
	r := cmd.RequestID
	switch {
	case cmd.Qty <= 0:
		reject(res, ReasonInvalidQuantity)
		return
	case olderThan(cmd.EventTime, t, cfg.DedupWindow):
		reject(res, ReasonStaleCommand)
		return
	case closed(log, r, t, cfg.DedupWindow):
		reject(res, ReasonRequestClosed)
		return
	}
	if i, ok := n.holdIndex(r); ok {
		// Only reachable when the request's reserve is no longer in the
		// dedup store: answer the hold as it is, never replace or extend.
		h := n.Holds[i]
		res.Qty = h.Qty
		if h.State == Committed {
			res.Status = schemas.ResultCommitted
			res.Reason = reason(ReasonAlreadyCommitted)
			return
		}
		res.Status = schemas.ResultReserved
		res.ExpiresAt = timePtr(h.ExpiresAt)
		return
	}
	switch {
	case !n.Known:
		reject(res, ReasonUnknownSKU)
		return
	case Available(n, t) < int64(cmd.Qty):
		reject(res, ReasonInsufficientStock)
		return
	}
	ttl := cfg.HoldTTL
	if cmd.HoldTTLMillis != nil && *cmd.HoldTTLMillis > 0 {
		ttl = cfg.DedupWindow
		if *cmd.HoldTTLMillis < int64(cfg.DedupWindow/time.Millisecond) {
			ttl = time.Duration(*cmd.HoldTTLMillis) * time.Millisecond
		}
	}
	h := Hold{
		RequestID:  r,
		CartID:     cmd.CartID,
		CheckoutID: cmd.CheckoutID,
		Qty:        cmd.Qty,
		State:      Held,
		ExpiresAt:  t.Add(ttl).UTC(),
	}
	n.putHold(h)
	res.Status = schemas.ResultReserved
	res.ExpiresAt = timePtr(h.ExpiresAt)
}

// release decides a release command on the pruned state n.
func (n *State) release(res *schemas.ReservationResult, cmd schemas.ReservationCommand, t time.Time, cfg Config, log Log) {
	r := cmd.RequestID
	if i, ok := n.holdIndex(r); ok {
		if n.Holds[i].State == Committed {
			res.Status = schemas.ResultCommitted
			res.Reason = reason(ReasonAlreadyCommitted)
			return
		}
		n.Holds = slices.Delete(n.Holds, i, i+1)
		res.Status = schemas.ResultReleased
		if cmd.Reason != nil {
			res.Reason = reason(*cmd.Reason)
		}
		return
	}
	res.Status = schemas.ResultReleased
	if e, ok := handledOp(log, r, schemas.OpCommit, t, cfg.DedupWindow); ok && e.Result.Status == schemas.ResultCommitted {
		res.Status = schemas.ResultCommitted
		res.Reason = reason(ReasonAlreadyCommitted)
		return
	}
	// A held hold missing from n has expired (pruned now or earlier); its
	// reserve's stored result says when.
	if e, ok := handledOp(log, r, schemas.OpReserve, t, cfg.DedupWindow); ok &&
		e.Result.Status == schemas.ResultReserved && e.Result.ExpiresAt != nil && Expired(*e.Result.ExpiresAt, t) {
		res.Reason = reason(ReasonHoldExpired)
		return
	}
	res.Reason = reason(ReasonUnknownHold)
}

// commit decides a commit command on the pruned state n.
func (n *State) commit(res *schemas.ReservationResult, cmd schemas.ReservationCommand, t time.Time, cfg Config) {
	if cmd.Qty <= 0 {
		reject(res, ReasonInvalidQuantity)
		return
	}
	r := cmd.RequestID
	res.Status = schemas.ResultCommitted
	h := Hold{
		RequestID:   r,
		CartID:      cmd.CartID,
		CheckoutID:  cmd.CheckoutID,
		Qty:         cmd.Qty,
		State:       Committed,
		CommittedAt: cmd.EventTime.UTC(),
	}
	late := true
	if i, ok := n.holdIndex(r); ok {
		old := n.Holds[i]
		if old.State == Committed {
			// Already counted (its dedup entry aged out): never twice.
			return
		}
		// Held and live: pruning drops expired holds.
		late = old.Qty < cmd.Qty
		h.ExpiresAt = old.ExpiresAt
		n.Holds = slices.Delete(n.Holds, i, i+1)
	}
	if late {
		res.Reason = reason(ReasonLateCommit)
	}
	if i, ok := n.pendingIndex(r); ok {
		h.InventoryVersion, h.HasInventoryVersion = n.Pending[i].InventoryVersion, true
		n.Pending = slices.Delete(n.Pending, i, i+1)
	}
	if n.dropHold(&h, t, cfg) {
		// The stock already shows the order (or the commit is too old to
		// wait for it): counting it now would count it twice.
		return
	}
	n.putHold(h)
}

// ApplyStock applies a CDC stock row at stream time streamTime to s (nil
// for a SKU never seen) and returns the new state: it prunes, sets on_hand
// and version (a deleted row makes the SKU unknown) and drops committed
// holds the stock now reflects. A stale row, one a redelivery replays over
// newer state, only prunes; see the package documentation for how versions
// tell. A row for another SKU returns s unchanged. ApplyStock never mutates
// s.
func ApplyStock(s *State, row schemas.StockRow, streamTime time.Time, cfg Config) *State {
	if s != nil && s.SKU != "" && s.SKU != row.SKU {
		return s
	}
	cfg = cfg.norm()
	n := s.pruned(streamTime, cfg)
	if n.SKU == "" {
		n.SKU = row.SKU
	}
	if row.Deleted {
		if row.Version != 0 && row.Version < n.Version {
			return n // the delete of an older row
		}
		n.Known = false
		n.OnHand = 0
		n.Version = max(n.Version, row.Version)
		return n
	}
	switch {
	case n.Known && row.Version < n.Version:
		return n // older than the row we have
	case !n.Known && n.Version != 0 && row.Version <= n.Version:
		return n // the row before a delete, replayed
	}
	n.Known = true
	n.OnHand = int64(row.OnHand)
	n.Version = row.Version
	n.Holds = slices.DeleteFunc(n.Holds, func(h Hold) bool { return n.reflected(&h) })
	return n
}

// ApplyOrderLine applies an outbox order line at stream time streamTime to
// s (nil for a SKU never seen), with log the dedup store (nil: empty), and
// returns the new state: it prunes, then attaches the line's
// inventory_version to the committed hold of request <checkout_id>:<sku>
// (dropping it if the stock already shows that version), or remembers the
// version for a commit still to come. A duplicate line (also one arriving
// after its commit, which log holds within the dedup window, had its hold
// dropped), a line without checkout id or for another SKU changes nothing.
// ApplyOrderLine never mutates s and never writes to log.
func ApplyOrderLine(s *State, line schemas.OrderLine, streamTime time.Time, cfg Config, log Log) *State {
	if s != nil && s.SKU != "" && s.SKU != line.SKU {
		return s
	}
	cfg = cfg.norm()
	n := s.pruned(streamTime, cfg)
	if n.SKU == "" {
		n.SKU = line.SKU
	}
	if line.CheckoutID == "" {
		return n
	}
	r := RequestID(line.CheckoutID, line.SKU)
	if i, ok := n.holdIndex(r); ok && n.Holds[i].State == Committed {
		h := &n.Holds[i]
		if h.HasInventoryVersion {
			return n // duplicate: the first version stays
		}
		h.InventoryVersion, h.HasInventoryVersion = line.InventoryVersion, true
		if n.reflected(h) {
			n.Holds = slices.Delete(n.Holds, i, i+1)
		}
		return n
	}
	if _, ok := handledOp(log, r, schemas.OpCommit, streamTime, cfg.DedupWindow); ok {
		return n // the commit was handled and its hold is gone already
	}
	i, ok := n.pendingIndex(r)
	if ok {
		return n // duplicate
	}
	n.Pending = slices.Insert(n.Pending, i, Pending{RequestID: r, InventoryVersion: line.InventoryVersion, At: streamTime.UTC()})
	return n
}

// Tick prunes s at stream time streamTime: expired holds, pending order
// lines older than the dedup window, and committed holds past their grace
// (Outbox false) or the dedup window (Outbox true, the safety valve). It
// returns s itself when there is nothing to prune, and never mutates s. The
// dedup store is not in s: it prunes itself (see [MemoryLog.Prune]).
func Tick(s *State, streamTime time.Time, cfg Config) *State {
	if s == nil {
		return nil
	}
	cfg = cfg.norm()
	if !s.prunable(streamTime, cfg) {
		return s
	}
	return s.pruned(streamTime, cfg)
}

// dropHold reports whether pruning at t drops hold h.
func (s *State) dropHold(h *Hold, t time.Time, cfg Config) bool {
	switch h.State {
	case Held:
		return Expired(h.ExpiresAt, t)
	case Committed:
		if s.reflected(h) {
			return true
		}
		if cfg.Outbox {
			return olderThan(h.CommittedAt, t, cfg.DedupWindow)
		}
		return olderThan(h.CommittedAt, t, cfg.CommitGrace)
	}
	return false
}

// prunable reports whether pruning at t would change s.
func (s *State) prunable(t time.Time, cfg Config) bool {
	for i := range s.Holds {
		if s.dropHold(&s.Holds[i], t, cfg) {
			return true
		}
	}
	for i := range s.Pending {
		if olderThan(s.Pending[i].At, t, cfg.DedupWindow) {
			return true
		}
	}
	return false
}

// pruned returns a copy of s (a new empty State for nil) without what
// pruning at t drops. The copy owns its slices; its Holds have room for one
// more.
func (s *State) pruned(t time.Time, cfg Config) *State {
	if s == nil {
		return &State{}
	}
	n := &State{SKU: s.SKU, Known: s.Known, OnHand: s.OnHand, Version: s.Version}
	if len(s.Holds) > 0 {
		n.Holds = make([]Hold, 0, len(s.Holds)+1)
		for i := range s.Holds {
			if !s.dropHold(&s.Holds[i], t, cfg) {
				n.Holds = append(n.Holds, s.Holds[i])
			}
		}
	}
	if len(s.Pending) > 0 {
		n.Pending = make([]Pending, 0, len(s.Pending))
		for _, p := range s.Pending {
			if !olderThan(p.At, t, cfg.DedupWindow) {
				n.Pending = append(n.Pending, p)
			}
		}
	}
	return n
}

// putHold inserts or replaces h, keeping Holds sorted by request id.
func (s *State) putHold(h Hold) {
	i, ok := s.holdIndex(h.RequestID)
	if ok {
		s.Holds[i] = h
		return
	}
	s.Holds = slices.Insert(s.Holds, i, h)
}

// closed reports whether the release or commit of a request was handled
// within the dedup window ending at t.
func closed(log Log, requestID string, t time.Time, window time.Duration) bool {
	if _, ok := handledOp(log, requestID, schemas.OpRelease, t, window); ok {
		return true
	}
	_, ok := handledOp(log, requestID, schemas.OpCommit, t, window)
	return ok
}

func reject(res *schemas.ReservationResult, why string) {
	res.Status = schemas.ResultRejected
	res.Reason = reason(why)
}

func reason(r string) *string { return &r }

// timePtr returns a pointer to a copy of t.
func timePtr(t time.Time) *time.Time { return &t }
