package reserve_test

import (
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

// model is a reference implementation of DESIGN §6 and the package's
// documented decisions, written as plainly as possible (maps, no pruning of
// data structures, no encoding) to check the real one against. It tracks
// one SKU.
type model struct {
	cfg     reserve.Config
	known   bool
	onHand  int64
	version int64
	reqs    map[string]*mreq
	handled map[string]mhandled // by command id
}

// mreq is what the model knows of one request id.
type mreq struct {
	held      bool // a held hold exists (it may have expired)
	heldQty   int32
	expiresAt time.Time

	committed   bool // a committed hold exists (not yet dropped)
	comQty      int32
	committedAt time.Time
	hasV        bool
	v           int64

	pend   bool // an order line waits for the commit
	pendV  int64
	pendAt time.Time
}

type mhandled struct {
	res schemas.ReservationResult
	at  time.Time
}

func newModel(cfg reserve.Config) *model {
	return &model{cfg: cfg, reqs: map[string]*mreq{}, handled: map[string]mhandled{}}
}

func (m *model) req(id string) *mreq {
	r := m.reqs[id]
	if r == nil {
		r = &mreq{}
		m.reqs[id] = r
	}
	return r
}

func (m *model) aged(at, t time.Time, d time.Duration) bool { return t.Sub(at) > d }

func (m *model) commitLimit() time.Duration {
	if m.cfg.Outbox {
		return m.cfg.DedupWindow
	}
	return m.cfg.CommitGrace
}

func (m *model) reflected(r *mreq) bool { return r.hasV && m.version >= r.v }

// prune forgets what stream time t has made irrelevant.
func (m *model) prune(t time.Time) {
	for id, r := range m.reqs {
		if r.held && t.After(r.expiresAt) {
			r.held = false
		}
		if r.committed && (m.reflected(r) || m.aged(r.committedAt, t, m.commitLimit())) {
			r.committed = false
		}
		if r.pend && m.aged(r.pendAt, t, m.cfg.DedupWindow) {
			r.pend = false
		}
		if !r.held && !r.committed && !r.pend {
			delete(m.reqs, id)
		}
	}
	for id, h := range m.handled {
		if m.aged(h.at, t, m.cfg.DedupWindow) {
			delete(m.handled, id)
		}
	}
}

func (m *model) available(t time.Time) int64 {
	if !m.known {
		return 0
	}
	a := m.onHand
	for _, r := range m.reqs {
		if r.held && !t.After(r.expiresAt) {
			a -= int64(r.heldQty)
		}
		if r.committed && !m.reflected(r) {
			a -= int64(r.comQty)
		}
	}
	return a
}

// seen returns the stored result of a command handled within the window.
func (m *model) seen(id string, t time.Time) (mhandled, bool) {
	h, ok := m.handled[id]
	if !ok || m.aged(h.at, t, m.cfg.DedupWindow) {
		return mhandled{}, false
	}
	return h, true
}

// command returns the result the command must get and whether it is a
// duplicate (which must change nothing).
func (m *model) command(c schemas.ReservationCommand, t time.Time) (schemas.ReservationResult, bool) {
	if h, ok := m.seen(c.CommandID, t); ok {
		return h.res, true
	}
	m.prune(t)
	res := schemas.ReservationResult{CommandID: c.CommandID, RequestID: c.RequestID, Op: c.Op, SKU: c.SKU, Qty: c.Qty,
		CartID: c.CartID, CheckoutID: c.CheckoutID, EventTime: c.EventTime.UTC()}
	set := func(status, reason string) {
		res.Status = status
		if reason != "" {
			res.Reason = ptr(reason)
		}
	}
	rid := c.RequestID
	r := m.req(rid)
	_, released := m.seen(reserve.CommandID(rid, schemas.OpRelease), t)
	commitH, commitSeen := m.seen(reserve.CommandID(rid, schemas.OpCommit), t)
	switch c.Op {
	case schemas.OpReserve:
		switch {
		case c.Qty <= 0:
			set("rejected", "invalid_quantity")
		case m.aged(c.EventTime, t, m.cfg.DedupWindow):
			set("rejected", "stale_command")
		case released || commitSeen:
			set("rejected", "request_closed")
		case r.held:
			set("reserved", "")
			res.Qty, res.ExpiresAt = r.heldQty, ptr(r.expiresAt)
		case r.committed:
			set("committed", "already_committed")
			res.Qty = r.comQty
		case !m.known:
			set("rejected", "unknown_sku")
		case m.available(t) < int64(c.Qty):
			set("rejected", "insufficient_stock")
		default:
			ttl := m.cfg.HoldTTL
			if c.HoldTTLMillis != nil {
				ttl = min(time.Duration(*c.HoldTTLMillis)*time.Millisecond, m.cfg.DedupWindow)
			}
			r.held, r.heldQty, r.expiresAt = true, c.Qty, t.Add(ttl).UTC()
			set("reserved", "")
			res.ExpiresAt = ptr(r.expiresAt)
		}
	case schemas.OpRelease:
		reserveH, reserveSeen := m.seen(reserve.CommandID(rid, schemas.OpReserve), t)
		switch {
		case r.committed:
			set("committed", "already_committed")
		case r.held:
			r.held = false
			res.Status, res.Reason = "released", c.Reason
			if c.Reason != nil {
				res.Reason = ptr(*c.Reason)
			}
		case commitSeen && commitH.res.Status == "committed":
			set("committed", "already_committed")
		case reserveSeen && reserveH.res.Status == "reserved" && t.After(*reserveH.res.ExpiresAt):
			set("released", "hold_expired")
		default:
			set("released", "unknown_hold")
		}
	case schemas.OpCommit:
		switch {
		case c.Qty <= 0:
			set("rejected", "invalid_quantity")
		case r.committed:
			set("committed", "")
		default:
			late := !(r.held && r.heldQty >= c.Qty)
			r.held = false
			r.committed, r.comQty, r.committedAt, r.hasV = true, c.Qty, c.EventTime.UTC(), false
			if r.pend {
				r.hasV, r.v, r.pend = true, r.pendV, false
			}
			if m.reflected(r) || m.aged(r.committedAt, t, m.commitLimit()) {
				r.committed = false
			}
			if late {
				set("committed", "late_commit")
			} else {
				set("committed", "")
			}
		}
	}
	res.Available = m.available(t)
	m.handled[c.CommandID] = mhandled{res: res, at: t}
	return res, false
}

func (m *model) stock(row schemas.StockRow, t time.Time) {
	m.prune(t)
	if row.Deleted {
		if row.Version == 0 || row.Version >= m.version {
			m.known, m.onHand, m.version = false, 0, max(m.version, row.Version)
		}
		return
	}
	stale := row.Version < m.version
	if !m.known && m.version != 0 {
		stale = row.Version <= m.version
	}
	if !stale {
		m.known, m.onHand, m.version = true, int64(row.OnHand), row.Version
	}
}

func (m *model) line(l schemas.OrderLine, t time.Time) {
	m.prune(t)
	if l.CheckoutID == "" {
		return
	}
	rid := reserve.RequestID(l.CheckoutID, l.SKU)
	r := m.req(rid)
	switch {
	case r.committed:
		if !r.hasV {
			r.hasV, r.v = true, l.InventoryVersion
		}
	case r.pend:
	default:
		if _, ok := m.seen(reserve.CommandID(rid, schemas.OpCommit), t); ok {
			return
		}
		r.pend, r.pendV, r.pendAt = true, l.InventoryVersion, t
	}
}
