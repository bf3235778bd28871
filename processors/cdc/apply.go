package cdc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lovoo/goka"

	"cartstream/internal/debezium"
	"cartstream/internal/dlq"
	"cartstream/internal/normalize"
	"cartstream/schemas"
)

// Emit is one output record: Value nil is a tombstone.
type Emit struct {
	Key   string
	Value any
}

// Result is what one source record does to the group's table and outputs.
type Result struct {
	// State is the new last row of the source key (JSON), nil to keep it.
	State []byte
	// DeleteState removes the source key's row.
	DeleteState bool
	Emits       []Emit
}

// Origin is where a source record came from and when its change happened.
type Origin struct {
	At     time.Time      // event time: when the change happened in the database
	Source schemas.Source // topic, partition and offset of the source record
}

// Apply decides what a decoded record does, given the source key's previous
// row (nil when none) and its origin. It is pure. Errors are classified for
// the dead-letter topic (validation, unsupported).
func Apply(k Kind, rec debezium.Record, prev []byte, o Origin) (Result, error) {
	switch rec.Op {
	case debezium.OpSkip:
		return Result{}, nil
	case debezium.OpTruncate:
		return Result{}, dlq.Unsupported(fmt.Errorf("cdc: truncate of the %s table: cartstream cannot tell which rows it removed; re-snapshot the table (docs/operations.md)", k))
	}
	if k == Outbox {
		return applyOutbox(rec, prev, o)
	}
	switch rec.Op {
	case debezium.OpDelete:
		return applyDelete(k, rec, prev, o)
	case debezium.OpUpsert:
		return applyUpsert(k, rec, prev, o)
	default:
		return Result{}, dlq.Validation(fmt.Errorf("cdc: unknown operation %q", rec.Op))
	}
}

// pkColumn is each table's primary key and business key.
func pkColumn(k Kind) string {
	if k == Promotions {
		return "id"
	}
	return "sku"
}

func applyUpsert(k Kind, rec debezium.Record, prev []byte, o Origin) (Result, error) {
	fields, err := merge(k, rec, prev)
	if err != nil {
		return Result{}, err
	}
	state, err := json.Marshal(fields)
	if err != nil {
		return Result{}, dlq.Processing(fmt.Errorf("cdc: encode row: %w", err))
	}
	switch k {
	case Products:
		p, err := normalize.Product(fields)
		if err != nil {
			return Result{}, dlq.Validation(fmt.Errorf("cdc: products row: %w", err))
		}
		p.EventTime, p.Source = o.At, o.Source
		return Result{State: state, Emits: []Emit{{Key: p.SKU, Value: &p}}}, nil
	case Promotions:
		p, err := normalize.Promotion(fields)
		if err != nil {
			return Result{}, dlq.Validation(fmt.Errorf("cdc: promotions row: %w", err))
		}
		p.EventTime, p.Source = o.At, o.Source
		return Result{State: state, Emits: []Emit{{Key: p.ID, Value: &p}}}, nil
	case Inventory:
		s, err := stockRow(fields)
		if err != nil {
			return Result{}, dlq.Validation(fmt.Errorf("cdc: inventory row: %w", err))
		}
		s.EventTime, s.Source = o.At, o.Source
		return Result{State: state, Emits: []Emit{{Key: s.SKU, Value: &s}}}, nil
	}
	return Result{}, fmt.Errorf("cdc: unknown kind %q", k)
}

func applyDelete(k Kind, rec debezium.Record, prev []byte, o Origin) (Result, error) {
	if rec.Tombstone && prev == nil {
		// The delete before this tombstone was applied already.
		return Result{DeleteState: true}, nil
	}
	key := businessKey(k, rec, prev)
	if key == "" {
		return Result{}, dlq.Validation(fmt.Errorf("cdc: delete without a %s in its key, row or previous row", pkColumn(k)))
	}
	res := Result{DeleteState: true}
	switch k {
	case Inventory:
		// Stock changes are a stream, not a table: say the row is gone,
		// with the deleted row's version when it is known, so the
		// inventory group can tell this delete from a replayed older one.
		res.Emits = []Emit{{Key: key, Value: &schemas.StockRow{SKU: key, Deleted: true, Version: deletedVersion(rec, prev),
			EventTime: o.At, Source: o.Source}}}
	default:
		res.Emits = []Emit{{Key: key, Value: nil}}
	}
	return res, nil
}

// deletedVersion is the version of a deleted inventory row: from its
// before-image (REPLICA IDENTITY FULL), else from the last row this group
// kept for the source key; 0 when neither has it.
func deletedVersion(rec debezium.Record, prev []byte) int64 {
	// Under REPLICA IDENTITY DEFAULT Debezium fills the before-image's
	// non-key columns with 0, so the larger of the two is the row's.
	v, _ := wholeNumber(rec.Row, "version", 0, math.MaxInt64)
	if prev != nil {
		d := json.NewDecoder(bytes.NewReader(prev))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) == nil {
			if p, err := wholeNumber(m, "version", 0, math.MaxInt64); err == nil {
				v = max(v, p)
			}
		}
	}
	return v
}

// businessKey finds the primary key of a deleted row: in its before-image,
// else its record key, else the previous row.
func businessKey(k Kind, rec debezium.Record, prev []byte) string {
	col := pkColumn(k)
	for _, m := range []map[string]any{rec.Row, rec.Key} {
		if s, ok := m[col].(string); ok && s != "" {
			return s
		}
	}
	if prev != nil {
		var m map[string]any
		if json.Unmarshal(prev, &m) == nil {
			if s, ok := m[col].(string); ok {
				return s
			}
		}
	}
	return ""
}

// reads reports whether the table's normalizer reads the column (DESIGN
// §4); an unavailable column it does not read is irrelevant.
func reads(k Kind, col string) bool {
	var cols []string
	switch k {
	case Products:
		cols = []string{"sku", "name", "category", "brand", "price", "currency", "active", "updated_at"}
	case Promotions:
		cols = []string{"id", "name", "active", "priority", "stacking", "coupon_code", "valid_from", "valid_until", "segments", "currency", "condition", "target", "effect", "max_discount"}
	case Inventory:
		cols = []string{"sku", "on_hand", "version", "updated_at"}
	}
	return slices.Contains(cols, col)
}

// merge renders the row as a JSON-able field map, filling unavailable
// (TOASTed, unchanged) columns from the previous row.
func merge(k Kind, rec debezium.Record, prev []byte) (map[string]any, error) {
	fields := make(map[string]any, len(rec.Row))
	for col, v := range rec.Row {
		fields[col] = plain(v)
	}
	if len(rec.Unavailable) == 0 {
		return fields, nil
	}
	var old map[string]any
	if prev != nil {
		d := json.NewDecoder(bytes.NewReader(prev))
		d.UseNumber()
		if err := d.Decode(&old); err != nil {
			return nil, dlq.Processing(fmt.Errorf("cdc: previous row is not JSON: %w", err))
		}
	}
	var missing []string
	for _, col := range rec.Unavailable {
		v, ok := old[col]
		if !ok && !reads(k, col) {
			continue // not a column cartstream reads
		}
		if !ok {
			missing = append(missing, col)
			continue
		}
		fields[col] = v
	}
	if len(missing) > 0 {
		return nil, dlq.Validation(fmt.Errorf("cdc: column(s) %s unavailable (unchanged TOAST value) and no previous row is known: re-snapshot the table or set REPLICA IDENTITY FULL", strings.Join(missing, ", ")))
	}
	return fields, nil
}

// plain turns a decoded row value into a JSON-friendly one that normalize
// accepts and that survives a JSON round trip exactly.
func plain(v any) any {
	switch x := v.(type) {
	case debezium.Decimal:
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case debezium.Date:
		return x.String()
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	default:
		return v
	}
}

func stockRow(f map[string]any) (schemas.StockRow, error) {
	var s schemas.StockRow
	sku, _ := f["sku"].(string)
	if sku == "" {
		return s, fmt.Errorf("%w: sku: required", normalize.ErrInvalid)
	}
	s.SKU = sku
	onHand, err := wholeNumber(f, "on_hand", math.MinInt32, math.MaxInt32)
	if err != nil {
		return s, err
	}
	s.OnHand = int32(onHand)
	if s.Version, err = wholeNumber(f, "version", 0, math.MaxInt64); err != nil {
		return s, err
	}
	if v, ok := f["updated_at"].(string); ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return s, fmt.Errorf("%w: updated_at: %q", normalize.ErrInvalid, v)
		}
		s.UpdatedAt = &t
	}
	return s, nil
}

func wholeNumber(f map[string]any, name string, lo, hi int64) (int64, error) {
	var n int64
	switch x := f[name].(type) {
	case int64:
		n = x
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			return 0, fmt.Errorf("%w: %s: want a whole number, got %s", normalize.ErrInvalid, name, x)
		}
		n = i
	case nil:
		return 0, fmt.Errorf("%w: %s: required", normalize.ErrInvalid, name)
	default:
		return 0, fmt.Errorf("%w: %s: want a whole number, got %T", normalize.ErrInvalid, name, x)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s: %d out of range", normalize.ErrInvalid, name, n)
	}
	return n, nil
}

// orderPlaced is the value cdc-outbox keeps per order id: the fan-out is
// done once, so the connector delivering an outbox record again changes
// nothing. It names the source record that fanned the order out: that
// record read again (after a crash, from the committed offset) fans out
// again, because its order lines may have died with the instance that
// wrote the state (DESIGN §9); the inventory group applies an order line
// twice as once.
type orderPlaced struct {
	State  string          `json:"state"`
	Source *schemas.Source `json:"source,omitempty"`
}

// fannedOut is orderPlaced.State.
const fannedOut = "fanned_out"

func applyOutbox(rec debezium.Record, prev []byte, o Origin) (Result, error) {
	if rec.Op == debezium.OpDelete {
		return Result{}, nil // the outbox row's deletion carries no event
	}
	if prev != nil {
		var placed orderPlaced
		if json.Unmarshal(prev, &placed) != nil || placed.Source == nil || *placed.Source != o.Source {
			return Result{}, nil // the connector's duplicate of an order already fanned out
		}
		// The same record read again: fan out again (State stays nil: the
		// stored value is already this one).
	}
	p := rec.Row
	orderID, _ := p["order_id"].(string)
	if orderID == "" {
		return Result{}, dlq.Validation(errors.New("cdc: outbox payload: order_id: required"))
	}
	if rec.KeyString != "" && rec.KeyString != orderID {
		return Result{}, dlq.Validation(fmt.Errorf("cdc: outbox payload order_id %q differs from the record key (aggregateid) %q", orderID, rec.KeyString))
	}
	checkoutID, _ := p["checkout_id"].(string)
	cartID, _ := p["cart_id"].(string)
	lines, ok := p["lines"].([]any)
	if !ok || len(lines) == 0 {
		return Result{}, dlq.Validation(fmt.Errorf("cdc: outbox order %s: lines: want a non-empty list", orderID))
	}
	res := Result{}
	if prev == nil {
		state, err := json.Marshal(orderPlaced{State: fannedOut, Source: &o.Source})
		if err != nil {
			return Result{}, fmt.Errorf("cdc: outbox order %s: %w", orderID, err)
		}
		res.State = state
	}
	for i, item := range lines {
		l, ok := item.(map[string]any)
		if !ok {
			return Result{}, dlq.Validation(fmt.Errorf("cdc: outbox order %s: lines[%d]: want an object", orderID, i))
		}
		sku, _ := l["sku"].(string)
		if sku == "" {
			return Result{}, dlq.Validation(fmt.Errorf("cdc: outbox order %s: lines[%d].sku: required", orderID, i))
		}
		qty, err := wholeNumber(l, "qty", 1, math.MaxInt32)
		if err != nil {
			return Result{}, dlq.Validation(fmt.Errorf("cdc: outbox order %s: lines[%d]: %w", orderID, i, err))
		}
		ver, err := wholeNumber(l, "inventory_version", 0, math.MaxInt64)
		if err != nil {
			return Result{}, dlq.Validation(fmt.Errorf("cdc: outbox order %s: lines[%d]: %w", orderID, i, err))
		}
		res.Emits = append(res.Emits, Emit{Key: sku, Value: &schemas.OrderLine{
			OrderID: orderID, CheckoutID: checkoutID, CartID: cartID, SKU: sku,
			Qty: int32(qty), InventoryVersion: ver, EventTime: o.At, Source: o.Source,
		}})
	}
	return res, nil
}

func outputCodec(k Kind) goka.Codec {
	switch k {
	case Products:
		return schemas.Codec[schemas.Product]{}
	case Promotions:
		return schemas.Codec[schemas.Promotion]{}
	case Inventory:
		return schemas.Codec[schemas.StockRow]{}
	default:
		return schemas.Codec[schemas.OrderLine]{}
	}
}
