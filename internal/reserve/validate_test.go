package reserve_test

import (
	"errors"
	"testing"
	"time"

	"cartstream/internal/reserve"
	"cartstream/schemas"
)

func TestValidateCommand(t *testing.T) {
	good := command(schemas.OpReserve, "co1", 1, t0)
	tests := []struct {
		name   string
		mutate func(c *schemas.ReservationCommand)
		ok     bool
	}{
		{"well formed", func(*schemas.ReservationCommand) {}, true},
		{"qty is not checked", func(c *schemas.ReservationCommand) { c.Qty = -5 }, true},
		{"positive hold ttl", func(c *schemas.ReservationCommand) { c.HoldTTLMillis = ptr(int64(1)) }, true},
		{"no sku", func(c *schemas.ReservationCommand) { c.SKU = "" }, false},
		{"no checkout", func(c *schemas.ReservationCommand) { c.CheckoutID = "" }, false},
		{"no cart", func(c *schemas.ReservationCommand) { c.CartID = "" }, false},
		{"unknown op", func(c *schemas.ReservationCommand) { c.Op = "cancel" }, false},
		{"request id of another checkout", func(c *schemas.ReservationCommand) { c.RequestID = "co2:" + sku }, false},
		{"command id of another op", func(c *schemas.ReservationCommand) { c.CommandID = c.RequestID + ":commit" }, false},
		{"zero hold ttl", func(c *schemas.ReservationCommand) { c.HoldTTLMillis = ptr(int64(0)) }, false},
		{"negative hold ttl", func(c *schemas.ReservationCommand) { c.HoldTTLMillis = ptr(int64(-1)) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			err := reserve.ValidateCommand(c)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateCommand = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, reserve.ErrInvalidCommand) {
				t.Fatalf("error %v does not wrap ErrInvalidCommand", err)
			}
		})
	}
}

func TestInvalidCommandIsNotApplied(t *testing.T) {
	cfg := reserve.DefaultConfig()
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	bad := command(schemas.OpReserve, "co1", 1, t0)
	bad.CommandID = "garbage"
	other := command(schemas.OpReserve, "co1", 1, t0)
	other.SKU, other.RequestID, other.CommandID = "SKU-2", "co1:SKU-2", "co1:SKU-2:reserve"
	for name, c := range map[string]schemas.ReservationCommand{"malformed": bad, "another sku": other} {
		t.Run(name, func(t *testing.T) {
			// Not even a stored entry under its (untrusted) command id is
			// looked at.
			log := reserve.MemoryLog{}
			log.Put(c.CommandID, reserve.Handled{At: t0, Result: schemas.ReservationResult{CommandID: c.CommandID, Status: schemas.ResultReserved}})
			s2, res, store := reserve.ApplyCommand(s, c, t0, cfg, log)
			if s2 != s || store {
				t.Errorf("state changed (%v) or store %v", s2 != s, store)
			}
			if res.Status != schemas.ResultRejected || reasonOf(res) != reserve.ReasonInvalidCommand || res.Available != 10 {
				t.Errorf("result %+v", res)
			}
		})
	}
	t.Run("nil state", func(t *testing.T) {
		s2, res, store := reserve.ApplyCommand(nil, bad, t0, cfg, nil)
		if s2 != nil || reasonOf(res) != reserve.ReasonInvalidCommand || store {
			t.Errorf("got %v, %+v, store %v", s2, res, store)
		}
	})
}

func TestRecordsForAnotherSKUAreIgnored(t *testing.T) {
	cfg := reserve.DefaultConfig()
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	if got := reserve.ApplyStock(s, schemas.StockRow{SKU: "SKU-2", OnHand: 1, Version: 9}, t0, cfg); got != s {
		t.Error("ApplyStock applied a row of another sku")
	}
	if got := reserve.ApplyOrderLine(s, schemas.OrderLine{SKU: "SKU-2", CheckoutID: "co1", InventoryVersion: 9}, t0, cfg, nil); got != s {
		t.Error("ApplyOrderLine applied a line of another sku")
	}
}

// A reserve for a request that already holds without a dedup entry for it
// is only reachable when its entry aged out or was never written (a
// hand-made state and an empty log here): it answers the hold and changes
// nothing but is stored, like any new command.
func TestReserveOfAnExistingHoldIsIdempotentByRequest(t *testing.T) {
	cfg := reserve.DefaultConfig()
	r := reserve.RequestID("co1", sku)
	exp := t0.Add(5 * time.Minute)
	for _, tc := range []struct {
		name           string
		hold           reserve.Hold
		status, reason string
	}{
		{"held", reserve.Hold{RequestID: r, CartID: "cart-co1", CheckoutID: "co1", Qty: 2, State: reserve.Held, ExpiresAt: exp}, "reserved", ""},
		{"committed", reserve.Hold{RequestID: r, CartID: "cart-co1", CheckoutID: "co1", Qty: 2, State: reserve.Committed, CommittedAt: t0}, "committed", "already_committed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &reserve.State{SKU: sku, Known: true, OnHand: 10, Version: 1, Holds: []reserve.Hold{tc.hold}}
			s2, res, store := reserve.ApplyCommand(s, command(schemas.OpReserve, "co1", 5, t0), t0, cfg, nil)
			if res.Status != tc.status || reasonOf(res) != tc.reason || res.Qty != 2 || !store {
				t.Errorf("result %+v, store %v", res, store)
			}
			if tc.status == "reserved" && (res.ExpiresAt == nil || !res.ExpiresAt.Equal(exp)) {
				t.Errorf("ExpiresAt %v, want the hold's %v", res.ExpiresAt, exp)
			}
			if h, _ := s2.Hold(r); h != tc.hold {
				t.Errorf("hold changed to %+v", h)
			}
			if got := reserve.Available(s2, t0); got != 8 {
				t.Errorf("Available = %d, want 8", got)
			}
		})
	}
}

func TestTick(t *testing.T) {
	cfg := reserve.DefaultConfig()
	if reserve.Tick(nil, t0, cfg) != nil {
		t.Error("Tick(nil) is not nil")
	}
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, cfg)
	s, _, _ = reserve.ApplyCommand(s, command(schemas.OpReserve, "co1", 2, t0), t0, cfg, nil)
	if got := reserve.Tick(s, t0.Add(10*time.Minute), cfg); got != s {
		t.Error("Tick with nothing to prune returned a new state")
	}
	got := reserve.Tick(s, t0.Add(11*time.Minute), cfg)
	if got == s || len(got.Holds) != 0 || len(s.Holds) != 1 {
		t.Errorf("Tick after expiry: holds %v (input %v)", got.Holds, s.Holds)
	}
	// Commands leave nothing in the state for Tick to prune once the
	// window has passed: the dedup store prunes itself.
	if again := reserve.Tick(got, t0.Add(49*time.Hour), cfg); again != got {
		t.Errorf("Tick past the dedup window changed a state without holds: %+v", again)
	}
}

func TestConfig(t *testing.T) {
	d := reserve.DefaultConfig()
	if d.HoldTTL != 10*time.Minute || !d.Outbox || d.CommitGrace != 15*time.Minute || d.DedupWindow != 48*time.Hour {
		t.Errorf("DefaultConfig = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate(default) = %v", err)
	}
	if err := (reserve.Config{HoldTTL: -time.Second}).Validate(); err == nil {
		t.Error("Validate accepted a negative hold TTL")
	}
	// Zero durations mean the defaults.
	s := reserve.ApplyStock(nil, stockRow(10, 1, t0), t0, reserve.Config{Outbox: true})
	_, res, _ := reserve.ApplyCommand(s, command(schemas.OpReserve, "co1", 2, t0), t0, reserve.Config{Outbox: true}, nil)
	if !res.ExpiresAt.Equal(t0.Add(reserve.DefaultHoldTTL)) {
		t.Errorf("zero HoldTTL: ExpiresAt %v", res.ExpiresAt)
	}
}

func TestEmptyAndHoldState(t *testing.T) {
	cfg := reserve.DefaultConfig()
	var nilState *reserve.State
	if !nilState.Empty() {
		t.Error("nil state is not empty")
	}
	s := reserve.ApplyStock(nil, stockRow(1, 1, t0), t0, cfg)
	if s.Empty() {
		t.Error("known sku is empty")
	}
	s = reserve.ApplyStock(s, schemas.StockRow{SKU: sku, Deleted: true}, t0, cfg)
	if s.Empty() {
		t.Errorf("deleted sku forgets its version: %+v", s)
	}
	// A command on a SKU that never had a row leaves nothing in the state:
	// its dedup entry is the caller's.
	if u, _, _ := reserve.ApplyCommand(nil, command(schemas.OpReserve, "co1", 1, t0), t0, cfg, nil); !u.Empty() {
		t.Errorf("unknown sku after a rejected reserve is not empty: %+v", u)
	}
	// A late commit on it leaves a committed hold.
	if u, _, _ := reserve.ApplyCommand(nil, command(schemas.OpCommit, "co1", 1, t0), t0, cfg, nil); u.Empty() {
		t.Errorf("unknown sku with a committed hold is empty: %+v", u)
	}
	if reserve.Held.String() != "held" || reserve.Committed.String() != "committed" || reserve.HoldState(0).String() != "HoldState(0)" {
		t.Error("HoldState.String")
	}
}

// Between records, Available alone applies expiry: a hold counts up to and
// at its expiry and not a nanosecond after, before any pruning.
func TestAvailableBetweenRecords(t *testing.T) {
	cfg := reserve.DefaultConfig()
	s := reserve.ApplyStock(nil, stockRow(5, 1, t0), t0, cfg)
	s, _, _ = reserve.ApplyCommand(s, command(schemas.OpReserve, "co1", 2, t0), t0, cfg, nil)
	s, _, _ = reserve.ApplyCommand(s, command(schemas.OpReserve, "co2", 1, t0), t0, cfg, nil)
	s, _, _ = reserve.ApplyCommand(s, command(schemas.OpCommit, "co2", 1, t0), t0, cfg, nil)
	exp := t0.Add(cfg.HoldTTL)
	for _, tc := range []struct {
		at   time.Time
		want int64
	}{
		{t0, 2}, {exp, 2}, {exp.Add(time.Nanosecond), 4}, {exp.Add(100 * time.Hour), 4},
	} {
		if got := reserve.Available(s, tc.at); got != tc.want {
			t.Errorf("Available at +%v = %d, want %d", tc.at.Sub(t0), got, tc.want)
		}
	}
	if len(s.Holds) != 2 {
		t.Fatalf("holds %+v", s.Holds)
	}
	if got := reserve.Available(nil, t0); got != 0 {
		t.Errorf("Available(nil) = %d", got)
	}
}

// The processor may delete an Empty state from its table: the dedup store
// lives beside it, so a SKU's commands are still recognised, and closed
// requests stay closed, once its state is gone.
func TestEmptyStateMayBeDeleted(t *testing.T) {
	cfg := reserve.DefaultConfig()
	rsv := command(schemas.OpReserve, "co1", 1, t0)
	rel := command(schemas.OpRelease, "co1", 1, t0)
	rel.Reason = ptr(reserve.ReasonAbandoned)
	tests := []struct {
		name           string
		cmds           []schemas.ReservationCommand
		status, reason string
		stored         bool // the last result is new and to be stored
	}{
		{"redelivered rejection", []schemas.ReservationCommand{rsv, rsv}, "rejected", "unknown_sku", false},
		{"reserve reordered after its release", []schemas.ReservationCommand{rel, rsv}, "rejected", "request_closed", true},
		{"redelivered release", []schemas.ReservationCommand{rel, rsv, rel}, "released", "unknown_hold", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := reserve.MemoryLog{}
			var s *reserve.State
			var res schemas.ReservationResult
			var store bool
			for i, c := range tc.cmds {
				at := t0.Add(time.Duration(i) * time.Minute)
				s, res, store = reserve.ApplyCommand(s, c, at, cfg, log)
				if store {
					log.Put(c.CommandID, reserve.Handled{At: at, Result: res})
				}
				if !s.Empty() {
					t.Fatalf("command %d left a non-empty state %+v", i, s)
				}
				s = nil // deleted from the table
			}
			if res.Status != tc.status || reasonOf(res) != tc.reason || store != tc.stored {
				t.Errorf("last result %s/%s store %v, want %s/%s store %v", res.Status, reasonOf(res), store, tc.status, tc.reason, tc.stored)
			}
		})
	}
}
