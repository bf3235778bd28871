package schemas

import (
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"
)

// Test vectors of the Avro specification's project (share/test/data/
// schema-tests.txt): input schema, Parsing Canonical Form, CRC-64-AVRO
// fingerprint as a signed 64-bit number. The last rows add logical types,
// which [STRIP] removes, so they share the fingerprint of the bare primitive.
var canonicalVectors = []struct {
	input, canonical string
	fingerprint      int64
}{
	{`"null"`, `"null"`, 7195948357588979594},
	{`{"type":"null"}`, `"null"`, 7195948357588979594},
	{`"boolean"`, `"boolean"`, -6970731678124411036},
	{`"int"`, `"int"`, 8247732601305521295},
	{`{"type":"int"}`, `"int"`, 8247732601305521295},
	{`"long"`, `"long"`, -3434872931120570953},
	{`"float"`, `"float"`, 5583340709985441680},
	{`"double"`, `"double"`, -8181574048448539266},
	{`"bytes"`, `"bytes"`, 5746618253357095269},
	{`"string"`, `"string"`, -8142146995180207161},
	{`[  ]`, `[]`, -1241056759729112623},
	{`[ "int"  ]`, `["int"]`, -5232228896498058493},
	{`[ "int" , {"type":"boolean"} ]`, `["int","boolean"]`, 5392556393470105090},
	{`{"fields":[], "type":"record", "name":"foo"}`, `{"name":"foo","type":"record","fields":[]}`, -4824392279771201922},
	{`{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}`, `{"name":"x.y.foo","type":"record","fields":[]}`, 5916914534497305771},
	{`{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}`, `{"name":"a.b.foo","type":"record","fields":[]}`, -4616218487480524110},
	{`{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}`, `{"name":"foo","type":"record","fields":[]}`, -4824392279771201922},
	{`{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}`, `{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}`, 7843277075252814651},
	{`{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true},
{"order":"descending","name":"f2","doc":"Hello","type":"int"}],"type":"record", "name":"foo"}`, `{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}`, -4860222112080293046},
	{`{"type":"enum", "name":"foo", "symbols":["A1"]}`, `{"name":"foo","type":"enum","symbols":["A1"]}`, -6342190197741309591},
	{`{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}`, `{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}`, -4448647247586288245},
	{`{"name":"foo","type":"fixed","size":15}`, `{"name":"foo","type":"fixed","size":15}`, 1756455273707447556},
	{`{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}`, `{"name":"x.y.z.foo","type":"fixed","size":32}`, -3064184465700546786},
	{`{ "items":{"type":"null"}, "type":"array"}`, `{"type":"array","items":"null"}`, -589620603366471059},
	{`{ "values":"string", "type":"map"}`, `{"type":"map","values":"string"}`, -8732877298790414990},
	{`{"name":"PigValue","type":"record",
   "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}`, `{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}`, -1759257747318642341},
	// Logical types are stripped.
	{`{"type":"long","logicalType":"timestamp-millis"}`, `"long"`, -3434872931120570953},
	{`{"type":"long","logicalType":"timestamp-micros"}`, `"long"`, -3434872931120570953},
}

func TestCanonicalFormAndFingerprintMatchSpecification(t *testing.T) {
	for _, v := range canonicalVectors {
		model, err := parseAvroSchema(v.input)
		if err != nil {
			t.Fatalf("%s: %v", v.input, err)
		}
		got := canonicalForm(model)
		if got != v.canonical {
			t.Errorf("canonical form of %s = %s, want %s", v.input, got, v.canonical)
		}
		if fp := fingerprint64([]byte(got)); int64(fp) != v.fingerprint {
			t.Errorf("fingerprint of %s = %d, want %d", v.canonical, int64(fp), v.fingerprint)
		}
	}
}

// goavro's table-driven Rabin fingerprint was written independently of the
// bitwise reference algorithm in fingerprint64; where goavro's canonical
// form is right (no logical types) the two must agree.
func TestFingerprintAgreesWithGoavroWithoutLogicalTypes(t *testing.T) {
	for _, v := range canonicalVectors {
		if strings.Contains(v.input, "logicalType") || v.canonical == "[]" {
			continue
		}
		codec, err := goavro.NewCodec(v.input)
		if err != nil {
			t.Fatalf("goavro %s: %v", v.input, err)
		}
		if codec.Rabin != fingerprint64([]byte(v.canonical)) {
			t.Errorf("%s: goavro %016x, ours %016x", v.input, codec.Rabin, fingerprint64([]byte(v.canonical)))
		}
	}
}

// For cartstream's schemas, our canonical form differs from goavro's only
// where goavro keeps a logical type's {"type":"long"} (goavro issue #174).
// If this fails after a goavro upgrade, check whether goavro now follows
// the specification and simplify canonical.go.
func TestCanonicalFormDiffersFromGoavroOnlyInLogicalTypes(t *testing.T) {
	reg, err := defaultRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range reg.current {
		goavroForm := strings.ReplaceAll(e.codec.CanonicalSchema(), `{"type":"long"}`, `"long"`)
		if goavroForm != e.Canonical {
			t.Errorf("%s:\n ours   %s\n goavro %s", e.Name, e.Canonical, e.codec.CanonicalSchema())
		}
	}
}

// The fingerprints are part of the wire format: every record written so far
// carries them. A change here means a schema change; follow the evolution
// rules in doc.go (copy the old .avsc into avro/history/ first) and then
// update the value.
func TestFingerprintsArePinned(t *testing.T) {
	want := map[string]string{
		"cartstream.Product":            "36a383648cc2c84d",
		"cartstream.Promotion":          "0056002e6164a43e",
		"cartstream.StockRow":           "bf59e2cd9aec375f",
		"cartstream.OrderLine":          "fc419535e57a96af",
		"cartstream.ReservationCommand": "9425bffaa57535d4",
		"cartstream.ReservationResult":  "d07a0d9ee1828e77",
	}
	reg, err := defaultRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range reg.current {
		if got := fpHex(e.Fingerprint); got != want[e.Name] {
			t.Errorf("%s fingerprint %s, pinned %s", e.Name, got, want[e.Name])
		}
	}
}
