// Package debezium decodes Debezium change events — a Kafka record's key and
// value bytes — into an operation and a typed row.
//
// It owns the knowledge of what Debezium really emits (see the project's
// debezium-format notes): the JSON converter with and without the
// schema/payload wrapper, Avro in the Confluent wire format resolved through a
// schema registry, the full envelope and the ExtractNewRecordState (unwrapped)
// shape, tombstones, truncates, the unavailable-value (TOAST) placeholder,
// Debezium's logical types, and the records that are not rows at all
// (transaction metadata, heartbeats, logical messages, schema changes).
//
// It is a pure decoder: it never talks to Kafka, never imports goka, keeps no
// package-level mutable state and never turns a decimal into a float. The only
// I/O it causes is the schema lookup through the SchemaRegistry the caller
// supplies. Business rules (which table a record belongs to, what a product
// is, whether a truncate is acceptable) belong to the callers.
//
// Errors are classified for the caller without string matching:
// errors.Is(err, ErrDecode) for bytes that cannot be decoded, ErrInvalid for
// records that decode but break the envelope contract (both are poison: dead
// letter them), and ErrTransient for schema-registry unavailability (retry,
// never dead-letter).
package debezium

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
)

// Op is what a record means for the table it describes.
type Op string

const (
	// OpUpsert: the row (Record.Row) now exists with these values. Debezium
	// ops c (create), u (update) and r (snapshot read), and unwrapped rows
	// without __deleted="true".
	OpUpsert Op = "upsert"
	// OpDelete: the row identified by the key is gone. Debezium op d (Row is
	// the before-image Debezium sent, possibly only the key columns or nil),
	// unwrapped rows with __deleted="true", and tombstones (Tombstone set,
	// Row nil).
	OpDelete Op = "delete"
	// OpTruncate: every row of the table is gone (Debezium op t).
	OpTruncate Op = "truncate"
	// OpSkip: the record is valid but describes no row; SkipReason says what
	// it is.
	OpSkip Op = "skip"
)

// Reasons a record is skipped (Record.SkipReason when Op is OpSkip).
const (
	SkipTransactionMetadata = "transaction_metadata" // BEGIN/END record of the transaction topic
	SkipHeartbeat           = "heartbeat"            // {"ts_ms":…} on the heartbeat topic
	SkipLogicalMessage      = "logical_message"      // op m (pg_logical_emit_message)
	SkipSchemaChange        = "schema_change"        // a schema-change event (ddl, tableChanges)
)

// Record is one decoded change event.
type Record struct {
	Op         Op
	SkipReason string // "transaction_metadata" | "heartbeat" | "logical_message" | "schema_change" when Op == OpSkip
	// SourceOp is Debezium's op letter (c u d r t m; from __op for unwrapped
	// records), "" when unknown (tombstones, unwrapped rows without __op).
	SourceOp string
	// Tombstone is set when the value was nil (or empty, or the JSON text
	// null): Kafka's delete marker for the key. Op is then OpDelete.
	Tombstone bool
	// Key is the key's payload object, its values typed like Row values; nil
	// when the key is absent, null, or not an object.
	Key map[string]any
	// KeyString is the key when it is a plain string (the Outbox Event
	// Router's aggregateid) or another scalar (its JSON text); "" otherwise.
	KeyString string
	// Row is the after-image; the before-image for deletes; nil for
	// tombstones, truncates and skips. Columns whose value Debezium did not
	// have (the unavailable-value placeholder) are left out and named in
	// Unavailable.
	Row Row
	// Before is the before-image Debezium sent with an update (PostgreSQL
	// REPLICA IDENTITY FULL, MySQL); nil otherwise, including the very common
	// "before": null. Unavailable columns are left out of it too.
	Before Row
	// Unavailable lists, sorted, the columns of Row whose value is unknown
	// (unchanged TOASTed columns). Never nil.
	Unavailable []string
	// Source is Debezium's source block as it came (numbers as json.Number,
	// Avro unions unwrapped); nil where absent.
	Source map[string]any
	// Meta holds the ExtractNewRecordState metadata fields of an unwrapped
	// record (names beginning with "__": __deleted, __op, __table,
	// __source_ts_ms, …) as they came; nil otherwise. They are not in Row.
	Meta map[string]any
	// TsMs, TsUs and TsNs are the envelope's ts_ms/ts_us/ts_ns (the time the
	// connector processed the event), 0 where absent. TsNs is exact: it is
	// never read through a float64.
	TsMs, TsUs, TsNs int64
}

// Snapshot returns the source block's snapshot marker as a string: "true",
// "first", "first_in_data_collection", "last_in_data_collection", "last",
// "incremental" or "false" — or any other value Debezium sends, never checked
// against the schema's allowed list. The legacy boolean becomes "true" or
// "false"; an absent marker is "false".
func (r Record) Snapshot() string {
	switch v := r.Source["snapshot"].(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
	}
	return "false"
}

// Row is one table row: column name → value. Values are:
//   - nil (SQL NULL), string, bool, int64 (all integer columns);
//   - float64 (float/double columns only — never decimals; a numeric column
//     under decimal.handling.mode=double has a double schema, so it arrives
//     as float64: turn it into a Decimal with DecimalFromFloat);
//   - Decimal (numeric/decimal columns in every encoding, and bare JSON
//     numbers with a fraction or beyond int64, which carry no schema to say
//     they are floats);
//   - time.Time in UTC (timestamps of any precision; timestamps without a
//     zone are their wall-clock value read as UTC), Date, TimeOfDay;
//   - []byte (binary columns with a schema saying so);
//   - []any (arrays), map[string]any (structs, maps);
//   - for io.debezium.data.Json columns the parsed JSON value
//     (map[string]any / []any / json.Number / string / bool / nil).
//
// Values of other logical types keep their wire form (Uuid and Enum strings,
// MicroDuration int64, ZonedTime strings; PostgreSQL's "infinity" timestamps
// as the string Debezium sent).
type Row map[string]any

// Errors the decoder returns, always wrapped with context
// (fmt.Errorf("debezium: …: %w", ErrDecode)).
var (
	// ErrDecode: the bytes cannot be decoded — bad JSON, bad Avro, an unknown
	// magic byte, a schema id the registry does not know, a Decimal whose
	// base64 is broken. Poison: the record will never decode.
	ErrDecode = errors.New("undecodable")
	// ErrInvalid: the bytes decode but break the envelope contract — an
	// unknown op, no after-image on a create, a value whose type contradicts
	// its schema. Poison as well.
	ErrInvalid = errors.New("invalid")
	// ErrTransient: the decoder could not reach what it needs (the schema
	// registry, or the caller's context ended). The record itself may be
	// fine: retry with backoff, never dead-letter.
	ErrTransient = errors.New("transient")
)

// SchemaRegistry resolves a Confluent schema id to its Avro schema JSON.
//
// Implementations must wrap ErrTransient (errors.Is(err, ErrTransient)) in
// every error that may go away by retrying — network errors, timeouts, 5xx.
// The decoder reports any other error as ErrDecode, so the record is
// dead-lettered. Context errors are treated as transient either way.
// Results for an id must never change (Confluent ids are immutable): the
// decoder caches compiled schemas by id forever.
type SchemaRegistry interface {
	Schema(ctx context.Context, id int) (string, error)
}

// Column describes a column's Debezium logical type for records that carry
// no schema (JSON with schemas.enable=false, or "schema": null), where the
// type cannot be read from the message. See Decoder.Columns.
type Column struct {
	// Type is a logical type name: TypeDecimal, TypeVariableScaleDecimal,
	// TypeJSON, TypeZonedTimestamp, TypeTimestamp, TypeMicroTimestamp,
	// TypeNanoTimestamp, TypeDate, TypeTime, TypeMicroTime, TypeNanoTime.
	Type string
	// Scale is the column's scale for TypeDecimal (numeric(12,2) → 2).
	Scale int32
}

// Logical (semantic) type names as Debezium and Kafka Connect write them in
// schemas, usable in Column.Type.
const (
	TypeDecimal              = "org.apache.kafka.connect.data.Decimal"
	TypeVariableScaleDecimal = "io.debezium.data.VariableScaleDecimal"
	TypeJSON                 = "io.debezium.data.Json"
	TypeZonedTimestamp       = "io.debezium.time.ZonedTimestamp"
	TypeTimestamp            = "io.debezium.time.Timestamp"
	TypeMicroTimestamp       = "io.debezium.time.MicroTimestamp"
	TypeNanoTimestamp        = "io.debezium.time.NanoTimestamp"
	TypeDate                 = "io.debezium.time.Date"
	TypeTime                 = "io.debezium.time.Time"
	TypeMicroTime            = "io.debezium.time.MicroTime"
	TypeNanoTime             = "io.debezium.time.NanoTime"

	connectTimestamp = "org.apache.kafka.connect.data.Timestamp"
	connectDate      = "org.apache.kafka.connect.data.Date"
	connectTime      = "org.apache.kafka.connect.data.Time"

	envelopeSuffix       = ".Envelope"
	transactionValueName = "io.debezium.connector.common.TransactionMetadataValue"
	heartbeatName        = "io.debezium.connector.common.Heartbeat"
)

// DefaultUnavailablePlaceholder is Debezium's default
// unavailable.value.placeholder (formerly toasted.value.placeholder).
const DefaultUnavailablePlaceholder = "__debezium_unavailable_value"

// Decoder turns Debezium records into Records. The zero value decodes JSON;
// set Registry to decode Avro.
//
// A Decoder is safe for concurrent use. It caches compiled Avro schemas by
// id, so it must not be copied after first use and Registry must not be
// changed then.
type Decoder struct {
	// Registry resolves Avro schema ids. It may be nil: Avro input then fails
	// with ErrDecode.
	Registry SchemaRegistry
	// Columns gives the logical types of columns (by name, for every table the
	// decoder sees) in records that carry no schema. Without it such records
	// keep Debezium's wire forms: a Decimal stays its base64 string, a
	// timestamp its number or ISO string, a Json column its string. Columns
	// is never consulted when the record has a schema.
	Columns map[string]Column
	// UnavailablePlaceholder is the connector's unavailable.value.placeholder;
	// "" means DefaultUnavailablePlaceholder. A "hex:" prefix gives the bytes
	// in hex, as in Debezium's setting.
	UnavailablePlaceholder string

	mu     sync.Mutex
	codecs map[int]*avroSchema // schema id → compiled schema; filled on demand, kept forever
	ph     *placeholder
}

// jsonNumber is the type JSON numbers decode to everywhere in this package.
type jsonNumber = json.Number
