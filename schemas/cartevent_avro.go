package schemas

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/linkedin/goavro/v2"
)

// This file holds the Avro form of the cart event (avro/cart_event.avsc) for
// producers that write through a Confluent schema registry, the Confluent
// wire format that frames such records, and AvroJSON, which turns an Avro
// record of any writer schema back into the JSON object it stands for.
//
// Unlike the internal records, an Avro cart event names its writer schema by
// registry id, not by fingerprint: the writer is a storefront client that
// registers its schema under the topic's subject, and the reader fetches it
// from the registry. The carts group does not resolve it onto
// cart_event.avsc: it renders the record as JSON with the writer's own
// schema and validates that JSON exactly as it validates a JSON cart event,
// so a writer's extra fields are ignored as unknown JSON fields are, and a
// missing required field is a validation failure naming the field.

// ConfluentHeaderLen is the length of the Confluent wire-format header: the
// magic byte 0, then the writer schema's registry id as a big-endian uint32.
// The Avro binary body follows.
const ConfluentHeaderLen = 5

// confluentMagic is the first byte of a Confluent-framed record. No JSON
// text starts with it, so one byte tells the two cart-event encodings apart.
const confluentMagic = 0x00

// IsConfluent reports whether b starts with the Confluent magic byte, that
// is, whether it is meant as a registry-framed record rather than JSON.
func IsConfluent(b []byte) bool { return len(b) > 0 && b[0] == confluentMagic }

// AppendConfluent appends the Confluent framing of an Avro body written with
// the schema of registry id id to dst.
func AppendConfluent(dst []byte, id int, body []byte) []byte {
	dst = append(dst, confluentMagic)
	dst = binary.BigEndian.AppendUint32(dst, uint32(id))
	return append(dst, body...)
}

// SplitConfluent returns the registry id and the Avro body of a
// Confluent-framed record. Errors (too short, another magic byte) wrap
// ErrDecode.
func SplitConfluent(b []byte) (id int, body []byte, err error) {
	if len(b) < ConfluentHeaderLen {
		return 0, nil, fmt.Errorf("schemas: Confluent header needs %d bytes, have %d: %w", ConfluentHeaderLen, len(b), ErrDecode)
	}
	if b[0] != confluentMagic {
		return 0, nil, fmt.Errorf("schemas: Confluent magic byte 0x%02x, want 0x00: %w", b[0], ErrDecode)
	}
	return int(binary.BigEndian.Uint32(b[1:ConfluentHeaderLen])), b[ConfluentHeaderLen:], nil
}

// cartEventAvro is avro/cart_event.avsc, compiled once.
type cartEventAvro struct {
	text  string
	model *avroType
	codec *goavro.Codec
}

var cartEventSchema = sync.OnceValues(func() (*cartEventAvro, error) {
	text, err := avroFiles.ReadFile("avro/cart_event.avsc")
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	model, err := parseAvroSchema(string(text))
	if err != nil {
		return nil, fmt.Errorf("schemas: avro/cart_event.avsc: %w", err)
	}
	codec, err := goavro.NewCodec(string(text))
	if err != nil {
		return nil, fmt.Errorf("schemas: avro/cart_event.avsc: %w", err)
	}
	return &cartEventAvro{text: string(text), model: model, codec: codec}, nil
})

// CartEventAvroSchema returns the text of avro/cart_event.avsc, the schema a
// producer registers under the subject <topic>-value.
func CartEventAvroSchema() (string, error) {
	s, err := cartEventSchema()
	if err != nil {
		return "", err
	}
	return s.text, nil
}

// CartEventAvro returns the Avro binary body (no framing) of a cart event
// given as a JSON object. Fields cart_event.avsc does not declare are
// dropped (consumers ignore unknown fields anyway); absent fields take their
// defaults (null, schema_version 1). It checks only what the Avro types
// demand — a string where a string goes, qty within int — so validate the
// JSON against the cart-event JSON Schema first. Errors wrap ErrEncode and
// name the field.
func CartEventAvro(doc []byte) ([]byte, error) {
	s, err := cartEventSchema()
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("schemas: cart event: not JSON: %v: %w", err, ErrEncode)
	}
	native, err := nativeFromJSON(s.model, v, "")
	if err != nil {
		return nil, fmt.Errorf("schemas: cart event: %v: %w", err, ErrEncode)
	}
	body, err := s.codec.BinaryFromNative(nil, native)
	if err != nil {
		return nil, fmt.Errorf("schemas: cart event: %v: %w", err, ErrEncode)
	}
	return body, nil
}

// nativeFromJSON converts a JSON value (numbers as json.Number) into
// goavro's native form for type t. path names the field in errors.
func nativeFromJSON(t *avroType, v any, path string) (any, error) {
	where := path
	if where == "" {
		where = "value"
	}
	mismatch := func() error { return fmt.Errorf("%s: want %s, got %s", where, describeAvro(t), describeJSON(v)) }
	switch t.kind {
	case "null":
		if v != nil {
			return nil, mismatch()
		}
		return nil, nil
	case "union":
		if v == nil {
			for _, b := range t.branches {
				if b.kind == "null" {
					return nil, nil
				}
			}
			return nil, mismatch()
		}
		var first error
		for _, b := range t.branches {
			if b.kind == "null" {
				continue
			}
			n, err := nativeFromJSON(b, v, path)
			if err == nil {
				return goavro.Union(branchName(b), n), nil
			}
			if first == nil {
				first = err
			}
		}
		if first == nil {
			first = mismatch()
		}
		return nil, first
	case "boolean":
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, mismatch()
	case "int", "long":
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: want a whole number, got %s", where, n)
		}
		if t.kind == "int" {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, fmt.Errorf("%s: %d does not fit an Avro int", where, i)
			}
			return int32(i), nil
		}
		return i, nil
	case "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch()
		}
		f, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		if t.kind == "float" {
			return float32(f), nil
		}
		return f, nil
	case "string", "enum":
		s, ok := v.(string)
		if !ok {
			return nil, mismatch()
		}
		if t.kind == "enum" {
			for _, sym := range t.symbols {
				if sym == s {
					return s, nil
				}
			}
			return nil, fmt.Errorf("%s: %q is no symbol of %s", where, s, t.name)
		}
		return s, nil
	case "bytes":
		s, ok := v.(string)
		if !ok {
			return nil, mismatch()
		}
		return []byte(s), nil
	case "array":
		a, ok := v.([]any)
		if !ok {
			return nil, mismatch()
		}
		out := make([]any, len(a))
		for i, x := range a {
			n, err := nativeFromJSON(t.items, x, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch()
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			n, err := nativeFromJSON(t.values, x, where+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, mismatch()
		}
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			name := f.name
			if path != "" {
				name = path + "." + f.name
			}
			x, present := m[f.name]
			if !present {
				if !f.hasDefault {
					return nil, fmt.Errorf("%s: required", name)
				}
				x = f.def
			}
			n, err := nativeFromJSON(f.typ, x, name)
			if err != nil {
				return nil, err
			}
			out[f.name] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: Avro type %s is not supported here", where, t.kind)
}

func describeAvro(t *avroType) string {
	if t.logical != "" {
		return t.kind + " (" + t.logical + ")"
	}
	if t.kind == "union" {
		s := "one of"
		for _, b := range t.branches {
			s += " " + describeAvro(b)
		}
		return s
	}
	return t.kind
}

func describeJSON(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	default:
		return "an object"
	}
}

// AvroJSON renders Avro binary records of one writer schema as JSON: a
// record becomes an object with its fields in schema order (null fields
// left out, so "absent" reads as absent), a union its member's value,
// timestamp-millis and timestamp-micros RFC 3339 strings in UTC, date
// "2006-01-02", a decimal its exact value as a string, bytes and fixed
// strings, a map an object with sorted keys. It is safe for concurrent use.
type AvroJSON struct {
	model *avroType
	codec *goavro.Codec
}

// NewAvroJSON compiles a writer schema (Avro schema JSON, as a registry
// returns it). A schema that does not compile can never decode a record:
// the error wraps ErrDecode.
func NewAvroJSON(schema string) (*AvroJSON, error) {
	model, err := parseAvroSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("schemas: writer schema: %v: %w", err, ErrDecode)
	}
	codec, err := safeCodec(schema)
	if err != nil {
		return nil, fmt.Errorf("schemas: writer schema: %v: %w", err, ErrDecode)
	}
	return &AvroJSON{model: model, codec: codec}, nil
}

// safeCodec compiles a schema with goavro, turning a panic into an error
// (goavro v2.15.0 panics on some malformed decimal schemas).
func safeCodec(schema string) (c *goavro.Codec, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("goavro cannot compile the schema: %v", r)
		}
	}()
	return goavro.NewCodec(schema)
}

// AppendJSON appends the JSON rendering of the Avro binary body to dst.
// The body is checked against the schema before goavro sees it (every
// length and count must fit in the bytes left), so hostile input cannot
// make it allocate without bound. Errors (malformed or trailing bytes) wrap
// ErrDecode.
func (a *AvroJSON) AppendJSON(dst, body []byte) ([]byte, error) {
	if err := checkBody(a.model, body); err != nil {
		return dst, fmt.Errorf("schemas: Avro body: %v: %w", err, ErrDecode)
	}
	native, rest, err := nativeFromBinary(a.codec, body)
	if err != nil {
		return dst, fmt.Errorf("schemas: Avro body: %v: %w", err, ErrDecode)
	}
	if len(rest) != 0 {
		return dst, fmt.Errorf("schemas: %d bytes after the Avro record: %w", len(rest), ErrDecode)
	}
	out, err := appendAvroJSON(dst, a.model, native)
	if err != nil {
		return dst, fmt.Errorf("schemas: Avro body: %v: %w", err, ErrDecode)
	}
	return out, nil
}

// nativeFromBinary decodes with goavro, turning a panic into an error.
func nativeFromBinary(c *goavro.Codec, body []byte) (native any, rest []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			native, rest, err = nil, nil, fmt.Errorf("goavro: %v", r)
		}
	}()
	return c.NativeFromBinary(body)
}

func appendAvroJSON(b []byte, t *avroType, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	switch t.kind {
	case "union":
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return b, fmt.Errorf("union value %T", v)
		}
		for key, inner := range m {
			for _, br := range t.branches {
				if branchName(br) == key {
					return appendAvroJSON(b, br, inner)
				}
			}
			return b, fmt.Errorf("union member %q not in the schema", key)
		}
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			return b, fmt.Errorf("record value %T", v)
		}
		b = append(b, '{')
		first := true
		for _, f := range t.fields {
			x := m[f.name]
			if x == nil {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, f.name)
			b = append(b, ':')
			var err error
			if b, err = appendAvroJSON(b, f.typ, x); err != nil {
				return b, fmt.Errorf("%s: %w", f.name, err)
			}
		}
		return append(b, '}'), nil
	case "array":
		a, ok := v.([]any)
		if !ok {
			return b, fmt.Errorf("array value %T", v)
		}
		b = append(b, '[')
		for i, x := range a {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendAvroJSON(b, t.items, x); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return b, fmt.Errorf("map value %T", v)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendAvroJSON(b, t.values, m[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	switch x := v.(type) {
	case bool:
		return strconv.AppendBool(b, x), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case float32:
		return appendFloat(b, float64(x), 32), nil
	case float64:
		return appendFloat(b, x, 64), nil
	case string:
		return appendJSONString(b, x), nil
	case []byte:
		return appendJSONString(b, string(x)), nil
	case time.Time:
		if t.logical == "date" {
			return appendJSONString(b, x.UTC().Format(time.DateOnly)), nil
		}
		return appendJSONString(b, x.UTC().Format(time.RFC3339Nano)), nil
	case time.Duration:
		return strconv.AppendInt(b, x.Microseconds(), 10), nil
	case *big.Rat:
		return appendJSONString(b, decimalString(x)), nil
	}
	return b, fmt.Errorf("%s value %T", t.kind, v)
}

// decimalString renders an Avro decimal exactly: with as many fraction
// digits as it needs (a decimal's denominator divides a power of ten).
func decimalString(x *big.Rat) string {
	ten := big.NewInt(10)
	d := new(big.Int).Set(x.Denom())
	for digits := 0; digits <= maxDecimalDigits; digits++ {
		if d.Cmp(big.NewInt(1)) == 0 {
			return x.FloatString(digits)
		}
		g := new(big.Int).GCD(nil, nil, d, ten)
		if g.Cmp(big.NewInt(1)) == 0 {
			break
		}
		d.Quo(d, g)
	}
	return x.RatString()
}

// maxDecimalDigits bounds the fraction digits decimalString looks for.
const maxDecimalDigits = 128

func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendJSONString(b, strconv.FormatFloat(f, 'g', -1, bits))
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
