package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// This file holds a small model of an Avro schema and the Avro schema
// resolution rules, used only to read records written with a writer schema
// other than the current one (schemas/avro/history). The hot path never
// touches it.

// avroType is one parsed Avro schema node.
type avroType struct {
	kind     string // null boolean int long float double bytes string record enum array map union fixed
	logical  string // logicalType, if any
	name     string // full name of a record, enum or fixed
	fields   []avroField
	symbols  []string
	enumDef  *string
	items    *avroType // array
	values   *avroType // map
	branches []*avroType
	size     int // fixed
}

type avroField struct {
	name       string
	typ        *avroType
	def        any // decoded JSON (numbers as json.Number)
	hasDefault bool
}

// parseAvroSchema parses a schema's JSON text into the model.
func parseAvroSchema(spec string) (*avroType, error) {
	dec := json.NewDecoder(strings.NewReader(spec))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	p := schemaParser{named: map[string]*avroType{}}
	return p.parse(raw, "")
}

type schemaParser struct {
	named map[string]*avroType
}

// primitiveKinds is read-only after initialisation.
var primitiveKinds = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true, "float": true,
	"double": true, "bytes": true, "string": true,
}

func fullName(name, namespace string) string {
	if strings.Contains(name, ".") || namespace == "" {
		return name
	}
	return namespace + "." + name
}

func (p *schemaParser) parse(raw any, ns string) (*avroType, error) {
	switch v := raw.(type) {
	case string:
		if primitiveKinds[v] {
			return &avroType{kind: v}, nil
		}
		if t, ok := p.named[fullName(v, ns)]; ok {
			return t, nil
		}
		if t, ok := p.named[v]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("unknown type %q", v)
	case []any:
		u := &avroType{kind: "union"}
		for _, b := range v {
			bt, err := p.parse(b, ns)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, bt)
		}
		return u, nil
	case map[string]any:
		kind, _ := v["type"].(string)
		logical, _ := v["logicalType"].(string)
		switch kind {
		case "record", "error", "enum", "fixed":
			name, _ := v["name"].(string)
			if nsv, ok := v["namespace"].(string); ok {
				ns = nsv
			}
			full := fullName(name, ns)
			if i := strings.LastIndexByte(full, '.'); i >= 0 {
				ns = full[:i]
			}
			t := &avroType{kind: kind, name: full, logical: logical}
			if kind == "error" {
				t.kind = "record"
			}
			p.named[full] = t
			switch t.kind {
			case "record":
				fields, _ := v["fields"].([]any)
				for _, f := range fields {
					fm, _ := f.(map[string]any)
					fname, _ := fm["name"].(string)
					ft, err := p.parse(fm["type"], ns)
					if err != nil {
						return nil, fmt.Errorf("field %s: %w", fname, err)
					}
					def, has := fm["default"]
					t.fields = append(t.fields, avroField{name: fname, typ: ft, def: def, hasDefault: has})
				}
			case "enum":
				syms, _ := v["symbols"].([]any)
				for _, s := range syms {
					str, _ := s.(string)
					t.symbols = append(t.symbols, str)
				}
				if d, ok := v["default"].(string); ok {
					t.enumDef = &d
				}
			case "fixed":
				n, _ := v["size"].(json.Number)
				size, _ := n.Int64()
				t.size = int(size)
			}
			return t, nil
		case "array":
			items, err := p.parse(v["items"], ns)
			if err != nil {
				return nil, err
			}
			return &avroType{kind: "array", items: items, logical: logical}, nil
		case "map":
			values, err := p.parse(v["values"], ns)
			if err != nil {
				return nil, err
			}
			return &avroType{kind: "map", values: values, logical: logical}, nil
		default:
			if kind == "" {
				return p.parse(v["type"], ns)
			}
			t, err := p.parse(kind, ns)
			if err != nil {
				return nil, err
			}
			if logical == "" || t.name != "" {
				return t, nil
			}
			c := *t
			c.logical = logical
			return &c, nil
		}
	}
	return nil, fmt.Errorf("unexpected schema node %T", raw)
}

// branchName is the name goavro uses for a union branch of type t.
func branchName(t *avroType) string {
	if t.name != "" {
		return t.name
	}
	switch t.logical {
	case "timestamp-millis", "timestamp-micros", "time-micros":
		if t.kind == "long" {
			return "long." + t.logical
		}
	case "time-millis", "date":
		if t.kind == "int" {
			return "int." + t.logical
		}
	}
	return t.kind
}

func shortName(full string) string {
	return full[strings.LastIndexByte(full, '.')+1:]
}

// promotable reports whether Avro resolution reads a writer value of kind w
// as kind r.
func promotable(w, r string) bool {
	if w == r {
		return true
	}
	switch w {
	case "int":
		return r == "long" || r == "float" || r == "double"
	case "long":
		return r == "float" || r == "double"
	case "float":
		return r == "double"
	case "string":
		return r == "bytes"
	case "bytes":
		return r == "string"
	}
	return false
}

// matches reports whether writer type w resolves to reader type r, as the
// first step of picking a reader union branch.
func matches(w, r *avroType) bool {
	if w.name != "" || r.name != "" {
		return w.kind == r.kind && shortName(w.name) == shortName(r.name)
	}
	return promotable(w.kind, r.kind)
}

// resolve converts v, a goavro native value of writer type w, into the
// goavro native value of reader type r under the Avro specification's
// schema resolution rules: record fields match by name, fields the writer
// lacks take the reader's default, fields the reader lacks are dropped,
// numbers promote (int → long → float → double), string and bytes
// interchange, enum symbols the reader lacks take its default. Aliases are
// not supported.
func resolve(w, r *avroType, v any) (any, error) {
	if w.kind == "union" {
		var wb *avroType
		if v == nil {
			for _, b := range w.branches {
				if b.kind == "null" {
					wb = b
				}
			}
		} else if m, ok := v.(map[string]any); ok && len(m) == 1 {
			for k, inner := range m {
				for _, b := range w.branches {
					if branchName(b) == k {
						wb, v = b, inner
					}
				}
			}
		}
		if wb == nil {
			return nil, fmt.Errorf("value %T matches no branch of the writer's union", v)
		}
		return resolve(wb, r, v)
	}
	if r.kind == "union" {
		for _, rb := range r.branches {
			if !matches(w, rb) {
				continue
			}
			rv, err := resolve(w, rb, v)
			if err != nil {
				return nil, err
			}
			if rb.kind == "null" {
				return nil, nil
			}
			return map[string]any{branchName(rb): rv}, nil
		}
		return nil, fmt.Errorf("writer type %s matches no branch of the reader's union", branchName(w))
	}
	if !matches(w, r) {
		return nil, fmt.Errorf("writer type %s cannot be read as %s", branchName(w), branchName(r))
	}
	switch r.kind {
	case "null":
		return nil, nil
	case "boolean", "fixed":
		return v, nil
	case "int":
		return v, nil
	case "long":
		switch x := v.(type) {
		case int32:
			return int64(x), nil
		case time.Time:
			return timeAsLong(x, w.logical), nil
		}
		return v, nil
	case "float":
		switch x := v.(type) {
		case int32:
			return float32(x), nil
		case int64:
			return float32(x), nil
		case time.Time:
			return float32(timeAsLong(x, w.logical)), nil
		}
		return v, nil
	case "double":
		switch x := v.(type) {
		case int32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float32:
			return float64(x), nil
		case time.Time:
			return float64(timeAsLong(x, w.logical)), nil
		}
		return v, nil
	case "string":
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
		return v, nil
	case "bytes":
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
		return v, nil
	case "enum":
		s, _ := v.(string)
		for _, sym := range r.symbols {
			if sym == s {
				return s, nil
			}
		}
		if r.enumDef != nil {
			return *r.enumDef, nil
		}
		return nil, fmt.Errorf("enum %s has no symbol %q and no default", r.name, s)
	case "array":
		items, _ := v.([]any)
		out := make([]any, len(items))
		for i, it := range items {
			rv, err := resolve(w.items, r.items, it)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = rv
		}
		return out, nil
	case "map":
		m, _ := v.(map[string]any)
		out := make(map[string]any, len(m))
		for k, it := range m {
			rv, err := resolve(w.values, r.values, it)
			if err != nil {
				return nil, fmt.Errorf("value %q: %w", k, err)
			}
			out[k] = rv
		}
		return out, nil
	case "record":
		m, _ := v.(map[string]any)
		out := make(map[string]any, len(r.fields))
		for _, rf := range r.fields {
			var wf *avroField
			for i := range w.fields {
				if w.fields[i].name == rf.name {
					wf = &w.fields[i]
				}
			}
			var (
				rv  any
				err error
			)
			switch {
			case wf != nil:
				rv, err = resolve(wf.typ, rf.typ, m[rf.name])
			case rf.hasDefault:
				rv, err = defaultValue(rf.typ, rf.def)
			default:
				err = fmt.Errorf("the writer lacks it and the reader has no default")
			}
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", r.name, rf.name, err)
			}
			out[rf.name] = rv
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type %s", r.kind)
}

func timeAsLong(t time.Time, logical string) int64 {
	if logical == "timestamp-micros" || logical == "time-micros" {
		return t.UnixMicro()
	}
	return t.UnixMilli()
}

// defaultValue converts a field default (decoded JSON) into the goavro native
// value of type t. A union's default is a value of its first branch.
func defaultValue(t *avroType, def any) (any, error) {
	switch t.kind {
	case "null":
		if def != nil {
			return nil, fmt.Errorf("default %v for null", def)
		}
		return nil, nil
	case "boolean":
		b, ok := def.(bool)
		if !ok {
			return nil, fmt.Errorf("default %v for boolean", def)
		}
		return b, nil
	case "int", "long":
		n, ok := def.(json.Number)
		if !ok {
			return nil, fmt.Errorf("default %v for %s", def, t.kind)
		}
		i, err := n.Int64()
		if err != nil {
			return nil, err
		}
		if t.kind == "int" {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, fmt.Errorf("default %d out of int range", i)
			}
			return int32(i), nil
		}
		return i, nil
	case "float", "double":
		n, ok := def.(json.Number)
		if !ok {
			return nil, fmt.Errorf("default %v for %s", def, t.kind)
		}
		f, err := n.Float64()
		if err != nil {
			return nil, err
		}
		if t.kind == "float" {
			return float32(f), nil
		}
		return f, nil
	case "string", "enum":
		s, ok := def.(string)
		if !ok {
			return nil, fmt.Errorf("default %v for %s", def, t.kind)
		}
		return s, nil
	case "bytes", "fixed":
		s, ok := def.(string)
		if !ok {
			return nil, fmt.Errorf("default %v for %s", def, t.kind)
		}
		// Avro JSON encodes bytes as a string of code points 0-255.
		var b bytes.Buffer
		for _, r := range s {
			if r > 255 {
				return nil, fmt.Errorf("default %q: code point %U above 255", s, r)
			}
			b.WriteByte(byte(r))
		}
		return b.Bytes(), nil
	case "array":
		items, ok := def.([]any)
		if !ok {
			return nil, fmt.Errorf("default %v for array", def)
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, err := defaultValue(t.items, it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case "map":
		m, ok := def.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("default %v for map", def)
		}
		out := make(map[string]any, len(m))
		for k, it := range m {
			v, err := defaultValue(t.values, it)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case "union":
		if len(t.branches) == 0 {
			return nil, fmt.Errorf("empty union")
		}
		b := t.branches[0]
		v, err := defaultValue(b, def)
		if err != nil || b.kind == "null" {
			return nil, err
		}
		return map[string]any{branchName(b): v}, nil
	case "record":
		m, ok := def.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("default %v for record %s", def, t.name)
		}
		out := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			fv, present := m[f.name]
			if !present {
				if !f.hasDefault {
					return nil, fmt.Errorf("default for record %s lacks field %s", t.name, f.name)
				}
				fv = f.def
			}
			v, err := defaultValue(f.typ, fv)
			if err != nil {
				return nil, err
			}
			out[f.name] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type %s", t.kind)
}

// Bounds for checkValue.
const (
	// maxSchemaDepth bounds nesting while checking a value, for recursive
	// schemas.
	maxSchemaDepth = 64
	// maxZeroSizeItems bounds the items of arrays whose items take no bytes
	// (arrays of null or of empty records) in one value: their count is not
	// bounded by the input's size.
	maxZeroSizeItems = 1 << 16
)

// checkValue checks that r holds one well-formed value of type t and moves
// past it, without building it. It exists so that untrusted bytes are never
// handed to goavro unchecked: goavro allocates whatever an array block count
// says, so a few crafted bytes could exhaust memory. Every length and count
// is checked against the bytes left.
func checkValue(t *avroType, r *reader, depth int, zeroItems *int) {
	if r.err != nil {
		return
	}
	if depth > maxSchemaDepth {
		r.fail(t.kind, fmt.Errorf("nesting deeper than %d", maxSchemaDepth))
		return
	}
	switch t.kind {
	case "null":
	case "boolean":
		r.boolean(t.kind)
	case "int":
		r.int(t.kind)
	case "long":
		r.long(t.kind)
	case "float":
		r.skip(t.kind, 4)
	case "double":
		r.skip(t.kind, 8)
	case "fixed":
		r.skip(t.name, t.size)
	case "bytes", "string":
		n := r.long(t.kind)
		if n < 0 || n > int64(len(r.body)-r.pos) {
			r.fail(t.kind, fmt.Errorf("length %d with %d bytes left: %w", n, len(r.body)-r.pos, errTruncated))
			return
		}
		r.pos += int(n)
	case "enum":
		if i := r.long(t.name); r.err == nil && (i < 0 || i >= int64(len(t.symbols))) {
			r.fail(t.name, fmt.Errorf("enum index %d of %d", i, len(t.symbols)))
		}
	case "union":
		i := r.long("union")
		if r.err != nil {
			return
		}
		if i < 0 || i >= int64(len(t.branches)) {
			r.fail("union", fmt.Errorf("union branch %d of %d", i, len(t.branches)))
			return
		}
		checkValue(t.branches[i], r, depth+1, zeroItems)
	case "record":
		for _, f := range t.fields {
			checkValue(f.typ, r, depth+1, zeroItems)
		}
	case "array", "map":
		item, keyBytes := t.items, 0
		if t.kind == "map" {
			item, keyBytes = t.values, 1
		}
		size := keyBytes + minSize(item, map[*avroType]bool{})
		for r.err == nil {
			n := r.blockLen(t.kind, max(size, 1))
			if n == 0 {
				return
			}
			if size == 0 {
				if *zeroItems += n; *zeroItems > maxZeroSizeItems {
					r.fail(t.kind, fmt.Errorf("more than %d items that take no bytes", maxZeroSizeItems))
					return
				}
			}
			for i := 0; i < n && r.err == nil; i++ {
				if t.kind == "map" {
					checkValue(&avroType{kind: "string"}, r, depth+1, zeroItems)
				}
				checkValue(item, r, depth+1, zeroItems)
			}
		}
	default:
		r.fail(t.kind, fmt.Errorf("unsupported type %s", t.kind))
	}
}

// minSize returns the fewest bytes a value of type t takes.
func minSize(t *avroType, visiting map[*avroType]bool) int {
	switch t.kind {
	case "null":
		return 0
	case "float":
		return 4
	case "double":
		return 8
	case "fixed":
		return t.size
	case "record":
		if visiting[t] {
			return 0
		}
		visiting[t] = true
		defer delete(visiting, t)
		n := 0
		for _, f := range t.fields {
			n += minSize(f.typ, visiting)
		}
		return n
	}
	return 1 // one varint: a number, a length, a count, an index
}
