package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// This file is a minimal Avro binary encoder and decoder for the hand-written
// record codecs: zig-zag varints, length-prefixed strings, two-branch
// ["null", T] unions, enums and blocked arrays, as the Avro specification
// defines them. Tests check every record against goavro byte for byte.

// writer appends Avro binary to buf. The first error sticks; later calls do
// nothing.
type writer struct {
	buf []byte
	err error
}

func (w *writer) long(v int64) {
	w.buf = binary.AppendUvarint(w.buf, uint64(v<<1)^uint64(v>>63))
}

func (w *writer) int(v int32) { w.long(int64(v)) }

func (w *writer) boolean(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// str writes s, which must be valid UTF-8 (Avro strings are UTF-8; an invalid
// one would not survive a JSON rendering of the record).
func (w *writer) str(field, s string) {
	if w.err != nil {
		return
	}
	if !utf8.ValidString(s) {
		w.err = fmt.Errorf("%s: string is not valid UTF-8", field)
		return
	}
	w.long(int64(len(s)))
	w.buf = append(w.buf, s...)
}

// timeMillis writes a timestamp-millis long.
func (w *writer) timeMillis(t time.Time) { w.long(t.UnixMilli()) }

// timeMicros writes a timestamp-micros long.
func (w *writer) timeMicros(t time.Time) { w.long(t.UnixMicro()) }

// The nullable writers encode ["null", T]: branch 0 is null, branch 1 the
// value. Union branch indexes are longs, so they are the bytes 0x00 and 0x02.

func (w *writer) nullStr(field string, s *string) {
	if s == nil {
		w.long(0)
		return
	}
	w.long(1)
	w.str(field, *s)
}

func (w *writer) nullLong(v *int64) {
	if v == nil {
		w.long(0)
		return
	}
	w.long(1)
	w.long(*v)
}

func (w *writer) nullInt(v *int32) {
	if v == nil {
		w.long(0)
		return
	}
	w.long(1)
	w.int(*v)
}

func (w *writer) nullTimeMillis(t *time.Time) {
	if t == nil {
		w.long(0)
		return
	}
	w.long(1)
	w.timeMillis(*t)
}

func (w *writer) nullTimeMicros(t *time.Time) {
	if t == nil {
		w.long(0)
		return
	}
	w.long(1)
	w.timeMicros(*t)
}

// strArray writes an array of strings as one block followed by the empty
// block that ends every Avro array.
func (w *writer) strArray(field string, items []string) {
	if len(items) > 0 {
		w.long(int64(len(items)))
		for _, s := range items {
			w.str(field, s)
		}
	}
	w.long(0)
}

func (w *writer) source(s *Source) {
	w.str("source.topic", s.Topic)
	w.int(s.Partition)
	w.long(s.Offset)
}

// errTruncated and friends describe what was wrong with a body; they are
// wrapped in ErrDecode with the record's name.
var (
	errTruncated = errors.New("truncated")
	errVarint    = errors.New("malformed varint")
)

// reader decodes Avro binary from body. Strings are substrings of text, one
// string copy of the whole body, so that decoding a record costs one string
// allocation however many string fields it has. The first error sticks;
// later calls return zero values.
type reader struct {
	body []byte
	text string // string(body), shared by every decoded string
	pos  int
	err  error
}

func newReader(body []byte) reader {
	return reader{body: body, text: string(body)}
}

func (r *reader) fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at byte %d: %w", field, r.pos, err)
	}
}

func (r *reader) long(field string) int64 {
	if r.err != nil {
		return 0
	}
	// One-byte varints (-64..63: lengths, small numbers, union and enum
	// indexes) are most of what a record holds.
	if r.pos < len(r.body) && r.body[r.pos] < 0x80 {
		b := uint64(r.body[r.pos])
		r.pos++
		return int64(b>>1) ^ -int64(b&1)
	}
	u, n := binary.Uvarint(r.body[r.pos:])
	if n <= 0 {
		if n == 0 {
			r.fail(field, errTruncated)
		} else {
			r.fail(field, errVarint)
		}
		return 0
	}
	r.pos += n
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) int(field string) int32 {
	v := r.long(field)
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail(field, fmt.Errorf("int %d out of range", v))
		return 0
	}
	return int32(v)
}

func (r *reader) boolean(field string) bool {
	if r.err != nil {
		return false
	}
	if r.pos >= len(r.body) {
		r.fail(field, errTruncated)
		return false
	}
	b := r.body[r.pos]
	if b > 1 {
		r.fail(field, fmt.Errorf("boolean byte %#x", b))
		return false
	}
	r.pos++
	return b == 1
}

func (r *reader) str(field string) string {
	n := r.long(field)
	if r.err != nil {
		return ""
	}
	if n < 0 || n > int64(len(r.body)-r.pos) {
		r.fail(field, fmt.Errorf("string length %d with %d bytes left: %w", n, len(r.body)-r.pos, errTruncated))
		return ""
	}
	s := r.text[r.pos : r.pos+int(n)]
	if !utf8.ValidString(s) {
		r.fail(field, errors.New("string is not valid UTF-8"))
		return ""
	}
	r.pos += int(n)
	return s
}

func (r *reader) timeMillis(field string) time.Time {
	return time.UnixMilli(r.long(field)).UTC()
}

func (r *reader) timeMicros(field string) time.Time {
	return time.UnixMicro(r.long(field)).UTC()
}

// branch reads the index of a ["null", T] union: false for null, true for T.
func (r *reader) branch(field string) bool {
	switch i := r.long(field); {
	case r.err != nil:
		return false
	case i == 0:
		return false
	case i == 1:
		return true
	default:
		r.fail(field, fmt.Errorf("union branch %d of 2", i))
		return false
	}
}

func (r *reader) nullStr(field string) *string {
	if !r.branch(field) {
		return nil
	}
	s := r.str(field)
	return &s
}

func (r *reader) nullLong(field string) *int64 {
	if !r.branch(field) {
		return nil
	}
	v := r.long(field)
	return &v
}

func (r *reader) nullInt(field string) *int32 {
	if !r.branch(field) {
		return nil
	}
	v := r.int(field)
	return &v
}

func (r *reader) nullTimeMillis(field string) *time.Time {
	if !r.branch(field) {
		return nil
	}
	t := r.timeMillis(field)
	return &t
}

func (r *reader) nullTimeMicros(field string) *time.Time {
	if !r.branch(field) {
		return nil
	}
	t := r.timeMicros(field)
	return &t
}

// blockLen reads the item count of the next array block. A negative count is
// followed by the block's size in bytes, which is read and ignored (Avro
// allows writers to add it so readers can skip blocks). Every item of the
// arrays cartstream uses takes at least minItemBytes, so a count larger than
// the bytes left is malformed; checking it here bounds allocation by the
// input size.
func (r *reader) blockLen(field string, minItemBytes int) int {
	n := r.long(field)
	if n < 0 {
		if n == math.MinInt64 {
			r.fail(field, fmt.Errorf("block count %d", n))
			return 0
		}
		n = -n
		if size := r.long(field); size < 0 {
			r.fail(field, fmt.Errorf("block size %d", size))
			return 0
		}
	}
	if r.err != nil {
		return 0
	}
	if n > int64((len(r.body)-r.pos)/minItemBytes) {
		r.fail(field, fmt.Errorf("array block of %d items with %d bytes left: %w", n, len(r.body)-r.pos, errTruncated))
		return 0
	}
	return int(n)
}

// strArray reads an array of strings. An empty array decodes as nil.
func (r *reader) strArray(field string) []string {
	var out []string
	for {
		n := r.blockLen(field, 1)
		if n == 0 || r.err != nil {
			return out
		}
		if out == nil {
			out = make([]string, 0, n)
		}
		for i := 0; i < n; i++ {
			out = append(out, r.str(field))
		}
	}
}

func (r *reader) source() Source {
	return Source{
		Topic:     r.str("source.topic"),
		Partition: r.int("source.partition"),
		Offset:    r.long("source.offset"),
	}
}

// skip moves past n bytes.
func (r *reader) skip(field string, n int) {
	if r.err != nil {
		return
	}
	if n < 0 || n > len(r.body)-r.pos {
		r.fail(field, errTruncated)
		return
	}
	r.pos += n
}

// done reports the sticky error, or an error if bytes are left after the
// record: a single-object record is exactly one datum.
func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if r.pos != len(r.body) {
		return fmt.Errorf("%d trailing bytes after the record", len(r.body)-r.pos)
	}
	return nil
}
