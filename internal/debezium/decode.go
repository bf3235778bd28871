package debezium

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Decode decodes one Kafka record written by Debezium: key and value bytes as
// they are on the topic.
//
// The value may be nil or empty (a tombstone; the JSON text null counts as
// one too), JSON with or without the schema/payload wrapper (the wrapper's
// schema may be null), or Avro in the Confluent wire format. The key may be
// nil, JSON (wrapped or bare), Avro, or a plain string. What it holds is
// read by shape and, where a schema names it, by schema name:
//   - a change-event envelope (op c u d r → upsert/delete, t → truncate,
//     m → skip "logical_message");
//   - an ExtractNewRecordState row (upsert, or delete when __deleted is
//     "true" or __op is "d");
//   - transaction metadata (status BEGIN/END, id, event_count,
//     data_collections), a heartbeat ({"ts_ms": …} only), a schema-change
//     event: skip, with the reason;
//   - a JSON document as a string (the Outbox Event Router's payload):
//     upsert with the parsed object as Row.
//
// Errors wrap ErrDecode, ErrInvalid or ErrTransient (see their docs) and
// say which part of the record failed. Decode never panics on any input.
func (d *Decoder) Decode(ctx context.Context, key, value []byte) (Record, error) {
	rec := Record{Unavailable: []string{}}
	if err := d.decodeKey(ctx, key, &rec); err != nil {
		return Record{}, err
	}
	payload, t, tombstone, err := d.decodeValue(ctx, value)
	if err != nil {
		return Record{}, err
	}
	if tombstone {
		rec.Op, rec.Tombstone = OpDelete, true
		return rec, nil
	}
	obj, ok := payload.(map[string]any)
	if !ok {
		if s, isString := payload.(string); isString && (t == nil || t.kind == kString) {
			if doc, err := parseJSONDocument([]byte(s)); err == nil {
				if m, ok := doc.(map[string]any); ok {
					rec.Op, rec.Row = OpUpsert, Row(m)
					return rec, nil
				}
			}
		}
		return Record{}, fmt.Errorf("debezium: value: %s is not a change event: %w", describe(payload), ErrInvalid)
	}
	name := ""
	if t != nil {
		name = t.name
	}
	switch {
	case strings.HasSuffix(name, envelopeSuffix) || isEnvelope(obj):
		err = d.envelope(obj, t, &rec)
	case name == transactionValueName || isTransactionMetadata(obj):
		rec.Op, rec.SkipReason = OpSkip, SkipTransactionMetadata
		rec.TsMs, err = int64Field(obj, "ts_ms")
	case name == heartbeatName || isHeartbeat(obj):
		rec.Op, rec.SkipReason = OpSkip, SkipHeartbeat
		rec.TsMs, err = int64Field(obj, "ts_ms")
	case strings.HasSuffix(name, ".SchemaChangeValue") || isSchemaChange(obj):
		rec.Op, rec.SkipReason = OpSkip, SkipSchemaChange
		rec.Source, err = sourceBlock(obj)
		if err == nil {
			rec.TsMs, err = int64Field(obj, "ts_ms")
		}
	default:
		err = d.unwrapped(obj, t, &rec)
	}
	if err != nil {
		return Record{}, fmt.Errorf("debezium: value: %w", err)
	}
	return rec, nil
}

// DecodeOutbox decodes a record of the Outbox Event Router
// (io.debezium.transforms.outbox.EventRouter): the key is the aggregate id
// (KeyString, or Key for a struct key) and the value is the outbox payload
// column — a JSON document as a string (plain, or with an
// io.debezium.data.Json schema, in JSON or Avro) or already expanded
// (table.expand.json.payload=true). The result is OpUpsert with Row set to
// the payload object as parsed JSON (numbers as json.Number), or a tombstone
// for a nil value. A payload that is not a JSON object is ErrInvalid.
func (d *Decoder) DecodeOutbox(ctx context.Context, key, value []byte) (Record, error) {
	rec := Record{Unavailable: []string{}}
	if err := d.decodeKey(ctx, key, &rec); err != nil {
		return Record{}, err
	}
	payload, _, tombstone, err := d.decodeValue(ctx, value)
	if err != nil {
		return Record{}, err
	}
	if tombstone {
		rec.Op, rec.Tombstone = OpDelete, true
		return rec, nil
	}
	doc := payload
	if s, ok := payload.(string); ok {
		doc, err = parseJSONDocument([]byte(s))
		if err != nil {
			return Record{}, fmt.Errorf("debezium: outbox payload is not JSON: %v: %w", err, ErrDecode)
		}
	}
	m, ok := plainJSON(doc).(map[string]any)
	if !ok {
		return Record{}, fmt.Errorf("debezium: outbox payload is %s, not an object: %w", jsonKind(doc), ErrInvalid)
	}
	rec.Op, rec.Row = OpUpsert, Row(m)
	return rec, nil
}

// decodeValue reads the value's framing: its payload and schema (nil when
// none), or tombstone.
func (d *Decoder) decodeValue(ctx context.Context, b []byte) (payload any, t *typ, tombstone bool, err error) {
	if len(b) == 0 {
		return nil, nil, true, nil
	}
	switch b[0] {
	case confluentMagic:
		v, t, err := d.decodeAvro(ctx, "value", b)
		if err != nil {
			return nil, nil, false, err
		}
		return v, t, v == nil, nil
	case 1:
		return nil, nil, false, fmt.Errorf("debezium: value: Confluent magic byte 1 (schema GUIDs) is not supported: %w", ErrDecode)
	}
	if !looksLikeJSON(b) {
		return nil, nil, false, fmt.Errorf("debezium: value: unknown leading byte 0x%02x (neither JSON nor Confluent Avro): %w", b[0], ErrDecode)
	}
	v, err := parseJSONDocument(b)
	if err != nil {
		return nil, nil, false, fmt.Errorf("debezium: value: bad JSON: %v: %w", err, ErrDecode)
	}
	payload, t, err = unwrapJSON(v)
	if err != nil {
		return nil, nil, false, fmt.Errorf("debezium: value: %w", err)
	}
	return payload, t, payload == nil, nil
}

// unwrapJSON splits the JSON converter's {"schema", "payload"} wrapper
// (exactly those two fields, as JsonConverter writes and demands) and reads
// the schema; anything else is a bare payload.
func unwrapJSON(v any) (any, *typ, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return v, nil, nil
	}
	schema, hasSchema := m["schema"]
	payload, hasPayload := m["payload"]
	if !hasSchema || !hasPayload {
		return v, nil, nil
	}
	switch schema.(type) {
	case nil:
		return payload, nil, nil
	case map[string]any:
		t, err := connectSchema(schema, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("schema: %v: %w", err, ErrDecode)
		}
		return payload, t, nil
	}
	return v, nil, nil
}

func looksLikeJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return false
	}
	switch c := b[0]; {
	case c == '{' || c == '[' || c == '"' || c == '-' || c == 'n' || c == 't' || c == 'f':
		return true
	default:
		return c >= '0' && c <= '9'
	}
}

// decodeKey fills Key or KeyString.
func (d *Decoder) decodeKey(ctx context.Context, b []byte, rec *Record) error {
	if len(b) == 0 {
		return nil
	}
	var (
		v   any
		t   *typ
		err error
	)
	switch {
	case b[0] == confluentMagic:
		if v, t, err = d.decodeAvro(ctx, "key", b); err != nil {
			return err
		}
	case b[0] == 1:
		return fmt.Errorf("debezium: key: Confluent magic byte 1 (schema GUIDs) is not supported: %w", ErrDecode)
	default:
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		strict := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '"')
		doc, perr := parseJSONDocument(b)
		switch {
		case perr == nil:
			if v, t, err = unwrapJSON(doc); err != nil {
				return fmt.Errorf("debezium: key: %w", err)
			}
		case strict:
			return fmt.Errorf("debezium: key: bad JSON: %v: %w", perr, ErrDecode)
		case utf8.Valid(b):
			rec.KeyString = string(b) // a plain string key (StringConverter)
			return nil
		default:
			return fmt.Errorf("debezium: key: neither JSON, Avro nor text: %w", ErrDecode)
		}
	}
	switch k := v.(type) {
	case nil:
	case map[string]any:
		row, _, err := d.row(k, t, nil, false)
		if err != nil {
			return fmt.Errorf("debezium: key: %w", err)
		}
		rec.Key = row
	case string:
		rec.KeyString = k
	case json.Number:
		rec.KeyString = string(k)
	case bool, int32, int64:
		rec.KeyString = fmt.Sprint(k)
	default:
		return fmt.Errorf("debezium: key: %s is not a record key: %w", describe(v), ErrInvalid)
	}
	return nil
}

// isEnvelope recognises a change-event envelope by shape: an op letter with
// source or before/after beside it (logical messages have no before/after).
func isEnvelope(m map[string]any) bool {
	if _, ok := m["op"].(string); !ok {
		return false
	}
	_, hasSource := m["source"]
	_, hasAfter := m["after"]
	_, hasBefore := m["before"]
	return hasSource || hasAfter || hasBefore
}

// isTransactionMetadata recognises a BEGIN/END record of the transaction
// topic: status and id, nothing but its known fields, and event_count or
// data_collections present (null on BEGIN).
func isTransactionMetadata(m map[string]any) bool {
	status, _ := m["status"].(string)
	if status != "BEGIN" && status != "END" {
		return false
	}
	if _, ok := m["id"].(string); !ok {
		return false
	}
	for k := range m {
		switch k {
		case "status", "id", "event_count", "data_collections", "ts_ms":
		default:
			return false
		}
	}
	_, hasCount := m["event_count"]
	_, hasCollections := m["data_collections"]
	return hasCount || hasCollections
}

// isHeartbeat recognises io.debezium.connector.common.Heartbeat: {"ts_ms": n}.
func isHeartbeat(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	_, ok := intValue(m["ts_ms"])
	return ok
}

// isSchemaChange recognises a schema-change event: ddl with databaseName or
// tableChanges, and no op.
func isSchemaChange(m map[string]any) bool {
	_, hasDDL := m["ddl"]
	_, hasDB := m["databaseName"]
	_, hasChanges := m["tableChanges"]
	_, hasOp := m["op"]
	return hasDDL && (hasDB || hasChanges) && !hasOp
}

func (d *Decoder) envelope(obj map[string]any, t *typ, rec *Record) error {
	opText, ok := obj["op"].(string)
	if !ok {
		return fmt.Errorf("envelope without an op: %w", ErrInvalid)
	}
	op := strings.ToLower(opText) // Debezium's Operation.forCode does the same
	var err error
	if rec.Source, err = sourceBlock(obj); err != nil {
		return err
	}
	if rec.TsMs, err = int64Field(obj, "ts_ms"); err != nil {
		return err
	}
	if rec.TsUs, err = int64Field(obj, "ts_us"); err != nil {
		return err
	}
	if rec.TsNs, err = int64Field(obj, "ts_ns"); err != nil {
		return err
	}
	before, err := imageField(obj, "before")
	if err != nil {
		return err
	}
	after, err := imageField(obj, "after")
	if err != nil {
		return err
	}
	ph := d.placeholder()
	rec.SourceOp = op
	switch op {
	case "c", "r", "u":
		if after == nil {
			return fmt.Errorf("op %q without an after-image: %w", op, ErrInvalid)
		}
		row, unavailable, err := d.row(after, t.field("after"), ph, false)
		if err != nil {
			return fmt.Errorf("after: %w", err)
		}
		rec.Op, rec.Row = OpUpsert, row
		if unavailable != nil {
			rec.Unavailable = unavailable
		}
		if op == "u" && before != nil {
			if rec.Before, _, err = d.row(before, t.field("before"), ph, false); err != nil {
				return fmt.Errorf("before: %w", err)
			}
		}
	case "d":
		if after != nil {
			return fmt.Errorf("op \"d\" with an after-image: %w", ErrInvalid)
		}
		rec.Op = OpDelete
		if before != nil {
			row, unavailable, err := d.row(before, t.field("before"), ph, false)
			if err != nil {
				return fmt.Errorf("before: %w", err)
			}
			rec.Row = row
			if unavailable != nil {
				rec.Unavailable = unavailable
			}
		}
	case "t":
		rec.Op = OpTruncate
	case "m":
		rec.Op, rec.SkipReason = OpSkip, SkipLogicalMessage
	default:
		return fmt.Errorf("unknown op %q: %w", truncate(opText, 16), ErrInvalid)
	}
	return nil
}

// unwrapped reads an ExtractNewRecordState row: the after-image (or, in the
// rewrite delete modes, the before-image with __deleted "true") plus "__"
// metadata fields from add.fields.
func (d *Decoder) unwrapped(obj map[string]any, t *typ, rec *Record) error {
	for k, v := range obj {
		if strings.HasPrefix(k, "__") {
			if rec.Meta == nil {
				rec.Meta = map[string]any{}
			}
			rec.Meta[k] = plainJSON(v)
		}
	}
	deleted := false
	switch v := obj["__deleted"].(type) {
	case nil:
	case string:
		switch v {
		case "true":
			deleted = true
		case "false":
		default:
			return fmt.Errorf("__deleted is %q, want \"true\" or \"false\": %w", truncate(v, 16), ErrInvalid)
		}
	case bool:
		deleted = v
	default:
		return fmt.Errorf("__deleted is %s: %w", describe(v), ErrInvalid)
	}
	if v, present := obj["__op"]; present && v != nil {
		op, ok := v.(string)
		switch op = strings.ToLower(op); {
		case !ok:
			return fmt.Errorf("__op is %s: %w", describe(v), ErrInvalid)
		case op == "c" || op == "u" || op == "r" || op == "d":
			rec.SourceOp = op
		default:
			return fmt.Errorf("unknown __op %q: %w", truncate(op, 16), ErrInvalid)
		}
		if op == "d" {
			if v, ok := obj["__deleted"]; ok && v != nil && !deleted {
				return fmt.Errorf("__op \"d\" with __deleted false: %w", ErrInvalid)
			}
			deleted = true
		} else if deleted {
			return fmt.Errorf("__op %q with __deleted true: %w", op, ErrInvalid)
		}
	}
	var err error
	if rec.TsMs, err = int64Field(obj, "__ts_ms"); err != nil {
		return err
	}
	row, unavailable, err := d.row(obj, t, d.placeholder(), true)
	if err != nil {
		return err
	}
	rec.Op, rec.Row = OpUpsert, row
	if deleted {
		rec.Op = OpDelete
	}
	if unavailable != nil {
		rec.Unavailable = unavailable
	}
	return nil
}

// sourceBlock returns the envelope's source block as it came.
func sourceBlock(obj map[string]any) (map[string]any, error) {
	switch s := obj["source"].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return plainJSON(s).(map[string]any), nil
	default:
		return nil, fmt.Errorf("source is %s: %w", describe(s), ErrInvalid)
	}
}

// imageField returns before/after: an object, or nil when null or absent.
func imageField(obj map[string]any, name string) (map[string]any, error) {
	switch v := obj[name].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("%s is %s, not a row: %w", name, describe(v), ErrInvalid)
	}
}

// int64Field reads an optional int64 field exactly (json.Number is parsed
// as an integer, never through float64); 0 when absent or null.
func int64Field(obj map[string]any, name string) (int64, error) {
	v, ok := obj[name]
	if !ok || v == nil {
		return 0, nil
	}
	if n, ok := intValue(v); ok {
		return n, nil
	}
	return 0, fmt.Errorf("%s is %s, want an int64: %w", name, describe(v), ErrInvalid)
}
