package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fuzzDecode is the body of every decoder fuzz target. Input: body bytes
// and a flag; with raw false the current header of T is put in front of the
// body (so the fuzzer spends its time inside the record), with raw true the
// bytes are decoded as they are (header errors, other fingerprints).
//
// Properties: no panic; errors wrap ErrDecode or ErrUnknownSchema; a decoded
// record encodes again and decodes to the same value; and goavro, reading
// the same body with the schema, agrees that it is one well-formed record
// and encodes the decoded value to the same bytes we do.
func fuzzDecode[T Record](f *testing.F, samples []T) {
	reg, err := defaultRegistry()
	if err != nil {
		f.Fatal(err)
	}
	e := reg.current[kindOf[T]()]
	for i := range samples {
		data, err := Marshal(&samples[i])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[singleObjectHeaderLen:], false)
		f.Add(data, true)
	}
	f.Add([]byte{}, false)
	f.Add([]byte{0xC3, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Add([]byte(`{"sku":"x"}`), true)
	f.Fuzz(func(t *testing.T, in []byte, raw bool) {
		data := in
		if !raw {
			data = append(e.header[:], in...)
		}
		var v T
		err := Unmarshal(data, &v)
		if err != nil {
			if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrUnknownSchema) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if !raw {
				// goavro must not read a body we reject, except where we
				// are stricter: strings must be UTF-8.
				// (checkBody first: goavro allocates whatever an array
				// count says.)
				if checkBody(e.model, in) != nil {
					return
				}
				if native, rest, gerr := e.codec.NativeFromBinary(in); gerr == nil && len(rest) == 0 && !stricter(err) {
					t.Fatalf("we reject a body goavro reads as %v: %v", native, err)
				}
			}
			return
		}
		again, err := Marshal(&v)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", v, err)
		}
		var back T
		if err := Unmarshal(again, &back); err != nil || !reflect.DeepEqual(back, v) {
			t.Fatalf("re-encoded record decodes to %+v, %v; want %+v", back, err, v)
		}
		if !bytes.Equal(data[:singleObjectHeaderLen], e.header[:]) {
			return // decoded through a history schema; nothing more to compare
		}
		body := data[singleObjectHeaderLen:]
		if cerr := checkBody(e.model, body); cerr != nil {
			t.Fatalf("we read a body the history-path check rejects (%v): %+v", cerr, v)
		}
		if _, rest, gerr := e.codec.NativeFromBinary(body); gerr != nil || len(rest) != 0 {
			t.Fatalf("we read a body goavro rejects (%v, %d bytes left): %+v", gerr, len(rest), v)
		}
		want, gerr := e.codec.BinaryFromNative(nil, toNative(&v))
		if gerr != nil || !bytes.Equal(want, again[singleObjectHeaderLen:]) {
			t.Fatalf("goavro encodes %+v as %x (%v), we as %x", v, want, gerr, again[singleObjectHeaderLen:])
		}
	})
}

func FuzzDecodeProduct(f *testing.F)   { fuzzDecode(f, sampleProducts()) }
func FuzzDecodePromotion(f *testing.F) { fuzzDecode(f, samplePromotions()) }
func FuzzDecodeStockRow(f *testing.F)  { fuzzDecode(f, sampleStockRows()) }
func FuzzDecodeOrderLine(f *testing.F) { fuzzDecode(f, sampleOrderLines()) }
func FuzzDecodeReservationCommand(f *testing.F) {
	fuzzDecode(f, sampleReservationCommands())
}
func FuzzDecodeReservationResult(f *testing.F) {
	fuzzDecode(f, sampleReservationResults())
}

// FuzzDecodeAny feeds arbitrary bytes to the type-dispatching decoder.
func FuzzDecodeAny(f *testing.F) {
	for _, p := range sampleProducts() {
		b, _ := Marshal(&p)
		f.Add(b)
	}
	for _, c := range sampleReservationCommands() {
		b, _ := Marshal(&c)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xC3, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeAny(data)
		if err != nil {
			if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrUnknownSchema) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if v == nil {
			t.Fatal("nil record without error")
		}
	})
}

// stricter reports whether err is one of the checks where this decoder is
// deliberately stricter than goavro: strings must be UTF-8, and varints must
// fit 64 bits in at most 10 bytes (goavro silently drops excess bits).
func stricter(err error) bool {
	return strings.Contains(err.Error(), "UTF-8") || strings.Contains(err.Error(), "malformed varint")
}

// FuzzDecodeHistory drives the slow path: bodies written with the test-only
// history schemas in testdata/avro-history are checked, decoded by goavro,
// resolved and decoded again. Properties: no panic, no unbounded
// allocation, errors wrap ErrDecode.
func FuzzDecodeHistory(f *testing.F) {
	reg := historyRegistry(f, nil)
	var old []*schemaEntry
	for _, e := range reg.byFingerprint {
		if !e.Current {
			old = append(old, e)
		}
	}
	slices.SortFunc(old, func(a, b *schemaEntry) int { return strings.Compare(a.File, b.File) })
	for i, e := range old {
		native, err := defaultValue(e.model, defaultsFor(e.model))
		if err != nil {
			f.Fatalf("%s: %v", e.File, err)
		}
		body, err := e.codec.BinaryFromNative(nil, native)
		if err != nil {
			f.Fatalf("%s: %v", e.File, err)
		}
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		e := old[int(which)%len(old)]
		v := newRecord(e.kind)
		err := reg.unmarshal(e.kind, append(e.header[:], body...), v)
		if err != nil && !errors.Is(err, ErrDecode) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
	})
}

// defaultsFor builds a JSON-like value for a record schema from which
// defaultValue can make a native value: each field's default, or a zero
// value of its type.
func defaultsFor(t *avroType) any {
	switch t.kind {
	case "record":
		m := map[string]any{}
		for _, f := range t.fields {
			if f.hasDefault {
				m[f.name] = f.def
			} else {
				m[f.name] = defaultsFor(f.typ)
			}
		}
		return m
	case "int", "long", "float", "double":
		return json.Number("0")
	case "boolean":
		return false
	case "string", "bytes":
		return ""
	case "enum":
		return t.symbols[0]
	case "array":
		return []any{}
	case "union":
		return defaultsFor(t.branches[0])
	}
	return nil
}
