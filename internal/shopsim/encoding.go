package shopsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Connect schema names and parameters Debezium 2.5 writes for the shop's
// column types (decimal.handling.mode=precise, time.precision.mode=adaptive).
const (
	decimalSchemaName        = "org.apache.kafka.connect.data.Decimal"
	zonedTimestampSchemaName = "io.debezium.time.ZonedTimestamp"
	jsonSchemaName           = "io.debezium.data.Json"
	enumSchemaName           = "io.debezium.data.Enum"
	sourceSchemaName         = "io.debezium.connector.postgresql.Source"
	transactionSchemaName    = "event.block"

	// snapshotAllowed is the `allowed` parameter of source.snapshot in 2.5:
	// it lags the values the connector really writes ("first", ...).
	snapshotAllowed = "true,last,false,incremental"

	// moneyPrecision and moneyScale are numeric(12,2), the type of every
	// money column of the shop database.
	moneyPrecision = 12
	moneyScale     = 2

	// zonedTimestampLayout renders timestamptz as Debezium 2.5 does for a
	// column whose JDBC scale is 6 (every timestamptz without an explicit
	// precision): always six fraction digits, UTC as "Z".
	zonedTimestampLayout = "2006-01-02T15:04:05.000000Z07:00"
	// epochZonedTimestamp is Debezium's fallback for a NOT NULL timestamptz
	// column that has no value (the non-key columns of a delete's before
	// under REPLICA IDENTITY DEFAULT): ISO_OFFSET_DATE_TIME, no fraction.
	epochZonedTimestamp = "1970-01-01T00:00:00Z"
)

// connectSchema is one Kafka Connect schema as the JSON converter writes it
// (JsonConverter.asJsonSchema). Field order matters only for byte-identical
// output, and is kept: type, items or fields, optional, name, version,
// parameters, default, field.
type connectSchema struct {
	Type       string          `json:"type"`
	Items      *connectSchema  `json:"items,omitempty"`
	Fields     []connectSchema `json:"fields,omitempty"`
	Optional   bool            `json:"optional"`
	Name       string          `json:"name,omitempty"`
	Version    int             `json:"version,omitempty"`
	Parameters params          `json:"parameters,omitempty"`
	Default    any             `json:"default,omitempty"`
	Field      string          `json:"field,omitempty"`
}

// params are schema parameters in insertion order.
type params [][2]string

func (p params) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv[0])
		v, _ := json.Marshal(kv[1])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Column schema constructors, named for the PostgreSQL type they map.

func colText(name string, optional bool) connectSchema {
	return connectSchema{Type: "string", Optional: optional, Field: name}
}

func colBool(name string) connectSchema {
	return connectSchema{Type: "boolean", Field: name}
}

func colInt4(name string) connectSchema {
	return connectSchema{Type: "int32", Field: name}
}

func colInt8(name string) connectSchema {
	return connectSchema{Type: "int64", Field: name}
}

func colMoney(name string, optional bool) connectSchema {
	return connectSchema{
		Type: "bytes", Optional: optional, Name: decimalSchemaName, Version: 1,
		Parameters: params{{"scale", strconv.Itoa(moneyScale)}, {"connect.decimal.precision", strconv.Itoa(moneyPrecision)}},
		Field:      name,
	}
}

func colTimestamptz(name string, optional bool) connectSchema {
	return connectSchema{Type: "string", Optional: optional, Name: zonedTimestampSchemaName, Version: 1, Field: name}
}

func colJSONB(name string) connectSchema {
	return connectSchema{Type: "string", Name: jsonSchemaName, Version: 1, Field: name}
}

func colTextArray(name string) connectSchema {
	return connectSchema{Type: "array", Items: &connectSchema{Type: "string", Optional: true}, Field: name}
}

// sourceSchema is io.debezium.connector.postgresql.Source as 2.5 declares
// it (no ts_us/ts_ns: those came in 2.6).
func sourceSchema() connectSchema {
	return connectSchema{
		Type: "struct",
		Fields: []connectSchema{
			colText("version", false),
			colText("connector", false),
			colText("name", false),
			colInt8("ts_ms"),
			{Type: "string", Optional: true, Name: enumSchemaName, Version: 1, Parameters: params{{"allowed", snapshotAllowed}}, Default: "false", Field: "snapshot"},
			colText("db", false),
			colText("sequence", true),
			colText("schema", false),
			colText("table", false),
			{Type: "int64", Optional: true, Field: "txId"},
			{Type: "int64", Optional: true, Field: "lsn"},
			{Type: "int64", Optional: true, Field: "xmin"},
		},
		Name:  sourceSchemaName,
		Field: "source",
	}
}

// envelopeSchema is <prefix>.public.<table>.Envelope around the table's
// Value struct, in the field order 2.5 writes.
func envelopeSchema(prefix, table string, columns []connectSchema) connectSchema {
	value := func(field string) connectSchema {
		return connectSchema{Type: "struct", Fields: columns, Optional: true, Name: prefix + ".public." + table + ".Value", Field: field}
	}
	return connectSchema{
		Type: "struct",
		Fields: []connectSchema{
			value("before"),
			value("after"),
			sourceSchema(),
			colText("op", false),
			{Type: "int64", Optional: true, Field: "ts_ms"},
			{
				Type: "struct",
				Fields: []connectSchema{
					colText("id", false),
					colInt8("total_order"),
					colInt8("data_collection_order"),
				},
				Optional: true, Name: transactionSchemaName, Version: 1, Field: "transaction",
			},
		},
		Name:    prefix + ".public." + table + ".Envelope",
		Version: 1,
	}
}

// keySchema is <prefix>.public.<table>.Key: a struct of the primary key.
func keySchema(prefix, table string, pk connectSchema) connectSchema {
	return connectSchema{Type: "struct", Fields: []connectSchema{pk}, Name: prefix + ".public." + table + ".Key"}
}

// source is the payload of the source block.
type source struct {
	Version   string `json:"version"`
	Connector string `json:"connector"`
	Name      string `json:"name"`
	TsMs      int64  `json:"ts_ms"`
	Snapshot  string `json:"snapshot"`
	DB        string `json:"db"`
	Sequence  string `json:"sequence"`
	Schema    string `json:"schema"`
	Table     string `json:"table"`
	TxID      int64  `json:"txId"`
	LSN       int64  `json:"lsn"`
	Xmin      *int64 `json:"xmin"`
}

// envelope is the payload of a change event value. Transaction is always
// null: provide.transaction.metadata is off by default.
type envelope struct {
	Before      any       `json:"before"`
	After       any       `json:"after"`
	Source      source    `json:"source"`
	Op          string    `json:"op"`
	TsMs        int64     `json:"ts_ms"`
	Transaction *struct{} `json:"transaction"`
}

// wrapped is the JSON converter's schemas.enable=true form.
type wrapped struct {
	Schema  json.RawMessage `json:"schema"`
	Payload any             `json:"payload"`
}

// marshal writes v as Kafka Connect's JsonConverter (Jackson) would: compact,
// HTML characters unescaped.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// mustMarshal marshals values whose types cannot fail to encode (schemas
// and rows built by this package).
func mustMarshal(v any) []byte {
	b, err := marshal(v)
	if err != nil {
		panic(fmt.Sprintf("shopsim: encode %T: %v", v, err))
	}
	return b
}

// zonedTimestamp renders t as io.debezium.time.ZonedTimestamp.
func zonedTimestamp(t time.Time) string {
	return t.UTC().Format(zonedTimestampLayout)
}

// Amount is a value of a numeric(12,2) column in hundredths: 1999 is 19.99.
// Money columns of the shop database have scale 2 whatever the currency's
// own exponent, as the design's schema fixes them.
type Amount int64

// maxAmount bounds numeric(12,2): ten integer digits, two fraction digits.
const maxAmount Amount = 999_999_999_999

// ParseAmount parses a decimal string with at most two fraction digits
// ("19.99", "5", "-0.50"). It never rounds: more digits are an error.
func ParseAmount(s string) (Amount, error) {
	u, err := parseDecimal(s, moneyScale)
	if err != nil {
		return 0, err
	}
	if !u.IsInt64() || Amount(u.Int64()) > maxAmount || Amount(u.Int64()) < -maxAmount {
		return 0, fmt.Errorf("shopsim: amount %q: out of range for numeric(12,2)", s)
	}
	return Amount(u.Int64()), nil
}

// MustAmount is ParseAmount for constants; it panics on a malformed value.
func MustAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String renders the amount with exactly two fraction digits.
func (a Amount) String() string {
	return formatDecimal(big.NewInt(int64(a)), moneyScale)
}

// Decimal returns the amount as Connect Decimal bytes (see EncodeDecimal).
func (a Amount) Decimal() []byte {
	return decimalBytes(big.NewInt(int64(a)))
}

// EncodeDecimal returns the bytes Kafka Connect's Decimal logical type holds
// for the decimal string v at the given scale: the unscaled value as
// big-endian two's complement of minimal length (Java's
// BigInteger.toByteArray), which the JSON converter writes as standard
// base64. v may have fewer fraction digits than scale, never more.
func EncodeDecimal(v string, scale int) ([]byte, error) {
	u, err := parseDecimal(v, scale)
	if err != nil {
		return nil, err
	}
	return decimalBytes(u), nil
}

// DecodeDecimal is the inverse of EncodeDecimal: it reads the two's
// complement unscaled value and renders it with exactly scale fraction
// digits. An empty slice is an error (Java never writes one).
func DecodeDecimal(b []byte, scale int) (string, error) {
	if len(b) == 0 {
		return "", errors.New("shopsim: decimal: no bytes")
	}
	if scale < 0 {
		return "", fmt.Errorf("shopsim: decimal: negative scale %d", scale)
	}
	u := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return formatDecimal(u, scale), nil
}

// decimalBytes is BigInteger.toByteArray: bitLength()/8+1 bytes, where a
// negative value's bitLength is that of its one's complement.
func decimalBytes(u *big.Int) []byte {
	bits := u.BitLen()
	if u.Sign() < 0 {
		bits = new(big.Int).Not(u).BitLen()
	}
	n := bits/8 + 1
	x := new(big.Int).Set(u)
	if u.Sign() < 0 {
		x.Add(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return x.FillBytes(make([]byte, n))
}

// parseDecimal reads a plain decimal string into its unscaled value at scale.
func parseDecimal(s string, scale int) (*big.Int, error) {
	if scale < 0 {
		return nil, fmt.Errorf("shopsim: decimal %q: negative scale %d", s, scale)
	}
	body := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if intPart == "" && frac == "" || hasPoint && frac == "" || !digitsOnly(intPart) || !digitsOnly(frac) {
		return nil, fmt.Errorf("shopsim: decimal %q: not a plain decimal number", s)
	}
	if len(frac) > scale {
		return nil, fmt.Errorf("shopsim: decimal %q: more than %d fraction digits", s, scale)
	}
	digits := intPart + frac + strings.Repeat("0", scale-len(frac))
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, fmt.Errorf("shopsim: decimal %q: not a plain decimal number", s)
	}
	if strings.HasPrefix(s, "-") {
		u.Neg(u)
	}
	return u, nil
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// formatDecimal renders an unscaled value with exactly scale fraction digits.
func formatDecimal(u *big.Int, scale int) string {
	neg := u.Sign() < 0
	digits := new(big.Int).Abs(u).String()
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// jsonbText renders a JSON document as PostgreSQL's jsonb output function
// does, which is the text Debezium puts in an io.debezium.data.Json field:
// object keys sorted by length and then bytewise, the last of duplicate keys
// kept, ", " and ": " separators, numbers as numeric prints them.
func jsonbText(doc []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("shopsim: invalid JSON for a jsonb column: %w", err)
	}
	if dec.More() {
		return "", errors.New("shopsim: invalid JSON for a jsonb column: trailing data")
	}
	var b strings.Builder
	if err := writeJSONB(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSONB(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		n, err := pgNumeric(string(v))
		if err != nil {
			return err
		}
		b.WriteString(n)
	case string:
		writeJSONBString(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeJSONB(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) < len(keys[j])
			}
			return keys[i] < keys[j]
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONBString(b, k)
			b.WriteString(": ")
			if err := writeJSONB(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("shopsim: jsonb: unexpected %T", v)
	}
	return nil
}

// writeJSONBString escapes as PostgreSQL's escape_json: quote, backslash,
// \b \f \n \r \t, other control characters as \u00xx; nothing else.
func writeJSONBString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pgNumeric renders a JSON number as PostgreSQL's numeric type prints it:
// exponents applied, the display scale max(0, fraction digits - exponent)
// kept (1.50 stays 1.50, 1e2 becomes 100), no negative zero.
func pgNumeric(s string) (string, error) {
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expText)
		if err != nil || e > 1000 || e < -1000 {
			return "", fmt.Errorf("shopsim: jsonb number %q: exponent out of range", s)
		}
		exp = e
	}
	neg := strings.HasPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(mant, "-"), ".")
	u, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return "", fmt.Errorf("shopsim: jsonb number %q: malformed", s)
	}
	if neg {
		u.Neg(u)
	}
	scale := len(frac) - exp
	if scale <= 0 {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil))
		scale = 0
	}
	return formatDecimal(u, scale), nil
}
