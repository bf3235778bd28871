package checkoutsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/kafkasec"
	"cartstream/internal/reserve"
	"cartstream/internal/shopsim"
	"cartstream/processors/inventory"
	"cartstream/schemas"
)

// Summary is a run's audit. The first fields are the invariants (zero when
// cartstream kept them) and the headline numbers; the rest explain them.
type Summary struct {
	Scenario string
	Seed     int64
	// Checkouts is the number of checkouts the storefront started.
	Checkouts int
	// ReservedUnits is the units of every checkout that was ever reported
	// reserved (the lines of its first reserved status).
	ReservedUnits int64
	// Oversold is, summed over SKUs, the units promised on time beyond the
	// stock the database ever had: units of orders completed on time that
	// cartstream did not report late_commit, plus units of on-time
	// completions the database refused (cartstream reserved units the
	// database did not have). Orders completed late are excluded: they
	// are the oversell risk DESIGN §6 reports rather than prevents. On a
	// SKU no late_commit touched, every refused unit counts (see
	// audit.oversold).
	Oversold int64
	// DoubleApplied counts command ids whose results on
	// cartstream.reservation-results disagree (status or reason), and
	// holds in the inventory table that no result justifies.
	DoubleApplied int
	// LeakedHolds counts holds that, once the load stopped and every hold
	// had time to expire, still count against available: held and not
	// expired at the final stream time, or committed and not reflected
	// though the database shows the order.
	LeakedHolds int
	// Duration is from the first cart event to the instance having
	// processed everything the load caused.
	Duration time.Duration

	// Latest status of each checkout: how many are in each state;
	// NoStatus never got one.
	Completed, FailedCheckouts, Released, Expired, OpenReserved, NoStatus int
	// FailReasons counts failed checkouts by reason.
	FailReasons map[string]int
	// LateCommits counts lines reported late_commit.
	LateCommits int
	// Orders the database accepted, and how many of them were completed
	// late (LateOnPurpose by the storefront's choice, the others because
	// the checkout waited too long for its turn); refused ones split by
	// whether the completion was on time.
	Orders, LateOrders, LateOnPurpose, RefusedOnTime, RefusedLate int
	// CartEvents and their duplicate deliveries.
	CartEvents, DuplicateEvents int
	// Commands answered (distinct command ids) and Results read.
	Commands, Results int
	// UnreleasedHolds counts holds still live when the load stopped whose
	// checkout was no longer reserved (released, failed, completed,
	// expired, or never decided).
	UnreleasedHolds int
	// StockMismatches counts SKUs whose on_hand or version in the
	// inventory table differs from the database's at the end.
	StockMismatches int
	// BadRecords counts output records that do not decode or do not
	// follow their schema.
	BadRecords int
	// DeadLetters counts records any group dead-lettered: the simulation
	// writes only valid records, so each one is a bug somewhere.
	DeadLetters int
	// Anomalies counts statuses and results that contradict what the
	// storefront did (see shopsim.Ledger), on-time orders reported
	// late_commit, and inventory values whose available disagrees with
	// their holds.
	Anomalies int
	// Restarts is how many times the instance was restarted.
	Restarts int
	// Startup is the time until the instance was ready with the stock
	// loaded.
	Startup time.Duration
	// Problems describe the first violations found.
	Problems []string
	// Replay is the command that replays the run; DataDir is where a
	// failed run left its data ("" when removed).
	Replay, DataDir string
}

// Failed reports whether the audit found a violation.
func (s Summary) Failed() bool {
	return s.Oversold != 0 || s.DoubleApplied != 0 || s.LeakedHolds != 0 || s.NoStatus != 0 ||
		s.UnreleasedHolds != 0 || s.StockMismatches != 0 || s.BadRecords != 0 || s.DeadLetters != 0 || s.Anomalies != 0
}

// CheckoutsPerSecond is Checkouts over Duration.
func (s Summary) CheckoutsPerSecond() float64 { return perSecond(s.Checkouts, s.Duration) }

// CommandsPerSecond is the reservation results over Duration: one per
// reservation command the inventory group handled.
func (s Summary) CommandsPerSecond() float64 { return perSecond(s.Results, s.Duration) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// String renders the summary on one line, the invariants first. A failed
// run ends with its seed and the command to replay it.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkouts=%d reserved_units=%d oversold=%d double_applied=%d leaked_holds=%d duration_s=%.1f",
		s.Checkouts, s.ReservedUnits, s.Oversold, s.DoubleApplied, s.LeakedHolds, s.Duration.Seconds())
	fmt.Fprintf(&b, " checkouts_per_s=%.0f commands_per_s=%.0f", s.CheckoutsPerSecond(), s.CommandsPerSecond())
	fmt.Fprintf(&b, " completed=%d failed=%d released=%d expired=%d open_reserved=%d no_status=%d late_commits=%d",
		s.Completed, s.FailedCheckouts, s.Released, s.Expired, s.OpenReserved, s.NoStatus, s.LateCommits)
	fmt.Fprintf(&b, " orders=%d late_orders=%d late_on_purpose=%d refused_on_time=%d refused_late=%d cart_events=%d duplicate_events=%d commands=%d results=%d",
		s.Orders, s.LateOrders, s.LateOnPurpose, s.RefusedOnTime, s.RefusedLate, s.CartEvents, s.DuplicateEvents, s.Commands, s.Results)
	fmt.Fprintf(&b, " unreleased_holds=%d stock_mismatches=%d bad_records=%d dead_letters=%d anomalies=%d restarts=%d startup_s=%.1f seed=%d",
		s.UnreleasedHolds, s.StockMismatches, s.BadRecords, s.DeadLetters, s.Anomalies, s.Restarts, s.Startup.Seconds(), s.Seed)
	if len(s.FailReasons) > 0 {
		b.WriteString(" fail_reasons=")
		for i, r := range sortedKeys(s.FailReasons) {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s:%d", r, s.FailReasons[r])
		}
	}
	if s.Failed() {
		fmt.Fprintf(&b, " FAILED seed=%d", s.Seed)
		if s.Replay != "" {
			fmt.Fprintf(&b, " replay: %s", s.Replay)
		}
		if s.DataDir != "" {
			fmt.Fprintf(&b, " data: %s", s.DataDir)
		}
	}
	return b.String()
}

// audit holds what a run produced and checks it.
type audit struct {
	ledger      shopsim.Ledger
	statuses    []statusRecord
	badStatuses []string
	results     resultsRead
	// before is the inventory table when the load stopped, at simulated
	// time beforeTime; after is the table once holds had time to expire,
	// at finalTime, the stream time of every partition.
	before, after         tableRead
	beforeTime, finalTime time.Time
	sim                   *shopsim.Sim
	// deadLetters describes every dead-lettered record.
	deadLetters []string

	sum *Summary
}

func (a *audit) problem(format string, args ...any) {
	if len(a.sum.Problems) < maxProblems {
		a.sum.Problems = append(a.sum.Problems, fmt.Sprintf(format, args...))
	}
}

// lineKey names one line of one checkout.
type lineKey struct{ checkout, sku string }

func (a *audit) run(sum *Summary) {
	a.sum = sum
	l := a.ledger
	sum.Checkouts = len(l.CheckoutIDs)
	sum.CartEvents, sum.DuplicateEvents = l.CartEvents, l.DuplicateEvents
	sum.Orders = len(l.Orders)
	for _, o := range l.Orders {
		if !o.OnTime {
			sum.LateOrders++
		}
		if o.LateOnPurpose {
			sum.LateOnPurpose++
		}
	}
	sum.Anomalies += l.Anomalies
	for _, n := range l.AnomalyNotes {
		a.problem("storefront: %s", n)
	}
	sum.BadRecords += len(a.badStatuses) + len(a.results.bad) + len(a.before.bad) + len(a.after.bad)
	for _, b := range append(append(append(a.badStatuses, a.results.bad...), a.before.bad...), a.after.bad...) {
		a.problem("bad record: %s", b)
	}

	sum.DeadLetters = len(a.deadLetters)
	for _, d := range a.deadLetters {
		a.problem("dead letter: %s", d)
	}

	latest := a.latestStatuses()
	late := a.lateLines(latest)
	a.oversold(late)
	byRequest := a.checkResults()
	a.checkTable(latest, byRequest)
}

// latestStatuses returns each checkout's latest status, counts them and
// the reserved units.
func (a *audit) latestStatuses() map[string]shopsim.CheckoutStatus {
	sum := a.sum
	started := make(map[string]bool, len(a.ledger.CheckoutIDs))
	for _, id := range a.ledger.CheckoutIDs {
		started[id] = true
	}
	latest := map[string]shopsim.CheckoutStatus{}
	reserved := map[string]bool{}
	for _, r := range a.statuses {
		st := r.status
		if !started[st.CheckoutID] {
			sum.Anomalies++
			a.problem("status for checkout %s, which the storefront never started", st.CheckoutID)
			continue
		}
		// All statuses of a checkout share its cart's key, hence one
		// partition: read order is their order.
		latest[st.CheckoutID] = st
		if st.Status == shopsim.StatusReserved && !reserved[st.CheckoutID] {
			reserved[st.CheckoutID] = true
			for _, ln := range st.Lines {
				sum.ReservedUnits += int64(ln.Qty)
			}
		}
	}
	for _, id := range a.ledger.CheckoutIDs {
		st, ok := latest[id]
		if !ok {
			sum.NoStatus++
			a.problem("checkout %s never got a status", id)
			continue
		}
		switch st.Status {
		case shopsim.StatusCompleted:
			sum.Completed++
		case shopsim.StatusFailed:
			sum.FailedCheckouts++
			if sum.FailReasons == nil {
				sum.FailReasons = map[string]int{}
			}
			sum.FailReasons[st.Reason]++
		case shopsim.StatusReleased:
			sum.Released++
		case shopsim.StatusExpired:
			sum.Expired++
		case shopsim.StatusReserved:
			sum.OpenReserved++
		}
	}
	return latest
}

// lateLines returns the lines the latest statuses report late_commit.
func (a *audit) lateLines(latest map[string]shopsim.CheckoutStatus) map[lineKey]bool {
	late := map[lineKey]bool{}
	for id, st := range latest {
		for _, ln := range st.Lines {
			if ln.Reason == shopsim.ReasonLateCommit {
				late[lineKey{id, ln.SKU}] = true
				a.sum.LateCommits++
			}
		}
	}
	return late
}

// oversold compares, per SKU, what was sold and promised on time with the
// stock the database ever had.
//
// An on-time completion the database refused means cartstream held units
// the database no longer had. Orders completed late may have taken them:
// their holds had expired, so cartstream could hand the units to someone
// else before it learnt of the sale (the risk DESIGN §6 reports as
// late_commit). So refusals count against the stock with everything else
// promised on time; and on a SKU where no accepted order had a late_commit
// line, every refused unit counts, since every sale there was covered by a
// hold.
func (a *audit) oversold(late map[lineKey]bool) {
	sum, l := a.sum, a.ledger
	promised := map[string]int64{}
	sold := map[string]int64{}
	lateUnits := map[string]int64{}
	refused := map[string]int64{}
	for _, o := range l.Orders {
		for _, ln := range o.Lines {
			if late[lineKey{o.CheckoutID, ln.SKU}] {
				lateUnits[ln.SKU] += int64(ln.Qty)
				if o.OnTime {
					sum.Anomalies++
					a.problem("order %s was completed on time but line %s was reported late_commit", o.OrderID, ln.SKU)
				}
				continue
			}
			sold[ln.SKU] += int64(ln.Qty)
			if o.OnTime {
				promised[ln.SKU] += int64(ln.Qty)
			}
		}
	}
	for _, o := range l.Refused {
		if !o.OnTime {
			sum.RefusedLate++
			continue
		}
		sum.RefusedOnTime++
		for _, ln := range o.Lines {
			promised[ln.SKU] += int64(ln.Qty)
			refused[ln.SKU] += int64(ln.Qty)
		}
	}
	for _, sku := range sortedKeys(l.Stock) {
		stock := l.Stock[sku]
		over := max(0, promised[sku]-stock, sold[sku]-stock)
		if lateUnits[sku] == 0 {
			over = max(over, refused[sku])
		}
		if over > 0 {
			sum.Oversold += over
			a.problem("%s: stock ever %d, promised on time %d (%d of them refused by the database), sold (not late_commit) %d, late_commit %d",
				sku, stock, promised[sku], refused[sku], sold[sku], lateUnits[sku])
		}
	}
}

// resultKey is one command's decision.
type resultKey struct{ status, reason string }

// requestResults is what the results say about one request.
type requestResults struct {
	reserved, committed int32 // qty of a reserved / committed result
	released            bool
}

// checkResults finds command ids answered differently and indexes the
// results by request.
func (a *audit) checkResults() map[string]*requestResults {
	sum := a.sum
	first := map[string]resultKey{}
	disagree := map[string]bool{}
	byRequest := map[string]*requestResults{}
	for _, r := range a.results.records {
		k := resultKey{r.Status, deref(r.Reason)}
		if f, ok := first[r.CommandID]; !ok {
			first[r.CommandID] = k
		} else if f != k && !disagree[r.CommandID] {
			disagree[r.CommandID] = true
			sum.DoubleApplied++
			a.problem("command %s answered %s/%s, then %s/%s", r.CommandID, f.status, f.reason, k.status, k.reason)
		}
		rr := byRequest[r.RequestID]
		if rr == nil {
			rr = &requestResults{}
			byRequest[r.RequestID] = rr
		}
		switch {
		case r.Op == schemas.OpReserve && r.Status == schemas.ResultReserved:
			rr.reserved = r.Qty
		case r.Op == schemas.OpCommit && r.Status == schemas.ResultCommitted:
			rr.committed = r.Qty
		case r.Op == schemas.OpRelease && r.Status == schemas.ResultReleased:
			rr.released = true
		}
	}
	sum.Commands = len(first)
	sum.Results = len(a.results.records)
	return byRequest
}

// checkTable audits the inventory table: stock against the database, every
// hold against the results, leaked holds after expiry, and holds left live
// for checkouts already decided when the load stopped.
func (a *audit) checkTable(latest map[string]shopsim.CheckoutStatus, byRequest map[string]*requestResults) {
	sum := a.sum
	ordered := map[string]bool{}
	for _, o := range a.ledger.Orders {
		ordered[o.CheckoutID] = true
	}
	for _, sku := range sortedKeys(a.after.states) {
		st := a.after.states[sku]
		if st == nil {
			continue
		}
		if db, ok := a.sim.Stock(sku); ok && (!st.Known || st.OnHand != int64(db.OnHand) || st.Version != db.Version) {
			sum.StockMismatches++
			a.problem("%s: inventory table has on_hand %d version %d known %v, the database %d version %d", sku, st.OnHand, st.Version, st.Known, db.OnHand, db.Version)
		}
		var leakedUnits int64
		for _, h := range st.Holds {
			rr := byRequest[h.RequestID]
			switch h.State {
			case reserve.Held:
				if rr == nil || rr.reserved != h.Qty || rr.released || rr.committed != 0 {
					sum.DoubleApplied++
					a.problem("%s: held hold %s (%d units) not justified by its results %+v", sku, h.RequestID, h.Qty, rr)
				}
				if !reserve.Expired(h.ExpiresAt, a.finalTime) {
					sum.LeakedHolds++
					leakedUnits += int64(h.Qty)
					a.problem("%s: hold %s (%d units) still held at %s, expires %s", sku, h.RequestID, h.Qty, a.finalTime.Format(time.RFC3339Nano), h.ExpiresAt.Format(time.RFC3339Nano))
				}
			case reserve.Committed:
				if rr == nil || rr.committed != h.Qty {
					sum.DoubleApplied++
					a.problem("%s: committed hold %s (%d units) not justified by its results %+v", sku, h.RequestID, h.Qty, rr)
				}
				if !(h.HasInventoryVersion && st.Version >= h.InventoryVersion) {
					sum.LeakedHolds++
					leakedUnits += int64(h.Qty)
					if ordered[h.CheckoutID] {
						a.problem("%s: committed hold %s (%d units) not reflected though the database shows its order (version %d, line version %d known %v)", sku, h.RequestID, h.Qty, st.Version, h.InventoryVersion, h.HasInventoryVersion)
					} else {
						a.problem("%s: committed hold %s (%d units) for a checkout the database has no order of", sku, h.RequestID, h.Qty)
					}
				}
			}
		}
		if st.Known {
			if got, want := reserve.Available(st, a.finalTime), st.OnHand-leakedUnits; got != want {
				sum.Anomalies++
				a.problem("%s: available %d, but on_hand %d less the holds that count, %d, is %d", sku, got, st.OnHand, leakedUnits, want)
			}
		}
	}
	for _, sku := range sortedKeys(a.before.states) {
		st := a.before.states[sku]
		if st == nil {
			continue
		}
		for _, h := range st.Holds {
			if h.State != reserve.Held || reserve.Expired(h.ExpiresAt, a.beforeTime) {
				continue
			}
			if s, ok := latest[h.CheckoutID]; !ok || s.Status != shopsim.StatusReserved {
				sum.UnreleasedHolds++
				a.problem("%s: hold %s (%d units) still held when the load stopped, but checkout %s is %s", sku, h.RequestID, h.Qty, h.CheckoutID, statusOf(s, ok))
			}
		}
	}
}

func statusOf(s shopsim.CheckoutStatus, ok bool) string {
	if !ok {
		return "without status"
	}
	if s.Reason != "" {
		return s.Status + "/" + s.Reason
	}
	return s.Status
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// statusChecker decodes checkout statuses and checks them against the
// published JSON Schema.
type statusChecker struct{ schema *jsonschema.Schema }

func newStatusChecker() (*statusChecker, error) {
	sch, err := schemas.CompileJSONSchema(schemas.JSONCheckoutStatus)
	if err != nil {
		return nil, fmt.Errorf("checkoutsim: %w", err)
	}
	return &statusChecker{schema: sch}, nil
}

func (c *statusChecker) decode(value []byte) (shopsim.CheckoutStatus, error) {
	var st shopsim.CheckoutStatus
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		return st, fmt.Errorf("checkout status is not JSON: %w", err)
	}
	if err := c.schema.Validate(doc); err != nil {
		return st, fmt.Errorf("checkout status %s does not follow its schema: %w", value, err)
	}
	if err := json.Unmarshal(value, &st); err != nil {
		return st, fmt.Errorf("checkout status %s: %w", value, err)
	}
	return st, nil
}

// tableRead is the inventory table's latest state per SKU.
type tableRead struct {
	states map[string]*reserve.State
	bad    []string
}

// readInventory reads the inventory group's table topic from the start and
// keeps the latest value of every SKU key.
func readInventory(ctx context.Context, addr, topic string) (tableRead, error) {
	latest := map[string][]byte{}
	err := readAll(ctx, addr, topic, func(r *kgo.Record) {
		if inventory.IsSKUKey(string(r.Key)) {
			latest[string(r.Key)] = r.Value
		}
	})
	if err != nil {
		return tableRead{}, err
	}
	out := tableRead{states: map[string]*reserve.State{}}
	for key, v := range latest {
		if v == nil {
			continue // deleted
		}
		st, _, err := inventory.DecodeSKUValue(v)
		if err != nil {
			out.bad = append(out.bad, fmt.Sprintf("%s key %q: %v", topic, key, err))
			continue
		}
		out.states[key] = st
	}
	return out, nil
}

// resultsRead is every record of cartstream.reservation-results.
type resultsRead struct {
	records []schemas.ReservationResult
	bad     []string
}

func readResults(ctx context.Context, addr, topic string) (resultsRead, error) {
	var out resultsRead
	err := readAll(ctx, addr, topic, func(r *kgo.Record) {
		var res schemas.ReservationResult
		if err := schemas.Unmarshal(r.Value, &res); err != nil {
			out.bad = append(out.bad, fmt.Sprintf("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err))
			return
		}
		if res.CartID != string(r.Key) {
			out.bad = append(out.bad, fmt.Sprintf("%s/%d@%d: result for cart %s under key %s", r.Topic, r.Partition, r.Offset, res.CartID, r.Key))
		}
		out.records = append(out.records, res)
	})
	return out, err
}

// readDeadLetters describes every record of the dead-letter topic by its
// headers (DESIGN §10).
func readDeadLetters(ctx context.Context, addr, topic string) ([]string, error) {
	var out []string
	err := readAll(ctx, addr, topic, func(r *kgo.Record) {
		var b strings.Builder
		fmt.Fprintf(&b, "key %q", r.Key)
		for _, h := range r.Headers {
			switch h.Key {
			case "cartstream.group", "cartstream.error.class", "cartstream.error.message", "cartstream.source.topic":
				fmt.Fprintf(&b, " %s=%q", strings.TrimPrefix(h.Key, "cartstream."), h.Value)
			}
		}
		out = append(out, b.String())
	})
	return out, err
}

// readAll reads a topic from the start up to its end offsets when called,
// in partition order. A compacted tail (the last offsets gone) is detected
// by a few empty polls.
func readAll(ctx context.Context, addr, topic string, fn func(*kgo.Record)) error {
	cl, err := kafkasec.Cluster{Brokers: []string{addr}}.NewClient(kgo.ClientID("checkoutsim-audit"),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return fmt.Errorf("checkoutsim: read %s: %w", topic, err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("checkoutsim: read %s: end offsets: %w", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	empty := 0
	for len(want) > 0 && empty < 3 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("checkoutsim: read %s: %w", topic, err)
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("checkoutsim: read %s: %w", topic, fe.Err)
			}
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			n++
			fn(r)
			if r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
		if n == 0 {
			empty++
		} else {
			empty = 0
		}
	}
	return nil
}
