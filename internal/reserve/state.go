package reserve

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cartstream/schemas"
)

// Defaults of [Config] (DESIGN §6).
const (
	// DefaultHoldTTL is how long a hold lives, in stream time (--hold-ttl).
	DefaultHoldTTL = 10 * time.Minute
	// DefaultCommitGrace is how long a committed hold counts when the
	// outbox is off (--commit-grace with --outbox=false).
	DefaultCommitGrace = 15 * time.Minute
	// DefaultDedupWindow is how long, in stream time, a handled command's
	// result counts as its dedup entry.
	DefaultDedupWindow = 48 * time.Hour
)

// Result reasons. The first ten are DESIGN §6 line reasons: a result of
// this package carries one of the first five, or a release command's own
// reason (the next five, which the carts group sends; they are listed so the
// encoding stores them compactly). The others are this package's answers
// where §6 is silent (see the package documentation); the carts group maps
// them before anything reaches cartstream.checkouts.
const (
	ReasonInsufficientStock = "insufficient_stock"
	ReasonUnknownSKU        = "unknown_sku"
	ReasonInvalidQuantity   = "invalid_quantity"
	ReasonHoldExpired       = "hold_expired"
	ReasonLateCommit        = "late_commit"

	ReasonCheckoutFailed     = "checkout_failed"
	ReasonCartChanged        = "cart_changed"
	ReasonCheckoutSuperseded = "checkout_superseded"
	ReasonAbandoned          = "abandoned"
	ReasonCartCleared        = "cart_cleared"

	// ReasonUnknownHold: a release found no hold for its request.
	ReasonUnknownHold = "unknown_hold"
	// ReasonAlreadyCommitted: a release (status committed) or reserve for a
	// request that was already committed; nothing changed.
	ReasonAlreadyCommitted = "already_committed"
	// ReasonRequestClosed: a reserve arrived after its request's release or
	// commit had been handled; no hold was made.
	ReasonRequestClosed = "request_closed"
	// ReasonStaleCommand: a reserve whose event time is more than the dedup
	// window behind stream time; it may be a redelivery, so no hold was made.
	ReasonStaleCommand = "stale_command"
	// ReasonInvalidCommand: the command failed [ValidateCommand] or names
	// another SKU; it was not applied and not stored.
	ReasonInvalidCommand = "invalid_command"
)

// Config holds the inventory group's reservation settings. Zero durations
// mean their defaults; use [DefaultConfig] for the documented defaults,
// because the zero Config has Outbox false.
type Config struct {
	// HoldTTL is how long a hold lives in stream time (default 10 min).
	HoldTTL time.Duration
	// Outbox says committed holds are reconciled with the order outbox by
	// inventory_version (default true). When false they are dropped after
	// CommitGrace instead.
	Outbox bool
	// CommitGrace is how long a committed hold counts when Outbox is false
	// (default 15 min).
	CommitGrace time.Duration
	// DedupWindow is how long, in stream time, a dedup entry counts, and
	// an order line waits for its commit (default 48 h).
	DedupWindow time.Duration
}

// DefaultConfig returns the DESIGN §6 defaults: 10 min holds, outbox on,
// 15 min commit grace, 48 h dedup window.
func DefaultConfig() Config {
	return Config{HoldTTL: DefaultHoldTTL, Outbox: true, CommitGrace: DefaultCommitGrace, DedupWindow: DefaultDedupWindow}
}

// Validate reports a negative duration.
func (c Config) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"hold TTL", c.HoldTTL}, {"commit grace", c.CommitGrace}, {"dedup window", c.DedupWindow}} {
		if d.v < 0 {
			return fmt.Errorf("reserve: config: %s %v is negative", d.name, d.v)
		}
	}
	return nil
}

// norm returns c with zero (or negative) durations replaced by defaults.
func (c Config) norm() Config {
	if c.HoldTTL <= 0 {
		c.HoldTTL = DefaultHoldTTL
	}
	if c.CommitGrace <= 0 {
		c.CommitGrace = DefaultCommitGrace
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	return c
}

// HoldState is the state of a hold.
type HoldState uint8

// Hold states. The zero HoldState is invalid.
const (
	// Held: reserved, counts against available until it expires.
	Held HoldState = iota + 1
	// Committed: sold by the database; counts until CDC reflects it.
	Committed
)

// String returns "held" or "committed" (the names DESIGN §7 uses).
func (h HoldState) String() string {
	switch h {
	case Held:
		return "held"
	case Committed:
		return "committed"
	}
	return fmt.Sprintf("HoldState(%d)", uint8(h))
}

// Hold is one reservation of units of the SKU, named by its request id.
type Hold struct {
	// RequestID is "<checkout_id>:<sku>".
	RequestID  string
	CartID     string
	CheckoutID string
	Qty        int32
	State      HoldState
	// ExpiresAt is when a held hold stops counting, in stream time. A
	// committed hold keeps the expiry it had, or the zero time when a late
	// commit made it without a hold.
	ExpiresAt time.Time
	// CommittedAt is the commit command's event time (committed holds).
	CommittedAt time.Time
	// InventoryVersion is the version of the inventory row after the
	// order's decrement, from the order line; valid when HasInventoryVersion.
	InventoryVersion    int64
	HasInventoryVersion bool
}

// Pending is an order line that arrived before its commit command: when
// the commit comes, its hold gets InventoryVersion (and is dropped at once
// if the stock already shows it).
type Pending struct {
	RequestID        string
	InventoryVersion int64
	// At is the stream time the line arrived; it is kept for the dedup
	// window.
	At time.Time
}

// Handled is one entry of the dedup store: a command's result, returned
// again for a redelivery of the command, and when it was handled.
type Handled struct {
	// At is the stream time the command was handled.
	At     time.Time
	Result schemas.ReservationResult
}

// Log is the dedup store of handled commands, by command id: the inventory
// processor keeps it beside the SKU states; MemoryLog is an in-memory one.
type Log interface {
	// Handled returns the entry stored under a command id, if any. It may return
	// entries older than the dedup window; this package ignores those.
	Handled(commandID string) (Handled, bool)
}

// MemoryLog is a Log in memory.
type MemoryLog map[string]Handled

// Handled returns the entry stored under a command id, if any. The entry's
// pointers are fresh copies: changing them never changes the store.
func (m MemoryLog) Handled(id string) (Handled, bool) {
	h, ok := m[id]
	if !ok {
		return Handled{}, false
	}
	h.Result = copyResult(h.Result)
	return h, true
}

// Put stores an entry (what the caller does when ApplyCommand says store).
// It stores a copy of the result's pointers, so the caller may go on using
// (and changing) the result it stored. Like any map, a nil MemoryLog reads
// as empty but cannot be written.
func (m MemoryLog) Put(commandID string, h Handled) {
	h.Result = copyResult(h.Result)
	m[commandID] = h
}

// Prune removes entries older than window before streamTime: those whose
// At is more than window before it, which [ApplyCommand] and
// [ApplyOrderLine] would ignore anyway. A window <= 0 means
// [DefaultDedupWindow], as in [Config], so Config.DedupWindow may be passed
// as it is.
func (m MemoryLog) Prune(streamTime time.Time, window time.Duration) {
	if window <= 0 {
		window = DefaultDedupWindow
	}
	for id, h := range m {
		if olderThan(h.At, streamTime, window) {
			delete(m, id)
		}
	}
}

// lookup returns the entry of a command id in log (nil: empty) if it was
// handled within the dedup window ending at streamTime.
func lookup(log Log, commandID string, streamTime time.Time, window time.Duration) (Handled, bool) {
	if log == nil {
		return Handled{}, false
	}
	h, ok := log.Handled(commandID)
	if !ok || olderThan(h.At, streamTime, window) {
		return Handled{}, false
	}
	return h, true
}

// handledOp looks up the entry of an operation on a request: command id
// CommandID(requestID, op), within the dedup window ending at streamTime.
// It builds the id only for a non-nil log.
func handledOp(log Log, requestID string, op schemas.ReservationOp, streamTime time.Time, window time.Duration) (Handled, bool) {
	if log == nil {
		return Handled{}, false
	}
	return lookup(log, CommandID(requestID, op), streamTime, window)
}

// State is the reservation state of one SKU: the inventory table's value.
// Treat a State as immutable: the functions of this package return new
// states and never change one they are given. nil is the state of a SKU
// never seen.
type State struct {
	SKU string
	// Known is true while the database has an inventory row for the SKU.
	Known bool
	// OnHand and Version are the inventory row's columns as CDC last
	// reported them (OnHand 0 after a delete; Version the last one seen).
	OnHand  int64
	Version int64
	// Holds are sorted by RequestID, one per request.
	Holds []Hold
	// Pending are order lines waiting for their commit, sorted by
	// RequestID.
	Pending []Pending
}

// Empty reports whether the state holds nothing worth keeping: a SKU that
// never had an inventory row (version 0) and has no holds or pending lines
// left. The processor may delete such a key from its table (a nil State
// behaves the same); the dedup store is not part of the State and keeps its
// entries. A deleted SKU is not empty: its last version is what keeps a
// replay of the rows before the delete from bringing its stock back.
func (s *State) Empty() bool {
	return s == nil || !s.Known && s.Version == 0 && len(s.Holds) == 0 && len(s.Pending) == 0
}

// Hold returns the hold of a request.
func (s *State) Hold(requestID string) (Hold, bool) {
	if s == nil {
		return Hold{}, false
	}
	i, ok := s.holdIndex(requestID)
	if !ok {
		return Hold{}, false
	}
	return s.Holds[i], true
}

func (s *State) holdIndex(requestID string) (int, bool) {
	return slices.BinarySearchFunc(s.Holds, requestID, func(h Hold, id string) int { return strings.Compare(h.RequestID, id) })
}

func (s *State) pendingIndex(requestID string) (int, bool) {
	return slices.BinarySearchFunc(s.Pending, requestID, func(p Pending, id string) int { return strings.Compare(p.RequestID, id) })
}

// Expired reports whether a hold expiring at expiresAt has expired at
// streamTime: stream time has passed it. A hold still counts at exactly
// expiresAt. The carts group should use the same rule for its "expired"
// status.
func Expired(expiresAt, streamTime time.Time) bool {
	return streamTime.After(expiresAt)
}

// olderThan reports whether at lies more than d before streamTime.
func olderThan(at, streamTime time.Time, d time.Duration) bool {
	return streamTime.Sub(at) > d
}

// reflected reports whether the stock already shows a committed hold's
// order.
func (s *State) reflected(h *Hold) bool {
	return h.State == Committed && h.HasInventoryVersion && s.Version >= h.InventoryVersion
}

// Available returns the units a reserve may still take at streamTime:
// on_hand − Σ held holds not expired − Σ committed holds not yet reflected.
// It is 0 for an unknown SKU (or nil state) and negative only when the
// database's stock fell below the outstanding holds.
func Available(s *State, streamTime time.Time) int64 {
	if s == nil || !s.Known {
		return 0
	}
	a := s.OnHand
	for i := range s.Holds {
		h := &s.Holds[i]
		switch h.State {
		case Held:
			if !Expired(h.ExpiresAt, streamTime) {
				a -= int64(h.Qty)
			}
		case Committed:
			if !s.reflected(h) {
				a -= int64(h.Qty)
			}
		}
	}
	return a
}

// RequestID returns the request id of a checkout's hold on a SKU:
// "<checkout_id>:<sku>".
func RequestID(checkoutID, sku string) string {
	return checkoutID + ":" + sku
}

// CommandID returns the command id of an operation on a request:
// "<request_id>:<op>".
func CommandID(requestID string, op schemas.ReservationOp) string {
	return requestID + ":" + string(op)
}

// ErrInvalidCommand is wrapped by [ValidateCommand]'s errors.
var ErrInvalidCommand = errors.New("reserve: invalid reservation command")

// ValidateCommand checks a command's structure (DESIGN §6): non-empty ids,
// sku and cart, a known op, request_id = <checkout_id>:<sku>, command_id =
// <request_id>:<op>, and a positive hold_ttl_ms when present. Quantities are
// not checked here: qty <= 0 is answered with invalid_quantity. The
// processor dead-letters commands that fail.
func ValidateCommand(cmd schemas.ReservationCommand) error {
	switch {
	case cmd.SKU == "":
		return fmt.Errorf("%w: sku: required", ErrInvalidCommand)
	case cmd.CheckoutID == "":
		return fmt.Errorf("%w: checkout_id: required", ErrInvalidCommand)
	case cmd.CartID == "":
		return fmt.Errorf("%w: cart_id: required", ErrInvalidCommand)
	}
	switch cmd.Op {
	case schemas.OpReserve, schemas.OpRelease, schemas.OpCommit:
	default:
		return fmt.Errorf("%w: op %q: want reserve, release or commit", ErrInvalidCommand, cmd.Op)
	}
	if !joined(cmd.RequestID, cmd.CheckoutID, cmd.SKU) {
		return fmt.Errorf("%w: request_id %q: want %q", ErrInvalidCommand, cmd.RequestID, RequestID(cmd.CheckoutID, cmd.SKU))
	}
	if !joined(cmd.CommandID, cmd.RequestID, string(cmd.Op)) {
		return fmt.Errorf("%w: command_id %q: want %q", ErrInvalidCommand, cmd.CommandID, CommandID(cmd.RequestID, cmd.Op))
	}
	if cmd.HoldTTLMillis != nil && *cmd.HoldTTLMillis <= 0 {
		return fmt.Errorf("%w: hold_ttl_ms %d: want a positive number", ErrInvalidCommand, *cmd.HoldTTLMillis)
	}
	return nil
}

// copyResult returns r with its pointer fields copied, so a caller can
// never change a result stored in a dedup store.
func copyResult(r schemas.ReservationResult) schemas.ReservationResult {
	if r.Reason != nil {
		v := *r.Reason
		r.Reason = &v
	}
	if r.ExpiresAt != nil {
		v := *r.ExpiresAt
		r.ExpiresAt = &v
	}
	return r
}
