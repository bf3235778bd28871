package debezium

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Render returns the one-line JSON object `cartstream debezium decode`
// prints for a record:
//
//	{"op":"upsert"|"delete"|"truncate","key":…,"row":{…}|null,"unavailable":[…],"source":{…}|null}
//	{"op":"skip","reason":"transaction_metadata"|"heartbeat"|"logical_message"|"schema_change"}
//
// key is businessKey as given (the caller decides what the key is: a
// table's business key, the key's payload object, or nil). Row values are
// rendered losslessly: decimals as exact strings keeping their scale
// ("19.99", "10.0000"), timestamps as RFC 3339 in UTC with Z and their
// sub-second digits, dates as YYYY-MM-DD, times of day as HH:MM:SS[.f],
// Json columns as the parsed JSON, arrays as arrays, bytes as base64,
// non-finite floats as the strings "NaN", "Infinity", "-Infinity".
// unavailable is [] when empty, never null. Object keys are sorted.
func Render(r Record, businessKey any) ([]byte, error) {
	var out any
	if r.Op == OpSkip {
		out = struct {
			Op     Op     `json:"op"`
			Reason string `json:"reason"`
		}{r.Op, r.SkipReason}
	} else {
		unavailable := r.Unavailable
		if unavailable == nil {
			unavailable = []string{}
		}
		var row any
		if r.Row != nil {
			row = jsonable(map[string]any(r.Row))
		}
		var source any
		if r.Source != nil {
			source = jsonable(r.Source)
		}
		out = struct {
			Op          Op       `json:"op"`
			Key         any      `json:"key"`
			Row         any      `json:"row"`
			Unavailable []string `json:"unavailable"`
			Source      any      `json:"source"`
		}{r.Op, jsonable(businessKey), row, unavailable, source}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("debezium: render record: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// jsonable rewrites the values encoding/json would fail on or render
// ambiguously: times (any year; json refuses years past 9999), non-finite
// floats.
func jsonable(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "Infinity"
		case math.IsInf(x, -1):
			return "-Infinity"
		}
		return x
	case Row:
		return jsonable(map[string]any(x))
	case map[string]any:
		if x == nil {
			return nil
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case []any:
		if x == nil {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	default:
		return v
	}
}
