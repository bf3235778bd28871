package schemas

import (
	"strconv"
	"strings"
)

// This file computes schema fingerprints exactly as the Avro specification
// defines them ("Parsing Canonical Form for Schemas" and "Schema
// Fingerprints"). goavro v2.15.0 has its own canonical form, but it keeps
// {"type":"long"} for a long with a logicalType where the specification's
// [STRIP] and [PRIMITIVES] rules give "long" (goavro issue #174), so its
// fingerprints for every cartstream schema (they all carry a
// timestamp-millis event_time) differ from the Java and other
// implementations'. cartstream's single-object records must be readable by
// any Avro implementation, so the fingerprint is computed here.

// canonicalForm returns the Parsing Canonical Form of t: primitives as bare
// names, full names, only the attributes that matter for parsing (name,
// type, fields, symbols, items, values, size) in that order, a named type
// written out only the first time it appears, no whitespace.
func canonicalForm(t *avroType) string {
	var b strings.Builder
	writeCanonical(&b, t, map[string]bool{})
	return b.String()
}

func writeCanonical(b *strings.Builder, t *avroType, seen map[string]bool) {
	switch t.kind {
	case "record", "enum", "fixed":
		if seen[t.name] {
			b.WriteString(strconv.Quote(t.name))
			return
		}
		seen[t.name] = true
		b.WriteString(`{"name":`)
		b.WriteString(strconv.Quote(t.name))
		b.WriteString(`,"type":`)
		b.WriteString(strconv.Quote(t.kind))
		switch t.kind {
		case "record":
			b.WriteString(`,"fields":[`)
			for i, f := range t.fields {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(`{"name":`)
				b.WriteString(strconv.Quote(f.name))
				b.WriteString(`,"type":`)
				writeCanonical(b, f.typ, seen)
				b.WriteByte('}')
			}
			b.WriteByte(']')
		case "enum":
			b.WriteString(`,"symbols":[`)
			for i, s := range t.symbols {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Quote(s))
			}
			b.WriteByte(']')
		case "fixed":
			b.WriteString(`,"size":`)
			b.WriteString(strconv.Itoa(t.size))
		}
		b.WriteByte('}')
	case "array":
		b.WriteString(`{"type":"array","items":`)
		writeCanonical(b, t.items, seen)
		b.WriteByte('}')
	case "map":
		b.WriteString(`{"type":"map","values":`)
		writeCanonical(b, t.values, seen)
		b.WriteByte('}')
	case "union":
		b.WriteByte('[')
		for i, br := range t.branches {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, br, seen)
		}
		b.WriteByte(']')
	default: // a primitive, with any logicalType stripped
		b.WriteString(strconv.Quote(t.kind))
	}
}

// crc64AvroEmpty is the CRC-64-AVRO fingerprint of the empty string, the
// polynomial of the Rabin fingerprint the specification defines.
const crc64AvroEmpty uint64 = 0xc15d213aa4d7a795

// fingerprint64 returns the CRC-64-AVRO (Rabin) fingerprint of buf,
// following the specification's reference algorithm. It builds its table on
// every call: it runs only while the registry is loaded, a handful of times
// per process.
func fingerprint64(buf []byte) uint64 {
	var table [256]uint64
	for i := range table {
		fp := uint64(i)
		for j := 0; j < 8; j++ {
			fp = (fp >> 1) ^ (crc64AvroEmpty & -(fp & 1))
		}
		table[i] = fp
	}
	fp := crc64AvroEmpty
	for _, c := range buf {
		fp = (fp >> 8) ^ table[byte(fp)^c]
	}
	return fp
}
