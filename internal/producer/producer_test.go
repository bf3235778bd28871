package producer

import (
	"errors"
	"io"
	"strings"
	"testing"

	"cartstream/schemas"
)

func TestRecordChecksEachLine(t *testing.T) {
	jsonChecker, err := NewChecker(FormatJSON, 0)
	if err != nil {
		t.Fatal(err)
	}
	avroChecker, err := NewChecker(FormatAvro, 42)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		line    string
		key     string
		reasons []string // substrings of the reason; none: the line is good
		avroBad string   // a reason only the Avro form has
	}{
		{name: "item added", line: `{"event_id":"e-1","cart_id":"c-9","type":"item_added","sku":"SKU-1","qty":2,"currency":"USD","ts":"2026-11-21T10:00:00Z"}`, key: "c-9"},
		{name: "unknown fields are fine", line: `{"event_id":"e-2","cart_id":"c-9","type":"cart_cleared","channel":"app"}`, key: "c-9"},
		{name: "not JSON", line: `{"event_id":`, reasons: []string{"not JSON"}},
		{name: "trailing data", line: `{"event_id":"e","cart_id":"c","type":"cart_cleared"} {}`, reasons: []string{"not JSON"}},
		{name: "missing cart_id", line: `{"event_id":"e","type":"cart_cleared"}`, reasons: []string{"cart-event schema", "missing property 'cart_id'"}},
		{name: "type's fields", line: `{"event_id":"e","cart_id":"c","type":"item_added","qty":0}`, reasons: []string{"missing property 'sku'", "at '/qty': minimum: got 0, want 1"}},
		{name: "unknown type", line: `{"event_id":"e","cart_id":"c","type":"item_stolen"}`, reasons: []string{"at '/type'"}},
		{name: "bad ts and currency", line: `{"event_id":"e","cart_id":"c","type":"cart_cleared","ts":"yesterday","currency":"usd"}`, reasons: []string{"at '/ts'", "at '/currency'"}},
		{name: "schema version 2", line: `{"schema_version":2,"event_id":"e","cart_id":"c","type":"cart_cleared"}`, reasons: []string{"at '/schema_version'"}},
		{name: "qty above the parser's bound", line: `{"event_id":"e","cart_id":"c","type":"item_added","sku":"S","qty":1000001}`, reasons: []string{"invalid cart event", "qty 1000001 out of range"}},
		{name: "blank cart_id", line: `{"event_id":"e","cart_id":"  ","type":"cart_cleared"}`, reasons: []string{"cart_id: required"}},
		{name: "qty beyond Avro's int", line: `{"event_id":"e","cart_id":"c","type":"coupon_removed","code":"X","qty":-2147483649}`, key: "c", avroBad: "does not fit an Avro int"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []*Checker{jsonChecker, avroChecker} {
				key, value, err := c.Record([]byte(tc.line))
				wantBad := len(tc.reasons) > 0 || (c.format == FormatAvro && tc.avroBad != "")
				if !wantBad {
					if err != nil {
						t.Fatalf("%s: %v", c.format, err)
					}
					if string(key) != tc.key {
						t.Errorf("%s: key %q, want %q", c.format, key, tc.key)
					}
					if c.format == FormatJSON && string(value) != tc.line {
						t.Errorf("json value %q, want the line unchanged", value)
					}
					if c.format == FormatAvro {
						id, body, err := schemas.SplitConfluent(value)
						if err != nil || id != 42 || len(body) == 0 {
							t.Errorf("avro value %x: id %d, err %v", value, id, err)
						}
					}
					continue
				}
				if err == nil {
					t.Fatalf("%s: accepted", c.format)
				}
				want := tc.reasons
				if len(want) == 0 {
					want = []string{tc.avroBad}
				}
				for _, r := range want {
					if !strings.Contains(err.Error(), r) {
						t.Errorf("%s: reason %q lacks %q", c.format, err, r)
					}
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: reason spans lines: %q", c.format, err)
				}
			}
		})
	}
}

func TestLineReaderSplitsAndSkipsOverlongLines(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+1)
	exact := strings.Repeat("y", MaxLineBytes)
	tests := []struct {
		name  string
		input string
		want  []string // "<too long>" for an overlong line
	}{
		{"lf", "a\nb\n", []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n", []string{"a", "b"}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"empty lines kept for numbering", "a\n\nb\n", []string{"a", "", "b"}},
		{"empty input", "", nil},
		{"overlong line in the middle", "a\n" + long + "\nb\n", []string{"a", "<too long>", "b"}},
		{"overlong last line without newline", "a\n" + long, []string{"a", "<too long>"}},
		{"exactly the limit with crlf", exact + "\r\nb", []string{exact, "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := newLineReader(strings.NewReader(tc.input))
			var got []string
			for {
				line, tooLong, err := lr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if tooLong {
					got = append(got, "<too long>")
				} else {
					got = append(got, string(line))
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d lines, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d = %.20q…, want %.20q…", i+1, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestNewCheckerRejectsUnknownFormat(t *testing.T) {
	if _, err := NewChecker("protobuf", 0); err == nil {
		t.Fatal("accepted protobuf")
	}
}

func TestSummaryLine(t *testing.T) {
	s := Summary{Produced: 3, Skipped: 1, Duration: 1500_000_000}
	if got := s.String(); got != "produced=3 skipped=1 duration_s=1.500" {
		t.Errorf("summary %q", got)
	}
	var le *LineError
	err := error(&LineError{Line: 7, Reason: "not JSON"})
	if !errors.As(err, &le) || err.Error() != "line 7: not JSON" {
		t.Errorf("line error %v", err)
	}
}
