// Package schemas owns the wire formats of cartstream's records (DESIGN §3):
// the Avro schemas of the internal records, their single-object encoding,
// typed Go structs and goka codecs for them, and the JSON Schemas of the
// external JSON records.
//
// It must never know about Kafka, goka processors, promotions semantics or
// the database: it turns values into bytes and back, and checks that bytes
// have the published shape. It holds no mutable package-level state: the
// schema registry is built once from embedded files and only read.
//
// # Internal records: Avro single-object encoding
//
// Product, Promotion, StockRow, OrderLine, ReservationCommand and
// ReservationResult (schemas/avro/*.avsc, namespace cartstream) travel as
// Avro single-object encoded values, as the Avro specification defines them:
//
//	bytes 0–1   0xC3 0x01                 marker, format version 1
//	bytes 2–9   fingerprint               CRC-64-AVRO (Rabin) of the writer
//	                                      schema's Parsing Canonical Form,
//	                                      little-endian
//	bytes 10–   body                      the Avro binary encoding of the record
//
// The fingerprint names the writer schema, so no schema registry is needed:
// every build embeds the schemas it reads. The fingerprints are computed in
// this package from the specification's canonical form (goavro v2.15.0 keeps
// logical types in its canonical form and so gets every schema here wrong;
// see canonical.go). They are pinned by TestFingerprintsArePinned.
//
// Encoding and decoding of the current schemas are hand-written per record
// (records_avro.go) for speed: no maps, no reflection, one allocation per
// decoded record for all its strings, none per encoded record into a reused
// buffer. TestCodecsMatchGoavro checks every record against goavro byte for
// byte, and the fuzz targets check the decoders against goavro on arbitrary
// input.
//
// Every internal record carries event_time (DESIGN §2.1): the event time of
// what it derives from, in milliseconds. Consumers use it, never the Kafka
// record timestamp. CDC-derived records also carry source, the topic,
// partition and offset of the input record. Money is a long of minor units
// with the currency's code beside it (money.Amount in Go). Nullable fields
// are ["null", T] unions with default null, pointers in Go.
//
// # Decoding a record
//
// With the typed API:
//
//	var p schemas.Product
//	if err := schemas.Unmarshal(value, &p); err != nil { … }
//
// or as a goka codec, schemas.Codec[schemas.Product]{} (Decode returns a
// *Product). A consumer in another language reads bytes 2–9 as a
// little-endian uint64, looks the schema up by that fingerprint (every
// schema file's fingerprint is its canonical form's CRC-64-AVRO), and
// decodes bytes 10 onwards as Avro binary with that schema as the writer
// schema, e.g. Java's BinaryMessageDecoder or any Avro library's
// single-object reader.
//
// Errors: [ErrDecode] for bytes that will never decode (no marker, malformed
// body, trailing bytes, the fingerprint of another record type) — poison for
// the dead-letter topic; [ErrUnknownSchema] for a well-formed header with a
// fingerprint this build does not know — most likely a newer writer during a
// rolling upgrade, which a newer build reads, so a processor should treat it
// as "upgrade needed" rather than silently dead-letter it.
//
// # Evolution
//
// Avro itself is the versioning mechanism: there is no schema_version field
// in internal records, the fingerprint plays that role. Rules for changing a
// schema in schemas/avro:
//
//   - Add a field only with a default (null for a ["null", T] union).
//   - Remove only a field that has a default.
//   - Never rename a field, and never reuse a removed field's name for a
//     different meaning; never change a field's type except by Avro's
//     promotions (int → long → float → double, string ↔ bytes, T → ["null", T]).
//   - Never reorder or remove enum symbols; add new ones only at the end, and
//     remember that a reader without the symbol cannot read records using
//     it (prefer strings for open-ended sets, as stacking, status and reason
//     are).
//   - Before changing a .avsc, copy it to avro/history/<file>-<fingerprint>.avsc
//     so records already written stay readable; then update the Go struct,
//     its hand-written encoder and decoder, the samples in helpers_test.go,
//     and the pinned fingerprint.
//   - Roll out in two phases when old and new instances share topics: first
//     ship the new schema in avro/history (every instance can read it), then
//     make it current (instances write it).
//
// A record written with a schema in avro/history is decoded by goavro with
// that schema (after a bounds check of the bytes), mapped onto the current
// schema with the specification's resolution rules (fields matched by name,
// missing ones take the reader's default, extra ones are dropped, numbers
// promote, unknown enum symbols take the enum default or fail), encoded with
// the current schema and decoded on the fast path. This is slow (goavro,
// maps) but only old or not-yet-current records take it.
//
// # External records: JSON with JSON Schemas
//
// The JSON records cartstream reads or writes have JSON Schemas (draft
// 2020-12) in schemas/json, each with a schema_version field where the
// record has one: cart events (cart_event), evaluated offers (offer),
// checkout statuses (checkout_status), and the normalized product and
// promotion JSON lines that cartstream evaluate reads (product, promotion).
// Inputs allow unknown fields where DESIGN says they are ignored (cart
// events); outputs and normalized lines list every field, always present,
// null where absent. CompileJSONSchema compiles one for validation.
//
// Cart events may also arrive as Confluent-framed Avro (magic byte 0, a
// registry schema id, the body) for producers that use a schema registry:
// avro/cart_event.avsc is the cart event's Avro form, field for field, with
// ts kept an RFC 3339 string. CartEventAvro writes it from the JSON;
// AvroJSON turns a record of any writer schema back into the JSON object it
// stands for, so the carts group validates both encodings alike.
//
// # Promotion condition, target and effect
//
// In the Avro Promotion these are structured records, not JSON text. The
// cdc-promotions group validates a promotion once when it normalizes it and
// dead-letters it if it is invalid; the carts group then reads records that
// are valid by construction, with money already exact minor units, instead
// of re-parsing and re-validating JSON on every cart event. Effect is one
// flat record with a type string and every effect's parameters with zero
// defaults (see [Effect]), which maps one-to-one onto the normalized JSON
// {"type": …} object and lets a new effect type be added as a new type
// value and new defaulted fields, without a union of records.
package schemas
