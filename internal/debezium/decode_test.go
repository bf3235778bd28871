package debezium

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

// envelopeWithSchema wraps an after-image in the JSON converter's
// schema/payload form with the given column schemas.
func envelopeWithSchema(columns, after string) string {
	return `{"schema":{"type":"struct","name":"shop.public.t.Envelope","fields":[` +
		`{"type":"struct","optional":true,"name":"shop.public.t.Value","field":"before","fields":[` + columns + `]},` +
		`{"type":"struct","optional":true,"name":"shop.public.t.Value","field":"after","fields":[` + columns + `]},` +
		`{"type":"string","field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}]},` +
		`"payload":{"before":null,"after":` + after + `,"op":"c","ts_ms":1}}`
}

// TestColumnTypes covers Debezium's logical types in JSON with a schema,
// one column each.
func TestColumnTypes(t *testing.T) {
	tests := []struct {
		name   string
		column string // Connect schema of column "v"
		value  string // JSON of column "v"
		want   any
	}{
		{"Decimal scale 2", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"v"}`, `"B88="`, dec("19.99")},
		{"Decimal keeps trailing zeros", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"4"},"field":"v"}`, `"AYag"`, dec("10.0000")},
		{"Decimal negative two's complement", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"1"},"field":"v"}`, `"+w=="`, dec("-0.5")},
		{"Decimal //8= sign-extended", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"v"}`, `"//8="`, dec("-0.01")},
		{"Decimal 0x80 00 is negative", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"0"},"field":"v"}`, `"gAA="`, dec("-32768")},
		{"Decimal NUMERIC format", `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"v"}`, `1200.50`, dec("1200.50")},
		{"VariableScaleDecimal", `{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","fields":[{"type":"int32","field":"scale"},{"type":"bytes","field":"value"}],"field":"v"}`, `{"scale":1,"value":"LQ=="}`, dec("4.5")},
		{"decimal.handling.mode=string keeps text", `{"type":"string","field":"v"}`, `"1200.50"`, "1200.50"},
		{"decimal.handling.mode=double", `{"type":"double","field":"v"}`, `19.99`, 19.99},
		{"float32 keeps its shortest text", `{"type":"float","field":"v"}`, `0.1`, 0.1},
		{"double NaN quoted by Jackson", `{"type":"double","field":"v"}`, `"NaN"`, math.NaN()},
		{"ZonedTimestamp no fraction", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `"2018-06-20T13:37:03Z"`, mustTime(t, "2018-06-20T13:37:03Z")},
		{"ZonedTimestamp 1 digit", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `"2024-12-17T18:00:52.4Z"`, mustTime(t, "2024-12-17T18:00:52.4Z")},
		{"ZonedTimestamp 3 digits", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `"2024-12-17T18:00:52.458Z"`, mustTime(t, "2024-12-17T18:00:52.458Z")},
		{"ZonedTimestamp 6 digits", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `"2024-12-17T18:00:52.458123Z"`, mustTime(t, "2024-12-17T18:00:52.458123Z")},
		{"ZonedTimestamp 9 digits", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `"2024-12-17T18:00:52.458123456Z"`, mustTime(t, "2024-12-17T18:00:52.458123456Z")},
		{"ZonedTimestamp offset to UTC", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `"2024-12-17T20:00:52+02:00"`, mustTime(t, "2024-12-17T18:00:52Z")},
		{"ZonedTimestamp infinity stays text", `{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `"infinity"`, "infinity"},
		{"MicroTimestamp", `{"type":"int64","name":"io.debezium.time.MicroTimestamp","field":"v"}`, `1529507596945104`, mustTime(t, "2018-06-20T15:13:16.945104Z")},
		{"NanoTimestamp", `{"type":"int64","name":"io.debezium.time.NanoTimestamp","field":"v"}`, `1529507596945104123`, mustTime(t, "2018-06-20T15:13:16.945104123Z")},
		{"Timestamp ms", `{"type":"int64","name":"io.debezium.time.Timestamp","field":"v"}`, `1562630400000`, mustTime(t, "2019-07-09T00:00:00Z")},
		{"connect Timestamp ms", `{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","field":"v"}`, `1562630400001`, mustTime(t, "2019-07-09T00:00:00.001Z")},
		{"Date", `{"type":"int32","name":"io.debezium.time.Date","field":"v"}`, `20644`, Date{2026, time.July, 10}},
		{"Date before 1970", `{"type":"int32","name":"io.debezium.time.Date","field":"v"}`, `-1`, Date{1969, time.December, 31}},
		{"MicroTime", `{"type":"int64","name":"io.debezium.time.MicroTime","field":"v"}`, `49023500000`, TimeOfDay(13*time.Hour + 37*time.Minute + 3500*time.Millisecond)},
		{"Time ms", `{"type":"int32","name":"io.debezium.time.Time","field":"v"}`, `86400000`, TimeOfDay(24 * time.Hour)},
		{"Json object decoded twice", `{"type":"string","name":"io.debezium.data.Json","field":"v"}`, `"{\"type\":\"percent_off\",\"bps\":1000}"`, map[string]any{"type": "percent_off", "bps": json.Number("1000")}},
		{"Json scalar", `{"type":"string","name":"io.debezium.data.Json","field":"v"}`, `"\"x\""`, "x"},
		{"Json array column (jsonb[])", `{"type":"array","items":{"type":"string","optional":true,"name":"io.debezium.data.Json"},"field":"v"}`, `["{\"a\":1}",null]`, []any{map[string]any{"a": json.Number("1")}, nil}},
		{"text[]", `{"type":"array","items":{"type":"string","optional":true},"field":"v"}`, `["gold","vip",null]`, []any{"gold", "vip", nil}},
		{"int4[]", `{"type":"array","items":{"type":"int32","optional":true},"field":"v"}`, `[1,2]`, []any{int64(1), int64(2)}},
		{"bytea", `{"type":"bytes","field":"v"}`, `"AQID"`, []byte{1, 2, 3}},
		{"null", `{"type":"string","optional":true,"field":"v"}`, `null`, nil},
		{"boolean", `{"type":"boolean","field":"v"}`, `true`, true},
		{"int64 beyond 2^53 exact", `{"type":"int64","field":"v"}`, `9007199254740993`, int64(9007199254740993)},
		{"Uuid stays a string", `{"type":"string","name":"io.debezium.data.Uuid","field":"v"}`, `"7bd0033a-741d-41c7-a29c-ef0f5a7a93c3"`, "7bd0033a-741d-41c7-a29c-ef0f5a7a93c3"},
		{"map", `{"type":"map","keys":{"type":"string"},"values":{"type":"int32"},"field":"v"}`, `{"a":1}`, map[string]any{"a": int64(1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			r, err := d.Decode(context.Background(), nil, []byte(envelopeWithSchema(tc.column, `{"v":`+tc.value+`}`)))
			if err != nil {
				t.Fatal(err)
			}
			got := r.Row["v"]
			if f, ok := tc.want.(float64); ok && math.IsNaN(f) {
				if g, ok := got.(float64); !ok || !math.IsNaN(g) {
					t.Errorf("v = %#v, want NaN", got)
				}
				return
			}
			check(t, "v", got, tc.want)
		})
	}
}

// TestBareValues: without a schema, values are read by shape, and
// Decoder.Columns types the columns the caller knows.
func TestBareValues(t *testing.T) {
	columns := map[string]Column{
		"price":      {Type: TypeDecimal, Scale: 2},
		"qty_factor": {Type: TypeDecimal},
		"effect":     {Type: TypeJSON},
		"valid_from": {Type: TypeZonedTimestamp},
		"day":        {Type: TypeDate},
	}
	tests := []struct {
		name    string
		columns map[string]Column
		value   string
		want    any
	}{
		{"integer", nil, `42`, int64(42)},
		{"integer beyond int64 is an exact Decimal", nil, `92233720368547758070`, dec("92233720368547758070")},
		{"fraction is an exact Decimal, never a float", nil, `19.99`, dec("19.99")},
		{"exponent", nil, `1.5E+3`, dec("1500")},
		{"VariableScaleDecimal by shape", nil, `{"scale":2,"value":"B88="}`, dec("19.99")},
		{"struct not shaped like a decimal", nil, `{"scale":2,"value":7}`, map[string]any{"scale": int64(2), "value": int64(7)}},
		{"base64 decimal without a type stays text", nil, `"AdTA"`, "AdTA"},
		{"typed Decimal base64", columns, `"AdTA"`, dec("1200.00")},
		{"typed Decimal string mode keeps exact text", columns, `"1200.5"`, dec("1200.5")},
		{"typed Decimal double mode keeps shortest text", columns, `19.99`, dec("19.99")},
		{"typed Json", columns, `"{\"type\":\"free_shipping\"}"`, map[string]any{"type": "free_shipping"}},
		{"typed ZonedTimestamp", columns, `"2026-11-21T10:00:00.5Z"`, mustTime(t, "2026-11-21T10:00:00.5Z")},
		{"typed Date", columns, `20644`, Date{2026, time.July, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			col := "v"
			switch tc.name {
			case "typed Decimal base64", "typed Decimal string mode keeps exact text", "typed Decimal double mode keeps shortest text":
				col = "price"
			case "typed Json":
				col = "effect"
			case "typed ZonedTimestamp":
				col = "valid_from"
			case "typed Date":
				col = "day"
			}
			d := Decoder{Columns: tc.columns}
			r, err := d.Decode(context.Background(), nil, []byte(`{"before":null,"after":{"`+col+`":`+tc.value+`},"source":{},"op":"r"}`))
			if err != nil {
				t.Fatal(err)
			}
			check(t, col, r.Row[col], tc.want)
		})
	}
}

// TestUnavailablePlaceholder covers every form Debezium substitutes for an
// unchanged TOASTed column: the column is left out of the row and listed.
func TestUnavailablePlaceholder(t *testing.T) {
	const p = `"__debezium_unavailable_value"`
	tests := []struct {
		name   string
		column string // schema of "v"; "" for bare JSON
		value  string
	}{
		{"text", `{"type":"string","optional":true,"field":"v"}`, p},
		{"text bare", "", p},
		{"Json column (not parsed)", `{"type":"string","optional":true,"name":"io.debezium.data.Json","field":"v"}`, p},
		{"bytea base64", `{"type":"bytes","optional":true,"field":"v"}`, `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`},
		{"bytea base64 bare", "", `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`},
		{"bytea hex mode", "", `"5f5f646562657a69756d5f756e617661696c61626c655f76616c7565"`},
		{"Decimal bytes", `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"v"}`, `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`},
		{"text[]", `{"type":"array","optional":true,"items":{"type":"string","optional":true},"field":"v"}`, `[` + p + `]`},
		{"int[] of the placeholder's bytes", `{"type":"array","optional":true,"items":{"type":"int32","optional":true},"field":"v"}`, `[95,95,100,101,98,101,122,105,117,109,95,117,110,97,118,97,105,108,97,98,108,101,95,118,97,108,117,101]`},
		{"uuid[] name-based UUID", `{"type":"array","optional":true,"items":{"type":"string","optional":true,"name":"io.debezium.data.Uuid"},"field":"v"}`, `["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]`},
		{"hstore map", `{"type":"map","optional":true,"keys":{"type":"string"},"values":{"type":"string","optional":true},"field":"v"}`, `{` + p + `:` + p + `}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := `{"before":null,"after":{"id":1,"v":` + tc.value + `},"source":{},"op":"u"}`
			if tc.column != "" {
				value = envelopeWithSchema(`{"type":"int32","field":"id"},`+tc.column, `{"id":1,"v":`+tc.value+`}`)
			}
			var d Decoder
			r, err := d.Decode(context.Background(), nil, []byte(value))
			if err != nil {
				t.Fatal(err)
			}
			check(t, "unavailable", r.Unavailable, []string{"v"})
			if _, ok := r.Row["v"]; ok {
				t.Errorf("row still has v = %#v", r.Row["v"])
			}
			check(t, "id", r.Row["id"], int64(1))
		})
	}

	t.Run("text column holding base64 of the placeholder is data", func(t *testing.T) {
		var d Decoder
		r, err := d.Decode(context.Background(), nil, []byte(envelopeWithSchema(`{"type":"string","field":"v"}`, `{"v":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="}`)))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "unavailable", r.Unavailable, []string{})
	})
	t.Run("configured placeholder", func(t *testing.T) {
		d := Decoder{UnavailablePlaceholder: "hex:00ff"}
		r, err := d.Decode(context.Background(), nil, []byte(`{"after":{"a":"AP8=","b":"__debezium_unavailable_value"},"source":{},"op":"u"}`))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "unavailable", r.Unavailable, []string{"a"})
		check(t, "b is data now", r.Row["b"], "__debezium_unavailable_value")
	})
	t.Run("delete before-image", func(t *testing.T) {
		var d Decoder
		r, err := d.Decode(context.Background(), nil, []byte(`{"before":{"id":1,"notes":`+p+`,"z":`+p+`},"after":null,"source":{},"op":"d"}`))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "op", r.Op, OpDelete)
		check(t, "unavailable (sorted)", r.Unavailable, []string{"notes", "z"})
	})
}

// TestRecordShapes covers envelopes, unwrapped rows and non-row records
// that no real fixture shows.
func TestRecordShapes(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value string
		check func(t *testing.T, r Record)
	}{
		{"unwrapped rewrite delete", `{"id":7}`, `{"id":7,"name":"x","__deleted":"true"}`, func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpDelete)
			check(t, "row", r.Row, Row{"id": int64(7), "name": "x"})
			check(t, "key", r.Key, map[string]any{"id": int64(7)})
		}},
		{"unwrapped with add.fields", "", `{"id":7,"__op":"u","__table":"products","__source_ts_ms":1700000000000,"__ts_ms":1700000000123,"__deleted":"false"}`, func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpUpsert)
			check(t, "source op", r.SourceOp, "u")
			check(t, "row", r.Row, Row{"id": int64(7)})
			check(t, "ts_ms", r.TsMs, int64(1700000000123))
			check(t, "meta.__table", r.Meta["__table"], "products")
			check(t, "meta.__source_ts_ms", r.Meta["__source_ts_ms"], json.Number("1700000000000"))
		}},
		{"unwrapped __op d", "", `{"id":7,"__op":"d"}`, func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpDelete)
			check(t, "source op", r.SourceOp, "d")
		}},
		{"unwrapped legacy boolean __deleted", "", `{"id":7,"__deleted":true}`, func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpDelete)
		}},
		{"heartbeat", `{"serverName":"shop"}`, `{"ts_ms":1700000000000}`, func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpSkip)
			check(t, "reason", r.SkipReason, SkipHeartbeat)
			check(t, "ts_ms", r.TsMs, int64(1700000000000))
		}},
		{"heartbeat with schema", "", `{"schema":{"type":"struct","name":"io.debezium.connector.common.Heartbeat","fields":[{"type":"int64","field":"ts_ms"}]},"payload":{"ts_ms":5}}`, func(t *testing.T, r Record) {
			check(t, "reason", r.SkipReason, SkipHeartbeat)
		}},
		{"transaction END through JsonConverter", `{"schema":{"type":"struct","fields":[{"type":"string","field":"id"}],"name":"io.debezium.connector.common.TransactionMetadataKey"},"payload":{"id":"571:53195832"}}`,
			`{"schema":{"type":"struct","name":"io.debezium.connector.common.TransactionMetadataValue","fields":[{"type":"string","field":"status"},{"type":"string","field":"id"}]},"payload":{"status":"END","id":"571:53195832","event_count":2,"data_collections":[{"data_collection":"public.products","event_count":2}],"ts_ms":1}}`,
			func(t *testing.T, r Record) {
				check(t, "reason", r.SkipReason, SkipTransactionMetadata)
				check(t, "key", r.Key, map[string]any{"id": "571:53195832"})
			}},
		{"schema change", "", `{"source":{"connector":"mysql"},"ts_ms":3,"databaseName":"shop","ddl":"ALTER TABLE products ADD COLUMN x INT","tableChanges":[]}`, func(t *testing.T, r Record) {
			check(t, "reason", r.SkipReason, SkipSchemaChange)
			check(t, "ts_ms", r.TsMs, int64(3))
		}},
		{"op upper case", "", `{"after":{"id":1},"source":{},"op":"C"}`, func(t *testing.T, r Record) {
			check(t, "source op", r.SourceOp, "c")
		}},
		{"snapshot incremental", "", `{"after":{"id":1},"source":{"snapshot":"incremental"},"op":"r"}`, func(t *testing.T, r Record) {
			check(t, "snapshot", r.Snapshot(), "incremental")
		}},
		{"delete with only key columns", "", `{"before":{"id":1,"name":null},"after":null,"source":{},"op":"d"}`, func(t *testing.T, r Record) {
			check(t, "row", r.Row, Row{"id": int64(1), "name": nil})
		}},
		{"delete without before (REPLICA IDENTITY NOTHING)", `{"id":1}`, `{"before":null,"after":null,"source":{},"op":"d"}`, func(t *testing.T, r Record) {
			check(t, "op", r.Op, OpDelete)
			check(t, "row", r.Row, Row(nil))
		}},
		{"update with only key columns before (PK change)", "", `{"before":{"id":1},"after":{"id":2,"n":"x"},"source":{},"op":"u"}`, func(t *testing.T, r Record) {
			check(t, "before", r.Before, Row{"id": int64(1)})
			check(t, "row", r.Row, Row{"id": int64(2), "n": "x"})
		}},
		{"schema null wrapper", "", `{"schema":null,"payload":{"after":{"id":1},"source":{},"op":"c"}}`, func(t *testing.T, r Record) {
			check(t, "row", r.Row, Row{"id": int64(1)})
		}},
		{"plain string key", "ORD-1", `"{\"order_id\":\"ORD-1\"}"`, func(t *testing.T, r Record) {
			check(t, "key string", r.KeyString, "ORD-1")
			check(t, "row", r.Row, Row{"order_id": "ORD-1"})
		}},
		{"JSON string key", `"ORD-2"`, `{"after":{"id":1},"source":{},"op":"c"}`, func(t *testing.T, r Record) {
			check(t, "key string", r.KeyString, "ORD-2")
		}},
		{"numeric key", `42`, `{"after":{"id":1},"source":{},"op":"c"}`, func(t *testing.T, r Record) {
			check(t, "key string", r.KeyString, "42")
		}},
		{"null key", `null`, `{"after":{"id":1},"source":{},"op":"c"}`, func(t *testing.T, r Record) {
			check(t, "key", r.Key, map[string]any(nil))
			check(t, "key string", r.KeyString, "")
		}},
		{"ts_ns exact", "", `{"after":{"id":1},"source":{},"op":"c","ts_ms":1731327659957,"ts_us":1731327659957757,"ts_ns":9007199254740993}`, func(t *testing.T, r Record) {
			check(t, "ts_ns", r.TsNs, int64(9007199254740993))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var key []byte
			if tc.key != "" {
				key = []byte(tc.key)
			}
			r, err := d.Decode(context.Background(), key, []byte(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
		})
	}
}

// TestErrors: every failure is classified by a sentinel, never by text.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value string
		want  error
	}{
		{"bad JSON", "", `{"op":`, ErrDecode},
		{"trailing garbage", "", `{"op":"c"} x`, ErrDecode},
		{"unknown leading byte", "", "\x07abc", ErrDecode},
		{"magic byte 1", "", "\x01\x00\x00\x00\x01", ErrDecode},
		{"Avro without a registry", "", "\x00\x00\x00\x00\x01\x02", ErrDecode},
		{"short Avro header", "", "\x00\x00\x01", ErrDecode},
		{"bad key JSON", `{"id":`, `{"after":{"id":1},"source":{},"op":"c"}`, ErrDecode},
		{"bad base64 decimal", "", envelopeWithSchema(`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"},"field":"v"}`, `{"v":"!!"}`), ErrDecode},
		{"Json column not JSON", "", envelopeWithSchema(`{"type":"string","name":"io.debezium.data.Json","field":"v"}`, `{"v":"{oops"}`), ErrDecode},
		{"bad schema type", "", `{"schema":{"type":"blob"},"payload":{}}`, ErrDecode},
		{"unknown op", "", `{"after":{"id":1},"source":{},"op":"x"}`, ErrInvalid},
		{"create without after", "", `{"before":null,"after":null,"source":{},"op":"c"}`, ErrInvalid},
		{"delete with after", "", `{"before":null,"after":{"id":1},"source":{},"op":"d"}`, ErrInvalid},
		{"after not an object", "", `{"after":[1],"source":{},"op":"c"}`, ErrInvalid},
		{"ts_ms not an integer", "", `{"after":{"id":1},"source":{},"op":"c","ts_ms":1.5}`, ErrInvalid},
		{"value contradicts schema", "", envelopeWithSchema(`{"type":"int32","field":"v"}`, `{"v":"seven"}`), ErrInvalid},
		{"bad ZonedTimestamp", "", envelopeWithSchema(`{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"v"}`, `{"v":"yesterday"}`), ErrInvalid},
		{"bad __deleted", "", `{"id":1,"__deleted":"maybe"}`, ErrInvalid},
		{"__op contradicts __deleted", "", `{"id":1,"__op":"d","__deleted":"false"}`, ErrInvalid},
		{"value is a number", "", `42`, ErrInvalid},
		{"value is a string that is not a document", "", `"hello"`, ErrInvalid},
		{"key is an array", `[1]`, `{"after":{"id":1},"source":{},"op":"c"}`, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var key []byte
			if tc.key != "" {
				key = []byte(tc.key)
			}
			_, err := d.Decode(context.Background(), key, []byte(tc.value))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrDecode, ErrInvalid, ErrTransient} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("err = %v is also %v", err, other)
				}
			}
		})
	}
}
