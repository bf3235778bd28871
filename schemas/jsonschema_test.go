package schemas

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Every JSON Schema file is JSON, declares draft 2020-12 and its $id, and
// compiles (compiling validates it against the draft's meta-schema).
func TestJSONSchemasCompile(t *testing.T) {
	files, err := fs.Glob(jsonFiles, "json/*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(JSONSchemaNames()) {
		t.Fatalf("%d schema files, %d names", len(files), len(JSONSchemaNames()))
	}
	for _, name := range JSONSchemaNames() {
		text, err := JSONSchemaText(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(text, &doc); err != nil {
			t.Fatalf("%s: not JSON: %v", name, err)
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema %v", name, doc["$schema"])
		}
		if doc["$id"] != "urn:cartstream:json:"+name {
			t.Errorf("%s: $id %v", name, doc["$id"])
		}
		if _, err := CompileJSONSchema(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := CompileJSONSchema("basket"); err == nil {
		t.Fatal("unknown schema compiled")
	}
}

// The examples in testdata/json/<schema>/ validate: valid-*.json must pass,
// invalid-*.json must fail.
func TestJSONSchemaExamples(t *testing.T) {
	for _, name := range JSONSchemaNames() {
		sch, err := CompileJSONSchema(name)
		if err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join("testdata", "json", name, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		var valid, invalid int
		for _, f := range files {
			t.Run(name+"/"+filepath.Base(f), func(t *testing.T) {
				text, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
				if err != nil {
					t.Fatalf("not JSON: %v", err)
				}
				err = sch.Validate(doc)
				switch base := filepath.Base(f); {
				case strings.HasPrefix(base, "valid-"):
					valid++
					if err != nil {
						t.Fatalf("valid example rejected: %v", err)
					}
				case strings.HasPrefix(base, "invalid-"):
					invalid++
					if err == nil {
						t.Fatal("invalid example accepted")
					}
				default:
					t.Fatalf("example %s is neither valid-* nor invalid-*", base)
				}
			})
		}
		if valid == 0 || invalid == 0 {
			t.Errorf("%s: %d valid and %d invalid examples; want some of each", name, valid, invalid)
		}
	}
}

// The example in DESIGN §5 is a valid cart event.
func TestDesignCartEventExample(t *testing.T) {
	sch, err := CompileJSONSchema(JSONCartEvent)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"event_id":"e-1","cart_id":"c-9","type":"item_added","sku":"SKU-1","qty":2,"currency":"USD","ts":"2026-11-21T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatal(err)
	}
}
