package schemas

import (
	"bytes"
	"embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonFiles holds the JSON Schemas (draft 2020-12) of cartstream's external
// JSON records.
//
//go:embed json/*.schema.json
var jsonFiles embed.FS

// Names of the JSON Schemas, for JSONSchemaText and CompileJSONSchema. The
// file is json/<name>.schema.json and its $id urn:cartstream:json:<name>.
const (
	JSONCartEvent      = "cart_event"      // cart-events values (input)
	JSONOffer          = "offer"           // cartstream.offers values (output)
	JSONCheckoutStatus = "checkout_status" // cartstream.checkouts values (output)
	JSONProduct        = "product"         // normalized product JSON lines
	JSONPromotion      = "promotion"       // normalized promotion JSON lines
)

// JSONSchemaNames lists every JSON Schema this package publishes.
func JSONSchemaNames() []string {
	return []string{JSONCartEvent, JSONOffer, JSONCheckoutStatus, JSONProduct, JSONPromotion}
}

// JSONSchemaText returns the text of the named JSON Schema.
func JSONSchemaText(name string) ([]byte, error) {
	b, err := jsonFiles.ReadFile("json/" + name + ".schema.json")
	if err != nil {
		return nil, fmt.Errorf("schemas: JSON Schema %q: %w", name, err)
	}
	return b, nil
}

// CompileJSONSchema compiles the named JSON Schema with formats asserted
// (date-time must be RFC 3339). Compiling takes far longer than validating:
// compile once and share the result, which is safe for concurrent use.
// Validate documents decoded with jsonschema.UnmarshalJSON (it keeps
// numbers exact).
func CompileJSONSchema(name string) (*jsonschema.Schema, error) {
	text, err := JSONSchemaText(name)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("schemas: JSON Schema %q: %w", name, err)
	}
	id := "urn:cartstream:json:" + name
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("schemas: JSON Schema %q: %w", name, err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("schemas: JSON Schema %q: %w", name, err)
	}
	return sch, nil
}
