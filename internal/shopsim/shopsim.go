// Package shopsim simulates the shop database of the design (§4) as Kafka
// sees it through Debezium: the change events Debezium 2.5's PostgreSQL
// connector writes for the products, promotions and inventory tables with the
// JSON converter (schemas.enable=true), and the records the Outbox Event
// Router writes for the order outbox.
//
// A Sim holds the tables' rows and a simulated clock, transaction id and WAL
// position. Every change goes through a method that behaves like the
// database (constraints included: stock never goes negative) and returns the
// Kafka records Debezium would emit for it, in Debezium 2.5's shapes and
// encodings (checked against real messages in testdata/): record keys,
// envelopes, source blocks, snapshot markers, tombstones, Decimal bytes,
// ZonedTimestamp and Json strings. Produce writes records to Kafka with
// franz-go.
//
// The connector configuration simulated (see deploy/postgres/schema.sql):
// topic.prefix=shop, plugin.name=pgoutput, REPLICA IDENTITY DEFAULT,
// table.include.list=public.products,public.promotions,public.inventory,public.outbox,
// default decimal.handling.mode (precise), time.precision.mode (adaptive),
// tombstones.on.delete (true), provide.transaction.metadata (false), and the
// outbox router on the outbox table with its defaults (route.by.field
// aggregatetype, route.topic.replacement outbox.event.${routedByValue}).
//
// The package must never read the wall clock or global randomness (a seed
// and Options.Start make every run identical), never hold package-level
// mutable state, and never decode records: decoding is the consumers' job,
// and a simulator that shared their code would hide their bugs.
package shopsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// Defaults of Options.
const (
	// DebeziumVersion is the connector version the records claim
	// (source.version) and whose format they follow.
	DebeziumVersion = "2.5.4.Final"
	// DefaultTopicPrefix is Debezium's topic.prefix: CDC topics are
	// <prefix>.public.<table> and source.name is the prefix.
	DefaultTopicPrefix = "shop"
	// DefaultOutboxTopic is where the Outbox Event Router sends order
	// events (route.topic.replacement outbox.event.${routedByValue} with
	// aggregatetype "order").
	DefaultOutboxTopic = "outbox.event.order"
	// DefaultDatabase is the database name in source.db.
	DefaultDatabase = "shop"
)

// Table names of the shop database.
const (
	TableProducts   = "products"
	TablePromotions = "promotions"
	TableInventory  = "inventory"
	TableOutbox     = "outbox"
)

// Outbox values the order service writes.
const (
	// OutboxAggregateType routes order events to the order topic.
	OutboxAggregateType = "order"
	// OutboxEventType is the type column of an order placement.
	OutboxEventType = "OrderPlaced"
)

// Stacking modes a promotion row may hold (a CHECK constraint in the schema).
const (
	StackingStackable = "stackable"
	StackingExclusive = "exclusive"
	StackingStop      = "stop"
)

// Simulated timing. The clock only moves when the simulation says so.
const (
	// defaultStartUnix is Options.Start when none is given:
	// 2026-11-20T08:00:00Z.
	defaultStartUnix = 1795161600
	// minTxGap and maxTxGap bound the simulated time between two
	// transactions.
	minTxGap = 200 * time.Millisecond
	maxTxGap = 2 * time.Second
	// minLag and maxLag bound the connector's lag: envelope ts_ms minus
	// the commit time in source.ts_ms.
	minLag = 20 * time.Millisecond
	maxLag = 400 * time.Millisecond
	// firstTxID and firstLSN are where the simulated WAL starts.
	firstTxID = 740
	firstLSN  = 26_843_720
)

// Sentinel errors. Operations wrap them with the offending row.
var (
	// ErrUnknownSKU: no product or inventory row has the SKU.
	ErrUnknownSKU = errors.New("unknown sku")
	// ErrUnknownPromotion: no promotion row has the id.
	ErrUnknownPromotion = errors.New("unknown promotion")
	// ErrDuplicateKey: an insert hit an existing primary key.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrInsufficientStock: an order would take on_hand below zero; the
	// database's CHECK (on_hand >= 0) rejects it and the whole
	// transaction rolls back.
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrInvalid: a value the schema's types or constraints reject.
	ErrInvalid = errors.New("invalid row")
)

// StockError is the refusal of an order line the stock cannot cover; it
// wraps ErrInsufficientStock and names the line's SKU, so a refusal is
// charged to the SKU that caused it and not to the order's other lines.
type StockError struct {
	SKU     string
	OnHand  int32
	Ordered int
}

func (e *StockError) Error() string {
	return fmt.Sprintf("%s: %d on hand, %d ordered: %v", e.SKU, e.OnHand, e.Ordered, ErrInsufficientStock)
}

// Unwrap makes errors.Is(err, ErrInsufficientStock) hold.
func (e *StockError) Unwrap() error { return ErrInsufficientStock }

// Options configure a Sim. The zero value is valid.
type Options struct {
	// Start is the simulated clock when the Sim is created. Default
	// 2026-11-20T08:00:00Z. It is truncated to microseconds, the
	// precision of timestamptz.
	Start time.Time
	// TopicPrefix is Debezium's topic.prefix. Default DefaultTopicPrefix.
	TopicPrefix string
	// OutboxTopic is the Outbox Event Router's topic for orders. Default
	// DefaultOutboxTopic.
	OutboxTopic string
	// Database is the name in source.db. Default DefaultDatabase.
	Database string
}

// Topics names the topics a Sim writes.
type Topics struct {
	Products   string // <prefix>.public.products
	Promotions string // <prefix>.public.promotions
	Inventory  string // <prefix>.public.inventory
	Outbox     string // the outbox router's order topic
}

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one Kafka record as Debezium (or its outbox router) produces it.
type Record struct {
	Topic string
	// Key is the JSON converter's key: a schema-wrapped struct of the
	// primary key for CDC topics, a schema-wrapped string for the outbox.
	Key []byte
	// Value is the schema-wrapped change event, or nil for a tombstone.
	Value []byte
	// Headers carries the outbox router's "id" header (the outbox row's
	// uuid); CDC records have none.
	Headers []Header
	// Timestamp is when the simulated connector produced the record: the
	// envelope's ts_ms (the router sets exactly that; Kafka Connect
	// stamps CDC records with the producer's clock, which the simulation
	// equates with ts_ms).
	Timestamp time.Time
}

// Product is a row of products.
type Product struct {
	SKU      string
	Name     string
	Category string
	Brand    string
	Price    Amount
	Currency string
	Active   bool
	// UpdatedAt is set by the Sim to its clock on every write.
	UpdatedAt time.Time
}

// Promotion is a row of promotions. Condition, Target and Effect are jsonb
// documents (objects); the Sim stores them as PostgreSQL would render them.
type Promotion struct {
	ID          string
	Name        string
	Active      bool
	Priority    int32
	Stacking    string
	CouponCode  *string
	ValidFrom   *time.Time
	ValidUntil  *time.Time
	Segments    []string
	Currency    string
	Condition   json.RawMessage
	Target      json.RawMessage
	Effect      json.RawMessage
	MaxDiscount *Amount
}

// Stock is a row of inventory.
type Stock struct {
	SKU    string
	OnHand int32
	// Version counts the row's writes: 1 on insert, +1 on every update.
	Version   int64
	UpdatedAt time.Time
}

// Line is one line of an order.
type Line struct {
	SKU string
	Qty int
}

// Sim is a simulated shop database and its Debezium connector. It is
// deterministic: the same seed, options and calls give the same records.
// A Sim is not safe for concurrent use.
type Sim struct {
	rng    *rand.Rand
	opts   Options
	topics Topics

	now           time.Time // database clock, microsecond precision
	lastEmit      int64     // last envelope ts_ms, so ts_ms never goes back
	txID          int64
	lsn           int64
	lastCommitLSN int64 // 0: none yet

	products   map[string]Product
	promotions map[string]Promotion
	inventory  map[string]Stock

	schemas schemas
}

// schemas holds the precomputed schema JSON of every table.
type schemas struct {
	productKey, productValue     json.RawMessage
	promotionKey, promotionValue json.RawMessage
	inventoryKey, inventoryValue json.RawMessage
}

// New returns a Sim with empty tables whose randomness derives from seed
// alone.
func New(seed int64, opts Options) *Sim {
	if opts.Start.IsZero() {
		opts.Start = time.Unix(defaultStartUnix, 0)
	}
	if opts.TopicPrefix == "" {
		opts.TopicPrefix = DefaultTopicPrefix
	}
	if opts.OutboxTopic == "" {
		opts.OutboxTopic = DefaultOutboxTopic
	}
	if opts.Database == "" {
		opts.Database = DefaultDatabase
	}
	p := opts.TopicPrefix
	s := &Sim{
		rng:  rand.New(rand.NewPCG(uint64(seed), 0x5eed_cafe_f00d_d00d)),
		opts: opts,
		topics: Topics{
			Products:   p + ".public." + TableProducts,
			Promotions: p + ".public." + TablePromotions,
			Inventory:  p + ".public." + TableInventory,
			Outbox:     opts.OutboxTopic,
		},
		now:        opts.Start.UTC().Truncate(time.Microsecond),
		txID:       firstTxID,
		lsn:        firstLSN,
		products:   map[string]Product{},
		promotions: map[string]Promotion{},
		inventory:  map[string]Stock{},
	}
	s.schemas = schemas{
		productKey:     mustMarshal(keySchema(p, TableProducts, colText("sku", false))),
		productValue:   mustMarshal(envelopeSchema(p, TableProducts, productColumns())),
		promotionKey:   mustMarshal(keySchema(p, TablePromotions, colText("id", false))),
		promotionValue: mustMarshal(envelopeSchema(p, TablePromotions, promotionColumns())),
		inventoryKey:   mustMarshal(keySchema(p, TableInventory, colText("sku", false))),
		inventoryValue: mustMarshal(envelopeSchema(p, TableInventory, inventoryColumns())),
	}
	return s
}

// Topics returns the topic names the Sim writes.
func (s *Sim) Topics() Topics { return s.topics }

// Now returns the simulated database clock.
func (s *Sim) Now() time.Time { return s.now }

// Advance moves the simulated clock forward by d (negative d is ignored).
func (s *Sim) Advance(d time.Duration) {
	if d > 0 {
		s.now = s.now.Add(d).Truncate(time.Microsecond)
	}
}

// Product returns the products row with the given SKU.
func (s *Sim) Product(sku string) (Product, bool) {
	p, ok := s.products[sku]
	return p, ok
}

// Promotion returns the promotions row with the given id.
func (s *Sim) Promotion(id string) (Promotion, bool) {
	p, ok := s.promotions[id]
	return clonePromotion(p), ok
}

// Stock returns the inventory row of the given SKU.
func (s *Sim) Stock(sku string) (Stock, bool) {
	st, ok := s.inventory[sku]
	return st, ok
}

// Products returns every products row, by SKU.
func (s *Sim) Products() []Product {
	out := make([]Product, 0, len(s.products))
	for _, k := range sortedKeys(s.products) {
		out = append(out, s.products[k])
	}
	return out
}

// Promotions returns every promotions row, by id.
func (s *Sim) Promotions() []Promotion {
	out := make([]Promotion, 0, len(s.promotions))
	for _, k := range sortedKeys(s.promotions) {
		out = append(out, clonePromotion(s.promotions[k]))
	}
	return out
}

// Inventory returns every inventory row, by SKU.
func (s *Sim) Inventory() []Stock {
	out := make([]Stock, 0, len(s.inventory))
	for _, k := range sortedKeys(s.inventory) {
		out = append(out, s.inventory[k])
	}
	return out
}

// Snapshot returns the records of an initial snapshot of the current
// tables, as the connector emits them on its first start: op "r" for every
// row, tables in table.include.list order (products, promotions,
// inventory; the outbox is empty), rows by primary key. source.snapshot is
// "first" on the very first record, "first_in_data_collection" and
// "last_in_data_collection" on a later table's first and an earlier
// table's last record, "last" on the very last record and "true" on the
// others, as Debezium 2.x marks them. All records share the snapshot
// transaction's txId, LSN and source.ts_ms (the transaction start).
//
// The Sim keeps no outbox rows, as if the order service deleted each one
// after inserting it; a real snapshot of an outbox that still holds rows
// would have the router publish every one of those orders again.
func (s *Sim) Snapshot() []Record {
	s.tick()
	s.txID++
	snapshotTs := s.now
	seq := fmt.Sprintf(`[null,"%d"]`, s.lsn)
	src := func(table, marker string) source {
		return source{
			Version: DebeziumVersion, Connector: "postgresql", Name: s.opts.TopicPrefix,
			TsMs: snapshotTs.UnixMilli(), Snapshot: marker, DB: s.opts.Database, Sequence: seq,
			Schema: "public", Table: table, TxID: s.txID, LSN: s.lsn,
		}
	}
	type snapRow struct {
		table string
		key   []byte
		value func(source, int64) []byte
	}
	var tables [][]snapRow
	var prods, promos, stocks []snapRow
	for _, sku := range sortedKeys(s.products) {
		p := s.products[sku]
		prods = append(prods, snapRow{TableProducts, s.productKey(sku), func(src source, ts int64) []byte {
			return s.productValue(nil, productPayload(p), src, "r", ts)
		}})
	}
	for _, id := range sortedKeys(s.promotions) {
		p := s.promotions[id]
		promos = append(promos, snapRow{TablePromotions, s.promotionKey(id), func(src source, ts int64) []byte {
			return s.promotionValue(nil, promotionPayload(p), src, "r", ts)
		}})
	}
	for _, sku := range sortedKeys(s.inventory) {
		st := s.inventory[sku]
		stocks = append(stocks, snapRow{TableInventory, s.inventoryKey(sku), func(src source, ts int64) []byte {
			return s.inventoryValue(nil, inventoryPayload(st), src, "r", ts)
		}})
	}
	// The outbox is the fourth captured table; it is empty, but it is the
	// last table, so no row of inventory is marked "last" by the table
	// scan: the final record is re-marked "last" when the snapshot
	// completes, as Debezium's buffering receiver does.
	tables = append(tables, prods, promos, stocks, nil)
	total := len(prods) + len(promos) + len(stocks)
	topicOf := map[string]string{TableProducts: s.topics.Products, TablePromotions: s.topics.Promotions, TableInventory: s.topics.Inventory}

	out := make([]Record, 0, total)
	emit := snapshotTs.Add(s.lag())
	for ti, rows := range tables {
		for ri, row := range rows {
			marker := snapshotMarker(ti == 0, ti == len(tables)-1, ri == 0, ri == len(rows)-1)
			if len(out) == total-1 {
				marker = "last"
			}
			// Rows stream out at a few per millisecond.
			if s.rng.IntN(4) == 0 {
				emit = emit.Add(time.Millisecond)
			}
			ts := s.emitMs(emit)
			out = append(out, Record{
				Topic: topicOf[row.table], Key: row.key, Value: row.value(src(row.table, marker), ts),
				Timestamp: time.UnixMilli(ts).UTC(),
			})
		}
	}
	return out
}

// snapshotMarker is Debezium 2.x's RelationalSnapshotChangeEventSource
// marker for one row.
func snapshotMarker(firstTable, lastTable, firstInTable, lastInTable bool) string {
	switch {
	case lastInTable && lastTable:
		return "last"
	case firstInTable && firstTable:
		return "first"
	case lastInTable:
		return "last_in_data_collection"
	case firstInTable:
		return "first_in_data_collection"
	default:
		return "true"
	}
}

// AddProduct inserts a product and its inventory row (version 1) in one
// transaction and returns the two "c" records.
func (s *Sim) AddProduct(p Product, onHand int32) ([]Record, error) {
	if err := validateProduct(p); err != nil {
		return nil, err
	}
	if _, ok := s.products[p.SKU]; ok {
		return nil, fmt.Errorf("shopsim: insert product %s: %w", p.SKU, ErrDuplicateKey)
	}
	if _, ok := s.inventory[p.SKU]; ok {
		return nil, fmt.Errorf("shopsim: insert inventory %s: %w", p.SKU, ErrDuplicateKey)
	}
	if onHand < 0 {
		return nil, fmt.Errorf("shopsim: insert inventory %s: on_hand %d violates CHECK (on_hand >= 0): %w", p.SKU, onHand, ErrInvalid)
	}
	tx := s.begin()
	p.UpdatedAt = tx.commit
	st := Stock{SKU: p.SKU, OnHand: onHand, Version: 1, UpdatedAt: tx.commit}
	s.products[p.SKU] = p
	s.inventory[p.SKU] = st
	recs := []Record{
		tx.productChange("c", p.SKU, nil, productPayload(p)),
		tx.inventoryChange("c", p.SKU, nil, inventoryPayload(st)),
	}
	tx.end()
	return recs, nil
}

// UpdateProduct replaces an existing products row (matched by SKU) and
// returns its "u" record, with before null as under REPLICA IDENTITY
// DEFAULT. UpdatedAt is set to the simulated clock.
func (s *Sim) UpdateProduct(p Product) (Record, error) {
	if err := validateProduct(p); err != nil {
		return Record{}, err
	}
	if _, ok := s.products[p.SKU]; !ok {
		return Record{}, fmt.Errorf("shopsim: update product %s: %w", p.SKU, ErrUnknownSKU)
	}
	tx := s.begin()
	p.UpdatedAt = tx.commit
	s.products[p.SKU] = p
	rec := tx.productChange("u", p.SKU, nil, productPayload(p))
	tx.end()
	return rec, nil
}

// DeleteProduct deletes a products row and returns its "d" record and the
// tombstone that follows it (same key, nil value). The inventory row stays,
// as the database has no foreign key between them. Under REPLICA IDENTITY
// DEFAULT the delete's before holds the key; Debezium fills the row's other
// NOT NULL columns with their type's fallback ("", 0, false, the epoch).
func (s *Sim) DeleteProduct(sku string) ([]Record, error) {
	if _, ok := s.products[sku]; !ok {
		return nil, fmt.Errorf("shopsim: delete product %s: %w", sku, ErrUnknownSKU)
	}
	tx := s.begin()
	delete(s.products, sku)
	before := productPayload(Product{SKU: sku})
	before.UpdatedAt = epochZonedTimestamp
	d := tx.productChange("d", sku, before, nil)
	tx.end()
	return []Record{d, {Topic: d.Topic, Key: d.Key, Timestamp: d.Timestamp}}, nil
}

// UpsertPromotion inserts or replaces a promotions row and returns its "c"
// or "u" record. Condition, Target and Effect must be JSON objects (Effect
// with a "type"); they are stored as jsonb renders them.
func (s *Sim) UpsertPromotion(p Promotion) (Record, error) {
	p, err := normalizePromotion(p)
	if err != nil {
		return Record{}, err
	}
	op := "c"
	if _, ok := s.promotions[p.ID]; ok {
		op = "u"
	}
	tx := s.begin()
	s.promotions[p.ID] = p
	rec := tx.promotionChange(op, p.ID, nil, promotionPayload(p))
	tx.end()
	return rec, nil
}

// DeletePromotion deletes a promotions row and returns its "d" record and
// the tombstone that follows it.
func (s *Sim) DeletePromotion(id string) ([]Record, error) {
	if _, ok := s.promotions[id]; !ok {
		return nil, fmt.Errorf("shopsim: delete promotion %s: %w", id, ErrUnknownPromotion)
	}
	tx := s.begin()
	delete(s.promotions, id)
	before := promotionPayload(Promotion{ID: id})
	d := tx.promotionChange("d", id, before, nil)
	tx.end()
	return []Record{d, {Topic: d.Topic, Key: d.Key, Timestamp: d.Timestamp}}, nil
}

// Restock adds qty (> 0) units to a SKU's on_hand, bumps its version and
// returns the inventory "u" record.
func (s *Sim) Restock(sku string, qty int) (Record, error) {
	st, ok := s.inventory[sku]
	if !ok {
		return Record{}, fmt.Errorf("shopsim: restock %s: %w", sku, ErrUnknownSKU)
	}
	if qty <= 0 || int64(st.OnHand)+int64(qty) > maxInt4 {
		return Record{}, fmt.Errorf("shopsim: restock %s by %d: quantity must be positive and keep on_hand an int: %w", sku, qty, ErrInvalid)
	}
	tx := s.begin()
	st.OnHand += int32(qty)
	st.Version++
	st.UpdatedAt = tx.commit
	s.inventory[sku] = st
	rec := tx.inventoryChange("u", sku, nil, inventoryPayload(st))
	tx.end()
	return rec, nil
}

// maxInt4 is the largest value of PostgreSQL's int.
const maxInt4 = 1<<31 - 1

// PlaceOrder runs the order service's transaction: for each line in order,
// UPDATE inventory SET on_hand = on_hand - qty, version = version + 1, then
// INSERT INTO outbox one OrderPlaced row. It returns the inventory "u"
// records (one per line, before null) and the outbox router's record, whose
// payload gives each line the row's version after that line's decrement.
//
// Like the database, it is all or nothing: an unknown SKU, a quantity
// below 1 or a line that would take on_hand below zero (the CHECK
// constraint; wrapped ErrInsufficientStock) fails the whole order and
// changes nothing. A SKU on several lines is decremented once per line.
//
// The two topics are not ordered relative to each other in Kafka; use
// Arrange to deliver the records in either order or twice.
func (s *Sim) PlaceOrder(orderID, checkoutID, cartID string, lines []Line) (inventory []Record, outbox Record, err error) {
	if orderID == "" {
		return nil, Record{}, fmt.Errorf("shopsim: place order: empty order id: %w", ErrInvalid)
	}
	if len(lines) == 0 {
		return nil, Record{}, fmt.Errorf("shopsim: place order %s: no lines: %w", orderID, ErrInvalid)
	}
	// Check every line against a scratch copy first: a failed statement
	// rolls the whole transaction back.
	after := map[string]Stock{}
	for i, l := range lines {
		st, ok := after[l.SKU]
		if !ok {
			if st, ok = s.inventory[l.SKU]; !ok {
				return nil, Record{}, fmt.Errorf("shopsim: place order %s line %d: %s: %w", orderID, i+1, l.SKU, ErrUnknownSKU)
			}
		}
		if l.Qty <= 0 || l.Qty > maxInt4 {
			return nil, Record{}, fmt.Errorf("shopsim: place order %s line %d: %s: quantity %d: %w", orderID, i+1, l.SKU, l.Qty, ErrInvalid)
		}
		if int64(st.OnHand) < int64(l.Qty) {
			return nil, Record{}, fmt.Errorf("shopsim: place order %s line %d: %w", orderID, i+1, &StockError{SKU: l.SKU, OnHand: st.OnHand, Ordered: l.Qty})
		}
		st.OnHand -= int32(l.Qty)
		st.Version++
		after[l.SKU] = st
	}

	tx := s.begin()
	type payloadLine struct {
		SKU     string `json:"sku"`
		Qty     int    `json:"qty"`
		Version int64  `json:"inventory_version"`
	}
	pl := make([]payloadLine, 0, len(lines))
	for _, l := range lines {
		st := s.inventory[l.SKU]
		st.OnHand -= int32(l.Qty)
		st.Version++
		st.UpdatedAt = tx.commit
		s.inventory[l.SKU] = st
		inventory = append(inventory, tx.inventoryChange("u", l.SKU, nil, inventoryPayload(st)))
		pl = append(pl, payloadLine{SKU: l.SKU, Qty: l.Qty, Version: st.Version})
	}
	doc := mustMarshal(struct {
		OrderID    string        `json:"order_id"`
		CheckoutID string        `json:"checkout_id"`
		CartID     string        `json:"cart_id"`
		Lines      []payloadLine `json:"lines"`
	}{orderID, checkoutID, cartID, pl})
	payload, err := jsonbText(doc)
	if err != nil {
		return nil, Record{}, fmt.Errorf("shopsim: place order %s: %w", orderID, err)
	}
	outbox = tx.outboxEvent(s.uuid(), orderID, payload)
	tx.end()
	return inventory, outbox, nil
}

// Delivery says how one order's records reach Kafka.
type Delivery struct {
	// OutboxFirst puts the outbox record before the inventory changes.
	// Debezium writes them in commit order, but they are on different
	// topics, so a consumer may see either first.
	OutboxFirst bool
	// Duplicate repeats the whole sequence, as Kafka Connect does when a
	// task restarts before committing its offsets. The repeated records
	// are byte-identical to the first ones.
	Duplicate bool
}

// Arrange returns one order's records (from PlaceOrder) in the order d
// describes.
func Arrange(inventory []Record, outbox Record, d Delivery) []Record {
	out := make([]Record, 0, 2*(len(inventory)+1))
	if d.OutboxFirst {
		out = append(out, outbox)
		out = append(out, inventory...)
	} else {
		out = append(out, inventory...)
		out = append(out, outbox)
	}
	if d.Duplicate {
		out = append(out, out...)
	}
	return out
}

// tx is one simulated database transaction: its records share txId and
// commit time and take consecutive WAL positions.
type tx struct {
	s      *Sim
	commit time.Time
	emit   time.Time
}

// begin starts a transaction after some simulated time has passed.
func (s *Sim) begin() *tx {
	s.tick()
	s.txID++
	return &tx{s: s, commit: s.now, emit: s.now.Add(s.lag())}
}

// end writes the commit record to the WAL.
func (t *tx) end() {
	t.s.lsn += 48 + int64(t.s.rng.IntN(16))*8
	t.s.lastCommitLSN = t.s.lsn
}

// next advances the WAL past one change and returns its source block and
// envelope ts_ms.
func (t *tx) next(table string) (source, int64) {
	s := t.s
	s.lsn += 64 + int64(s.rng.IntN(40))*8
	last := "null"
	if s.lastCommitLSN != 0 {
		last = strconv.Quote(strconv.FormatInt(s.lastCommitLSN, 10))
	}
	src := source{
		Version: DebeziumVersion, Connector: "postgresql", Name: s.opts.TopicPrefix,
		TsMs: t.commit.UnixMilli(), Snapshot: "false", DB: s.opts.Database,
		Sequence: fmt.Sprintf(`[%s,"%d"]`, last, s.lsn),
		Schema:   "public", Table: table, TxID: s.txID, LSN: s.lsn,
	}
	t.emit = t.emit.Add(time.Duration(s.rng.IntN(3)) * time.Millisecond)
	return src, s.emitMs(t.emit)
}

func (t *tx) productChange(op, sku string, before, after *productRow) Record {
	src, ts := t.next(TableProducts)
	return Record{Topic: t.s.topics.Products, Key: t.s.productKey(sku), Value: t.s.productValue(before, after, src, op, ts), Timestamp: time.UnixMilli(ts).UTC()}
}

func (t *tx) promotionChange(op, id string, before, after *promotionRow) Record {
	src, ts := t.next(TablePromotions)
	return Record{Topic: t.s.topics.Promotions, Key: t.s.promotionKey(id), Value: t.s.promotionValue(before, after, src, op, ts), Timestamp: time.UnixMilli(ts).UTC()}
}

func (t *tx) inventoryChange(op, sku string, before, after *inventoryRow) Record {
	src, ts := t.next(TableInventory)
	return Record{Topic: t.s.topics.Inventory, Key: t.s.inventoryKey(sku), Value: t.s.inventoryValue(before, after, src, op, ts), Timestamp: time.UnixMilli(ts).UTC()}
}

// outboxEvent is the router's record for an inserted outbox row: key the
// aggregateid as a string schema, value the jsonb payload as an
// io.debezium.data.Json string (payload is nullable in the table, hence
// optional), header "id" the row's uuid, timestamp the envelope's ts_ms.
func (t *tx) outboxEvent(id, aggregateID, payload string) Record {
	_, ts := t.next(TableOutbox)
	key := mustMarshal(struct {
		Schema  connectSchema `json:"schema"`
		Payload string        `json:"payload"`
	}{connectSchema{Type: "string"}, aggregateID})
	value := mustMarshal(struct {
		Schema  connectSchema `json:"schema"`
		Payload string        `json:"payload"`
	}{connectSchema{Type: "string", Optional: true, Name: jsonSchemaName, Version: 1}, payload})
	return Record{
		Topic: t.s.topics.Outbox, Key: key, Value: value,
		Headers:   []Header{{Key: "id", Value: []byte(id)}},
		Timestamp: time.UnixMilli(ts).UTC(),
	}
}

// tick lets simulated time pass between two transactions.
func (s *Sim) tick() {
	gap := minTxGap + time.Duration(s.rng.Int64N(int64(maxTxGap-minTxGap)))
	s.now = s.now.Add(gap).Truncate(time.Microsecond)
}

// lag is the connector's delay after a commit.
func (s *Sim) lag() time.Duration {
	return minLag + time.Duration(s.rng.Int64N(int64(maxLag-minLag)))
}

// emitMs returns t's ts_ms, never before an earlier record's.
func (s *Sim) emitMs(t time.Time) int64 {
	ms := max(t.UnixMilli(), s.lastEmit)
	s.lastEmit = ms
	return ms
}

// uuid returns a random (version 4) uuid from the Sim's generator.
func (s *Sim) uuid() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := s.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Row payloads: the after/before structs, in column order.

type productRow struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Category  string `json:"category"`
	Brand     string `json:"brand"`
	Price     []byte `json:"price"`
	Currency  string `json:"currency"`
	Active    bool   `json:"active"`
	UpdatedAt string `json:"updated_at"`
}

func productColumns() []connectSchema {
	return []connectSchema{
		colText("sku", false),
		colText("name", false),
		colText("category", false),
		colText("brand", false),
		colMoney("price", false),
		colText("currency", false),
		colBool("active"),
		colTimestamptz("updated_at", false),
	}
}

func productPayload(p Product) *productRow {
	return &productRow{
		SKU: p.SKU, Name: p.Name, Category: p.Category, Brand: p.Brand,
		Price: p.Price.Decimal(), Currency: p.Currency, Active: p.Active,
		UpdatedAt: zonedTimestamp(p.UpdatedAt),
	}
}

type promotionRow struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Active      bool     `json:"active"`
	Priority    int32    `json:"priority"`
	Stacking    string   `json:"stacking"`
	CouponCode  *string  `json:"coupon_code"`
	ValidFrom   *string  `json:"valid_from"`
	ValidUntil  *string  `json:"valid_until"`
	Segments    []string `json:"segments"`
	Currency    string   `json:"currency"`
	Condition   string   `json:"condition"`
	Target      string   `json:"target"`
	Effect      string   `json:"effect"`
	MaxDiscount []byte   `json:"max_discount"`
}

func promotionColumns() []connectSchema {
	return []connectSchema{
		colText("id", false),
		colText("name", false),
		colBool("active"),
		colInt4("priority"),
		colText("stacking", false),
		colText("coupon_code", true),
		colTimestamptz("valid_from", true),
		colTimestamptz("valid_until", true),
		colTextArray("segments"),
		colText("currency", false),
		colJSONB("condition"),
		colJSONB("target"),
		colJSONB("effect"),
		colMoney("max_discount", true),
	}
}

// promotionPayload renders a normalized row. A zero Promotion (the key-only
// before of a delete) gets Debezium's fallbacks: "" for text and jsonb, 0,
// false, an empty array, null for the nullable columns.
func promotionPayload(p Promotion) *promotionRow {
	r := &promotionRow{
		ID: p.ID, Name: p.Name, Active: p.Active, Priority: p.Priority, Stacking: p.Stacking,
		CouponCode: p.CouponCode, Segments: p.Segments, Currency: p.Currency,
		Condition: string(p.Condition), Target: string(p.Target), Effect: string(p.Effect),
	}
	if r.Segments == nil {
		r.Segments = []string{}
	}
	if p.ValidFrom != nil {
		v := zonedTimestamp(*p.ValidFrom)
		r.ValidFrom = &v
	}
	if p.ValidUntil != nil {
		v := zonedTimestamp(*p.ValidUntil)
		r.ValidUntil = &v
	}
	if p.MaxDiscount != nil {
		r.MaxDiscount = p.MaxDiscount.Decimal()
	}
	return r
}

type inventoryRow struct {
	SKU       string `json:"sku"`
	OnHand    int32  `json:"on_hand"`
	Version   int64  `json:"version"`
	UpdatedAt string `json:"updated_at"`
}

func inventoryColumns() []connectSchema {
	return []connectSchema{
		colText("sku", false),
		colInt4("on_hand"),
		colInt8("version"),
		colTimestamptz("updated_at", false),
	}
}

func inventoryPayload(st Stock) *inventoryRow {
	return &inventoryRow{SKU: st.SKU, OnHand: st.OnHand, Version: st.Version, UpdatedAt: zonedTimestamp(st.UpdatedAt)}
}

// Keys and values.

func (s *Sim) productKey(sku string) []byte {
	return mustMarshal(wrapped{s.schemas.productKey, struct {
		SKU string `json:"sku"`
	}{sku}})
}

func (s *Sim) promotionKey(id string) []byte {
	return mustMarshal(wrapped{s.schemas.promotionKey, struct {
		ID string `json:"id"`
	}{id}})
}

func (s *Sim) inventoryKey(sku string) []byte {
	return mustMarshal(wrapped{s.schemas.inventoryKey, struct {
		SKU string `json:"sku"`
	}{sku}})
}

// value renders an envelope; nil rows become JSON null.
func value[T any](schema json.RawMessage, before, after *T, src source, op string, ts int64) []byte {
	env := envelope{Source: src, Op: op, TsMs: ts}
	if before != nil {
		env.Before = before
	}
	if after != nil {
		env.After = after
	}
	return mustMarshal(wrapped{schema, env})
}

func (s *Sim) productValue(before, after *productRow, src source, op string, ts int64) []byte {
	return value(s.schemas.productValue, before, after, src, op, ts)
}

func (s *Sim) promotionValue(before, after *promotionRow, src source, op string, ts int64) []byte {
	return value(s.schemas.promotionValue, before, after, src, op, ts)
}

func (s *Sim) inventoryValue(before, after *inventoryRow, src source, op string, ts int64) []byte {
	return value(s.schemas.inventoryValue, before, after, src, op, ts)
}

// Validation mirrors the schema's types and constraints.

// validCurrency mirrors CHECK (currency ~ '^[A-Z]{3}$').
func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range len(c) {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

func validateProduct(p Product) error {
	switch {
	case p.SKU == "":
		return fmt.Errorf("shopsim: product: empty sku: %w", ErrInvalid)
	case p.Price < 0 || p.Price > maxAmount:
		return fmt.Errorf("shopsim: product %s: price %s outside numeric(12,2) >= 0: %w", p.SKU, p.Price, ErrInvalid)
	case !validCurrency(p.Currency):
		return fmt.Errorf("shopsim: product %s: currency %q is not three capital letters: %w", p.SKU, p.Currency, ErrInvalid)
	}
	return nil
}

// normalizePromotion validates p and renders its jsonb columns as stored.
func normalizePromotion(p Promotion) (Promotion, error) {
	fail := func(format string, args ...any) (Promotion, error) {
		return Promotion{}, fmt.Errorf("shopsim: promotion %s: %s: %w", p.ID, fmt.Sprintf(format, args...), ErrInvalid)
	}
	switch {
	case p.ID == "":
		return fail("empty id")
	case p.Stacking != StackingStackable && p.Stacking != StackingExclusive && p.Stacking != StackingStop:
		return fail("stacking %q", p.Stacking)
	case !validCurrency(p.Currency):
		return fail("currency %q", p.Currency)
	case p.ValidFrom != nil && p.ValidUntil != nil && !p.ValidFrom.Before(*p.ValidUntil):
		return fail("valid_from not before valid_until")
	case p.MaxDiscount != nil && (*p.MaxDiscount < 0 || *p.MaxDiscount > maxAmount):
		return fail("max_discount %s", *p.MaxDiscount)
	}
	docs := []struct {
		name string
		doc  *json.RawMessage
	}{{"condition", &p.Condition}, {"target", &p.Target}, {"effect", &p.Effect}}
	for _, d := range docs {
		name, doc := d.name, d.doc
		if len(*doc) == 0 {
			*doc = json.RawMessage("{}")
		}
		var obj map[string]any
		if err := json.Unmarshal(*doc, &obj); err != nil || obj == nil {
			return fail("%s is not a JSON object", name)
		}
		if name == "effect" {
			if _, ok := obj["type"].(string); !ok {
				return fail("effect has no string type")
			}
		}
		text, err := jsonbText(*doc)
		if err != nil {
			return fail("%s: %v", name, err)
		}
		*doc = json.RawMessage(text)
	}
	if p.ValidFrom != nil {
		v := p.ValidFrom.UTC().Truncate(time.Microsecond)
		p.ValidFrom = &v
	}
	if p.ValidUntil != nil {
		v := p.ValidUntil.UTC().Truncate(time.Microsecond)
		p.ValidUntil = &v
	}
	return clonePromotion(p), nil
}

// clonePromotion copies the reference fields so callers cannot change
// stored rows.
func clonePromotion(p Promotion) Promotion {
	if p.CouponCode != nil {
		v := *p.CouponCode
		p.CouponCode = &v
	}
	if p.ValidFrom != nil {
		v := *p.ValidFrom
		p.ValidFrom = &v
	}
	if p.ValidUntil != nil {
		v := *p.ValidUntil
		p.ValidUntil = &v
	}
	if p.MaxDiscount != nil {
		v := *p.MaxDiscount
		p.MaxDiscount = &v
	}
	if p.Segments != nil {
		p.Segments = append([]string{}, p.Segments...)
	}
	p.Condition = append(json.RawMessage(nil), p.Condition...)
	p.Target = append(json.RawMessage(nil), p.Target...)
	p.Effect = append(json.RawMessage(nil), p.Effect...)
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
