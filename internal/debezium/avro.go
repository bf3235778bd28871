package debezium

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/linkedin/goavro/v2"
)

// Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro
// binary without a container header.
const (
	confluentMagic     = 0x00
	confluentHeaderLen = 5
)

// avroSchema is a registry schema compiled once per id.
type avroSchema struct {
	codec *goavro.Codec
	root  *avroNode
	typ   *typ
}

// unionValue is a value of an Avro union with several non-null members:
// which member, and the member's value.
type unionValue struct {
	member int
	v      any
}

// Limits of the pre-walk (avroCheck) that runs before goavro sees the bytes.
// goavro sizes a slice or map from an array/map block count before reading
// its items, so a few hostile bytes claiming 2^31 items would exhaust memory.
const (
	maxAvroDepth      = 64      // nesting of records/arrays/maps/unions in data
	maxZeroSizedItems = 1 << 16 // items of a type that may take zero bytes (null, empty record)
)

// decodeAvro reads a Confluent-framed Avro datum: its normalised value and
// its schema. part names the record part ("key", "value") in errors.
func (d *Decoder) decodeAvro(ctx context.Context, part string, b []byte) (any, *typ, error) {
	if len(b) < confluentHeaderLen {
		return nil, nil, fmt.Errorf("debezium: %s: Confluent Avro header needs 5 bytes, have %d: %w", part, len(b), ErrDecode)
	}
	id := int(binary.BigEndian.Uint32(b[1:confluentHeaderLen]))
	s, err := d.schema(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("debezium: %s: %w", part, err)
	}
	body := b[confluentHeaderLen:]
	if err := avroCheck(body, s.root); err != nil {
		return nil, nil, fmt.Errorf("debezium: %s: Avro body for schema %d: %v: %w", part, id, err, ErrDecode)
	}
	native, rest, err := nativeFromBinary(s.codec, body)
	if err != nil {
		return nil, nil, fmt.Errorf("debezium: %s: Avro body for schema %d: %v: %w", part, id, err, ErrDecode)
	}
	if len(rest) != 0 {
		return nil, nil, fmt.Errorf("debezium: %s: %d bytes after the Avro datum (schema %d): %w", part, len(rest), id, ErrDecode)
	}
	v, err := normAvro(native, s.root, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("debezium: %s: Avro body for schema %d: %v: %w", part, id, err, ErrDecode)
	}
	return v, s.typ, nil
}

// schema returns the compiled schema for id, asking the registry once.
func (d *Decoder) schema(ctx context.Context, id int) (*avroSchema, error) {
	d.mu.Lock()
	s, ok := d.codecs[id]
	d.mu.Unlock()
	if ok {
		return s, nil
	}
	if d.Registry == nil {
		return nil, fmt.Errorf("record in Avro (schema id %d) but the decoder has no schema registry: %w", id, ErrDecode)
	}
	text, err := d.Registry.Schema(ctx, id)
	if err != nil {
		if errors.Is(err, ErrTransient) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("schema %d: %w (%w)", id, ErrTransient, err)
		}
		return nil, fmt.Errorf("schema %d: %w (%w)", id, ErrDecode, err)
	}
	s, err = compileAvro(text)
	if err != nil {
		return nil, fmt.Errorf("schema %d: %v: %w", id, err, ErrDecode)
	}
	d.mu.Lock()
	if d.codecs == nil {
		d.codecs = map[int]*avroSchema{}
	}
	if prev, ok := d.codecs[id]; ok {
		s = prev
	} else {
		d.codecs[id] = s
	}
	d.mu.Unlock()
	return s, nil
}

func compileAvro(text string) (*avroSchema, error) {
	root, err := parseAvroSchema(text)
	if err != nil {
		return nil, err
	}
	fillMinSizes(root)
	codec, err := newCodec(text)
	if err != nil {
		return nil, err
	}
	t, err := avroTyp(root, map[*avroNode]*typ{})
	if err != nil {
		return nil, err
	}
	return &avroSchema{codec: codec, root: root, typ: t}, nil
}

// newCodec compiles a schema with goavro, turning a panic into an error:
// goavro v2.15.0 type-asserts "precision" and "scale" of a second
// bytes.decimal in a schema without checking they are there.
func newCodec(text string) (codec *goavro.Codec, err error) {
	defer func() {
		if r := recover(); r != nil {
			codec, err = nil, fmt.Errorf("goavro cannot compile the schema: %v", r)
		}
	}()
	return goavro.NewCodec(text)
}

// nativeFromBinary decodes with goavro after avroCheck has vetted the bytes;
// a panic inside goavro still becomes an error, never a crashed consumer.
func nativeFromBinary(codec *goavro.Codec, body []byte) (native any, rest []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			native, rest, err = nil, nil, fmt.Errorf("goavro: %v", r)
		}
	}()
	return codec.NativeFromBinary(body)
}

// avroCheck walks Avro binary data against its schema without building
// values, proving every length and block count fits in the bytes that are
// left before goavro allocates for them.
func avroCheck(b []byte, n *avroNode) error {
	c := avroChecker{b: b}
	return c.walk(n, 0)
}

type avroChecker struct {
	b         []byte
	zeroSized int
}

func (c *avroChecker) varint() (int64, error) {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if len(c.b) == 0 {
			return 0, errors.New("truncated varint")
		}
		x := c.b[0]
		c.b = c.b[1:]
		u |= uint64(x&0x7f) << shift
		if x&0x80 == 0 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, errors.New("varint too long")
}

func (c *avroChecker) skip(n int64) error {
	if n < 0 || n > int64(len(c.b)) {
		return fmt.Errorf("length %d exceeds the %d bytes left", n, len(c.b))
	}
	c.b = c.b[n:]
	return nil
}

func (c *avroChecker) walk(n *avroNode, depth int) error {
	if depth > maxAvroDepth {
		return errors.New("data nested too deeply")
	}
	switch n.typ {
	case "null":
		return nil
	case "boolean":
		return c.skip(1)
	case "int", "long":
		_, err := c.varint()
		return err
	case "float":
		return c.skip(4)
	case "double":
		return c.skip(8)
	case "bytes", "string":
		l, err := c.varint()
		if err != nil {
			return err
		}
		return c.skip(l)
	case "fixed":
		return c.skip(int64(n.size))
	case "enum":
		i, err := c.varint()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(n.symbols) {
			return fmt.Errorf("enum index %d out of range", i)
		}
		return nil
	case "record":
		for _, f := range n.fields {
			if err := c.walk(f.node, depth+1); err != nil {
				return err
			}
		}
		return nil
	case "union":
		i, err := c.varint()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.branches)) {
			return fmt.Errorf("union index %d out of range", i)
		}
		return c.walk(n.branches[i], depth+1)
	case "array", "map":
		item := n.items
		keyMin := 0
		if n.typ == "map" {
			item, keyMin = n.values, 1
		}
		per := int64(item.minSize + keyMin)
		for {
			count, err := c.varint()
			if err != nil {
				return err
			}
			if count == 0 {
				return nil
			}
			if count < 0 {
				if count == -1<<63 {
					return errors.New("bad block count")
				}
				count = -count
				if _, err := c.varint(); err != nil { // block size in bytes
					return err
				}
			}
			if per > 0 {
				if count > int64(len(c.b))/per {
					return fmt.Errorf("block of %d items cannot fit in %d bytes", count, len(c.b))
				}
			} else {
				c.zeroSized += int(min(count, maxZeroSizedItems+1))
				if c.zeroSized > maxZeroSizedItems {
					return fmt.Errorf("more than %d zero-sized items", maxZeroSizedItems)
				}
			}
			for i := int64(0); i < count; i++ {
				if n.typ == "map" {
					l, err := c.varint()
					if err != nil {
						return err
					}
					if err := c.skip(l); err != nil {
						return err
					}
				}
				if err := c.walk(item, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return fmt.Errorf("unsupported Avro type %q", n.typ)
}

// fillMinSizes sets minSize on every node reachable from n, once, when a
// schema is compiled (decoding then only reads it, so compiled schemas are
// safe to share between goroutines).
func fillMinSizes(n *avroNode) {
	seen := map[*avroNode]bool{}
	var visit func(*avroNode)
	visit = func(n *avroNode) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		n.minSize = minSize(n, map[*avroNode]bool{})
		for _, f := range n.fields {
			visit(f.node)
		}
		visit(n.items)
		visit(n.values)
		for _, b := range n.branches {
			visit(b)
		}
	}
	visit(n)
}

// minSize is a lower bound of the bytes a value of n takes (0 only for null
// and records of such). A record met again while computing itself counts 0,
// which keeps it a lower bound.
func minSize(n *avroNode, busy map[*avroNode]bool) int {
	switch n.typ {
	case "null":
		return 0
	case "float":
		return 4
	case "double":
		return 8
	case "fixed":
		return n.size
	case "record":
		if busy[n] {
			return 0
		}
		busy[n] = true
		total := 0
		for _, f := range n.fields {
			total += minSize(f.node, busy)
		}
		delete(busy, n)
		return total
	default:
		return 1
	}
}

// normAvro turns goavro's native value into the decoder's plain form:
// [null, T] unions unwrapped, other unions as unionValue, bytes copied out of
// the input buffer (goavro's bytes alias it).
func normAvro(v any, n *avroNode, depth int) (any, error) {
	if depth > maxAvroDepth+2 {
		return nil, errors.New("data nested too deeply")
	}
	if v == nil {
		return nil, nil
	}
	switch n.typ {
	case "union":
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("union value %T", v)
		}
		var key string
		var inner any
		for k, x := range m {
			key, inner = k, x
		}
		if only := optionalMember(n); only != nil {
			return normAvro(inner, only, depth+1)
		}
		for i, b := range n.branches {
			if b.unionKey == key {
				x, err := normAvro(inner, b, depth+1)
				if err != nil {
					return nil, err
				}
				return unionValue{member: i, v: x}, nil
			}
		}
		return nil, fmt.Errorf("union member %q not in the schema", key)
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("record value %T", v)
		}
		out := make(map[string]any, len(m))
		for _, f := range n.fields {
			x, err := normAvro(m[f.name], f.node, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			out[f.name] = x
		}
		return out, nil
	case "array":
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("array value %T", v)
		}
		out := make([]any, len(a))
		for i, x := range a {
			y, err := normAvro(x, n.items, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("map value %T", v)
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			y, err := normAvro(x, n.values, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	case "bytes", "fixed":
		if b, ok := v.([]byte); ok {
			return append([]byte(nil), b...), nil
		}
	}
	return v, nil
}

// plainJSON turns a decoded value into what encoding/json with UseNumber
// would have produced, for blocks kept "as they came" (source, Meta).
func plainJSON(v any) any {
	switch x := v.(type) {
	case int32:
		return jsonNumber(strconv.FormatInt(int64(x), 10))
	case int64:
		return jsonNumber(strconv.FormatInt(x, 10))
	case int:
		return jsonNumber(strconv.Itoa(x))
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return jsonable(float64(x)) // "NaN", "Infinity", "-Infinity", as Jackson writes them
		}
		return jsonNumber(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return jsonable(x)
		}
		return jsonNumber(strconv.FormatFloat(x, 'g', -1, 64))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainJSON(e)
		}
		return out
	case unionValue:
		return plainJSON(x.v)
	case *big.Rat:
		return jsonNumber(x.FloatString(10))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return jsonNumber(strconv.FormatInt(x.Microseconds(), 10))
	default:
		return v
	}
}
