package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/kafkasec"
	"cartstream/schemas"
	"cartstream/topology"
)

// The auditor checks a run from the outside. It trusts none of the code
// under test: it reads the output topics with its own franz-go client and
// decodes them itself (JSON with encoding/json, checked against the
// published JSON Schemas; Avro with the schemas package, the published
// record definitions), asks the HTTP API like any client, and takes the
// ground truth from loadgen's ledger, which it decodes into types of its
// own. It never imports the processors or decodes their state stores.

// ledger is `cartstream loadgen --ledger` (internal/loadgen.Ledger),
// decoded independently.
type ledger struct {
	Namespace   string `json:"namespace"`
	Seed        int64  `json:"seed"`
	Interrupted bool   `json:"interrupted"`
	SKUs        []struct {
		SKU       string `json:"sku"`
		StockEver int64  `json:"stock_ever"`
		Sold      int64  `json:"sold"`
		OnHand    int64  `json:"on_hand"`
		Version   int64  `json:"version"`
	} `json:"skus"`
	Carts           map[string]int `json:"carts"`
	CartEvents      int64          `json:"cart_events"`
	DuplicateEvents int            `json:"duplicate_events"`
	Checkouts       []string       `json:"checkouts"`
	Orders          []ledgerOrder  `json:"orders"`
	Refused         []ledgerOrder  `json:"refused"`
	BadRecords      []struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		Key       string `json:"key"`
		Kind      string `json:"kind"`
	} `json:"bad_records"`
}

type ledgerOrder struct {
	OrderID    string `json:"order_id"`
	CheckoutID string `json:"checkout_id"`
	CartID     string `json:"cart_id"`
	Lines      []struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	} `json:"lines"`
	OnTime bool `json:"on_time"`
	// RefusedSKU is the line the database refused (refused orders).
	RefusedSKU string `json:"refused_sku"`
}

func readLedger(path string) (*ledger, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chaos: ledger: %w", err)
	}
	var l ledger
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("chaos: ledger %s: %w", path, err)
	}
	return &l, nil
}

// checkoutStatus is a cartstream.checkouts value (DESIGN §6).
type checkoutStatus struct {
	CartID     string `json:"cart_id"`
	CheckoutID string `json:"checkout_id"`
	Status     string `json:"status"`
	Reason     string `json:"reason"`
	Lines      []struct {
		SKU    string `json:"sku"`
		Qty    int    `json:"qty"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"lines"`
}

// cartBody is GET /v1/carts/{id}, the fields the audit needs.
type cartBody struct {
	CartID  string `json:"cart_id"`
	Version int64  `json:"cart_version"`
}

// inventoryBody is GET /v1/inventory/{sku}.
type inventoryBody struct {
	SKU        string    `json:"sku"`
	Known      bool      `json:"known"`
	OnHand     int64     `json:"on_hand"`
	Version    int64     `json:"version"`
	Available  int64     `json:"available"`
	StreamTime time.Time `json:"stream_time"`
	Holds      []struct {
		RequestID string    `json:"request_id"`
		Qty       int64     `json:"qty"`
		State     string    `json:"state"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"holds"`
}

// auditor reads a finished run.
type auditor struct {
	brokers []string
	https   []string
	topo    *topology.Topology
	ledger  *ledger
	rep     *Report
	cl      *http.Client

	// statuses: the latest status of every checkout of the namespace.
	latest map[string]checkoutStatus
	// results by request id: what the inventory answered.
	byRequest map[string]*requestResults
}

// problem notes a violation (the first maxProblems are kept).
func (a *auditor) problem(format string, args ...any) {
	if len(a.rep.Problems) < maxProblems {
		a.rep.Problems = append(a.rep.Problems, fmt.Sprintf(format, args...))
	}
}

// maxProblems bounds the problems a report describes; the counts go on.
const maxProblems = 40

// audit runs every check and fills rep.
func (a *auditor) audit(ctx context.Context) error {
	l := a.ledger
	a.rep.Events = l.CartEvents
	a.rep.Carts, a.rep.Checkouts, a.rep.Orders = len(l.Carts), len(l.Checkouts), len(l.Orders)
	a.rep.BadInjected = len(l.BadRecords)
	if l.CartEvents == 0 {
		// A run without load passes every check; it must not pass.
		return fmt.Errorf("chaos: audit: loadgen's ledger holds no acknowledged cart event: there is nothing to audit")
	}
	if l.Interrupted {
		a.problem("loadgen was interrupted: the ledger covers only part of the load")
		a.rep.LostEvents++ // an audit of part of a run proves nothing
	}
	n := a.topo.Names
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{n.CartEvents, a.checkCartEventsTopic},
		{n.Checkouts, a.readCheckouts},
		{n.ReservationRes, a.checkResults},
		{n.Reservations, a.checkCommands},
		{n.DLQ, a.checkDLQ},
		{"carts (HTTP)", a.checkCarts},
		{"inventory (HTTP)", a.checkInventory},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("chaos: audit %s: %w", s.name, err)
		}
	}
	a.checkCheckouts()
	a.oversold()
	return nil
}

// checkCartEventsTopic compares the cart events the broker kept with the
// ones loadgen had acknowledged: fewer means the broker lost acknowledged
// records.
func (a *auditor) checkCartEventsTopic(ctx context.Context) error {
	prefix := a.ledger.Namespace + "-"
	ids := map[string]map[string]struct{}{}
	err := readAll(ctx, a.brokers, a.topo.Names.CartEvents, func(r *kgo.Record) {
		if !strings.HasPrefix(string(r.Key), prefix) {
			return
		}
		var e struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(r.Value, &e) != nil || e.EventID == "" {
			return // a bad record; checkDLQ accounts for those
		}
		cart := string(r.Key)
		if _, ok := a.ledger.Carts[cart]; !ok {
			return
		}
		if ids[cart] == nil {
			ids[cart] = map[string]struct{}{}
		}
		ids[cart][e.EventID] = struct{}{}
	})
	if err != nil {
		return err
	}
	for _, cart := range sortedKeys(a.ledger.Carts) {
		if got, want := len(ids[cart]), a.ledger.Carts[cart]; got < want {
			a.rep.BrokerLost += want - got
			a.problem("cart %s: the broker has %d of the %d event ids loadgen had acknowledged", cart, got, want)
		}
	}
	return nil
}

// readCheckouts keeps the latest status of each checkout and checks every
// status against the published schema.
func (a *auditor) readCheckouts(ctx context.Context) error {
	sch, err := schemas.CompileJSONSchema(schemas.JSONCheckoutStatus)
	if err != nil {
		return err
	}
	prefix := a.ledger.Namespace + "-"
	a.latest = map[string]checkoutStatus{}
	return readAll(ctx, a.brokers, a.topo.Names.Checkouts, func(r *kgo.Record) {
		if !strings.HasPrefix(string(r.Key), prefix) {
			return
		}
		st, err := decodeStatus(sch, r.Value)
		if err != nil {
			a.rep.BadOutputs++
			a.problem("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
			return
		}
		// A checkout's statuses share its cart's key, hence a
		// partition: read order is their order.
		a.latest[st.CheckoutID] = st
	})
}

func decodeStatus(sch *jsonschema.Schema, value []byte) (checkoutStatus, error) {
	var st checkoutStatus
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(value))
	if err != nil {
		return st, fmt.Errorf("checkout status is not JSON: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		return st, fmt.Errorf("checkout status %s does not follow its schema: %w", value, err)
	}
	if err := json.Unmarshal(value, &st); err != nil {
		return st, fmt.Errorf("checkout status %s: %w", value, err)
	}
	return st, nil
}

// requestResults is what the results say about one request (hold).
type requestResults struct {
	reserved, committed int32
	released            bool
}

// checkResults: every command id answered more than once (redelivery)
// must be answered alike.
func (a *auditor) checkResults(ctx context.Context) error {
	type answer struct {
		op, status, reason, request string
		qty                         int32
	}
	first := map[string]answer{}
	bad := map[string]bool{}
	a.byRequest = map[string]*requestResults{}
	prefix := a.ledger.Namespace + "-"
	err := readAll(ctx, a.brokers, a.topo.Names.ReservationRes, func(r *kgo.Record) {
		if !strings.HasPrefix(string(r.Key), prefix) {
			return
		}
		var res schemas.ReservationResult
		if err := schemas.Unmarshal(r.Value, &res); err != nil {
			a.rep.BadOutputs++
			a.problem("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
			return
		}
		a.rep.Results++
		got := answer{string(res.Op), res.Status, deref(res.Reason), res.RequestID, res.Qty}
		if f, ok := first[res.CommandID]; !ok {
			first[res.CommandID] = got
		} else if f != got && !bad[res.CommandID] {
			bad[res.CommandID] = true
			a.rep.DoubleApplied++
			a.problem("command %s answered %+v, then %+v", res.CommandID, f, got)
		}
		rr := a.byRequest[res.RequestID]
		if rr == nil {
			rr = &requestResults{}
			a.byRequest[res.RequestID] = rr
		}
		switch {
		case res.Op == schemas.OpReserve && res.Status == schemas.ResultReserved:
			rr.reserved = res.Qty
		case res.Op == schemas.OpCommit && res.Status == schemas.ResultCommitted:
			rr.committed = res.Qty
		case res.Op == schemas.OpRelease && res.Status == schemas.ResultReleased:
			rr.released = true
		}
	})
	a.rep.Commands = len(first)
	return err
}

// checkCommands: a command sent again after a crash must be the same
// command (same request, op, SKU and quantity).
func (a *auditor) checkCommands(ctx context.Context) error {
	type command struct {
		op, request, sku, cart string
		qty                    int32
	}
	first := map[string]command{}
	bad := map[string]bool{}
	prefix := a.ledger.Namespace + "-"
	return readAll(ctx, a.brokers, a.topo.Names.Reservations, func(r *kgo.Record) {
		if !strings.HasPrefix(string(r.Key), prefix) {
			return
		}
		var c schemas.ReservationCommand
		if err := schemas.Unmarshal(r.Value, &c); err != nil {
			a.rep.BadOutputs++
			a.problem("%s/%d@%d: %v", r.Topic, r.Partition, r.Offset, err)
			return
		}
		got := command{string(c.Op), c.RequestID, c.SKU, c.CartID, c.Qty}
		if f, ok := first[c.CommandID]; !ok {
			first[c.CommandID] = got
		} else if f != got && !bad[c.CommandID] {
			bad[c.CommandID] = true
			a.rep.DoubleApplied++
			a.problem("command id %s sent as %+v, then as %+v", c.CommandID, f, got)
		}
	})
}

// Headers of a dead letter (DESIGN §10).
const (
	headerSourceTopic     = "cartstream.source.topic"
	headerSourcePartition = "cartstream.source.partition"
	headerSourceOffset    = "cartstream.source.offset"
)

// checkDLQ: the dead-letter topic holds exactly the injected bad records
// (each at least once; redelivery after a crash may repeat one).
func (a *auditor) checkDLQ(ctx context.Context) error {
	type coords struct {
		topic     string
		partition int32
		offset    int64
	}
	injected := map[coords]bool{}
	for _, b := range a.ledger.BadRecords {
		injected[coords{b.Topic, b.Partition, b.Offset}] = false
	}
	err := readAll(ctx, a.brokers, a.topo.Names.DLQ, func(r *kgo.Record) {
		a.rep.DLQRecords++
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		p, perr := strconv.ParseInt(h[headerSourcePartition], 10, 32)
		o, oerr := strconv.ParseInt(h[headerSourceOffset], 10, 64)
		c := coords{h[headerSourceTopic], int32(p), o}
		seen, ok := injected[c]
		switch {
		case perr != nil || oerr != nil || !ok:
			a.rep.DLQUnexpected++
			a.problem("dead letter %s/%d@%d (key %q) is no record the run injected: %v", r.Topic, r.Partition, r.Offset, r.Key, h)
		case seen:
			a.rep.DLQRepeated++
		default:
			injected[c] = true
		}
	})
	if err != nil {
		return err
	}
	for c, seen := range injected {
		if !seen {
			a.rep.DLQMissing++
			a.problem("injected bad record %s/%d@%d was never dead-lettered", c.topic, c.partition, c.offset)
		}
	}
	return nil
}

// checkCarts asks for every cart: its version must count every distinct
// event id the broker acknowledged for it, no more, no less.
func (a *auditor) checkCarts(ctx context.Context) error {
	carts := sortedKeys(a.ledger.Carts)
	const workers = 4
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan string)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cart := range work {
				var body cartBody
				code, err := a.get(ctx, "/v1/carts/"+url.PathEscape(cart), &body)
				mu.Lock()
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case code == http.StatusNotFound:
					a.rep.LostEvents += a.ledger.Carts[cart]
					a.problem("cart %s: not found, though %d events were acknowledged", cart, a.ledger.Carts[cart])
				default:
					want := int64(a.ledger.Carts[cart])
					if body.Version < want {
						a.rep.LostEvents += int(want - body.Version)
						a.problem("cart %s: cart_version %d, but %d distinct events were acknowledged", cart, body.Version, want)
					} else if body.Version > want {
						a.rep.DoubleApplied += int(body.Version - want)
						a.problem("cart %s: cart_version %d counts more than the %d distinct events produced", cart, body.Version, want)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range carts {
		if ctx.Err() != nil {
			break
		}
		work <- c
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// checkInventory asks for every SKU once everything settled: the stock is
// the database's, no hold counts any more (every checkout ended or its
// holds expired), and available is on_hand less the holds that count.
func (a *auditor) checkInventory(ctx context.Context) error {
	for _, row := range a.ledger.SKUs {
		var b inventoryBody
		code, err := a.get(ctx, "/v1/inventory/"+url.PathEscape(row.SKU), &b)
		if err != nil {
			return err
		}
		if code == http.StatusNotFound || !b.Known {
			a.rep.StockMismatches++
			a.problem("%s: unknown to cartstream", row.SKU)
			continue
		}
		if b.OnHand != row.OnHand || b.Version != row.Version {
			a.rep.StockMismatches++
			a.problem("%s: on_hand %d version %d, the database %d version %d", row.SKU, b.OnHand, b.Version, row.OnHand, row.Version)
		}
		var counted int64
		for _, h := range b.Holds {
			counted += h.Qty
			a.rep.LeakedHolds++
			a.problem("%s: hold %s (%d units, %s, expires %s) still counts at stream time %s after the load stopped", row.SKU, h.RequestID, h.Qty, h.State,
				h.ExpiresAt.Format(time.RFC3339), b.StreamTime.Format(time.RFC3339))
			if !a.justified(h.RequestID, h.State, h.Qty) {
				a.rep.DoubleApplied++
				a.problem("%s: %s hold %s (%d units) is justified by no result %+v", row.SKU, h.State, h.RequestID, h.Qty, a.byRequest[h.RequestID])
			}
		}
		if b.Available != b.OnHand-counted {
			a.rep.DoubleApplied++
			a.problem("%s: available %d, but on_hand %d less the holds that count (%d) is %d", row.SKU, b.Available, b.OnHand, counted, b.OnHand-counted)
		}
	}
	return nil
}

// justified reports whether the results explain a hold.
func (a *auditor) justified(request, state string, qty int64) bool {
	rr := a.byRequest[request]
	if rr == nil {
		return false
	}
	switch state {
	case "held":
		return int64(rr.reserved) == qty && !rr.released && rr.committed == 0
	case "committed":
		return int64(rr.committed) == qty
	}
	return false
}

// checkCheckouts: every checkout started got a decided status, and every
// order the database accepted completed its checkout.
func (a *auditor) checkCheckouts() {
	for _, id := range a.ledger.Checkouts {
		if _, ok := a.latest[id]; !ok {
			a.rep.NoStatus++
			a.problem("checkout %s never got a status", id)
		}
	}
	for _, o := range a.ledger.Orders {
		st, ok := a.latest[o.CheckoutID]
		if ok && st.Status != "completed" {
			a.rep.Uncompleted++
			a.problem("order %s was placed, but checkout %s is %s/%s", o.OrderID, o.CheckoutID, st.Status, st.Reason)
		}
	}
}

// oversold compares, per SKU, the units promised on time with the stock
// the database ever had (DESIGN §6), as internal/checkoutsim does: units
// of on-time orders not reported late_commit, plus on-time completions the
// database refused (cartstream held units it did not have). An order
// completed late may have taken those units (its holds had expired), so
// on a SKU without late_commit lines every refused unit counts.
func (a *auditor) oversold() {
	late := map[[2]string]bool{} // checkout, sku
	for id, st := range a.latest {
		for _, ln := range st.Lines {
			if ln.Reason == "late_commit" {
				late[[2]string{id, ln.SKU}] = true
				a.rep.LateCommits++
			}
		}
	}
	promised, sold, lateUnits, refused := map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, o := range a.ledger.Orders {
		for _, ln := range o.Lines {
			if late[[2]string{o.CheckoutID, ln.SKU}] {
				lateUnits[ln.SKU] += int64(ln.Qty)
				continue
			}
			sold[ln.SKU] += int64(ln.Qty)
			if o.OnTime {
				promised[ln.SKU] += int64(ln.Qty)
			}
		}
	}
	for _, o := range a.ledger.Refused {
		if !o.OnTime {
			continue
		}
		for _, ln := range o.Lines {
			promised[ln.SKU] += int64(ln.Qty)
			// The database refuses the order at its first line short of
			// stock; the other lines had their units and broke no promise.
			if o.RefusedSKU == "" || o.RefusedSKU == ln.SKU {
				refused[ln.SKU] += int64(ln.Qty)
			}
		}
	}
	for _, row := range a.ledger.SKUs {
		sku, stock := row.SKU, row.StockEver
		over := max(0, promised[sku]-stock, sold[sku]-stock)
		if lateUnits[sku] == 0 {
			over = max(over, refused[sku])
		}
		if over > 0 {
			a.rep.Oversold += over
			a.problem("%s: stock ever %d, promised on time %d (%d refused by the database), sold (not late_commit) %d, late_commit %d",
				sku, stock, promised[sku], refused[sku], sold[sku], lateUnits[sku])
		}
	}
}

// get asks the instances for path like a client behind a load balancer:
// the next instance in turn, the others when it cannot answer, again after
// Retry-After, for up to a minute. It returns 200 (body decoded into v) or
// 404.
func (a *auditor) get(ctx context.Context, path string, v any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last string
	for attempt := 0; ; attempt++ {
		addr := a.https[attempt%len(a.https)]
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		resp, err := a.cl.Do(req)
		wait := 100 * time.Millisecond
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
				last = rerr.Error()
			case resp.StatusCode == http.StatusOK:
				if err := json.Unmarshal(body, v); err != nil {
					return 0, fmt.Errorf("GET %s: %w: %s", path, err, body)
				}
				return http.StatusOK, nil
			case resp.StatusCode == http.StatusNotFound:
				return http.StatusNotFound, nil
			default:
				last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
				if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && attempt%len(a.https) == len(a.https)-1 {
					wait = time.Duration(s) * time.Second
				}
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("GET %s: no instance answered (last: %s): %w", path, last, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// readAll reads topic from its start up to its end offsets when called, in
// order per partition.
func readAll(ctx context.Context, brokers []string, topic string, fn func(*kgo.Record)) error {
	cl, err := kafkasec.Cluster{Brokers: brokers}.NewClient(kgo.ClientID("cartstream-chaos-audit"),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("read %s: end offsets: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("read %s: end offsets: %w", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	// A compacted tail (the last offsets gone) shows as polls that bring
	// nothing.
	empty := 0
	for len(want) > 0 && empty < 5 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", topic, err)
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("read %s: %w", topic, fe.Err)
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
