package carts

import (
	"strings"
	"testing"
	"time"

	"cartstream/schemas"
)

// Resend repeats, from the state alone, every command and status the
// checkouts the cart remembers still stand for, with the command ids and
// event times first sent.
func TestResend(t *testing.T) {
	cases := []struct {
		name     string
		steps    []sagaStep
		cmds     []string
		statuses []string
	}{
		{"no checkout", twoLines, nil, nil},
		{"reserves awaiting results", started, []string{"reserve k1:A x1", "reserve k1:B x2"}, nil},
		{"one reserve answered", with(started, sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)}),
			[]string{"reserve k1:B x2"}, nil},
		{"reserved", reservedK1, nil, []string{"k1 reserved - [A:reserved B:reserved]"}},
		{"released by a line change", with(reservedK1, sagaStep{at: 2 * time.Minute, event: add("c", "C", 1),
			cmds:     []string{"release k1:A x1 cart_changed", "release k1:B x2 cart_changed"},
			statuses: []string{"k1 released cart_changed [A:released/cart_changed B:released/cart_changed]"}}),
			[]string{"release k1:A x1 cart_changed", "release k1:B x2 cart_changed"},
			[]string{"k1 released cart_changed [A:released/cart_changed B:released/cart_changed]"}},
		{"superseded: the past checkout's releases, the new one's reserves", with(reservedK1, sagaStep{at: 2 * time.Minute, event: start("s2", "k2"),
			cmds:     []string{"release k1:A x1 checkout_superseded", "release k1:B x2 checkout_superseded", "reserve k2:A x1", "reserve k2:B x2"},
			statuses: []string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"}}),
			[]string{"release k1:A x1 checkout_superseded", "release k1:B x2 checkout_superseded", "reserve k2:A x1", "reserve k2:B x2"},
			[]string{"k1 released checkout_superseded [A:released/checkout_superseded B:released/checkout_superseded]"}},
		{"failed: only the reserved line was released", with(started,
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 11*time.Minute)},
			sagaStep{at: time.Minute, result: rejected("k1", "B", 2, ReasonInsufficientStock),
				cmds:     []string{"release k1:A x1 checkout_failed"},
				statuses: []string{"k1 failed insufficient_stock [A:released/checkout_failed B:rejected/insufficient_stock]"}}),
			[]string{"release k1:A x1 checkout_failed"},
			[]string{"k1 failed insufficient_stock [A:released/checkout_failed B:rejected/insufficient_stock]"}},
		{"expired: only a line whose hold was live is released", with(started,
			sagaStep{at: time.Minute, result: reserved("k1", "A", 1, 2*time.Minute)},
			sagaStep{at: 3 * time.Minute, result: reserved("k1", "B", 2, 13*time.Minute),
				cmds: []string{"release k1:B x2 hold_expired"},
				statuses: []string{"k1 reserved - [A:reserved B:reserved]",
					"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}}),
			[]string{"release k1:B x2 hold_expired"},
			[]string{"k1 expired hold_expired [A:expired/hold_expired B:expired/hold_expired]"}},
		{"completing: the commits awaiting results", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: complete("x", "k1", "o-1"), cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
			sagaStep{at: 2 * time.Minute, result: committed("k1", "A", 1, "")}),
			[]string{"commit k1:B x2 o-1"}, nil},
		{"completed", with(reservedK1,
			sagaStep{at: 2 * time.Minute, event: complete("x", "k1", "o-1"), cmds: []string{"commit k1:A x1 o-1", "commit k1:B x2 o-1"}},
			sagaStep{at: 2 * time.Minute, result: committed("k1", "A", 1, "")},
			sagaStep{at: 2 * time.Minute, result: committed("k1", "B", 2, ""), statuses: []string{"k1 completed - [A:committed B:committed]"}}),
			nil, []string{"k1 completed - [A:committed B:committed]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := runSaga(t, nil, tc.steps)
			before := encodeOrNil(t, c)
			out := Resend(c)
			if out.Cart != c || out.Applied || string(encodeOrNil(t, c)) != string(before) {
				t.Errorf("Resend changed the cart or claims it did: %+v", out)
			}
			var cmds, statuses []string
			for _, cmd := range out.Commands {
				cmds = append(cmds, fmtCommand(cmd))
			}
			for _, s := range out.Statuses {
				statuses = append(statuses, fmtStatus(s))
			}
			if strings.Join(cmds, "; ") != strings.Join(tc.cmds, "; ") {
				t.Errorf("commands\n got %q\nwant %q", cmds, tc.cmds)
			}
			if strings.Join(statuses, "; ") != strings.Join(tc.statuses, "; ") {
				t.Errorf("statuses\n got %q\nwant %q", statuses, tc.statuses)
			}
		})
	}
}

// A repeated command carries the event time of the first one, so the
// inventory group, which takes a hold's expiry from it, decides alike.
func TestResendRepeatsEventTimes(t *testing.T) {
	c := runSaga(t, nil, started)
	out := Resend(c)
	for _, cmd := range out.Commands {
		if cmd.Op != schemas.OpReserve || !cmd.EventTime.Equal(t0.Add(time.Minute)) || cmd.CommandID != cmd.RequestID+":reserve" || cmd.CartID != c.ID {
			t.Errorf("%+v", cmd)
		}
	}
	if Resend(nil).Cart != nil {
		t.Error("Resend(nil) made a cart")
	}
}

func TestReadAgain(t *testing.T) {
	var none *Cart
	c := withOrigin(&Cart{}, "cart-events", 41)
	c2 := withOrigin(c.clonePlain(), "results", 7)
	switch {
	case none.ReadAgain("cart-events", 41):
		t.Error("a missing cart read something")
	case !c.ReadAgain("cart-events", 41) || c.ReadAgain("cart-events", 40) || c.ReadAgain("cart-events", 42) || c.ReadAgain("results", 41):
		t.Errorf("origins %v", c.Origins)
	case !c2.ReadAgain("cart-events", 41) || !c2.ReadAgain("results", 7) || c.ReadAgain("results", 7):
		t.Errorf("withOrigin shares its map: %v, %v", c.Origins, c2.Origins)
	}
}

// clonePlain copies the cart's struct as a step's clone does (sharing the
// maps), for TestReadAgain.
func (c *Cart) clonePlain() *Cart { n := *c; return &n }
