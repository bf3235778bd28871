package schemas

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lovoo/goka"
)

// Every Codec is a goka.Codec.
var (
	_ goka.Codec = Codec[Product]{}
	_ goka.Codec = Codec[Promotion]{}
	_ goka.Codec = Codec[StockRow]{}
	_ goka.Codec = Codec[OrderLine]{}
	_ goka.Codec = Codec[ReservationCommand]{}
	_ goka.Codec = Codec[ReservationResult]{}
)

func currentEntry[T Record](t *testing.T) *schemaEntry {
	t.Helper()
	reg, err := defaultRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return reg.current[kindOf[T]()]
}

// checkAgainstGoavro proves the hand-written codec of T matches its .avsc:
// Marshal's body (after the 10-byte header) equals goavro's binary encoding
// of the same value, goavro decodes it back to the same native value, and
// Unmarshal restores the value exactly. (goavro's own single-object header
// is not compared: its fingerprint is wrong for schemas with logical types;
// see canonical.go.)
func checkAgainstGoavro[T Record](t *testing.T, samples []T) {
	t.Helper()
	e := currentEntry[T](t)
	for i := range samples {
		v := &samples[i]
		got, err := Marshal(v)
		if err != nil {
			t.Fatalf("%s sample %d: Marshal: %v", e.Name, i, err)
		}
		if !bytes.Equal(got[:singleObjectHeaderLen], e.header[:]) {
			t.Fatalf("%s sample %d: header % x, want % x", e.Name, i, got[:10], e.header)
		}
		body := got[singleObjectHeaderLen:]
		want, err := e.codec.BinaryFromNative(nil, toNative(v))
		if err != nil {
			t.Fatalf("%s sample %d: goavro BinaryFromNative: %v", e.Name, i, err)
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("%s sample %d: Marshal and goavro differ\n ours   %x\n goavro %x", e.Name, i, body, want)
		}
		native, rest, err := e.codec.NativeFromBinary(body)
		if err != nil || len(rest) != 0 {
			t.Fatalf("%s sample %d: goavro NativeFromBinary: %v (%d bytes left)", e.Name, i, err, len(rest))
		}
		again, err := e.codec.BinaryFromNative(nil, native)
		if err != nil || !bytes.Equal(again, body) {
			t.Fatalf("%s sample %d: goavro round trip differs: %v", e.Name, i, err)
		}
		var back T
		if err := Unmarshal(got, &back); err != nil {
			t.Fatalf("%s sample %d: Unmarshal: %v", e.Name, i, err)
		}
		if !reflect.DeepEqual(&back, v) {
			t.Fatalf("%s sample %d: round trip\n got  %+v\n want %+v", e.Name, i, back, *v)
		}
		// The generic codec agrees.
		dec, err := Codec[T]{}.Decode(got)
		if err != nil || !reflect.DeepEqual(dec, v) {
			t.Fatalf("%s sample %d: Codec.Decode = %+v, %v", e.Name, i, dec, err)
		}
		enc, err := Codec[T]{}.Encode(*v)
		if err != nil || !bytes.Equal(enc, got) {
			t.Fatalf("%s sample %d: Codec.Encode(value) = %x, %v", e.Name, i, enc, err)
		}
		anyV, err := DecodeAny(got)
		if err != nil || !reflect.DeepEqual(anyV, v) {
			t.Fatalf("%s sample %d: DecodeAny = %+v, %v", e.Name, i, anyV, err)
		}
	}
}

func TestCodecsMatchGoavro(t *testing.T) {
	t.Run("Product", func(t *testing.T) { checkAgainstGoavro(t, sampleProducts()) })
	t.Run("Promotion", func(t *testing.T) { checkAgainstGoavro(t, samplePromotions()) })
	t.Run("StockRow", func(t *testing.T) { checkAgainstGoavro(t, sampleStockRows()) })
	t.Run("OrderLine", func(t *testing.T) { checkAgainstGoavro(t, sampleOrderLines()) })
	t.Run("ReservationCommand", func(t *testing.T) { checkAgainstGoavro(t, sampleReservationCommands()) })
	t.Run("ReservationResult", func(t *testing.T) { checkAgainstGoavro(t, sampleReservationResults()) })
}

func TestSingleObjectHeader(t *testing.T) {
	p := sampleProducts()[0]
	data, err := Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	e := currentEntry[Product](t)
	if data[0] != 0xC3 || data[1] != 0x01 {
		t.Fatalf("marker % x, want c3 01", data[:2])
	}
	if fp := binary.LittleEndian.Uint64(data[2:10]); fp != e.Fingerprint {
		t.Fatalf("fingerprint in record %016x, schema's %016x", fp, e.Fingerprint)
	}
	fp, err := Fingerprint(data)
	if err != nil || fp != e.Fingerprint {
		t.Fatalf("Fingerprint = %016x, %v", fp, err)
	}
	// The body is plain Avro binary: goavro's NativeFromBinary reads it.
	if _, rest, err := e.codec.NativeFromBinary(data[10:]); err != nil || len(rest) != 0 {
		t.Fatalf("body is not the Avro binary encoding: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	p := sampleProducts()[0]
	good, err := Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	cmd := sampleReservationCommands()[0]
	goodCmd, err := Marshal(&cmd)
	if err != nil {
		t.Fatal(err)
	}
	res := sampleReservationResults()[0]
	goodRes, err := Marshal(&res)
	if err != nil {
		t.Fatal(err)
	}
	with := func(b []byte, i int, v byte) []byte {
		c := bytes.Clone(b)
		c[i] = v
		return c
	}
	unknownFP := with(good, 9, good[9]^0xFF)
	// Body offsets inside goodCmd: the op enum follows two strings.
	opAt := 10 + 1 + len(cmd.CommandID) + 1 + len(cmd.RequestID)
	// In goodRes, reason is the 9th field; it is null (0x00) in sample 0.
	tests := []struct {
		name    string
		data    []byte
		decode  func([]byte) error
		want    error
		message string
	}{
		{"nil", nil, decodeAs[Product], ErrDecode, "shorter than a single-object header"},
		{"empty", []byte{}, decodeAs[Product], ErrDecode, "shorter than a single-object header"},
		{"header only", good[:9], decodeAs[Product], ErrDecode, "shorter"},
		{"JSON", []byte(`{"sku":"SKU-1","price":"19.99"}`), decodeAs[Product], ErrDecode, "not single-object encoded"},
		{"Confluent wire format", append([]byte{0, 0, 0, 0, 1}, good[10:]...), decodeAs[Product], ErrDecode, "not single-object encoded"},
		{"bad second marker byte", with(good, 1, 0x02), decodeAs[Product], ErrDecode, "marker"},
		{"unknown fingerprint", unknownFP, decodeAs[Product], ErrUnknownSchema, "fingerprint"},
		{"unknown fingerprint, any", unknownFP, func(b []byte) error { _, err := DecodeAny(b); return err }, ErrUnknownSchema, "fingerprint"},
		{"another record type", goodCmd, decodeAs[Product], ErrDecode, "record is a cartstream.ReservationCommand"},
		{"truncated body", good[:len(good)-1], decodeAs[Product], ErrDecode, "truncated"},
		{"trailing byte", append(bytes.Clone(good), 0), decodeAs[Product], ErrDecode, "trailing"},
		{"string longer than record", append(bytes.Clone(good[:10]), 0x80, 0x08), decodeAs[Product], ErrDecode, "string length 512 with 0 bytes left"},
		{"negative string length", with(good, 10, 0x01), decodeAs[Product], ErrDecode, "string length -1"},
		{"bad enum index", with(goodCmd, opAt, 0x06), decodeAs[ReservationCommand], ErrDecode, "enum index 3"},
		{"negative enum index", with(goodCmd, opAt, 0x01), decodeAs[ReservationCommand], ErrDecode, "enum index -1"},
		{"invalid UTF-8", with(good, 11, 0xff), decodeAs[Product], ErrDecode, "UTF-8"},
		{"overlong varint", append(bytes.Clone(good[:10]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), decodeAs[Product], ErrDecode, "malformed varint"},
		{"bad union branch", with(goodRes, len(goodRes)-1-1-1-1, 0x04), decodeAs[ReservationResult], ErrDecode, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrDecode) && errors.Is(err, ErrUnknownSchema) {
				t.Fatalf("error %v wraps both sentinels", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}

func decodeAs[T Record](b []byte) error {
	_, err := Codec[T]{}.Decode(b)
	return err
}

func TestBooleanMustBeZeroOrOne(t *testing.T) {
	s := StockRow{SKU: "a", Deleted: true}
	data, err := Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	// Body: "a" (02 61), on_hand 0, version 0, updated_at null, deleted 01.
	i := 10 + 2 + 1 + 1 + 1
	if data[i] != 1 {
		t.Fatalf("layout changed: byte %d is %#x", i, data[i])
	}
	data[i] = 2
	var back StockRow
	if err := Unmarshal(data, &back); !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "boolean") {
		t.Fatalf("error = %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	if _, err := Marshal(&Product{SKU: "bad\xff"}); !errors.Is(err, ErrEncode) || !strings.Contains(err.Error(), "sku") {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if _, err := Marshal(&ReservationCommand{Op: "hold"}); !errors.Is(err, ErrEncode) {
		t.Fatalf("unknown op: %v", err)
	}
	if _, err := Marshal(&ReservationCommand{}); !errors.Is(err, ErrEncode) {
		t.Fatalf("empty op: %v", err)
	}
	if _, err := Marshal[Product](nil); !errors.Is(err, ErrEncode) {
		t.Fatalf("nil: %v", err)
	}
	if _, err := (Codec[Product]{}).Encode(&StockRow{}); !errors.Is(err, ErrEncode) {
		t.Fatalf("wrong type: %v", err)
	}
	if _, err := (Codec[Product]{}).Encode(nil); !errors.Is(err, ErrEncode) {
		t.Fatalf("nil interface: %v", err)
	}
	if _, err := (Codec[Product]{}).Encode((*Product)(nil)); !errors.Is(err, ErrEncode) {
		t.Fatalf("nil pointer: %v", err)
	}
	buf := []byte("prefix")
	out, err := AppendMarshal(buf, &ReservationCommand{Op: "nope"})
	if err == nil || string(out) != "prefix" {
		t.Fatalf("AppendMarshal on error = %q, %v; want the buffer unchanged", out, err)
	}
}

func TestUnmarshalOverwritesEveryField(t *testing.T) {
	full := samplePromotions()[0]
	data, err := Marshal(&Promotion{ID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(data, &full); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(full, Promotion{ID: "other"}) {
		t.Fatalf("stale fields survived: %+v", full)
	}
}

func TestDecodedStringsOutliveTheBuffer(t *testing.T) {
	p := sampleProducts()[0]
	data, err := Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	var back Product
	if err := Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 0
	}
	if back.SKU != p.SKU || back.Name != p.Name {
		t.Fatalf("decoded strings alias the input: %+v", back)
	}
}

func TestAllocations(t *testing.T) {
	p := sampleProducts()[0]
	data, _ := Marshal(&p)
	buf := make([]byte, 0, 256)
	var back Product
	if n := testing.AllocsPerRun(200, func() {
		if err := Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Unmarshal(Product) allocates %v times, want ≤ 1 (one string for all fields)", n)
	}
	if n := testing.AllocsPerRun(200, func() {
		var err error
		if buf, err = AppendMarshal(buf[:0], &p); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("AppendMarshal(Product) into a reused buffer allocates %v times, want 0", n)
	}
}
