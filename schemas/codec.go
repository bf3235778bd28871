package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps exactly one of
// them, with context (record type, field, byte offset).
var (
	// ErrDecode: the bytes are not a well-formed single-object record of
	// the expected type: too short, no 0xC3 0x01 marker, a malformed body,
	// trailing bytes, or the fingerprint of another known record type. Such
	// a record is poison: it will never decode, so it belongs in the
	// dead-letter topic (class "decode").
	ErrDecode = errors.New("cannot decode record")
	// ErrUnknownSchema: a well-formed single-object header whose
	// fingerprint this build does not know. Usually a newer writer during a
	// rolling upgrade (see doc.go, "Evolution"); the bytes may be fine for
	// another build.
	ErrUnknownSchema = errors.New("unknown schema fingerprint")
	// ErrEncode: the value cannot be encoded (a string that is not UTF-8,
	// an op that is not reserve, release or commit, a value of the wrong
	// type for the codec).
	ErrEncode = errors.New("cannot encode record")
)

// Marshal returns v in Avro single-object encoding with its record type's
// current schema.
func Marshal[T Record](v *T) ([]byte, error) {
	return AppendMarshal(make([]byte, 0, initialRecordCap), v)
}

// initialRecordCap is the starting buffer size for Marshal, in bytes: large
// enough for a typical record so that encoding allocates once.
const initialRecordCap = 192

// AppendMarshal appends v's single-object encoding to buf and returns the
// extended slice; on error it returns buf unchanged. Reusing buf across calls
// makes encoding allocation-free.
func AppendMarshal[T Record](buf []byte, v *T) ([]byte, error) {
	k := kindOf[T]()
	if v == nil {
		return buf, fmt.Errorf("schemas: encode %s: nil value: %w", kinds[k].name, ErrEncode)
	}
	reg, err := defaultRegistry()
	if err != nil {
		return buf, err
	}
	w := writer{buf: append(buf, reg.current[k].header[:]...)}
	appendRecord(any(v).(avroRecord), &w)
	if w.err != nil {
		return buf, fmt.Errorf("schemas: encode %s: %w: %w", kinds[k].name, ErrEncode, w.err)
	}
	return w.buf, nil
}

// Unmarshal decodes a single-object record into v, overwriting every field.
// Records written with the current schema decode on a fast path; records
// written with another known schema of the same record (schemas/avro/history)
// are resolved to the current schema with Avro's resolution rules. On error v
// is left in an unspecified state.
//
// Decoded strings share one copy of data, so they stay valid (and keep that
// copy alive) after data is reused.
func Unmarshal[T Record](data []byte, v *T) error {
	k := kindOf[T]()
	reg, err := defaultRegistry()
	if err != nil {
		return err
	}
	return reg.unmarshal(k, data, any(v).(avroRecord))
}

func (reg *registry) unmarshal(k kind, data []byte, v avroRecord) error {
	name := kinds[k].name
	cur := reg.current[k]
	if len(data) >= singleObjectHeaderLen && [singleObjectHeaderLen]byte(data[:singleObjectHeaderLen]) == cur.header {
		return decodeBody(name, data[singleObjectHeaderLen:], v)
	}
	e, err := reg.lookup(data)
	if err != nil {
		return fmt.Errorf("schemas: decode %s: %w", name, err)
	}
	if e.kind != k {
		return fmt.Errorf("schemas: decode %s: record is a %s (fingerprint %s): %w", name, e.Name, fpHex(e.Fingerprint), ErrDecode)
	}
	body, err := reg.resolveBody(e, data[singleObjectHeaderLen:])
	if err != nil {
		return fmt.Errorf("schemas: decode %s written with %s: %w: %w", name, e.File, ErrDecode, err)
	}
	return decodeBody(name, body, v)
}

func decodeBody(name string, body []byte, v avroRecord) error {
	r := newReader(body)
	readRecord(v, &r)
	if err := r.done(); err != nil {
		return fmt.Errorf("schemas: decode %s: %w: %w", name, ErrDecode, err)
	}
	return nil
}

// lookup checks the single-object header of data and returns the schema it
// names.
func (reg *registry) lookup(data []byte) (*schemaEntry, error) {
	fp, err := Fingerprint(data)
	if err != nil {
		return nil, err
	}
	e, ok := reg.byFingerprint[fp]
	if !ok {
		return nil, fmt.Errorf("fingerprint %s: %w", fpHex(fp), ErrUnknownSchema)
	}
	return e, nil
}

// resolveBody turns a body written with the non-current schema e into a body
// of its record's current schema: goavro decodes it with e, resolve maps the
// value onto the current schema, goavro encodes it again. Slow, and only for
// records written before (or after) a schema change.
func (reg *registry) resolveBody(e *schemaEntry, body []byte) ([]byte, error) {
	if err := checkBody(e.model, body); err != nil {
		return nil, err
	}
	native, rest, err := e.codec.NativeFromBinary(body)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after the record", len(rest))
	}
	cur := reg.current[e.kind]
	resolved, err := resolve(e.model, cur.model, native)
	if err != nil {
		return nil, err
	}
	return cur.codec.BinaryFromNative(nil, resolved)
}

// checkBody checks that body is exactly one well-formed value of type t
// (see checkValue).
func checkBody(t *avroType, body []byte) error {
	r := reader{body: body}
	zeroItems := 0
	checkValue(t, &r, 0, &zeroItems)
	return r.done()
}

// Fingerprint returns the schema fingerprint of a single-object encoded
// record, after checking its two-byte marker. It does not look the
// fingerprint up; errors wrap [ErrDecode].
func Fingerprint(data []byte) (uint64, error) {
	if len(data) < singleObjectHeaderLen {
		return 0, fmt.Errorf("%d bytes, shorter than a single-object header: %w", len(data), ErrDecode)
	}
	if data[0] != singleObjectMarker0 || data[1] != singleObjectMarker1 {
		return 0, fmt.Errorf("marker %#02x %#02x, want 0xc3 0x01 (not single-object encoded): %w", data[0], data[1], ErrDecode)
	}
	return binary.LittleEndian.Uint64(data[2:singleObjectHeaderLen]), nil
}

// DecodeAny decodes a single-object record of any known type, chosen by its
// fingerprint, and returns a pointer to it (*Product, *Promotion, …). For
// tools that meet records of several types, such as the dead-letter
// inspector.
func DecodeAny(data []byte) (any, error) {
	reg, err := defaultRegistry()
	if err != nil {
		return nil, err
	}
	e, err := reg.lookup(data)
	if err != nil {
		return nil, fmt.Errorf("schemas: decode: %w", err)
	}
	v := newRecord(e.kind)
	if err := reg.unmarshal(e.kind, data, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Codec is a goka.Codec for one record type: values are *T (or T) when
// encoding and *T when decoding. The zero value is ready to use, e.g.
// goka.Input(topic, schemas.Codec[schemas.ReservationCommand]{}, cb).
type Codec[T Record] struct{}

// Encode encodes a *T or a T. Anything else, and a nil *T, is [ErrEncode].
func (Codec[T]) Encode(value any) ([]byte, error) {
	switch v := value.(type) {
	case *T:
		return Marshal(v)
	case T:
		return Marshal(&v)
	}
	return nil, fmt.Errorf("schemas: encode %s: got %T: %w", kinds[kindOf[T]()].name, value, ErrEncode)
}

// Decode decodes data into a new *T. Errors wrap [ErrDecode] or
// [ErrUnknownSchema].
func (Codec[T]) Decode(data []byte) (any, error) {
	v := new(T)
	if err := Unmarshal(data, v); err != nil {
		return nil, err
	}
	return v, nil
}
