package carts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"cartstream/schemas"
)

// A saga scenario is a sequence of records of one cart ("c"): cart events,
// reservation results and expiry sweeps, each with the commands and statuses
// it must produce, written compactly:
//
//	command  "<op> <request_id> x<qty>[ <reason>][ <order_id>]"
//	status   "<checkout_id> <status> <reason|-> [<sku>:<line status>[/<reason>] ...]"
type sagaStep struct {
	at     time.Duration // event time (and stream time, if later) after t0
	event  string        // a cart event, or
	result *schemas.ReservationResult
	sweep  bool // ExpireHolds at stream time t0+at

	cmds     []string
	statuses []string
	check    func(t *testing.T, c *Cart)
}

var (
	statusSchemaOnce sync.Once
	statusSchema     *jsonschema.Schema
	statusSchemaErr  error
)

// checkStatusSchema validates an emitted status against the published JSON
// Schema.
func checkStatusSchema(t *testing.T, b []byte) {
	t.Helper()
	statusSchemaOnce.Do(func() { statusSchema, statusSchemaErr = schemas.CompileJSONSchema(schemas.JSONCheckoutStatus) })
	if statusSchemaErr != nil {
		t.Fatal(statusSchemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("status %s: %v", b, err)
	}
	if err := statusSchema.Validate(v); err != nil {
		t.Errorf("status %s does not validate: %v", b, err)
	}
}

// Cart events of cart "c".
func ev(id, typ, fields string) string {
	if fields != "" {
		fields = "," + fields
	}
	return fmt.Sprintf(`{"event_id":%q,"cart_id":"c","type":%q%s}`, id, typ, fields)
}
func add(id, sku string, qty int) string {
	return ev(id, ItemAdded, fmt.Sprintf(`"sku":%q,"qty":%d,"currency":"USD"`, sku, qty))
}
func setQty(id, sku string, qty int) string {
	return ev(id, QuantitySet, fmt.Sprintf(`"sku":%q,"qty":%d`, sku, qty))
}
func remove(id, sku string) string { return ev(id, ItemRemoved, fmt.Sprintf(`"sku":%q`, sku)) }
func coupon(id, code string) string {
	return ev(id, CouponApplied, fmt.Sprintf(`"code":%q,"currency":"USD"`, code))
}
func start(id, co string) string { return ev(id, CheckoutStarted, fmt.Sprintf(`"checkout_id":%q`, co)) }
func abandon(id, co string) string {
	return ev(id, CheckoutAbandoned, fmt.Sprintf(`"checkout_id":%q`, co))
}
func clearCart(id string) string { return ev(id, CartCleared, "") }
func complete(id, co, order string) string {
	return ev(id, CheckoutCompleted, fmt.Sprintf(`"checkout_id":%q,"order_id":%q`, co, order))
}

// Reservation results for cart "c" (EventTime is filled from the step).
func result(op schemas.ReservationOp, co, sku string, qty int32, status string, reason string) *schemas.ReservationResult {
	req := requestID(co, sku)
	r := &schemas.ReservationResult{CommandID: commandID(req, op), RequestID: req, Op: op, SKU: sku, Qty: qty,
		CartID: "c", CheckoutID: co, Status: status}
	if reason != "" {
		r.Reason = &reason
	}
	return r
}
func reserved(co, sku string, qty int32, expires time.Duration) *schemas.ReservationResult {
	r := result(schemas.OpReserve, co, sku, qty, schemas.ResultReserved, "")
	at := t0.Add(expires)
	r.ExpiresAt = &at
	return r
}
func rejected(co, sku string, qty int32, reason string) *schemas.ReservationResult {
	return result(schemas.OpReserve, co, sku, qty, schemas.ResultRejected, reason)
}
func releasedRes(co, sku string, qty int32, reason string) *schemas.ReservationResult {
	return result(schemas.OpRelease, co, sku, qty, schemas.ResultReleased, reason)
}
func committed(co, sku string, qty int32, reason string) *schemas.ReservationResult {
	return result(schemas.OpCommit, co, sku, qty, schemas.ResultCommitted, reason)
}

func fmtCommand(c schemas.ReservationCommand) string {
	s := fmt.Sprintf("%s %s x%d", c.Op, c.RequestID, c.Qty)
	if c.Reason != nil {
		s += " " + *c.Reason
	}
	if c.OrderID != nil {
		s += " " + *c.OrderID
	}
	return s
}

func fmtStatus(s Status) string {
	reason := "-"
	if s.Reason != nil {
		reason = *s.Reason
	}
	lines := make([]string, len(s.Lines))
	for i, l := range s.Lines {
		lines[i] = l.SKU + ":" + l.Status
		if l.Reason != nil {
			lines[i] += "/" + *l.Reason
		}
	}
	return fmt.Sprintf("%s %s %s [%s]", s.CheckoutID, s.Status, reason, strings.Join(lines, " "))
}

func encodeOrNil(t *testing.T, c *Cart) []byte {
	t.Helper()
	if c == nil {
		return nil
	}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runSaga runs the steps from cart c (nil: a new cart) and checks, besides
// each step's expectations, what must hold for every step: inputs are never
// mutated, commands are well-formed and carry the triggering record's event
// time, statuses validate against the JSON Schema and carry the event time of
// the change, results and sweeps never move the cart's version, and a step
// that changes nothing returns the input cart itself.
func runSaga(t *testing.T, c *Cart, steps []sagaStep) *Cart {
	t.Helper()
	var streamTime time.Time
	for i, s := range steps {
		at := t0.Add(s.at)
		if at.After(streamTime) {
			streamTime = at
		}
		before := encodeOrNil(t, c)
		var out Outcome
		var eventTime time.Time // what commands carry
		switch {
		case s.event != "":
			var err error
			out, err = ApplyEvent(c, mustParse(t, s.event), at, streamTime)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			eventTime = at
		case s.result != nil:
			r := *s.result
			r.EventTime = at
			out = ApplyResult(c, r, streamTime)
			eventTime = at
		case s.sweep:
			out = ExpireHolds(c, streamTime)
			eventTime = streamTime
		}
		if !bytes.Equal(before, encodeOrNil(t, c)) {
			t.Fatalf("step %d mutated its input cart", i)
		}
		if s.event == "" && c != nil && out.Cart != nil && out.Cart.Version != c.Version {
			t.Errorf("step %d: a result or sweep moved the version %d -> %d", i, c.Version, out.Cart.Version)
		}
		if out.Cart != c && bytes.Equal(before, encodeOrNil(t, out.Cart)) {
			t.Errorf("step %d: a new cart that equals the input (return the input when nothing changes)", i)
		}

		var cmds, statuses []string
		for _, cmd := range out.Commands {
			cmds = append(cmds, fmtCommand(cmd))
			if cmd.RequestID != requestID(cmd.CheckoutID, cmd.SKU) || cmd.CommandID != commandID(cmd.RequestID, cmd.Op) ||
				cmd.CartID != "c" || cmd.HoldTTLMillis != nil || !cmd.EventTime.Equal(eventTime) ||
				(cmd.OrderID != nil) != (cmd.Op == schemas.OpCommit) || (cmd.Reason != nil) != (cmd.Op == schemas.OpRelease) ||
				cmd.Qty <= 0 {
				t.Errorf("step %d: malformed command %+v", i, cmd)
			}
		}
		for _, st := range out.Statuses {
			statuses = append(statuses, fmtStatus(st))
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			checkStatusSchema(t, b)
			if st.CartID != "c" {
				t.Errorf("step %d: status of cart %q", i, st.CartID)
			}
		}
		if !reflect.DeepEqual(cmds, s.cmds) {
			t.Errorf("step %d: commands\n got %q\nwant %q", i, cmds, s.cmds)
		}
		if !reflect.DeepEqual(statuses, s.statuses) {
			t.Errorf("step %d: statuses\n got %q\nwant %q", i, statuses, s.statuses)
		}
		if s.check != nil {
			s.check(t, out.Cart)
		}
		// The state survives the table's encoding.
		if out.Cart != nil {
			d, err := DecodeCart(encodeOrNil(t, out.Cart))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encodeOrNil(t, d), encodeOrNil(t, out.Cart)) {
				t.Fatalf("step %d: cart does not survive a round trip", i)
			}
		}
		c = out.Cart
	}
	return c
}

// twoLines is the cart every scenario starts from: A x1, B x2.
var twoLines = []sagaStep{{event: add("a", "A", 1)}, {event: add("b", "B", 2)}}

// started is twoLines with checkout k1 started at t0+1m: both reserves out.
var started = append(append([]sagaStep{}, twoLines...), sagaStep{at: time.Minute, event: start("s1", "k1"),
	cmds: []string{"reserve k1:A x1", "reserve k1:B x2"}})

// reservedK1 is started with both lines reserved until t0+11m.
var reservedK1 = append(append([]sagaStep{}, started...),
	sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
	sagaStep{at: time.Minute, result: reserved("k1", "B", 2, 11*time.Minute),
		statuses: []string{"k1 reserved - [A:reserved B:reserved]"}},
)

func with(base []sagaStep, more ...sagaStep) []sagaStep {
	return append(append([]sagaStep{}, base...), more...)
}

func checkoutIs(id, status string) func(t *testing.T, c *Cart) {
	return func(t *testing.T, c *Cart) {
		t.Helper()
		if c.Checkout == nil || c.Checkout.ID != id || c.Checkout.Status != status {
			t.Errorf("current checkout %+v, want %s %s", c.Checkout, id, status)
		}
	}
}

func TestCheckoutSaga(t *testing.T) {
	tests := []struct {
		name  string
		steps []sagaStep
	}{
		{"every line reserved: reserved", reservedK1},
		{"a new checkout reserves every line in sku order", with(twoLines,
			sagaStep{event: add("c1", "0", 3)},
			sagaStep{event: setQty("c2", "Z", 1)},
			sagaStep{event: start("s", "k1"), cmds: []string{"reserve k1:0 x3", "reserve k1:A x1", "reserve k1:B x2", "reserve k1:Z x1"},
				check: func(t *testing.T, c *Cart) {
					if k := c.Checkout; k.Status != StatusPending || len(k.Lines) != 4 || k.Lines[0].Status != LinePending {
						t.Errorf("%+v", k)
					}
				}},
		)},
		{"a rejection before the other line's result fails the checkout and releases that line", with(started,
			sagaStep{at: time.Minute, result: rejected("k1", "A", 1, ReasonInsufficientStock)},
			sagaStep{at: time.Minute, result: reserved("k1", "B", 2, 11*time.Minute),
				cmds:     []string{"release k1:B x2 checkout_failed"},
				statuses: []string{"k1 failed insufficient_stock [A:rejected/insufficient_stock B:released/checkout_failed]"}},
		)},
		{"a rejection after the other line's result", with(started,
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: 2 * time.Minute, result: rejected("k1", "B", 2, ReasonUnknownSKU),
				cmds:     []string{"release k1:A x1 checkout_failed"},
				statuses: []string{"k1 failed unknown_sku [A:released/checkout_failed B:rejected/unknown_sku]"}},
			// The status carries the event time of the result that decided it.
			sagaStep{at: 3 * time.Minute, event: start("s2", "k1"),
				statuses: []string{"k1 failed unknown_sku [A:released/checkout_failed B:rejected/unknown_sku]"},
				check: func(t *testing.T, c *Cart) {
					if !c.Checkout.EventTime.Equal(t0.Add(2 * time.Minute)) {
						t.Errorf("event time %v", c.Checkout.EventTime)
					}
				}},
		)},
		{"the checkout's reason is the first rejected line's in sku order", with(started,
			sagaStep{at: time.Minute, result: rejected("k1", "B", 2, ReasonInsufficientStock)},
			sagaStep{at: time.Minute, result: rejected("k1", "A", 1, ReasonUnknownSKU),
				statuses: []string{"k1 failed unknown_sku [A:rejected/unknown_sku B:rejected/insufficient_stock]"}},
		)},
		{"an empty cart fails at once with no lines and no reason", []sagaStep{
			{event: coupon("a", "X")},
			{event: start("s", "k1"), statuses: []string{"k1 failed - []"}},
			{event: start("s2", "k1"), statuses: []string{"k1 failed - []"}},
		}},
		{"a cart whose lines were all removed is empty", with(twoLines,
			sagaStep{event: remove("r1", "A")},
			sagaStep{event: setQty("r2", "B", 0)},
			sagaStep{event: start("s", "k1"), statuses: []string{"k1 failed - []"}},
		)},
		{"a new checkout supersedes the open one; a late reserved result for it is released", with(started,
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: 2 * time.Minute, event: start("s2", "k2"),
				cmds: []string{"release k1:A x1 checkout_superseded", "release k1:B x2 checkout_superseded",
					"reserve k2:A x1", "reserve k2:B x2"},
				statuses: []string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"},
				check:    checkoutIs("k2", StatusPending)},
			sagaStep{at: time.Minute, result: reserved("k1", "B", 2, 11*time.Minute),
				cmds: []string{"release k1:B x2 checkout_superseded"}},
			// Redelivered: nothing.
			sagaStep{at: time.Minute, result: reserved("k1", "B", 2, 11*time.Minute)},
			// The releases' results change nothing.
			sagaStep{at: 2 * time.Minute, result: releasedRes("k1", "A", 1, ReasonCheckoutSuperseded)},
			sagaStep{at: 2 * time.Minute, result: releasedRes("k1", "B", 2, "unknown_hold")},
			sagaStep{at: 2 * time.Minute, result: reserved("k2", "A", 1, 12*time.Minute)},
			sagaStep{at: 2 * time.Minute, result: reserved("k2", "B", 2, 12*time.Minute),
				statuses: []string{"k2 reserved - [A:reserved B:reserved]"}},
			// The superseded checkout keeps its answer.
			sagaStep{at: 3 * time.Minute, event: start("s3", "k1"),
				statuses: []string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"},
				check:    checkoutIs("k2", StatusReserved)},
		)},
		{"a new checkout after a decided one releases nothing", with(started,
			sagaStep{result: rejected("k1", "A", 1, ReasonInsufficientStock)},
			sagaStep{result: rejected("k1", "B", 2, ReasonInsufficientStock),
				statuses: []string{"k1 failed insufficient_stock [A:rejected/insufficient_stock B:rejected/insufficient_stock]"}},
			sagaStep{event: start("s2", "k2"), cmds: []string{"reserve k2:A x1", "reserve k2:B x2"}},
		)},
		{"a repeated checkout id: the same answer, nothing sent", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: start("s2", "k1"),
				statuses: []string{"k1 reserved - [A:reserved B:reserved]"}},
		)},
		{"a repeated pending checkout id: nothing", with(started,
			sagaStep{at: time.Minute, event: start("s2", "k1")},
		)},
		{"a line change releases every line, pending ones too", with(started,
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: 2 * time.Minute, event: add("x", "C", 1),
				cmds:     []string{"release k1:A x1 cart_changed", "release k1:B x2 cart_changed"},
				statuses: []string{"k1 released cart_changed [A:released/cart_changed B:released/cart_changed]"}},
			// The pending line's reserve went through before its release:
			// released again (the inventory answers from its dedup store).
			sagaStep{at: time.Minute, result: reserved("k1", "B", 2, 11*time.Minute),
				cmds: []string{"release k1:B x2 cart_changed"}},
			// Another line change: the checkout is no longer open.
			sagaStep{at: 3 * time.Minute, event: remove("y", "C")},
		)},
		{"a line change releases a reserved checkout; rejected lines keep their reason", with(started,
			sagaStep{result: rejected("k1", "A", 1, ReasonInsufficientStock)},
			sagaStep{at: 2 * time.Minute, event: setQty("x", "B", 5),
				cmds:     []string{"release k1:B x2 cart_changed"},
				statuses: []string{"k1 released cart_changed [A:rejected/insufficient_stock B:released/cart_changed]"}},
			sagaStep{result: rejected("k1", "B", 2, inventoryRequestClosed)},
		)},
		{"events that do not change the lines release nothing", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: coupon("x", "SAVE")},
			sagaStep{at: 2 * time.Minute, event: ev("y", CouponRemoved, `"code":"save"`)},
			sagaStep{at: 2 * time.Minute, event: setQty("z", "A", 1)},
			sagaStep{at: 2 * time.Minute, event: remove("w", "Q")},
			sagaStep{at: 2 * time.Minute, event: abandon("v", "other"), check: checkoutIs("k1", StatusReserved)},
		)},
		{"abandon releases the open checkout", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: abandon("x", "k1"),
				cmds:     []string{"release k1:A x1 abandoned", "release k1:B x2 abandoned"},
				statuses: []string{"k1 released abandoned [A:released/abandoned B:released/abandoned]"}},
			sagaStep{at: 2 * time.Minute, event: abandon("y", "k1")},
		)},
		{"abandon of a pending checkout", with(started,
			sagaStep{at: 2 * time.Minute, event: abandon("x", "k1"),
				cmds:     []string{"release k1:A x1 abandoned", "release k1:B x2 abandoned"},
				statuses: []string{"k1 released abandoned [A:released/abandoned B:released/abandoned]"}},
			sagaStep{at: 2 * time.Minute, result: rejected("k1", "A", 1, inventoryRequestClosed)},
		)},
		{"clearing the cart releases the open checkout", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: clearCart("x"),
				cmds:     []string{"release k1:A x1 cart_cleared", "release k1:B x2 cart_cleared"},
				statuses: []string{"k1 released cart_cleared [A:released/cart_cleared B:released/cart_cleared]"},
				check: func(t *testing.T, c *Cart) {
					if len(c.Lines) != 0 {
						t.Errorf("lines %v", c.Lines)
					}
				}},
		)},
		{"completion with live holds", with(reservedK1,
			sagaStep{at: 3 * time.Minute, event: complete("x", "k1", "o-1"),
				cmds:  []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"},
				check: checkoutIs("k1", StatusCompleting)},
			// Completing is not open: line changes release nothing.
			sagaStep{at: 3 * time.Minute, event: add("y", "C", 1)},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "A", 1, "")},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "A", 1, "")},
			sagaStep{at: 4 * time.Minute, result: committed("k1", "B", 2, ""),
				statuses: []string{"k1 completed - [A:committed B:committed]"},
				check: func(t *testing.T, c *Cart) {
					if k := c.Checkout; k.OrderID == nil || *k.OrderID != "o-1" || !k.EventTime.Equal(t0.Add(4*time.Minute)) {
						t.Errorf("%+v", k)
					}
				}},
			sagaStep{at: 4 * time.Minute, result: committed("k1", "B", 2, "")},
			// A repeated completion re-emits only; so does a repeated start.
			sagaStep{at: 5 * time.Minute, event: complete("x2", "k1", "o-1"),
				statuses: []string{"k1 completed - [A:committed B:committed]"}},
			sagaStep{at: 5 * time.Minute, event: start("s2", "k1"),
				statuses: []string{"k1 completed - [A:committed B:committed]"}},
			// Past expiry, a completed checkout stays completed.
			sagaStep{at: time.Hour, sweep: true},
		)},
		{"completion after expiry: late_commit", with(reservedK1,
			sagaStep{at: 11*time.Minute + time.Millisecond, sweep: true,
				statuses: []string{"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}},
			sagaStep{at: 12 * time.Minute, event: complete("x", "k1", "o-1"),
				cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
			sagaStep{at: 12 * time.Minute, result: committed("k1", "A", 1, ReasonLateCommit)},
			sagaStep{at: 12 * time.Minute, result: committed("k1", "B", 2, ReasonLateCommit),
				statuses: []string{"k1 completed late_commit [A:committed/late_commit B:committed/late_commit]"}},
		)},
		{"one late line makes the completed checkout late_commit", with(reservedK1,
			sagaStep{at: 3 * time.Minute, event: complete("x", "k1", "o-1"),
				cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "B", 2, ReasonLateCommit)},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "A", 1, ""),
				statuses: []string{"k1 completed late_commit [A:committed B:committed/late_commit]"}},
		)},
		{"completion of a failed checkout commits every line", with(started,
			sagaStep{result: rejected("k1", "A", 1, ReasonInsufficientStock)},
			sagaStep{result: reserved("k1", "B", 2, 11*time.Minute),
				cmds:     []string{"release k1:B x2 checkout_failed"},
				statuses: []string{"k1 failed insufficient_stock [A:rejected/insufficient_stock B:released/checkout_failed]"}},
			sagaStep{at: 2 * time.Minute, event: complete("x", "k1", "o-1"),
				cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
			sagaStep{at: 2 * time.Minute, result: committed("k1", "A", 1, ReasonLateCommit)},
			sagaStep{at: 2 * time.Minute, result: committed("k1", "B", 2, ReasonLateCommit),
				statuses: []string{"k1 completed late_commit [A:committed/late_commit B:committed/late_commit]"}},
		)},
		{"completion while reserves are in flight waits for the commits", with(started,
			sagaStep{at: time.Minute, event: complete("x", "k1", "o-1"),
				cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
			// The reserves' results: no release, no decision.
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: time.Minute, result: rejected("k1", "B", 2, ReasonInsufficientStock)},
			sagaStep{at: time.Minute, result: committed("k1", "A", 1, "")},
			sagaStep{at: time.Minute, result: committed("k1", "B", 2, ReasonLateCommit),
				statuses: []string{"k1 completed late_commit [A:committed B:committed/late_commit]"}},
		)},
		{"completion of an unknown checkout commits the cart's lines", with(twoLines,
			sagaStep{at: time.Minute, event: complete("x", "k9", "o-9"),
				cmds:  []string{"commit k9:A x1 o-9", "commit k9:B x2 o-9"},
				check: checkoutIs("k9", StatusCompleting)},
			sagaStep{at: time.Minute, result: committed("k9", "A", 1, ReasonLateCommit)},
			sagaStep{at: time.Minute, result: committed("k9", "B", 2, ReasonLateCommit),
				statuses: []string{"k9 completed late_commit [A:committed/late_commit B:committed/late_commit]"}},
		)},
		{"completion of an unknown checkout leaves an open one alone", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: complete("x", "k9", "o-9"),
				cmds:  []string{"commit k9:A x1 o-9", "commit k9:B x2 o-9"},
				check: checkoutIs("k1", StatusReserved)},
			sagaStep{at: 2 * time.Minute, result: committed("k9", "A", 1, ReasonLateCommit)},
			sagaStep{at: 2 * time.Minute, result: committed("k9", "B", 2, ReasonLateCommit),
				statuses: []string{"k9 completed late_commit [A:committed/late_commit B:committed/late_commit]"},
				check:    checkoutIs("k1", StatusReserved)},
			sagaStep{at: 2 * time.Minute, event: complete("x2", "k9", "o-9"),
				statuses: []string{"k9 completed late_commit [A:committed/late_commit B:committed/late_commit]"}},
		)},
		{"completion of a superseded checkout completes it where it is", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: start("s2", "k2"),
				cmds:     []string{"release k1:A x1 checkout_superseded", "release k1:B x2 checkout_superseded", "reserve k2:A x1", "reserve k2:B x2"},
				statuses: []string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"}},
			sagaStep{at: 3 * time.Minute, event: complete("x", "k1", "o-1"),
				cmds:  []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"},
				check: checkoutIs("k2", StatusPending)},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "A", 1, ReasonLateCommit)},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "B", 2, ReasonLateCommit),
				statuses: []string{"k1 completed late_commit [A:committed/late_commit B:committed/late_commit]"},
				check:    checkoutIs("k2", StatusPending)},
		)},
		{"a completing checkout superseded still completes", with(reservedK1,
			sagaStep{at: 3 * time.Minute, event: complete("x", "k1", "o-1"),
				cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
			sagaStep{at: 3 * time.Minute, event: start("s2", "k2"),
				cmds: []string{"reserve k2:A x1", "reserve k2:B x2"}},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "A", 1, "")},
			sagaStep{at: 3 * time.Minute, result: committed("k1", "B", 2, ""),
				statuses: []string{"k1 completed - [A:committed B:committed]"},
				check:    checkoutIs("k2", StatusPending)},
		)},
		{"completion of an empty checkout completes at once", []sagaStep{
			{event: coupon("a", "X")},
			{event: start("s", "k1"), statuses: []string{"k1 failed - []"}},
			{event: complete("x", "k1", "o-1"), statuses: []string{"k1 completed - []"}},
		}},
		{"expiry is strictly after expires_at, by sweep", with(reservedK1,
			sagaStep{at: 11 * time.Minute, sweep: true},
			sagaStep{at: 11*time.Minute + time.Nanosecond, sweep: true,
				statuses: []string{"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"},
				check: func(t *testing.T, c *Cart) {
					if !c.Checkout.EventTime.Equal(t0.Add(11*time.Minute + time.Nanosecond)) {
						t.Errorf("event time %v", c.Checkout.EventTime)
					}
				}},
			sagaStep{at: 12 * time.Minute, sweep: true},
		)},
		{"expiry is checked before a cart event: the change then releases nothing", with(reservedK1,
			sagaStep{at: 12 * time.Minute, event: add("x", "C", 1),
				statuses: []string{"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}},
		)},
		{"expiry is checked on a duplicate event", with(reservedK1,
			sagaStep{at: 12 * time.Minute, event: add("b", "B", 2),
				statuses: []string{"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}},
		)},
		{"expiry is checked on a result", with(reservedK1,
			sagaStep{at: 12 * time.Minute, result: releasedRes("zz", "A", 1, ""),
				statuses: []string{"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}},
		)},
		{"a line's expiry counts only once the checkout is reserved", with(started,
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 2*time.Minute)},
			sagaStep{at: 3 * time.Minute, sweep: true},
			// Reserved, and at once expired; B's own hold is still live: it
			// is released with the checkout.
			sagaStep{at: 3 * time.Minute, result: reserved("k1", "B", 2, 13*time.Minute),
				cmds: []string{"release k1:B x2 hold_expired"},
				statuses: []string{"k1 reserved - [A:reserved B:reserved]",
					"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}},
			sagaStep{at: 3 * time.Minute, sweep: true},
			sagaStep{at: 3 * time.Minute, result: releasedRes("k1", "B", 2, ReasonHoldExpired)},
			// Completion commits both; both are late.
			sagaStep{at: 4 * time.Minute, event: complete("x", "k1", "o-1"),
				cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
		)},
		{"a reserved result for an unknown checkout is released", with(twoLines,
			sagaStep{result: reserved("k7", "A", 1, 11*time.Minute), cmds: []string{"release k7:A x1 checkout_failed"}},
			sagaStep{result: rejected("k7", "B", 2, ReasonInsufficientStock)},
			sagaStep{result: committed("k7", "B", 2, "")},
		)},
		{"a reserved result for a sku the checkout does not hold is released", with(reservedK1,
			sagaStep{result: reserved("k1", "Q", 4, 11*time.Minute), cmds: []string{"release k1:Q x4 checkout_failed"}},
		)},
		{"duplicate results change nothing", with(started,
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: time.Minute, result: rejected("k1", "B", 2, ReasonInsufficientStock),
				cmds:     []string{"release k1:A x1 checkout_failed"},
				statuses: []string{"k1 failed insufficient_stock [A:released/checkout_failed B:rejected/insufficient_stock]"}},
			sagaStep{at: time.Minute, result: rejected("k1", "B", 2, ReasonInsufficientStock)},
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: time.Minute, result: releasedRes("k1", "A", 1, ReasonCheckoutFailed)},
		)},
		{"inventory reasons are mapped to DESIGN reasons", with(twoLines,
			sagaStep{event: add("c", "C", 1)},
			sagaStep{event: add("d", "D", 1)},
			sagaStep{event: start("s", "k1"), cmds: []string{"reserve k1:A x1", "reserve k1:B x2", "reserve k1:C x1", "reserve k1:D x1"}},
			sagaStep{result: rejected("k1", "A", 1, inventoryStaleCommand)},
			sagaStep{result: rejected("k1", "B", 2, inventoryRequestClosed)},
			sagaStep{result: rejected("k1", "C", 1, inventoryInvalidCommand)},
			sagaStep{result: rejected("k1", "D", 1, ""),
				statuses: []string{"k1 failed hold_expired [A:rejected/hold_expired B:rejected/checkout_failed C:rejected/invalid_quantity D:rejected/checkout_failed]"}},
		)},
		{"a reserve answered committed makes its line committed", with(started,
			sagaStep{result: result(schemas.OpReserve, "k1", "A", 1, schemas.ResultCommitted, inventoryAlreadyCommitted)},
			sagaStep{result: reserved("k1", "B", 2, 11*time.Minute),
				statuses: []string{"k1 reserved - [A:committed B:reserved]"}},
		)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSaga(t, nil, tc.steps) })
	}
}

func TestResultForMissingCart(t *testing.T) {
	r := *reserved("k1", "A", 1, time.Minute)
	r.EventTime = t0
	out := ApplyResult(nil, r, t0)
	if out.Cart != nil || out.Applied || len(out.Statuses) != 0 || len(out.Commands) != 1 ||
		fmtCommand(out.Commands[0]) != "release k1:A x1 checkout_failed" || out.Commands[0].CartID != "c" {
		t.Errorf("%+v", out)
	}
	if out := ApplyResult(nil, *committed("k1", "A", 1, ""), t0); out.Cart != nil || len(out.Commands) != 0 {
		t.Errorf("%+v", out)
	}
	if out := ExpireHolds(nil, t0); out.Cart != nil || out.Applied {
		t.Errorf("%+v", out)
	}
}

func TestResultsDoNotTouchCartContents(t *testing.T) {
	c := runSaga(t, nil, reservedK1)
	if c.Version != 3 || !c.LastEventTime.Equal(t0.Add(time.Minute)) || len(c.Applied) != 3 {
		t.Errorf("version %d, last event %v, %d applied ids", c.Version, c.LastEventTime, len(c.Applied))
	}
}

func TestPastCheckoutsAreBounded(t *testing.T) {
	steps := []sagaStep{{event: coupon("a", "X")}}
	for i := range PastCheckoutsMax + 2 {
		steps = append(steps, sagaStep{event: start(fmt.Sprint("s", i), fmt.Sprint("k", i)),
			statuses: []string{fmt.Sprintf("k%d failed - []", i)}})
	}
	// k0 (the oldest of 17 past ones) is forgotten: a new checkout again.
	// k1 is remembered.
	steps = append(steps,
		sagaStep{event: start("again1", "k1"), statuses: []string{"k1 failed - []"}},
		sagaStep{event: start("again0", "k0"), statuses: []string{"k0 failed - []"},
			check: func(t *testing.T, c *Cart) {
				if len(c.PastCheckouts) != PastCheckoutsMax || c.Checkout.ID != "k0" || c.PastCheckouts[0].ID != "k2" {
					t.Errorf("%d past, first %s", len(c.PastCheckouts), c.PastCheckouts[0].ID)
				}
			}},
	)
	runSaga(t, nil, steps)

	// Past the window, a checkout is forgotten: a new one with the same id
	// is started.
	runSaga(t, nil, with(reservedK1,
		sagaStep{at: 2 * time.Minute, event: start("s2", "k2"),
			cmds:     []string{"release k1:A x1 checkout_superseded", "release k1:B x2 checkout_superseded", "reserve k2:A x1", "reserve k2:B x2"},
			statuses: []string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"}},
		sagaStep{at: 2*time.Minute + PastCheckoutsWindow, event: start("s3", "k1"),
			statuses: []string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"}},
		sagaStep{at: 2*time.Minute + PastCheckoutsWindow + time.Second, event: start("s4", "k1"),
			cmds:     []string{"release k2:A x1 checkout_superseded", "release k2:B x2 checkout_superseded", "reserve k1:A x1", "reserve k1:B x2"},
			statuses: []string{"k2 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"},
			check: func(t *testing.T, c *Cart) {
				if len(c.PastCheckouts) != 1 || c.PastCheckouts[0].ID != "k2" {
					t.Errorf("past %+v", c.PastCheckouts)
				}
			}},
	))
}

// TestStatusJSON pins the wire shape: field order, nulls, RFC 3339 UTC.
func TestStatusJSON(t *testing.T) {
	why := ReasonInsufficientStock
	s := Status{CartID: "c-9", CheckoutID: "k-1", Status: StatusFailed, Reason: &why,
		Lines:     []StatusLine{{SKU: "A", Qty: 1, Status: LineRejected, Reason: &why}, {SKU: "B", Qty: 2, Status: LineReleased}},
		EventTime: time.Date(2026, 11, 21, 11, 0, 0, 500_000_000, time.FixedZone("CET", 3600))}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema_version":1,"cart_id":"c-9","checkout_id":"k-1","status":"failed","reason":"insufficient_stock",` +
		`"lines":[{"sku":"A","qty":1,"status":"rejected","reason":"insufficient_stock"},{"sku":"B","qty":2,"status":"released","reason":null}],` +
		`"event_time":"2026-11-21T10:00:00.5Z"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	checkStatusSchema(t, b)
	b, _ = json.Marshal(Status{CartID: "c", CheckoutID: "k", Status: StatusFailed, EventTime: t0})
	if !strings.Contains(string(b), `"reason":null,"lines":[]`) {
		t.Errorf("empty status %s", b)
	}
	checkStatusSchema(t, b)
}
