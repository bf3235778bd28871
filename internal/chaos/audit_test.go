package chaos

import (
	"encoding/json"
	"strings"
	"testing"
)

// ledgerOf decodes a ledger as loadgen writes it.
func ledgerOf(t *testing.T, js string) *ledger {
	t.Helper()
	var l ledger
	if err := json.Unmarshal([]byte(js), &l); err != nil {
		t.Fatal(err)
	}
	return &l
}

func status(t *testing.T, js string) checkoutStatus {
	t.Helper()
	var st checkoutStatus
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// oversold counts units promised on time beyond the stock ever had, and
// forgives late_commit lines as DESIGN §6 does.
func TestOversold(t *testing.T) {
	const stock = `"skus":[{"sku":"A","stock_ever":3,"sold":3,"on_hand":0,"version":4},{"sku":"B","stock_ever":2,"sold":2,"on_hand":0,"version":3}]`
	cases := []struct {
		name   string
		ledger string
		latest map[string]string
		want   int64
	}{
		{"every unit covered", `{` + stock + `,"orders":[
			{"order_id":"o1","checkout_id":"k1","lines":[{"sku":"A","qty":2}],"on_time":true},
			{"order_id":"o2","checkout_id":"k2","lines":[{"sku":"A","qty":1},{"sku":"B","qty":2}],"on_time":true}]}`, nil, 0},
		{"an on-time completion the database refused", `{` + stock + `,"orders":[
			{"order_id":"o1","checkout_id":"k1","lines":[{"sku":"A","qty":3}],"on_time":true}],
			"refused":[{"order_id":"o2","checkout_id":"k2","lines":[{"sku":"A","qty":1}],"on_time":true}]}`, nil, 1},
		{"a refusal excused by a late commit", `{` + stock + `,"orders":[
			{"order_id":"o1","checkout_id":"k1","lines":[{"sku":"A","qty":2}],"on_time":true},
			{"order_id":"o3","checkout_id":"k3","lines":[{"sku":"A","qty":1}],"on_time":false}],
			"refused":[{"order_id":"o2","checkout_id":"k2","lines":[{"sku":"A","qty":1}],"on_time":true}]}`,
			map[string]string{"k3": `{"checkout_id":"k3","status":"completed","lines":[{"sku":"A","qty":1,"status":"committed","reason":"late_commit"}]}`}, 0},
		// The database refused the order for A, excused by a late commit;
		// B had its units and broke no promise (seed 20261122 charged the
		// refusal to every line).
		{"a refusal charged to the line refused", `{` + stock + `,"orders":[
			{"order_id":"o1","checkout_id":"k1","lines":[{"sku":"A","qty":2}],"on_time":true},
			{"order_id":"o3","checkout_id":"k3","lines":[{"sku":"A","qty":1}],"on_time":false}],
			"refused":[{"order_id":"o2","checkout_id":"k2","lines":[{"sku":"B","qty":1},{"sku":"A","qty":1}],"on_time":true,"refused_sku":"A"}]}`,
			map[string]string{"k3": `{"checkout_id":"k3","status":"completed","lines":[{"sku":"A","qty":1,"status":"committed","reason":"late_commit"}]}`}, 0},
		{"a late refusal proves nothing", `{` + stock + `,"orders":[
			{"order_id":"o1","checkout_id":"k1","lines":[{"sku":"A","qty":3}],"on_time":true}],
			"refused":[{"order_id":"o2","checkout_id":"k2","lines":[{"sku":"A","qty":1}],"on_time":false}]}`, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &auditor{ledger: ledgerOf(t, c.ledger), rep: &Report{}, latest: map[string]checkoutStatus{}}
			for id, js := range c.latest {
				a.latest[id] = status(t, js)
			}
			a.oversold()
			if a.rep.Oversold != c.want {
				t.Errorf("oversold %d, want %d: %v", a.rep.Oversold, c.want, a.rep.Problems)
			}
		})
	}
}

// Every checkout needs a status, and every accepted order a completed
// checkout.
func TestCheckCheckouts(t *testing.T) {
	a := &auditor{rep: &Report{}, ledger: ledgerOf(t, `{"checkouts":["k1","k2","k3"],"orders":[
		{"order_id":"o1","checkout_id":"k1","lines":[]},{"order_id":"o2","checkout_id":"k2","lines":[]}]}`),
		latest: map[string]checkoutStatus{
			"k1": status(t, `{"checkout_id":"k1","status":"completed"}`),
			"k2": status(t, `{"checkout_id":"k2","status":"reserved"}`),
		}}
	a.checkCheckouts()
	if a.rep.NoStatus != 1 || a.rep.Uncompleted != 1 {
		t.Errorf("no_status %d uncompleted %d, want 1 and 1: %v", a.rep.NoStatus, a.rep.Uncompleted, a.rep.Problems)
	}
}

func TestJustified(t *testing.T) {
	a := &auditor{byRequest: map[string]*requestResults{
		"k1:A": {reserved: 2},
		"k2:A": {reserved: 2, released: true},
		"k3:A": {reserved: 1, committed: 1},
	}}
	for _, c := range []struct {
		request, state string
		qty            int64
		want           bool
	}{
		{"k1:A", "held", 2, true},
		{"k1:A", "held", 3, false},
		{"k2:A", "held", 2, false},
		{"k3:A", "committed", 1, true},
		{"k3:A", "held", 1, false},
		{"k9:A", "held", 1, false},
	} {
		if got := a.justified(c.request, c.state, c.qty); got != c.want {
			t.Errorf("%s %s %d: justified %v, want %v", c.request, c.state, c.qty, got, c.want)
		}
	}
}

// The summary line leads with the invariants and names the seed to replay
// a failed run.
func TestReportLine(t *testing.T) {
	r := &Report{Seed: 42, Kills: 31, BrokerRestarts: 2, Events: 1000, Replay: "make chaos CHAOS_SEED=42"}
	line := r.String()
	if !strings.HasPrefix(line, "kills=31 broker_restarts=2 events=1000 oversold=0 double_applied=0 lost_events=0 leaked_holds=0 max_failover_s=0.0") || r.Failed() {
		t.Errorf("passing run: %s", line)
	}
	r.LeakedHolds = 1
	if line := r.String(); !r.Failed() || !strings.Contains(line, "FAILED seed=42 replay: make chaos CHAOS_SEED=42") {
		t.Errorf("failed run: %s", line)
	}
}
