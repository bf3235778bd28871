package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/shopsim"
)

// Ledger is what a run did, for an audit that trusts none of cartstream's
// code (`cartstream chaos`): what the simulated database sold and the
// stock it ever had, every cart's acknowledged events and every bad record
// injected. `cartstream loadgen --ledger FILE` writes it as JSON at the
// end; the JSON names are the file's format.
type Ledger struct {
	Namespace string `json:"namespace"`
	Seed      int64  `json:"seed"`
	// Interrupted: the load ended early; the ledger covers what was
	// acknowledged.
	Interrupted bool `json:"interrupted"`
	// SKUs are the namespace's inventory rows as the database has them at
	// the end, with the stock each ever had and the units sold.
	SKUs []LedgerSKU `json:"skus"`
	// Carts maps every cart id to the number of distinct event ids the
	// broker acknowledged for it: the cart_version cartstream must reach.
	Carts map[string]int `json:"carts"`
	// CartEvents counts acknowledged cart events, DuplicateEvents the
	// redeliveries among them (same event id, same bytes).
	CartEvents      int64 `json:"cart_events"`
	DuplicateEvents int   `json:"duplicate_events"`
	// Checkouts are the checkout ids started, in order.
	Checkouts []string `json:"checkouts"`
	// Orders the database accepted; Refused the ones it turned down for
	// want of stock.
	Orders  []LedgerOrder `json:"orders"`
	Refused []LedgerOrder `json:"refused"`
	// BadRecords are the records injected to be dead-lettered (Config.
	// BadEvery), with where the broker put them.
	BadRecords []BadRecord `json:"bad_records"`
}

// LedgerSKU is one inventory row of the simulated database.
type LedgerSKU struct {
	SKU string `json:"sku"`
	// StockEver is every unit the row ever had: its first on_hand plus
	// every restock.
	StockEver int64 `json:"stock_ever"`
	// Sold is the units on accepted orders.
	Sold int64 `json:"sold"`
	// OnHand and Version are the row at the end.
	OnHand  int64 `json:"on_hand"`
	Version int64 `json:"version"`
}

// LedgerOrder is an order the storefront placed.
type LedgerOrder struct {
	OrderID    string       `json:"order_id"`
	CheckoutID string       `json:"checkout_id"`
	CartID     string       `json:"cart_id"`
	Lines      []LedgerLine `json:"lines"`
	// OnTime: every record of the completion carried a timestamp before
	// its holds could expire, so the holds must have been live.
	OnTime bool `json:"on_time"`
	// LateOnPurpose: the storefront waited past the hold TTL on purpose.
	LateOnPurpose bool `json:"late_on_purpose"`
	// Reason is the database's refusal, for refused orders, and
	// RefusedSKU the line's SKU it refused.
	Reason     string `json:"reason,omitempty"`
	RefusedSKU string `json:"refused_sku,omitempty"`
}

// LedgerLine is one line of an order.
type LedgerLine struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// BadRecord is a record injected to be dead-lettered, where the broker
// put it (the DLQ's cartstream.source.* headers name the same place).
type BadRecord struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	// Kind says what is wrong with it (badKinds).
	Kind string `json:"kind"`
}

// badKind is one way a cart event can be bad; each is dead-lettered by the
// carts group (DESIGN §10) and never creates a cart.
type badKind struct {
	name  string
	value func(key string) []byte
}

var badKinds = []badKind{
	{"not_json", func(key string) []byte {
		return fmt.Appendf(nil, `{"event_id":"%s-1","cart_id":"%s","type":"item_a`, key, key)
	}},
	{"unknown_type", func(key string) []byte {
		return fmt.Appendf(nil, `{"event_id":"%s-1","cart_id":"%s","type":"teleported","currency":"USD"}`, key, key)
	}},
	{"qty_out_of_range", func(key string) []byte {
		return fmt.Appendf(nil, `{"event_id":"%s-1","cart_id":"%s","type":"item_added","sku":"X","qty":0,"currency":"USD"}`, key, key)
	}},
	{"key_mismatch", func(key string) []byte {
		return fmt.Appendf(nil, `{"event_id":"%s-1","cart_id":"%s-other","type":"cart_cleared","currency":"USD"}`, key, key)
	}},
}

// ledgerBook keeps the acknowledged side of a ledger: acknowledgements
// arrive on the client's goroutines.
type ledgerBook struct {
	mu    sync.Mutex
	carts map[string]map[string]struct{} // cart id → event ids acknowledged
	bad   []BadRecord
}

func newLedgerBook() *ledgerBook {
	return &ledgerBook{carts: map[string]map[string]struct{}{}}
}

// cartEvent books an acknowledged cart event (nil book: no ledger kept).
// The events are the driver's own JSON, so only the ids are read back.
func (b *ledgerBook) cartEvent(rec *kgo.Record) {
	if b == nil {
		return
	}
	var ids struct {
		EventID string `json:"event_id"`
	}
	_ = json.Unmarshal(rec.Value, &ids)
	b.mu.Lock()
	defer b.mu.Unlock()
	cart := string(rec.Key)
	if b.carts[cart] == nil {
		b.carts[cart] = map[string]struct{}{}
	}
	b.carts[cart][ids.EventID] = struct{}{}
}

// sendBad produces the n-th bad record (0-based) and books it once
// acknowledged. Bad records are not cart events: they count for neither
// the rate nor Stats.Events.
func (s *sender) sendBad(ctx context.Context, namespace string, n int) {
	kind := badKinds[n%len(badKinds)]
	key := fmt.Sprintf("%s-bad-%06d", namespace, n+1)
	rec := &kgo.Record{Topic: s.cartTopic, Key: []byte(key), Value: kind.value(key)}
	s.cl.Produce(ctx, rec, func(rec *kgo.Record, err error) {
		if err != nil {
			s.fail(fmt.Errorf("loadgen: produce a bad record to %s: %w", rec.Topic, err))
			return
		}
		b := s.book
		if b == nil {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.bad = append(b.bad, BadRecord{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: key, Kind: kind.name})
	})
}

// ledger assembles the run's ledger from the driver's account, the
// database's rows and the acknowledgements.
func (r *run) ledger(interrupted bool) *Ledger {
	dl := r.driver.Ledger()
	l := &Ledger{
		Namespace: r.cfg.Namespace, Seed: r.cfg.Seed, Interrupted: interrupted,
		Carts:           map[string]int{},
		CartEvents:      r.snd.events.Load(),
		DuplicateEvents: dl.DuplicateEvents,
		Checkouts:       slices.Clone(dl.CheckoutIDs),
		Orders:          []LedgerOrder{}, Refused: []LedgerOrder{}, BadRecords: []BadRecord{},
	}
	for _, sku := range r.skus {
		st, _ := r.sim.Stock(sku)
		l.SKUs = append(l.SKUs, LedgerSKU{SKU: sku, StockEver: dl.Stock[sku], Sold: dl.Sold[sku], OnHand: int64(st.OnHand), Version: st.Version})
	}
	for _, o := range dl.Orders {
		l.Orders = append(l.Orders, LedgerOrder{OrderID: o.OrderID, CheckoutID: o.CheckoutID, CartID: o.CartID, Lines: ledgerLines(o.Lines), OnTime: o.OnTime, LateOnPurpose: o.LateOnPurpose})
	}
	for _, o := range dl.Refused {
		l.Refused = append(l.Refused, LedgerOrder{OrderID: o.OrderID, CheckoutID: o.CheckoutID, CartID: o.CartID, Lines: ledgerLines(o.Lines), OnTime: o.OnTime, LateOnPurpose: o.LateOnPurpose, Reason: o.Reason, RefusedSKU: o.SKU})
	}
	b := r.snd.book
	b.mu.Lock()
	defer b.mu.Unlock()
	for cart, ids := range b.carts {
		l.Carts[cart] = len(ids)
	}
	l.BadRecords = append(l.BadRecords, b.bad...)
	return l
}

func ledgerLines(ls []shopsim.Line) []LedgerLine {
	out := make([]LedgerLine, len(ls))
	for i, ln := range ls {
		out[i] = LedgerLine{SKU: ln.SKU, Qty: ln.Qty}
	}
	return out
}
