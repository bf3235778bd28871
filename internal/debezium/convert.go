package debezium

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// convert turns one decoded value (JSON with json.Number, or normalised
// Avro) into its Row form according to its schema t (nil: no schema).
// Errors are bare; the caller adds the column path and the class.
func convert(v any, t *typ) (any, error) {
	if v == nil {
		return nil, nil
	}
	if t == nil {
		return bare(v)
	}
	if t.kind == kUnion {
		u, ok := v.(unionValue)
		if !ok || u.member < 0 || u.member >= len(t.members) {
			return nil, fmt.Errorf("union value %T", v)
		}
		return convert(u.v, t.members[u.member])
	}
	switch t.name {
	case TypeDecimal:
		return decimalValue(v, t)
	case TypeVariableScaleDecimal:
		return variableScaleDecimal(v)
	case TypeZonedTimestamp:
		s, ok := v.(string)
		if !ok {
			break
		}
		if s == "infinity" || s == "-infinity" {
			return s, nil // PostgreSQL's ±infinity: no instant to give
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("ZonedTimestamp: %v", err)
		}
		return ts.UTC(), nil
	case TypeTimestamp, connectTimestamp:
		return epochValue(v, time.Millisecond)
	case TypeMicroTimestamp:
		return epochValue(v, time.Microsecond)
	case TypeNanoTimestamp:
		return epochValue(v, time.Nanosecond)
	case TypeDate, connectDate:
		if tm, ok := v.(time.Time); ok {
			tm = tm.UTC()
			return Date{Year: tm.Year(), Month: tm.Month(), Day: tm.Day()}, nil
		}
		n, ok := intValue(v)
		if !ok {
			break
		}
		if n < -1e8 || n > 1e8 {
			return nil, fmt.Errorf("date of %d days out of range", n)
		}
		return DateFromDays(n), nil
	case TypeTime, connectTime:
		return timeOfDay(v, time.Millisecond)
	case TypeMicroTime:
		return timeOfDay(v, time.Microsecond)
	case TypeNanoTime:
		return timeOfDay(v, time.Nanosecond)
	case TypeJSON:
		s, ok := v.(string)
		if !ok {
			break
		}
		doc, err := parseJSONDocument([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("json column: %v: %w", err, ErrDecode)
		}
		return doc, nil
	}
	switch t.kind {
	case kAny:
		return bare(v)
	case kBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kInt:
		if n, ok := intValue(v); ok {
			return n, nil
		}
	case kFloat:
		return floatValue(v, t.float32)
	case kString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case kBytes:
		switch b := v.(type) {
		case []byte:
			return b, nil
		case string:
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, fmt.Errorf("bytes are not base64: %w", ErrDecode)
			}
			return raw, nil
		}
	case kStruct:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			y, err := convert(x, t.field(k))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = y
		}
		return out, nil
	case kArray:
		a, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]any, len(a))
		for i, x := range a {
			y, err := convert(x, t.items)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = y
		}
		return out, nil
	case kMap:
		switch m := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(m))
			for k, x := range m {
				y, err := convert(x, t.values)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				out[k] = y
			}
			return out, nil
		case []any: // the JSON converter writes maps with non-string keys as [key, value] pairs
			return bare(m)
		}
	}
	return nil, fmt.Errorf("%s where the schema (%s) says %s", describe(v), t.describe(), kindName(t.kind))
}

// bare reads a value that has no schema by its own shape: integers as
// int64, other numbers as exact Decimals, objects shaped like a
// VariableScaleDecimal ({"scale": n, "value": base64}) as Decimals.
func bare(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return numberValue(string(x))
	case map[string]any:
		if d, ok := bareVariableScaleDecimal(x); ok {
			return d, nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			y, err := bare(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			y, err := bare(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = y
		}
		return out, nil
	case int32:
		return int64(x), nil
	case float32:
		return floatValue(x, true)
	case unionValue:
		return bare(x.v)
	default:
		return v, nil
	}
}

// numberValue reads a JSON number without a schema: int64 when it is an
// integer that fits, else an exact Decimal of its text (a double's shortest
// text as Jackson wrote it, or a NUMERIC-format decimal).
func numberValue(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	d, err := parseDecimal(s)
	if err != nil {
		return nil, fmt.Errorf("number %q: %v", truncate(s, 40), err)
	}
	return d, nil
}

func bareVariableScaleDecimal(m map[string]any) (Decimal, bool) {
	if len(m) != 2 {
		return Decimal{}, false
	}
	if _, ok := m["scale"].(json.Number); !ok {
		return Decimal{}, false
	}
	if _, ok := m["value"].(string); !ok {
		return Decimal{}, false
	}
	d, err := variableScaleDecimal(m)
	if err != nil {
		return Decimal{}, false
	}
	return d, true
}

// variableScaleDecimal reads io.debezium.data.VariableScaleDecimal:
// {scale int32, value bytes}.
func variableScaleDecimal(v any) (Decimal, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Decimal{}, fmt.Errorf("VariableScaleDecimal is %s, not a struct", describe(v))
	}
	scale, ok := intValue(m["scale"])
	if !ok || scale < -MaxDecimalScale || scale > MaxDecimalScale {
		return Decimal{}, fmt.Errorf("VariableScaleDecimal scale %v out of range", m["scale"])
	}
	raw, err := bytesValue(m["value"])
	if err != nil {
		return Decimal{}, fmt.Errorf("VariableScaleDecimal value: %w", err)
	}
	return decimalFromBytes(raw, int32(scale))
}

// decimalValue reads org.apache.kafka.connect.data.Decimal: base64 bytes
// (JSON, decimal.format=BASE64), raw bytes or *big.Rat (Avro), a JSON number
// (decimal.format=NUMERIC). For a column typed by Decoder.Columns it also
// takes the text of decimal.handling.mode=string and the number of
// decimal.handling.mode=double, keeping their exact text.
func decimalValue(v any, t *typ) (Decimal, error) {
	switch x := v.(type) {
	case []byte:
		return decimalFromBytes(x, t.scale)
	case *big.Rat:
		return decimalFromRat(x, t.scale)
	case json.Number:
		d, err := parseDecimal(string(x))
		if err != nil {
			return Decimal{}, fmt.Errorf("decimal %q: %v", truncate(string(x), 40), err)
		}
		return d, nil
	case string:
		if t.hinted && looksLikeDecimalText(x, t.scale) {
			d, err := parseDecimal(x)
			if err != nil {
				return Decimal{}, fmt.Errorf("decimal %q: %v", truncate(x, 40), err)
			}
			return d, nil
		}
		raw, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			return Decimal{}, fmt.Errorf("decimal %q is not base64: %w", truncate(x, 40), ErrDecode)
		}
		return decimalFromBytes(raw, t.scale)
	case float64:
		return parseDecimal(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return Decimal{}, fmt.Errorf("decimal is %s", describe(v))
}

// looksLikeDecimalText tells decimal text (decimal.handling.mode=string)
// from base64 bytes when no schema says which. Text of a column with a
// positive scale always has a point; base64 never does. For scale 0 a string
// of digits is taken as text: base64 of a Decimal is rarely all digits.
func looksLikeDecimalText(s string, scale int32) bool {
	if strings.ContainsAny(s, ".eE") && !strings.ContainsAny(s, "+/=") {
		return true
	}
	if scale > 0 {
		return false
	}
	body := strings.TrimPrefix(s, "-")
	return body != "" && strings.Trim(body, "0123456789") == ""
}

func bytesValue(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		raw, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			return nil, fmt.Errorf("not base64: %w", ErrDecode)
		}
		return raw, nil
	}
	return nil, fmt.Errorf("bytes are %s", describe(v))
}

func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}

func floatValue(v any, is32 bool) (any, error) {
	switch x := v.(type) {
	case json.Number:
		// The text is already the float's shortest form: read it as a
		// float64 even for FLOAT32 columns, so 0.1 stays 0.1.
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("float %q: %v", truncate(string(x), 40), err)
		}
		return f, nil
	case float64:
		return x, nil
	case float32:
		// Through its shortest text, so a FLOAT32 0.1 stays 0.1 rather
		// than becoming 0.10000000149011612.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return f, nil
	case string: // Jackson quotes non-finite doubles
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return nil, fmt.Errorf("float is %s", describe(v))
}

// epochValue reads a count of units since the epoch (or goavro's time.Time)
// as a UTC instant.
func epochValue(v any, unit time.Duration) (any, error) {
	if tm, ok := v.(time.Time); ok {
		return tm.UTC(), nil
	}
	n, ok := intValue(v)
	if !ok {
		return nil, fmt.Errorf("timestamp is %s", describe(v))
	}
	switch unit {
	case time.Millisecond:
		return time.UnixMilli(n).UTC(), nil
	case time.Microsecond:
		return time.UnixMicro(n).UTC(), nil
	default:
		return time.Unix(0, n).UTC(), nil
	}
}

func timeOfDay(v any, unit time.Duration) (any, error) {
	if d, ok := v.(time.Duration); ok {
		return TimeOfDay(d), nil
	}
	n, ok := intValue(v)
	if !ok {
		return nil, fmt.Errorf("time is %s", describe(v))
	}
	if n < 0 || n > int64(48*time.Hour/unit) {
		return nil, fmt.Errorf("time of day %d out of range", n)
	}
	return TimeOfDay(time.Duration(n) * unit), nil
}

// parseJSONDocument parses one JSON value with numbers kept as json.Number.
func parseJSONDocument(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if rest := b[dec.InputOffset():]; len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", truncate(x, 40))
	case json.Number:
		return "number " + truncate(string(x), 40)
	case []byte:
		return "bytes"
	default:
		return jsonKind(v)
	}
}

func (t *typ) describe() string {
	if t.name != "" {
		return t.name
	}
	return kindName(t.kind)
}

func kindName(k kind) string {
	return [...]string{"any", "boolean", "integer", "float", "string", "bytes", "struct", "array", "map", "union"}[k]
}

// placeholder is the unavailable-value placeholder in every form Debezium
// substitutes for an unchanged TOASTed column (UnchangedToastedPlaceholder):
// the text, its bytes (bytea; base64 or hex in JSON), a one-element text
// array, the bytes as an integer array, the name-based UUID, and the hstore
// map {placeholder: placeholder}.
type placeholder struct {
	text   string
	raw    []byte
	b64    string
	b64url string
	hex    string
	uuid   string
}

func newPlaceholder(setting string) *placeholder {
	if setting == "" {
		setting = DefaultUnavailablePlaceholder
	}
	raw := []byte(setting)
	if h, ok := strings.CutPrefix(setting, "hex:"); ok {
		if b, err := hex.DecodeString(h); err == nil {
			raw = b
		}
	}
	sum := md5.Sum(raw) // java.util.UUID.nameUUIDFromBytes
	sum[6] = sum[6]&0x0f | 0x30
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:])
	return &placeholder{
		text:   string(raw),
		raw:    raw,
		b64:    base64.StdEncoding.EncodeToString(raw),
		b64url: base64.URLEncoding.EncodeToString(raw),
		hex:    hex.EncodeToString(raw),
		uuid:   h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
	}
}

// is reports whether a column's raw value is the placeholder. Strings
// match the text always, and the bytes' base64/hex forms unless the schema
// says the column is text (where such a string would be real data).
func (p *placeholder) is(v any, t *typ) bool {
	switch x := v.(type) {
	case string:
		if x == p.text {
			return true
		}
		if t != nil && t.kind == kString && !t.hinted {
			return false
		}
		return x == p.b64 || x == p.b64url || x == p.hex
	case []byte:
		return bytes.Equal(x, p.raw)
	case []any:
		if len(x) == 1 {
			if s, ok := x[0].(string); ok && (s == p.text || s == p.uuid) {
				return true
			}
		}
		if len(x) != len(p.raw) || len(x) == 0 {
			return false
		}
		for i, e := range x {
			n, ok := intValue(e)
			if !ok || n != int64(p.raw[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		if len(x) != 1 {
			return false
		}
		s, ok := x[p.text].(string)
		return ok && s == p.text
	}
	return false
}

func (d *Decoder) placeholder() *placeholder {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ph == nil {
		d.ph = newPlaceholder(d.UnavailablePlaceholder)
	}
	return d.ph
}

// row converts a row object (before, after, or an unwrapped value) column by
// column. Placeholder columns are left out and returned, sorted, in
// unavailable; strip drops the "__" metadata fields of unwrapped records.
func (d *Decoder) row(obj map[string]any, t *typ, ph *placeholder, strip bool) (Row, []string, error) {
	out := make(Row, len(obj))
	var unavailable []string
	for col, v := range obj {
		if strip && strings.HasPrefix(col, "__") {
			continue
		}
		ct := t.field(col)
		if t == nil || t.kind == kAny {
			ct = d.hint(col)
		}
		if ph != nil && ph.is(v, ct) {
			unavailable = append(unavailable, col)
			continue
		}
		x, err := convert(v, ct)
		if err != nil {
			return nil, nil, columnError(col, err)
		}
		out[col] = x
	}
	slices.Sort(unavailable)
	return out, unavailable, nil
}

// hint is the schema Decoder.Columns gives a column of a record without one.
func (d *Decoder) hint(col string) *typ {
	c, ok := d.Columns[col]
	if !ok {
		return nil
	}
	return &typ{kind: kAny, name: c.Type, scale: c.Scale, hinted: true}
}

// columnError classifies a conversion error: ErrDecode where bytes inside
// the value are undecodable (bad base64, a Json column that is not JSON),
// ErrInvalid where the value contradicts its schema.
func columnError(col string, err error) error {
	if errors.Is(err, ErrDecode) {
		return fmt.Errorf("column %s: %w", col, err)
	}
	return fmt.Errorf("column %s: %w: %w", col, err, ErrInvalid)
}
