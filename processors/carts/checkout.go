package carts

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"cartstream/schemas"
)

// Checkout statuses. The five of DESIGN §6 (reserved, failed, released,
// expired, completed) are "decided" and reach cartstream.checkouts; pending
// and completing are the cart's own, while reservation or commit results are
// awaited, and are never emitted.
const (
	// StatusPending: reserves sent, some results still awaited.
	StatusPending = "pending"
	// StatusReserved: every line holds its units (all or nothing).
	StatusReserved = "reserved"
	// StatusFailed: a line was rejected (or the cart was empty); the lines
	// that had been reserved were released.
	StatusFailed = "failed"
	// StatusReleased: the cart released the holds (line change, supersede,
	// abandon, clear).
	StatusReleased = "released"
	// StatusExpired: stream time passed a hold's expiry before completion.
	StatusExpired = "expired"
	// StatusCompleting: the order was placed; commits sent, results
	// awaited.
	StatusCompleting = "completing"
	// StatusCompleted: every commit result is in.
	StatusCompleted = "completed"
)

// Line statuses of a checkout. LinePending and LineCommitting are internal
// (a result is awaited); the others are DESIGN §6's.
const (
	LinePending    = "pending"
	LineCommitting = "committing"
	LineReserved   = "reserved"
	LineRejected   = "rejected"
	LineReleased   = "released"
	LineExpired    = "expired"
	LineCommitted  = "committed"
)

// Line and checkout reasons of DESIGN §6: the only reasons that reach
// cartstream.checkouts.
const (
	ReasonInsufficientStock  = "insufficient_stock"
	ReasonUnknownSKU         = "unknown_sku"
	ReasonInvalidQuantity    = "invalid_quantity"
	ReasonHoldExpired        = "hold_expired"
	ReasonCheckoutFailed     = "checkout_failed"
	ReasonCartChanged        = "cart_changed"
	ReasonCheckoutSuperseded = "checkout_superseded"
	ReasonAbandoned          = "abandoned"
	ReasonCartCleared        = "cart_cleared"
	ReasonLateCommit         = "late_commit"
)

// Reasons the inventory group answers with where DESIGN §6 is silent
// (internal/reserve); they are mapped to DESIGN reasons before anything
// reaches cartstream.checkouts (see lineReason). Duplicated here so that this
// package does not depend on the inventory core.
const (
	inventoryStaleCommand     = "stale_command"
	inventoryRequestClosed    = "request_closed"
	inventoryInvalidCommand   = "invalid_command"
	inventoryAlreadyCommitted = "already_committed"
)

// Memory of past checkouts.
const (
	// PastCheckoutsMax caps the checkouts a cart remembers besides its
	// current one; the oldest go first.
	PastCheckoutsMax = 16
	// PastCheckoutsWindow is how long, in stream time after its last
	// change, a past checkout is remembered (the dedup window).
	PastCheckoutsWindow = DedupWindow
)

// StatusSchemaVersion is the schema_version of the checkout status records.
const StatusSchemaVersion = 1

// Checkout is one checkout of a cart: the saga of DESIGN §6 in the cart's
// state. Its Lines are sorted by sku. Reason, OrderID and a line's Reason and
// ExpiresAt point to values that are never written through, so copies of a
// Checkout may share them.
type Checkout struct {
	ID     string `json:"checkout_id"`
	Status string `json:"status"`
	// Reason is why a checkout failed, was released or expired, or
	// late_commit on a completed checkout with a late line; nil otherwise.
	Reason *string `json:"reason"`
	// OrderID is set by checkout_completed.
	OrderID *string        `json:"order_id"`
	Lines   []CheckoutLine `json:"lines"`
	// EventTime is the event time of the record that last changed the
	// checkout: the event_time of its status.
	EventTime time.Time `json:"event_time"`
}

// CheckoutLine is one line of a checkout: the units of one sku the checkout
// reserves.
type CheckoutLine struct {
	SKU    string  `json:"sku"`
	Qty    int32   `json:"qty"`
	Status string  `json:"status"`
	Reason *string `json:"reason"`
	// ExpiresAt is when the line's hold expires in stream time, from its
	// reserved result.
	ExpiresAt *time.Time `json:"expires_at"`
	// ReserveAnswered records that the line's reserve result arrived, so a
	// redelivered result changes nothing and is not compensated twice.
	ReserveAnswered bool `json:"reserve_answered,omitempty"`
}

// open reports whether the checkout wants its holds: pending or reserved.
func (k *Checkout) open() bool {
	return k.Status == StatusPending || k.Status == StatusReserved
}

// decided reports whether the checkout's status is one cartstream.checkouts
// carries.
func (k *Checkout) decided() bool {
	switch k.Status {
	case StatusReserved, StatusFailed, StatusReleased, StatusExpired, StatusCompleted:
		return true
	}
	return false
}

func (k *Checkout) line(sku string) *CheckoutLine {
	i, ok := slices.BinarySearchFunc(k.Lines, sku, func(l CheckoutLine, s string) int {
		switch {
		case l.SKU < s:
			return -1
		case l.SKU > s:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &k.Lines[i]
}

func (k Checkout) clone() Checkout {
	k.Lines = slices.Clone(k.Lines)
	return k
}

// Status is one record of cartstream.checkouts (key cart_id): a decided
// checkout as schemas/json/checkout_status.schema.json describes it. Its
// JSON (MarshalJSON) has every field in the schema's order, null where
// absent.
type Status struct {
	CartID     string
	CheckoutID string
	// Status is one of StatusReserved, StatusFailed, StatusReleased,
	// StatusExpired, StatusCompleted.
	Status string
	Reason *string
	Lines  []StatusLine
	// EventTime is the event time of the record that caused the change.
	EventTime time.Time
}

// StatusLine is one line of a Status.
type StatusLine struct {
	SKU    string
	Qty    int32
	Status string
	Reason *string
}

type wireStatus struct {
	SchemaVersion int              `json:"schema_version"`
	CartID        string           `json:"cart_id"`
	CheckoutID    string           `json:"checkout_id"`
	Status        string           `json:"status"`
	Reason        *string          `json:"reason"`
	Lines         []wireStatusLine `json:"lines"`
	EventTime     string           `json:"event_time"`
}

type wireStatusLine struct {
	SKU    string  `json:"sku"`
	Qty    int32   `json:"qty"`
	Status string  `json:"status"`
	Reason *string `json:"reason"`
}

// MarshalJSON renders the status as the value of cartstream.checkouts:
// fields in the schema's order, lines always a list, event_time RFC 3339 in
// UTC.
func (s Status) MarshalJSON() ([]byte, error) {
	w := wireStatus{
		SchemaVersion: StatusSchemaVersion,
		CartID:        s.CartID,
		CheckoutID:    s.CheckoutID,
		Status:        s.Status,
		Reason:        s.Reason,
		Lines:         make([]wireStatusLine, len(s.Lines)),
		EventTime:     s.EventTime.UTC().Format(time.RFC3339Nano),
	}
	for i, l := range s.Lines {
		w.Lines[i] = wireStatusLine(l)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("carts: encode status of checkout %s: %w", s.CheckoutID, err)
	}
	return b, nil
}

// status renders a decided checkout of cart cartID.
func (k *Checkout) status(cartID string) Status {
	s := Status{CartID: cartID, CheckoutID: k.ID, Status: k.Status, Reason: k.Reason,
		Lines: make([]StatusLine, len(k.Lines)), EventTime: k.EventTime}
	for i, l := range k.Lines {
		s.Lines[i] = StatusLine{SKU: l.SKU, Qty: l.Qty, Status: l.Status, Reason: l.Reason}
	}
	return s
}

// Outcome is what one step of the cart's state machine produces.
type Outcome struct {
	// Cart is the new cart state: the input pointer itself when nothing
	// changed (the table need not be written), a new cart otherwise. It is
	// nil only for a result applied to a cart that does not exist.
	Cart *Cart
	// Applied reports, for a cart event, that the event was applied (not a
	// duplicate): the cart's version moved and an offer is due. ApplyResult
	// and ExpireHolds report whether the cart changed.
	Applied bool
	// Commands are the reservation commands to send, key = SKU, in order.
	Commands []schemas.ReservationCommand
	// Statuses are the checkout statuses to emit, key = cart id, in order.
	Statuses []Status
}

// requestID returns the request id of a checkout's hold on a SKU:
// "<checkout_id>:<sku>" (DESIGN §6; the inventory core has the same rule).
func requestID(checkoutID, sku string) string { return checkoutID + ":" + sku }

// commandID returns the command id of an operation on a request:
// "<request_id>:<op>" (DESIGN §6), which the inventory's dedup store keys
// on.
func commandID(req string, op schemas.ReservationOp) string {
	return req + ":" + string(op)
}

// expired reports whether a hold expiring at expiresAt has expired at
// streamTime: stream time is strictly after it, the inventory group's rule.
func expired(expiresAt, streamTime time.Time) bool { return streamTime.After(expiresAt) }

func ptr(s string) *string { return &s }

// step is one transition in progress: it owns next (a clone of the input,
// made on the first change) and collects the outputs.
type step struct {
	in   *Cart
	next *Cart
	out  Outcome
	st   time.Time // stream time
}

// cart returns the cart to change, cloning the input on first use.
func (s *step) cart() *Cart {
	if s.next == nil {
		s.next = clone(s.in)
	}
	return s.next
}

// view returns the cart as it stands (read only).
func (s *step) view() *Cart {
	if s.next != nil {
		return s.next
	}
	return s.in
}

func (s *step) done() Outcome {
	s.out.Cart = s.in
	if s.next != nil {
		s.next.prunePast(s.st)
		s.out.Cart = s.next
	}
	return s.out
}

func (s *step) emit(k *Checkout) {
	s.out.Statuses = append(s.out.Statuses, k.status(s.view().ID))
}

func (s *step) send(op schemas.ReservationOp, k *Checkout, l *CheckoutLine, at time.Time, reason, orderID *string) {
	req := requestID(k.ID, l.SKU)
	s.out.Commands = append(s.out.Commands, schemas.ReservationCommand{
		CommandID:  commandID(req, op),
		RequestID:  req,
		Op:         op,
		SKU:        l.SKU,
		Qty:        l.Qty,
		CartID:     s.view().ID,
		CheckoutID: k.ID,
		OrderID:    orderID,
		Reason:     reason,
		EventTime:  at.UTC(),
	})
}

// find returns the checkout with id among the current one and the past
// ones remembered at stream time, for changing: nil when unknown. It clones
// the cart on first use.
func (s *step) find(id string) *Checkout {
	c := s.view()
	if c.Checkout != nil && c.Checkout.ID == id {
		return s.cart().Checkout
	}
	if i := c.pastIndex(id, s.st); i >= 0 {
		return &s.cart().PastCheckouts[i]
	}
	return nil
}

// peek is find without cloning: for reading only.
func (s *step) peek(id string) *Checkout {
	c := s.view()
	if c.Checkout != nil && c.Checkout.ID == id {
		return c.Checkout
	}
	if i := c.pastIndex(id, s.st); i >= 0 {
		return &c.PastCheckouts[i]
	}
	return nil
}

// pastIndex finds a past checkout still remembered at stream time.
func (c *Cart) pastIndex(id string, streamTime time.Time) int {
	for i := len(c.PastCheckouts) - 1; i >= 0; i-- {
		k := &c.PastCheckouts[i]
		if k.ID == id && streamTime.Sub(k.EventTime) <= PastCheckoutsWindow {
			return i
		}
	}
	return -1
}

// retire moves the current checkout (if any) to the past ones.
func (c *Cart) retire() {
	if c.Checkout == nil {
		return
	}
	c.PastCheckouts = append(c.PastCheckouts, *c.Checkout)
	c.Checkout = nil
}

// prunePast forgets past checkouts older than the window and keeps at most
// PastCheckoutsMax, oldest first out.
func (c *Cart) prunePast(streamTime time.Time) {
	c.PastCheckouts = slices.DeleteFunc(c.PastCheckouts, func(k Checkout) bool {
		return streamTime.Sub(k.EventTime) > PastCheckoutsWindow
	})
	if over := len(c.PastCheckouts) - PastCheckoutsMax; over > 0 {
		c.PastCheckouts = slices.Delete(c.PastCheckouts, 0, over)
	}
	if len(c.PastCheckouts) == 0 {
		c.PastCheckouts = nil
	}
}

// expire turns a reserved current checkout with a hold past its expiry into
// an expired one: every reserved line becomes expired/hold_expired. The
// inventory drops expired holds itself; a line whose own hold has not
// expired yet (reserved later than the others) is released, reason
// hold_expired, so that no hold outlives the checkout the cart tracks.
func (s *step) expire() {
	k := s.view().Checkout
	if k == nil || k.Status != StatusReserved {
		return
	}
	due := false
	for _, l := range k.Lines {
		if l.Status == LineReserved && l.ExpiresAt != nil && expired(*l.ExpiresAt, s.st) {
			due = true
			break
		}
	}
	if !due {
		return
	}
	k = s.cart().Checkout
	why := ptr(ReasonHoldExpired)
	for i := range k.Lines {
		l := &k.Lines[i]
		if l.Status != LineReserved {
			continue
		}
		if l.ExpiresAt == nil || !expired(*l.ExpiresAt, s.st) {
			s.send(schemas.OpRelease, k, l, s.st, why, nil)
		}
		l.Status, l.Reason = LineExpired, why
	}
	k.Status, k.Reason, k.EventTime = StatusExpired, why, s.st
	s.emit(k)
}

// release releases the open current checkout: a release for every line that
// holds or may hold units (pending lines too: the inventory answers
// unknown_hold, or refuses the late reserve with request_closed).
func (s *step) release(reason string, at time.Time) {
	k := s.view().Checkout
	if k == nil || !k.open() {
		return
	}
	k = s.cart().Checkout
	why := ptr(reason)
	for i := range k.Lines {
		l := &k.Lines[i]
		if l.Status != LinePending && l.Status != LineReserved {
			continue
		}
		s.send(schemas.OpRelease, k, l, at, why, nil)
		l.Status, l.Reason = LineReleased, why
	}
	k.Status, k.Reason, k.EventTime = StatusReleased, why, at
	s.emit(k)
}

// start handles checkout_started(id).
func (s *step) start(id string, at time.Time) {
	if k := s.peek(id); k != nil {
		if k.decided() {
			s.emit(k) // the same answer again; nothing is sent
		}
		return
	}
	s.release(ReasonCheckoutSuperseded, at)
	c := s.cart()
	c.retire()
	k := &Checkout{ID: id, Status: StatusPending, EventTime: at}
	for _, l := range c.Lines {
		if l.Qty > 0 {
			k.Lines = append(k.Lines, CheckoutLine{SKU: l.SKU, Qty: l.Qty, Status: LinePending})
		}
	}
	c.Checkout = k
	if len(k.Lines) == 0 {
		k.Status = StatusFailed
		s.emit(k)
		return
	}
	for i := range k.Lines {
		s.send(schemas.OpReserve, k, &k.Lines[i], at, nil, nil)
	}
}

// abandon handles checkout_abandoned(id): only the open current checkout is
// released.
func (s *step) abandon(id string, at time.Time) {
	if k := s.view().Checkout; k != nil && k.ID == id {
		s.release(ReasonAbandoned, at)
	}
}

// complete handles checkout_completed(id, order): the database made the
// sale, so every line of the checkout is committed whatever its state.
func (s *step) complete(id, orderID string, at time.Time) {
	if k := s.peek(id); k != nil {
		switch k.Status {
		case StatusCompleted:
			s.emit(k)
			return
		case StatusCompleting:
			return
		}
	}
	k := s.find(id)
	if k == nil {
		// Unknown (never started here, or forgotten): commit what the cart
		// holds now. It becomes the current checkout unless another one is
		// open or completing, which it leaves alone.
		c := s.cart()
		nk := Checkout{ID: id, EventTime: at}
		for _, l := range c.Lines {
			if l.Qty > 0 {
				nk.Lines = append(nk.Lines, CheckoutLine{SKU: l.SKU, Qty: l.Qty})
			}
		}
		if cur := c.Checkout; cur != nil && (cur.open() || cur.Status == StatusCompleting) {
			c.PastCheckouts = append(c.PastCheckouts, nk)
			k = &c.PastCheckouts[len(c.PastCheckouts)-1]
		} else {
			c.retire()
			c.Checkout = &nk
			k = c.Checkout
		}
	}
	order := ptr(orderID)
	k.Status, k.OrderID, k.EventTime = StatusCompleting, order, at
	for i := range k.Lines {
		l := &k.Lines[i]
		s.send(schemas.OpCommit, k, l, at, nil, order)
		l.Status, l.Reason = LineCommitting, nil
	}
	s.finishCommit(k, at)
}

// finishCommit completes a completing checkout once no line awaits its
// commit result.
func (s *step) finishCommit(k *Checkout, at time.Time) {
	var reason *string
	for _, l := range k.Lines {
		if l.Status == LineCommitting {
			return
		}
		if l.Reason != nil && *l.Reason == ReasonLateCommit {
			reason = l.Reason
		}
	}
	k.Status, k.Reason, k.EventTime = StatusCompleted, reason, at
	s.emit(k)
}

// settle decides a pending checkout once every line's reserve result is in:
// all or nothing.
func (s *step) settle(k *Checkout, at time.Time) {
	var failed *string
	for _, l := range k.Lines {
		switch l.Status {
		case LinePending:
			return
		case LineRejected:
			if failed == nil {
				failed = l.Reason
			}
		}
	}
	k.EventTime = at
	if failed == nil {
		k.Status, k.Reason = StatusReserved, nil
		s.emit(k)
		return
	}
	why := ptr(ReasonCheckoutFailed)
	for i := range k.Lines {
		l := &k.Lines[i]
		if l.Status == LineReserved {
			s.send(schemas.OpRelease, k, l, at, why, nil)
			l.Status, l.Reason = LineReleased, why
		}
	}
	k.Status, k.Reason = StatusFailed, failed
	s.emit(k)
}

// lineReason maps a rejection reason of the inventory group to a DESIGN §6
// line reason.
func lineReason(r *string) *string {
	if r == nil {
		return ptr(ReasonCheckoutFailed)
	}
	switch *r {
	case ReasonInsufficientStock, ReasonUnknownSKU, ReasonInvalidQuantity:
		return r
	case inventoryStaleCommand:
		return ptr(ReasonHoldExpired)
	case inventoryInvalidCommand:
		return ptr(ReasonInvalidQuantity)
	}
	// request_closed, and anything this build does not know.
	return ptr(ReasonCheckoutFailed)
}

// ApplyEvent applies a validated cart event at its event time to the cart
// (nil for a new cart): the cart's contents as Apply describes, then the
// checkout saga of DESIGN §6. streamTime is the partition's stream time,
// already advanced with this event; it bounds the dedup windows and judges
// hold expiry, which is checked first on every event (duplicates included).
// A duplicate event id changes nothing else and is not Applied. An invalid
// event returns the cart unchanged and an error wrapping ErrInvalidEvent.
// ApplyEvent is pure: it never reads a clock and never mutates its input.
func ApplyEvent(c *Cart, e Event, at, streamTime time.Time) (Outcome, error) {
	s := step{in: c, st: streamTime}
	if c != nil && c.Seen(e.ID) {
		s.expire()
		return s.done(), nil
	}
	n, err := applyContents(c, e, at, streamTime)
	if err != nil {
		return Outcome{Cart: c}, err
	}
	s.next = n
	s.out.Applied = true
	s.expire()
	switch e.Type {
	case ItemAdded, ItemRemoved, QuantitySet:
		if c == nil || !slices.Equal(c.Lines, n.Lines) {
			s.release(ReasonCartChanged, at)
		}
	case CartCleared:
		s.release(ReasonCartCleared, at)
	case CheckoutStarted:
		s.start(e.CheckoutID, at)
	case CheckoutAbandoned:
		s.abandon(e.CheckoutID, at)
	case CheckoutCompleted:
		s.complete(e.CheckoutID, e.OrderID, at)
	}
	return s.done(), nil
}

// ApplyResult applies the inventory group's answer to one of the cart's
// reservation commands (nil c: the cart does not exist) at stream time
// streamTime: hold expiry is checked, then the result updates the line of
// its checkout (current or remembered) as DESIGN §6 says, which may decide
// the checkout (and expiry is checked again). A reserved result for a hold the cart does not want (its
// checkout failed, was released or superseded, or is unknown) is answered
// with a release: the cart never leaves a hold it does not track. A
// redelivered result changes nothing and sends nothing. Results never
// change the cart's version. ApplyResult is pure and never mutates its
// inputs.
func ApplyResult(c *Cart, r schemas.ReservationResult, streamTime time.Time) Outcome {
	if c == nil {
		if r.Op == schemas.OpReserve && r.Status == schemas.ResultReserved {
			return Outcome{Commands: []schemas.ReservationCommand{compensation(r, r.CartID, ReasonCheckoutFailed)}}
		}
		return Outcome{}
	}
	s := step{in: c, st: streamTime}
	s.expire()
	switch r.Op {
	case schemas.OpReserve:
		s.reserveResult(r)
	case schemas.OpCommit:
		s.commitResult(r)
	}
	// A release result changes nothing: the line was marked released
	// when the release was sent. A checkout the result just reserved may
	// hold a line already past its expiry.
	s.expire()
	out := s.done()
	out.Applied = out.Cart != c
	return out
}

func compensation(r schemas.ReservationResult, cartID, reason string) schemas.ReservationCommand {
	req := requestID(r.CheckoutID, r.SKU)
	return schemas.ReservationCommand{
		CommandID:  commandID(req, schemas.OpRelease),
		RequestID:  req,
		Op:         schemas.OpRelease,
		SKU:        r.SKU,
		Qty:        r.Qty,
		CartID:     cartID,
		CheckoutID: r.CheckoutID,
		Reason:     ptr(reason),
		EventTime:  r.EventTime.UTC(),
	}
}

func (s *step) reserveResult(r schemas.ReservationResult) {
	k := s.peek(r.CheckoutID)
	var l *CheckoutLine
	if k != nil {
		l = k.line(r.SKU)
	}
	if l == nil {
		if r.Status == schemas.ResultReserved {
			s.out.Commands = append(s.out.Commands, compensation(r, s.view().ID, ReasonCheckoutFailed))
		}
		return
	}
	if l.ReserveAnswered {
		return // redelivered
	}
	k = s.find(r.CheckoutID)
	l = k.line(r.SKU)
	l.ReserveAnswered = true
	switch l.Status {
	case LinePending:
		switch r.Status {
		case schemas.ResultReserved:
			l.Status, l.Reason, l.ExpiresAt = LineReserved, nil, r.ExpiresAt
		case schemas.ResultCommitted:
			l.Status, l.Reason = LineCommitted, nil
		default:
			l.Status, l.Reason = LineRejected, lineReason(r.Reason)
		}
		s.settle(k, r.EventTime)
	case LineCommitting:
		// The commit is queued behind this reserve; its result decides.
		if r.Status == schemas.ResultReserved {
			l.ExpiresAt = r.ExpiresAt
		}
	case LineCommitted:
	default:
		// Released (a pending line of a checkout released or superseded):
		// the cart does not want this hold. The release sent with the line
		// follows the reserve and has freed it already; this one repeats
		// its command id, so the inventory answers it from its dedup store,
		// and covers a release that was never sent.
		if r.Status == schemas.ResultReserved {
			why := ReasonCheckoutFailed
			if l.Status == LineReleased && l.Reason != nil {
				why = *l.Reason
			}
			s.out.Commands = append(s.out.Commands, compensation(r, s.view().ID, why))
		}
	}
}

func (s *step) commitResult(r schemas.ReservationResult) {
	k := s.peek(r.CheckoutID)
	if k == nil {
		return
	}
	if l := k.line(r.SKU); l == nil || l.Status != LineCommitting {
		return // redelivered, or not ours
	}
	k = s.find(r.CheckoutID)
	l := k.line(r.SKU)
	l.Status, l.Reason = LineCommitted, nil
	switch {
	case r.Status == schemas.ResultRejected:
		l.Reason = lineReason(r.Reason)
	case r.Reason != nil && *r.Reason == ReasonLateCommit:
		l.Reason = ptr(ReasonLateCommit)
	}
	s.finishCommit(k, r.EventTime)
}

// ExpireHolds checks the cart's reserved checkout against stream time: once
// stream time is past any hold's expires_at the checkout is expired and its
// status emitted. Expired holds need no release (the inventory drops them
// itself); a hold of the checkout still live is released. Its status and
// commands carry streamTime as event time. For the periodic visitor; every
// record of the cart checks it as well. Pure: never mutates c.
func ExpireHolds(c *Cart, streamTime time.Time) Outcome {
	if c == nil {
		return Outcome{}
	}
	s := step{in: c, st: streamTime}
	s.expire()
	out := s.done()
	out.Applied = out.Cart != c
	return out
}
