package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 42: "42", 100000: "100000", -3: "-3",
		1234.56: "1234.6", 56.789: "56.79", 3.14159: "3.142", 0.0004: "0.000",
	} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

// The JSON line is one object of numbers, keys sorted, that encoding/json
// reads back; every figure was printed as name=value when set.
func TestResultsJSON(t *testing.T) {
	var printed bytes.Buffer
	r := NewResults(&printed)
	r.Set("pipeline_eps", 4914.9)
	r.Set("p99_ms", 686.94)
	r.Set("broker_roundtrip_eps", 88365)
	r.Set("p99_ms", 687.25) // measured again: replaces, keeps its place
	line := r.JSON()
	if want := `{"broker_roundtrip_eps":88365,"p99_ms":687.2,"pipeline_eps":4914.9}`; line != want {
		t.Errorf("JSON = %s, want %s", line, want)
	}
	var back map[string]float64
	if err := json.Unmarshal([]byte(line), &back); err != nil || len(back) != 3 {
		t.Errorf("JSON does not read back as numbers: %v %v", back, err)
	}
	if want := "pipeline_eps=4914.9\np99_ms=686.9\nbroker_roundtrip_eps=88365\np99_ms=687.2\n"; printed.String() != want {
		t.Errorf("printed %q, want %q", printed.String(), want)
	}
	if got := r.Names(); len(got) != 3 || got[0] != "pipeline_eps" || got[1] != "p99_ms" {
		t.Errorf("Names = %v", got)
	}
	if v, ok := r.Get("p99_ms"); !ok || v != 687.25 {
		t.Errorf("Get(p99_ms) = %v, %v", v, ok)
	}
	if got := NewResults(nil).JSON(); got != "{}" {
		t.Errorf("empty JSON = %s", got)
	}
}

func TestResultsRefuseNaN(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Set(%v) did not panic", v)
				}
			}()
			NewResults(nil).Set("x", v)
		}()
	}
}
