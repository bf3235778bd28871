package inventory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"cartstream/internal/reserve"
)

// ErrBadValue is wrapped by the errors of decoding the group's own table
// values: a failure to read them is a bug or a corrupt store, never a
// record's fault.
var ErrBadValue = errors.New("inventory: bad table value")

// Keys of the inventory table. A SKU's state lives under the SKU itself.
// Dedup entries and their time index live under keys that begin with 0x00,
// which no SKU may (ValidateSKU), so the two never collide and a reader of
// the table (a view, the HTTP API) tells them apart by the first byte.
const (
	// dedupPrefix + command id → entry (the command's stored result).
	dedupPrefix = "\x00d"
	// indexPrefix + 8-byte time + command id → indexMark: dedup entries in
	// the order of the stream time they were stored at, for pruning.
	indexPrefix = "\x00t"
	// indexLimit is the first key after every index key.
	indexLimit = "\x00u"
)

// indexMark is the value of an index key: any non-empty value would do;
// an empty one could be read back as a tombstone by some clients.
var indexMark = []byte{1}

// IsSKUKey reports whether a table key holds a SKU's state (not a dedup
// entry or an index key).
func IsSKUKey(key string) bool { return key != "" && key[0] != 0 }

// ValidateSKU rejects SKUs the table cannot hold under their own key: empty
// ones and ones that begin with a NUL byte.
func ValidateSKU(sku string) error {
	switch {
	case sku == "":
		return errors.New("empty sku")
	case sku[0] == 0:
		return fmt.Errorf("sku %q begins with a NUL byte", sku)
	}
	return nil
}

func dedupKey(commandID string) string { return dedupPrefix + commandID }

// indexKey orders entries by the time they were stored at (signed Unix
// nanoseconds made unsigned-sortable), then by command id.
func indexKey(at time.Time, commandID string) string {
	var b strings.Builder
	b.Grow(len(indexPrefix) + 8 + len(commandID))
	b.WriteString(indexPrefix)
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(at.UnixNano())^(1<<63))
	b.Write(t[:])
	b.WriteString(commandID)
	return b.String()
}

// indexCommand returns the command id and time of an index key.
func indexCommand(key []byte) (commandID string, at time.Time, ok bool) {
	if len(key) < len(indexPrefix)+8 || string(key[:len(indexPrefix)]) != indexPrefix {
		return "", time.Time{}, false
	}
	n := int64(binary.BigEndian.Uint64(key[len(indexPrefix):]) ^ (1 << 63))
	return string(key[len(indexPrefix)+8:]), time.Unix(0, n).UTC(), true
}

// entry is one dedup entry: a command's stored result and where the command
// was read, so a re-read of the same record (after a crash) is told from a
// redelivery of the command at another offset.
type entry struct {
	CommandID string
	// Partition and Offset are the command record's origin.
	Partition int32
	Offset    int64
	Handled   reserve.Handled
}

// skuValue is the value under a SKU's key.
type skuValue struct {
	// State is the SKU's reservation state (nil for a SKU never seen).
	State *reserve.State
	// Last is the last dedup entry written for this SKU, kept in the value
	// as well: the table's records are written in order (value, then entry),
	// so if the entry was lost in a crash the value that survived is the one
	// that carries it (see the package documentation).
	Last *entry
	// StreamTime is the partition's stream time when the value was written;
	// it restores stream time after a restart.
	StreamTime time.Time
}

const (
	valueMagic   = 'V'
	entryMagic   = 'D'
	valueVersion = 1
	flagLast     = 1 << 0
	flagTime     = 1 << 1
)

// appendValue appends the encoding of v to b:
//
//	'V' 1 flags uvarint(len) state [entry] [varint unix-nanos]
func appendValue(b []byte, v skuValue) ([]byte, error) {
	var flags byte
	if v.Last != nil {
		flags |= flagLast
	}
	if !v.StreamTime.IsZero() {
		flags |= flagTime
	}
	b = append(b, valueMagic, valueVersion, flags)
	st, err := reserve.Encode(v.State)
	if err != nil {
		return nil, fmt.Errorf("inventory: encode state: %w", err)
	}
	b = binary.AppendUvarint(b, uint64(len(st)))
	b = append(b, st...)
	if v.Last != nil {
		e := appendEntry(nil, *v.Last)
		b = binary.AppendUvarint(b, uint64(len(v.Last.CommandID)))
		b = append(b, v.Last.CommandID...)
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	if !v.StreamTime.IsZero() {
		b = binary.AppendVarint(b, v.StreamTime.UnixNano())
	}
	return b, nil
}

// decodeValue reads what appendValue wrote. It never panics.
func decodeValue(data []byte) (skuValue, error) {
	var v skuValue
	if len(data) < 3 || data[0] != valueMagic {
		return v, fmt.Errorf("%w: not a sku value", ErrBadValue)
	}
	if data[1] != valueVersion {
		return v, fmt.Errorf("%w: sku value version %d", ErrBadValue, data[1])
	}
	flags := data[2]
	r := reader{b: data[3:]}
	st := r.bytes()
	if r.err != nil {
		return v, fmt.Errorf("%w: sku value: state: %v", ErrBadValue, r.err)
	}
	s, err := reserve.Decode(st)
	if err != nil {
		return v, fmt.Errorf("%w: sku value: %v", ErrBadValue, err)
	}
	v.State = s
	if flags&flagLast != 0 {
		id := r.bytes()
		eb := r.bytes()
		if r.err != nil {
			return v, fmt.Errorf("%w: sku value: last entry: %v", ErrBadValue, r.err)
		}
		e, err := decodeEntry(string(id), eb)
		if err != nil {
			return v, err
		}
		v.Last = &e
	}
	if flags&flagTime != 0 {
		n := r.varint()
		if r.err != nil {
			return v, fmt.Errorf("%w: sku value: stream time: %v", ErrBadValue, r.err)
		}
		v.StreamTime = time.Unix(0, n).UTC()
	}
	if len(r.b) != 0 || flags&^(flagLast|flagTime) != 0 {
		return v, fmt.Errorf("%w: sku value: trailing bytes or unknown flags", ErrBadValue)
	}
	return v, nil
}

// appendEntry appends the encoding of a dedup entry's value (the command
// id is its key):
//
//	'D' 1 varint(partition) varint(offset) handled
func appendEntry(b []byte, e entry) []byte {
	b = append(b, entryMagic, valueVersion)
	b = binary.AppendVarint(b, int64(e.Partition))
	b = binary.AppendVarint(b, e.Offset)
	return reserve.AppendHandled(b, e.Handled)
}

// decodeEntry reads what appendEntry wrote for the command id. It never
// panics.
func decodeEntry(commandID string, data []byte) (entry, error) {
	e := entry{CommandID: commandID}
	if len(data) < 2 || data[0] != entryMagic || data[1] != valueVersion {
		return e, fmt.Errorf("%w: not a dedup entry", ErrBadValue)
	}
	r := reader{b: data[2:]}
	p := r.varint()
	e.Offset = r.varint()
	if r.err != nil || p < -1<<31 || p > 1<<31-1 {
		return e, fmt.Errorf("%w: dedup entry %q: origin", ErrBadValue, commandID)
	}
	e.Partition = int32(p)
	h, err := reserve.DecodeHandled(r.b)
	if err != nil {
		return e, fmt.Errorf("%w: dedup entry %q: %v", ErrBadValue, commandID, err)
	}
	e.Handled = h
	return e, nil
}

// reader reads varints and length-prefixed bytes, remembering the first
// error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("length %d beyond the %d bytes left", n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// DecodeSKUValue reads the value under a SKU's key of the inventory table
// (IsSKUKey): the SKU's reservation state and the stream time it was
// written at. Tools and the HTTP API read the table with it.
func DecodeSKUValue(data []byte) (*reserve.State, time.Time, error) {
	v, err := decodeValue(data)
	if err != nil {
		return nil, time.Time{}, err
	}
	return v.State, v.StreamTime, nil
}
