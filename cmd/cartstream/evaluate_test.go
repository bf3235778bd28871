package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"cartstream/schemas"
)

// evaluateData holds the worked examples of `cartstream evaluate`: one
// directory per case with products.jsonl, promotions.jsonl, cart.json and
// the exact expected output, computed by hand from DESIGN §5 (see
// docs/promotions.md).
const evaluateData = "testdata/evaluate"

// runEvaluateCmd runs `cartstream evaluate args...` in-process.
func runEvaluateCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append([]string{"evaluate"}, args...))
	err := root.ExecuteContext(context.Background())
	return stdout.String(), err
}

func caseArgs(dir string) []string {
	d := filepath.Join(evaluateData, dir)
	return []string{"--products", filepath.Join(d, "products.jsonl"), "--promotions", filepath.Join(d, "promotions.jsonl"),
		"--cart", filepath.Join(d, "cart.json"), "--at", "2026-11-21T10:00:00Z"}
}

func TestEvaluateWorkedExamples(t *testing.T) {
	sch, err := schemas.CompileJSONSchema(schemas.JSONOffer)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dir    string
		extra  []string
		golden string
	}{
		// DESIGN §5's example cart (c-9, two SKU-1 at 19.99): a coupon in
		// another spelling, an unknown coupon, an unknown product, a missed
		// min_subtotal and a buy 2 get 1 one unit short.
		{name: "design example", dir: "design", golden: "offer.json"},
		// Every effect, stackable and stop, max_discount re-spread, free
		// shipping, unavailable lines, and every reason code but
		// excluded_by_exclusive, with both hint kinds.
		{name: "many promotions", dir: "multi", golden: "offer.json"},
		// Exclusives: 10% (2.06 / 2.07 / 2.05 by rounding mode) against
		// $2.05 off at a higher priority; the rounding mode picks the winner.
		{name: "exclusive, half_even (default)", dir: "exclusive", golden: "offer.half_even.json"},
		{name: "exclusive, half_even", dir: "exclusive", extra: []string{"--rounding", "half_even"}, golden: "offer.half_even.json"},
		{name: "exclusive, half_up", dir: "exclusive", extra: []string{"--rounding", "half_up"}, golden: "offer.half_up.json"},
		{name: "exclusive, half_down", dir: "exclusive", extra: []string{"--rounding", "half_down"}, golden: "offer.half_down.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runEvaluateCmd(t, append(caseArgs(tc.dir), tc.extra...)...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(evaluateData, tc.dir, tc.golden))
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			// The offer is the schema's, once the processor's cart_version
			// and source are in.
			var doc map[string]any
			if err := json.Unmarshal([]byte(got), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["cart_version"] != nil || doc["source"] != nil {
				t.Errorf("cart_version %v, source %v: want null", doc["cart_version"], doc["source"])
			}
			doc["cart_version"] = 1
			doc["source"] = map[string]any{"topic": "cart-events", "partition": 0, "offset": 0, "event_id": "e-1"}
			b, _ := json.Marshal(doc)
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("offer does not validate: %v", err)
			}
		})
	}
}

func TestEvaluateBadInput(t *testing.T) {
	bad := filepath.Join(evaluateData, "bad")
	multi := filepath.Join(evaluateData, "multi")
	args := func(products, promotions, cart string) []string {
		return []string{"--products", products, "--promotions", promotions, "--cart", cart, "--at", "2026-11-21T10:00:00Z"}
	}
	products, promotions, cart := filepath.Join(multi, "products.jsonl"), filepath.Join(multi, "promotions.jsonl"), filepath.Join(multi, "cart.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown effect", args(products, filepath.Join(bad, "promotions.jsonl"), cart),
			filepath.Join(bad, "promotions.jsonl") + `:7: effect.type: unknown effect "bogo"`},
		{"duplicate promotion id", args(products, filepath.Join(bad, "promotions-dup.jsonl"), cart),
			filepath.Join(bad, "promotions-dup.jsonl") + `:4: duplicate id "bxgy-books" (first on line 2)`},
		{"inexact price", args(filepath.Join(bad, "products.jsonl"), promotions, cart),
			filepath.Join(bad, "products.jsonl") + `:2: price: "15.005" in USD: money: parse "15.005" as USD: not a whole number of minor units`},
		{"truncated JSON line after CRLF and blank lines", args(filepath.Join(bad, "products-syntax.jsonl"), promotions, cart),
			filepath.Join(bad, "products-syntax.jsonl") + `:3: invalid JSON: unexpected end of input`},
		{"zero quantity", args(products, promotions, filepath.Join(bad, "cart-qty.json")),
			filepath.Join(bad, "cart-qty.json") + `: invalid cart: lines[1].qty: want a whole number in [1, 2147483647], got 0`},
		{"cart syntax error names the line", args(products, promotions, filepath.Join(bad, "cart-syntax.json")),
			filepath.Join(bad, "cart-syntax.json") + `:3: invalid cart: invalid JSON: invalid character '}' after array element`},
		{"missing file", args(products, promotions, filepath.Join(bad, "missing.json")),
			"open " + filepath.Join(bad, "missing.json") + ": no such file or directory"},
		{"bad --at", []string{"--products", products, "--promotions", promotions, "--cart", cart, "--at", "2026-11-21 10:00"},
			`--at "2026-11-21 10:00": want an RFC 3339 time such as 2026-11-21T10:00:00Z`},
		{"bad --rounding", append(args(products, promotions, cart), "--rounding", "HALF_UP"),
			`--rounding "HALF_UP": want half_even, half_up or half_down`},
		{"required flags", []string{"--products", products},
			`required flag(s) "at", "cart", "promotions" not set`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runEvaluateCmd(t, tc.args...)
			if err == nil {
				t.Fatalf("no error; output %s", out)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n%s\nwant\n%s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if out != "" {
				t.Errorf("output on error: %s", out)
			}
		})
	}
}

// Like every command, evaluate takes its flags from CARTSTREAM_<FLAG>
// variables too.
func TestEvaluateFlagsFromEnvironment(t *testing.T) {
	d := filepath.Join(evaluateData, "exclusive")
	t.Setenv("CARTSTREAM_AT", "2026-11-21T10:00:00Z")
	t.Setenv("CARTSTREAM_ROUNDING", "half_down")
	got, err := runEvaluateCmd(t, "--products", filepath.Join(d, "products.jsonl"), "--promotions", filepath.Join(d, "promotions.jsonl"), "--cart", filepath.Join(d, "cart.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(d, "offer.half_down.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
