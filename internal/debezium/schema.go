package debezium

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// kind is a value's physical type in the decoder's schema model, which both
// the JSON converter's Connect schemas and Avro schemas are reduced to.
type kind uint8

const (
	kAny    kind = iota // no schema: the value is read by its own shape
	kBool               // boolean
	kInt                // int8/16/32/64, Avro int/long
	kFloat              // float/double
	kString             // string, Avro enum
	kBytes              // bytes, Avro fixed
	kStruct             // struct, Avro record
	kArray              // array
	kMap                // map
	kUnion              // Avro union other than [null, T]; values arrive as unionValue
)

// typ is one node of a schema: a Connect schema or an Avro schema with
// [null, T] unions collapsed to T.
type typ struct {
	kind    kind
	name    string // logical/semantic name (connect.name, Connect "name"), else the record's full name
	scale   int32  // Decimal scale
	float32 bool   // FLOAT32 / Avro float
	fields  map[string]*typ
	items   *typ   // kArray
	values  *typ   // kMap
	members []*typ // kUnion
	hinted  bool   // built from Decoder.Columns, not from the message
}

func (t *typ) field(name string) *typ {
	if t == nil {
		return nil
	}
	return t.fields[name]
}

// maxSchemaDepth bounds schema nesting, against hostile schemas.
const maxSchemaDepth = 64

var errSchemaDepth = errors.New("schema nested too deeply")

// connectSchema reads the JSON converter's "schema" object (Kafka Connect's
// JsonConverter.asJsonSchema).
func connectSchema(v any, depth int) (*typ, error) {
	if depth > maxSchemaDepth {
		return nil, errSchemaDepth
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is %s, not an object", jsonKind(v))
	}
	typeName, _ := m["type"].(string)
	t := &typ{}
	if name, ok := m["name"].(string); ok {
		t.name = name
	}
	if params, ok := m["parameters"].(map[string]any); ok {
		if s, ok := params["scale"].(string); ok {
			scale, err := strconv.ParseInt(s, 10, 32)
			if err != nil || scale < -MaxDecimalScale || scale > MaxDecimalScale {
				return nil, fmt.Errorf("schema %s: bad scale parameter %q", t.name, s)
			}
			t.scale = int32(scale)
		}
	}
	switch typeName {
	case "boolean":
		t.kind = kBool
	case "int8", "int16", "int32", "int64":
		t.kind = kInt
	case "float":
		t.kind, t.float32 = kFloat, true
	case "double":
		t.kind = kFloat
	case "string":
		t.kind = kString
	case "bytes":
		t.kind = kBytes
	case "struct":
		t.kind = kStruct
		fields, _ := m["fields"].([]any)
		t.fields = make(map[string]*typ, len(fields))
		for i, f := range fields {
			fm, ok := f.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("schema %s: field %d is not an object", t.name, i)
			}
			name, ok := fm["field"].(string)
			if !ok {
				return nil, fmt.Errorf("schema %s: field %d has no name", t.name, i)
			}
			ft, err := connectSchema(fm, depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name, err)
			}
			t.fields[name] = ft
		}
	case "array":
		t.kind = kArray
		items, err := connectSchema(m["items"], depth+1)
		if err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
		t.items = items
	case "map":
		t.kind = kMap
		values, err := connectSchema(m["values"], depth+1)
		if err != nil {
			return nil, fmt.Errorf("map values: %w", err)
		}
		t.values = values
	default:
		return nil, fmt.Errorf("unknown schema type %q", truncate(fmt.Sprint(m["type"]), 32))
	}
	return t, nil
}

// avroNode is a parsed Avro schema, kept to walk binary data safely
// (avroCheck) and to normalise goavro's natives (normAvro).
type avroNode struct {
	typ      string // null boolean int long float double bytes string record enum array map fixed union
	fullName string // named types
	logical  string
	scale    int  // Avro decimal scale attribute
	hasScale bool // the scale attribute is present (Avro's default is 0)
	size     int  // fixed
	symbols  int  // enum
	fields   []avroField
	items    *avroNode // array
	values   *avroNode // map
	branches []*avroNode
	unionKey string // how goavro names this type as a union member

	connectName  string
	connectScale string // connect.parameters.scale
	minSize      int    // lower bound of its encoded size in bytes, set by fillMinSizes
}

type avroField struct {
	name string
	node *avroNode
}

var avroPrimitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true, "float": true,
	"double": true, "bytes": true, "string": true,
}

// parseAvroSchema parses an Avro schema (as the registry returns it) into an
// avroNode tree. Named types may be referenced again (and recursively): the
// tree may share nodes and contain cycles.
func parseAvroSchema(schema string) (*avroNode, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(schema))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	p := &avroParser{named: map[string]*avroNode{}}
	return p.parse(v, "", 0)
}

type avroParser struct {
	named map[string]*avroNode
}

func fullName(name, namespace string) string {
	if strings.Contains(name, ".") || namespace == "" {
		return name
	}
	return namespace + "." + name
}

func (p *avroParser) parse(v any, namespace string, depth int) (*avroNode, error) {
	if depth > maxSchemaDepth {
		return nil, errSchemaDepth
	}
	switch s := v.(type) {
	case string:
		if avroPrimitives[s] {
			return &avroNode{typ: s, unionKey: s}, nil
		}
		if n, ok := p.named[fullName(s, namespace)]; ok {
			return n, nil
		}
		if n, ok := p.named[s]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown Avro type %q", truncate(s, 64))
	case []any:
		n := &avroNode{typ: "union", unionKey: "union"}
		for i, b := range s {
			bn, err := p.parse(b, namespace, depth+1)
			if err != nil {
				return nil, fmt.Errorf("union member %d: %w", i, err)
			}
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case map[string]any:
		return p.parseObject(s, namespace, depth)
	default:
		return nil, fmt.Errorf("schema node is %s", jsonKind(v))
	}
}

func (p *avroParser) parseObject(m map[string]any, namespace string, depth int) (*avroNode, error) {
	typeName, ok := m["type"].(string)
	if !ok {
		// {"type": {...}} or {"type": [...]}: the attributes around it are ignored.
		return p.parse(m["type"], namespace, depth+1)
	}
	n := &avroNode{typ: typeName, unionKey: typeName}
	n.connectName, _ = m["connect.name"].(string)
	n.logical, _ = m["logicalType"].(string)
	if params, ok := m["connect.parameters"].(map[string]any); ok {
		n.connectScale, _ = params["scale"].(string)
	}
	if sc, ok := m["scale"].(json.Number); ok {
		s, err := sc.Int64()
		if err != nil || s < 0 || s > MaxDecimalScale {
			return nil, fmt.Errorf("bad decimal scale %s", sc)
		}
		n.scale, n.hasScale = int(s), true
	}
	if n.logical != "" && avroPrimitives[typeName] {
		n.unionKey = typeName + "." + n.logical
	}
	switch typeName {
	case "record", "error", "enum", "fixed":
		name, _ := m["name"].(string)
		if name == "" {
			return nil, fmt.Errorf("%s without a name", typeName)
		}
		ns, _ := m["namespace"].(string)
		if ns == "" {
			ns = namespace
		}
		n.fullName = fullName(name, ns)
		if n.typ == "error" {
			n.typ = "record"
		}
		n.unionKey = n.fullName
		p.named[n.fullName] = n
		// Names declared inside take the record's namespace.
		inner := n.fullName[:max(0, strings.LastIndexByte(n.fullName, '.'))]
		switch n.typ {
		case "record":
			fields, _ := m["fields"].([]any)
			for i, f := range fields {
				fm, ok := f.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("record %s: field %d is not an object", n.fullName, i)
				}
				fname, _ := fm["name"].(string)
				fn, err := p.parse(fm["type"], inner, depth+1)
				if err != nil {
					return nil, fmt.Errorf("record %s field %s: %w", n.fullName, fname, err)
				}
				n.fields = append(n.fields, avroField{name: fname, node: fn})
			}
		case "enum":
			syms, _ := m["symbols"].([]any)
			n.symbols = len(syms)
		case "fixed":
			size, _ := m["size"].(json.Number)
			sz, err := size.Int64()
			if err != nil || sz < 0 || sz > 1<<20 {
				return nil, fmt.Errorf("fixed %s: bad size", n.fullName)
			}
			n.size = int(sz)
		}
	case "array":
		items, err := p.parse(m["items"], namespace, depth+1)
		if err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
		n.items = items
	case "map":
		values, err := p.parse(m["values"], namespace, depth+1)
		if err != nil {
			return nil, fmt.Errorf("map values: %w", err)
		}
		n.values = values
	default:
		if !avroPrimitives[typeName] {
			return p.parse(typeName, namespace, depth+1)
		}
	}
	return n, nil
}

// avroTyp reduces an Avro schema to the decoder's model: [null, T] unions
// become T, Connect's metadata (connect.name, connect.parameters) and Avro
// logical types become logical names. memo keeps shared and recursive named
// types to one typ each.
func avroTyp(n *avroNode, memo map[*avroNode]*typ) (*typ, error) {
	if t, ok := memo[n]; ok {
		return t, nil
	}
	t := &typ{name: n.connectName}
	memo[n] = t
	if n.connectScale != "" {
		s, err := strconv.ParseInt(n.connectScale, 10, 32)
		if err != nil || s < -MaxDecimalScale || s > MaxDecimalScale {
			return nil, fmt.Errorf("bad connect.parameters scale %q", n.connectScale)
		}
		t.scale = int32(s)
	}
	switch n.logical {
	case "decimal":
		if n.typ == "bytes" || n.typ == "fixed" {
			t.name = TypeDecimal
			if n.hasScale || n.connectScale == "" {
				t.scale = int32(n.scale) // the scale goavro applies
			}
		}
	case "timestamp-millis":
		if t.name == "" {
			t.name = connectTimestamp
		}
	case "timestamp-micros":
		if t.name == "" {
			t.name = TypeMicroTimestamp
		}
	case "date":
		if t.name == "" {
			t.name = connectDate
		}
	case "time-millis":
		if t.name == "" {
			t.name = connectTime
		}
	case "time-micros":
		if t.name == "" {
			t.name = TypeMicroTime
		}
	}
	switch n.typ {
	case "null":
		t.kind = kAny
	case "boolean":
		t.kind = kBool
	case "int", "long":
		t.kind = kInt
	case "float":
		t.kind, t.float32 = kFloat, true
	case "double":
		t.kind = kFloat
	case "string", "enum":
		t.kind = kString
	case "bytes", "fixed":
		t.kind = kBytes
	case "record":
		t.kind = kStruct
		if t.name == "" {
			t.name = n.fullName
		}
		t.fields = make(map[string]*typ, len(n.fields))
		for _, f := range n.fields {
			ft, err := avroTyp(f.node, memo)
			if err != nil {
				return nil, err
			}
			t.fields[f.name] = ft
		}
	case "array":
		t.kind = kArray
		items, err := avroTyp(n.items, memo)
		if err != nil {
			return nil, err
		}
		t.items = items
	case "map":
		t.kind = kMap
		values, err := avroTyp(n.values, memo)
		if err != nil {
			return nil, err
		}
		t.values = values
	case "union":
		if only := optionalMember(n); only != nil {
			ot, err := avroTyp(only, memo)
			if err != nil {
				return nil, err
			}
			memo[n] = ot
			return ot, nil
		}
		t.kind = kUnion
		for _, b := range n.branches {
			bt, err := avroTyp(b, memo)
			if err != nil {
				return nil, err
			}
			t.members = append(t.members, bt)
		}
	default:
		return nil, fmt.Errorf("unsupported Avro type %q", n.typ)
	}
	return t, nil
}

// optionalMember returns T for a union [null, T] or [T, null] (how Connect
// writes optional fields), nil for any other union.
func optionalMember(n *avroNode) *avroNode {
	if n.typ != "union" || len(n.branches) != 2 {
		return nil
	}
	a, b := n.branches[0], n.branches[1]
	switch {
	case a.typ == "null" && b.typ != "null":
		return b
	case b.typ == "null" && a.typ != "null":
		return a
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	default:
		return fmt.Sprintf("%T", v)
	}
}
