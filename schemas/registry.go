package schemas

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/linkedin/goavro/v2"
)

// avroFiles holds the schemas: the current schema of each record in
// avro/<file>.avsc, and other writer schemas this build still reads in
// avro/history/<file>-<fingerprint as 16 hex digits>.avsc.
//
//go:embed avro
var avroFiles embed.FS

// kind numbers the record types; it indexes registry.current.
type kind int

const (
	kindProduct kind = iota
	kindPromotion
	kindStockRow
	kindOrderLine
	kindReservationCommand
	kindReservationResult
	numKinds
)

// kinds names each record type: its full Avro name and its schema file.
// Read-only.
var kinds = [numKinds]struct{ name, file string }{
	kindProduct:            {"cartstream.Product", "product"},
	kindPromotion:          {"cartstream.Promotion", "promotion"},
	kindStockRow:           {"cartstream.StockRow", "stock_row"},
	kindOrderLine:          {"cartstream.OrderLine", "order_line"},
	kindReservationCommand: {"cartstream.ReservationCommand", "reservation_command"},
	kindReservationResult:  {"cartstream.ReservationResult", "reservation_result"},
}

// kindOf returns the kind of a Record type.
func kindOf[T Record]() kind {
	switch any((*T)(nil)).(type) {
	case *Product:
		return kindProduct
	case *Promotion:
		return kindPromotion
	case *StockRow:
		return kindStockRow
	case *OrderLine:
		return kindOrderLine
	case *ReservationCommand:
		return kindReservationCommand
	default: // *ReservationResult: Record admits nothing else
		return kindReservationResult
	}
}

// newRecord returns a new zero record of kind k as an avroRecord.
func newRecord(k kind) avroRecord {
	switch k {
	case kindProduct:
		return new(Product)
	case kindPromotion:
		return new(Promotion)
	case kindStockRow:
		return new(StockRow)
	case kindOrderLine:
		return new(OrderLine)
	case kindReservationCommand:
		return new(ReservationCommand)
	default:
		return new(ReservationResult)
	}
}

// Schema describes one Avro schema this build knows.
type Schema struct {
	// Name is the record's full Avro name, e.g. "cartstream.Product".
	Name string
	// Fingerprint is the CRC-64-AVRO (Rabin) fingerprint of the schema's
	// Parsing Canonical Form, as it appears (little-endian) in bytes 2–9 of
	// a single-object encoded record.
	Fingerprint uint64
	// Current is true for the schema this build writes, false for other
	// writer schemas it only reads.
	Current bool
	// File is the schema's path in the schemas/ directory.
	File string
	// Canonical is the schema's Parsing Canonical Form.
	Canonical string
	// Text is the schema file's text.
	Text string
}

// schemaEntry is a loaded schema. codec is goavro's codec for the schema,
// used only on the slow path for non-current writer schemas; its own
// fingerprint (codec.Rabin) is not used (see canonical.go).
type schemaEntry struct {
	Schema
	kind   kind
	header [singleObjectHeaderLen]byte
	codec  *goavro.Codec
	model  *avroType
}

// registry is every schema this build knows. It is built once and never
// modified afterwards.
type registry struct {
	current       [numKinds]*schemaEntry
	byFingerprint map[uint64]*schemaEntry
}

// Single-object encoding (Avro specification, "Single object encoding").
const (
	singleObjectMarker0   = 0xC3
	singleObjectMarker1   = 0x01
	fingerprintLen        = 8
	singleObjectHeaderLen = 2 + fingerprintLen
)

// defaultRegistry loads the embedded schemas on first use.
var defaultRegistry = sync.OnceValues(func() (*registry, error) {
	sub, err := fs.Sub(avroFiles, "avro")
	if err != nil {
		return nil, err
	}
	return loadRegistry(sub)
})

// loadRegistry parses every schema in fsys (the layout of schemas/avro) and
// checks that the set is consistent: one current schema per record type,
// history files named for their fingerprint and for a known record, no
// fingerprint twice.
func loadRegistry(fsys fs.FS) (*registry, error) {
	reg := &registry{byFingerprint: map[uint64]*schemaEntry{}}
	add := func(e *schemaEntry) error {
		if prev, dup := reg.byFingerprint[e.Fingerprint]; dup {
			return fmt.Errorf("schemas: %s and %s have the same fingerprint %s", prev.File, e.File, fpHex(e.Fingerprint))
		}
		reg.byFingerprint[e.Fingerprint] = e
		return nil
	}
	for k := kind(0); k < numKinds; k++ {
		file := kinds[k].file + ".avsc"
		e, err := loadSchema(fsys, file, k)
		if err != nil {
			return nil, err
		}
		e.Current = true
		reg.current[k] = e
		if err := add(e); err != nil {
			return nil, err
		}
	}
	history, err := fs.ReadDir(fsys, "history")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("schemas: history: %w", err)
	}
	for _, de := range history {
		file := de.Name()
		if de.IsDir() || !strings.HasSuffix(file, ".avsc") {
			continue
		}
		base := strings.TrimSuffix(file, ".avsc")
		i := strings.LastIndexByte(base, '-')
		if i < 0 {
			return nil, fmt.Errorf("schemas: history/%s: want <record>-<fingerprint>.avsc", file)
		}
		k := kind(-1)
		for kk := kind(0); kk < numKinds; kk++ {
			if kinds[kk].file == base[:i] {
				k = kk
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("schemas: history/%s: no record type %q", file, base[:i])
		}
		e, err := loadSchema(fsys, path.Join("history", file), k)
		if err != nil {
			return nil, err
		}
		if want := fpHex(e.Fingerprint); base[i+1:] != want {
			return nil, fmt.Errorf("schemas: history/%s: fingerprint is %s; rename the file", file, want)
		}
		if err := add(e); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// loadSchema parses one schema file for record kind k.
func loadSchema(fsys fs.FS, file string, k kind) (*schemaEntry, error) {
	text, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	codec, err := goavro.NewCodec(string(text))
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", file, err)
	}
	model, err := parseAvroSchema(string(text))
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", file, err)
	}
	if model.kind != "record" || model.name != kinds[k].name {
		return nil, fmt.Errorf("schemas: %s: defines %s %q, want record %q", file, model.kind, model.name, kinds[k].name)
	}
	canonical := canonicalForm(model)
	e := &schemaEntry{
		Schema: Schema{
			Name:        kinds[k].name,
			Fingerprint: fingerprint64([]byte(canonical)),
			File:        path.Join("avro", file),
			Canonical:   canonical,
			Text:        string(text),
		},
		kind:  k,
		codec: codec,
		model: model,
	}
	e.header[0], e.header[1] = singleObjectMarker0, singleObjectMarker1
	binary.LittleEndian.PutUint64(e.header[2:], e.Fingerprint)
	return e, nil
}

// Schemas lists every schema this build knows: the current schema of each
// record type first (in a fixed order), then the other writer schemas it
// reads.
func Schemas() ([]Schema, error) {
	reg, err := defaultRegistry()
	if err != nil {
		return nil, err
	}
	out := make([]Schema, 0, len(reg.byFingerprint))
	for _, e := range reg.current {
		out = append(out, e.Schema)
	}
	for _, e := range reg.byFingerprint {
		if !e.Current {
			out = append(out, e.Schema)
		}
	}
	return out, nil
}

// fpHex renders a fingerprint as the 16 hex digits used in history file
// names and error messages.
func fpHex(fp uint64) string { return fmt.Sprintf("%016x", fp) }
