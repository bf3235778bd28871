package reserve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"cartstream/schemas"
)

// The table encoding of a State, version 2. Integers are varints
// (encoding/binary: uvarint, or zig-zag varint for signed values), strings a
// uvarint length and their bytes, times as described at encoder.time:
//
//	byte     format version (2)
//	uvarint  flags: bit 0 Known
//	string   SKU
//	varint   OnHand, Version
//	uvarint  number of holds, then each hold:
//	  byte     flags: bit 0 committed (else held), bit 1 HasInventoryVersion,
//	           bit 2 CheckoutID stored (else RequestID = CheckoutID ":" SKU)
//	  string   RequestID, CartID, [CheckoutID]
//	  varint   Qty
//	  time     ExpiresAt, CommittedAt
//	  varint   InventoryVersion
//	uvarint  number of pending lines, then each: string RequestID,
//	         varint InventoryVersion, time At
//
// Version 1 also held the dedup entries; it is rejected (nothing stored in
// it was ever deployed).
//
// The encoding of one dedup entry ([AppendHandled]), version 1:
//
//	byte     format version (entryV1: 0x81, never a State's version, so
//	         neither decodes as the other)
//	time     At
//	byte     flags: bit 0 Reason set, bit 1 ExpiresAt set, bit 2 RequestID
//	         stored (else CommandID = RequestID ":" op), bit 3 CheckoutID
//	         stored (else RequestID = CheckoutID ":" SKU), bit 4 SKU stored
//	         (else empty)
//	byte     op: 0 reserve, 1 release, 2 commit, 3 stored as a string
//	byte     status: 0 reserved, 1 rejected, 2 released, 3 committed,
//	         4 stored as a string
//	[byte]   reason (if set): 1… a known reason (reasonCodes), 0 stored
//	[string] op, status, reason when stored
//	string   CommandID, CartID, [SKU], [RequestID], [CheckoutID]
//	varint   Qty, Available
//	[time]   ExpiresAt
//	time     EventTime
//
// Ids that follow DESIGN §6 (request_id = <checkout_id>:<sku>, command_id =
// <request_id>:<op>) are stored once and the others are decoded as
// substrings of them, so decoding allocates one string for all text. The
// encodings are exact: Decode(Encode(s)) equals s, and
// DecodeHandled(AppendHandled(nil, h)) equals h, field for field (times in
// UTC, as every State and result this package makes holds them).

// Format versions: the first byte of an encoding.
const (
	formatV2 byte = 2
	entryV1  byte = 0x81
)

// Flag bits.
const (
	stateKnown = 1 << 0

	holdCommitted  = 1 << 0
	holdHasVersion = 1 << 1
	holdCheckout   = 1 << 2
	holdFlags      = holdCommitted | holdHasVersion | holdCheckout

	resReason    = 1 << 0
	resExpires   = 1 << 1
	resRequest   = 1 << 2
	resCheckout  = 1 << 3
	resSKU       = 1 << 4
	resFlags     = resReason | resExpires | resRequest | resCheckout | resSKU
	opStored     = 3
	statusStored = 4
)

// opCodes and statusCodes list the codes of the known ops and statuses,
// reasonCodes those of the known reasons from 1 (0 means stored as a
// string). They are part of the format: append only. Read-only.
var (
	opCodes     = [...]schemas.ReservationOp{schemas.OpReserve, schemas.OpRelease, schemas.OpCommit}
	statusCodes = [...]string{schemas.ResultReserved, schemas.ResultRejected, schemas.ResultReleased, schemas.ResultCommitted}
	reasonCodes = [...]string{"",
		ReasonInsufficientStock, ReasonUnknownSKU, ReasonInvalidQuantity, ReasonHoldExpired, ReasonLateCommit,
		ReasonCheckoutFailed, ReasonCartChanged, ReasonCheckoutSuperseded, ReasonAbandoned, ReasonCartCleared,
		ReasonUnknownHold, ReasonAlreadyCommitted, ReasonRequestClosed, ReasonStaleCommand, ReasonInvalidCommand,
	}
)

// Time encoding limits: a time with whole milliseconds and |Unix seconds| <
// msLimitSec is stored as a millisecond delta from the previous such time.
const (
	msLimitSec = 1 << 40
	// zeroUnixSec and maxUnixSec bound the Unix seconds of a time.Time.
	zeroUnixSec int64 = -62135596800
	maxUnixSec        = math.MaxInt64 + zeroUnixSec
)

// ErrBadEncoding is wrapped by the errors of [Decode] and [DecodeHandled].
var ErrBadEncoding = errors.New("reserve: bad encoding")

// Encode returns the table encoding of s; nil encodes as the empty State.
// It fails, with context, for a State this package never makes: a hold
// whose State is not Held or Committed, or holds or pending lines not
// strictly sorted by request id.
func Encode(s *State) ([]byte, error) {
	return AppendEncode(make([]byte, 0, sizeHint(s)), s)
}

// AppendEncode appends the encoding of s to b (see [Encode]).
func AppendEncode(b []byte, s *State) ([]byte, error) {
	if s == nil {
		s = &State{}
	}
	e := encoder{b: b}
	e.b = append(e.b, formatV2)
	var flags uint64
	if s.Known {
		flags |= stateKnown
	}
	e.uvarint(flags)
	e.str(s.SKU)
	e.varint(s.OnHand)
	e.varint(s.Version)

	e.uvarint(uint64(len(s.Holds)))
	for i := range s.Holds {
		h := &s.Holds[i]
		if i > 0 && s.Holds[i-1].RequestID >= h.RequestID {
			return nil, fmt.Errorf("reserve: encode %s: holds not strictly sorted at %q", s.SKU, h.RequestID)
		}
		var f byte
		switch h.State {
		case Held:
		case Committed:
			f |= holdCommitted
		default:
			return nil, fmt.Errorf("reserve: encode %s: hold %q: invalid state %v", s.SKU, h.RequestID, h.State)
		}
		if h.HasInventoryVersion {
			f |= holdHasVersion
		}
		checkoutStored := !joined(h.RequestID, h.CheckoutID, s.SKU)
		if checkoutStored {
			f |= holdCheckout
		}
		e.b = append(e.b, f)
		e.str(h.RequestID)
		e.str(h.CartID)
		if checkoutStored {
			e.str(h.CheckoutID)
		}
		e.varint(int64(h.Qty))
		e.time(h.ExpiresAt)
		e.time(h.CommittedAt)
		e.varint(h.InventoryVersion)
	}

	e.uvarint(uint64(len(s.Pending)))
	for i := range s.Pending {
		p := &s.Pending[i]
		if i > 0 && s.Pending[i-1].RequestID >= p.RequestID {
			return nil, fmt.Errorf("reserve: encode %s: pending lines not strictly sorted at %q", s.SKU, p.RequestID)
		}
		e.str(p.RequestID)
		e.varint(p.InventoryVersion)
		e.time(p.At)
	}
	return e.b, nil
}

// AppendHandled appends the encoding of one dedup entry to b. Every Handled
// encodes; see [DecodeHandled].
func AppendHandled(b []byte, h Handled) []byte {
	e := encoder{b: b}
	e.b = append(e.b, entryV1)
	e.time(h.At)
	e.result(&h.Result, "")
	return e.b
}

// result appends r; its SKU is stored unless it is sku.
func (e *encoder) result(r *schemas.ReservationResult, sku string) {
	var f byte
	if r.Reason != nil {
		f |= resReason
	}
	if r.ExpiresAt != nil {
		f |= resExpires
	}
	requestStored := !joined(r.CommandID, r.RequestID, string(r.Op))
	if requestStored {
		f |= resRequest
	}
	checkoutStored := !joined(r.RequestID, r.CheckoutID, r.SKU)
	if checkoutStored {
		f |= resCheckout
	}
	skuStored := r.SKU != sku
	if skuStored {
		f |= resSKU
	}
	op := byte(opStored)
	for i, o := range opCodes {
		if r.Op == o {
			op = byte(i)
		}
	}
	status := byte(statusStored)
	for i, st := range statusCodes {
		if r.Status == st {
			status = byte(i)
		}
	}
	e.b = append(e.b, f, op, status)
	var reason byte
	if r.Reason != nil {
		for i := 1; i < len(reasonCodes); i++ {
			if *r.Reason == reasonCodes[i] {
				reason = byte(i)
			}
		}
		e.b = append(e.b, reason)
	}
	if op == opStored {
		e.str(string(r.Op))
	}
	if status == statusStored {
		e.str(r.Status)
	}
	if r.Reason != nil && reason == 0 {
		e.str(*r.Reason)
	}
	e.str(r.CommandID)
	e.str(r.CartID)
	if skuStored {
		e.str(r.SKU)
	}
	if requestStored {
		e.str(r.RequestID)
	}
	if checkoutStored {
		e.str(r.CheckoutID)
	}
	e.varint(int64(r.Qty))
	e.varint(r.Available)
	if r.ExpiresAt != nil {
		e.time(*r.ExpiresAt)
	}
	e.time(r.EventTime)
}

// joined reports whether x == a + ":" + b, without building the string.
func joined(x, a, b string) bool {
	return len(x) == len(a)+1+len(b) && x[len(a)] == ':' && strings.HasPrefix(x, a) && strings.HasSuffix(x, b)
}

// sizeHint estimates the encoded size of s, generously.
func sizeHint(s *State) int {
	if s == nil {
		return 16
	}
	n := 32 + len(s.SKU)
	for i := range s.Holds {
		n += 32 + len(s.Holds[i].RequestID) + len(s.Holds[i].CartID)
	}
	for i := range s.Pending {
		n += 16 + len(s.Pending[i].RequestID)
	}
	return n
}

type encoder struct {
	b      []byte
	lastMS int64
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// time appends t as a uvarint u and maybe more:
//
//	u = 0                the zero time
//	u & 3 = 1            whole milliseconds: u >> 2 is the zig-zag delta in ms
//	                     from the previous time stored this way (from 0 for
//	                     the first)
//	u = 2                any other time: varint Unix seconds, uvarint ns
//
// Times decode in UTC.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.uvarint(0)
		return
	}
	sec, ns := t.Unix(), int64(t.Nanosecond())
	if ns%int64(time.Millisecond) == 0 && sec > -msLimitSec && sec < msLimitSec {
		ms := sec*1000 + ns/int64(time.Millisecond)
		d := ms - e.lastMS
		e.lastMS = ms
		e.uvarint((uint64(d<<1)^uint64(d>>63))<<2 | 1)
		return
	}
	e.uvarint(2)
	e.varint(sec)
	e.uvarint(uint64(ns))
}

// Decode reads a State that [Encode] wrote. Errors wrap [ErrBadEncoding]
// and say where the input went wrong. Decode never panics, whatever its
// input.
func Decode(data []byte) (*State, error) {
	d := decoder{data: data, all: string(data), kind: "state"}
	s, err := d.state()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// DecodeHandled reads a dedup entry that [AppendHandled] wrote. Errors wrap
// [ErrBadEncoding] and say where the input went wrong. DecodeHandled never
// panics, whatever its input.
func DecodeHandled(data []byte) (Handled, error) {
	d := decoder{data: data, all: string(data), kind: "dedup entry"}
	var h Handled
	if v := d.byte("format version"); d.err == nil && v != entryV1 {
		d.fail("format version %#x, want %#x", v, entryV1)
	}
	h.At = d.time("at")
	d.result(&h.Result, "")
	d.end()
	if d.err != nil {
		return Handled{}, d.err
	}
	return h, nil
}

type decoder struct {
	data   []byte
	all    string // data as one string; decoded strings are substrings
	kind   string // what data encodes, for errors
	off    int
	lastMS int64
	err    error
}

func (d *decoder) fail(what string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d: %s", ErrBadEncoding, d.kind, d.off, fmt.Sprintf(what, args...))
	}
}

// end fails unless all of data was read.
func (d *decoder) end() {
	if d.err == nil && d.off != len(d.data) {
		d.fail("%d trailing bytes", len(d.data)-d.off)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.data) {
		d.fail("%s: unexpected end", what)
		return 0
	}
	b := d.data[d.off]
	d.off++
	return b
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		d.fail("%s: bad uvarint", what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.data[d.off:])
	if n <= 0 {
		d.fail("%s: bad varint", what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) int32(what string) int32 {
	v := d.varint(what)
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("%s: %d out of int32 range", what, v)
		return 0
	}
	return int32(v)
}

// Smallest encodings of the repeated items, which bound what a count may
// claim (and so what Decode allocates) by the bytes left.
const (
	minHold    = 7 // flags, 2 strings, qty, 2 times, version
	minPending = 3 // string, version, time
)

// count reads a number of items, each at least size bytes long.
func (d *decoder) count(what string, size int) int {
	n := d.uvarint(what)
	if n > uint64((len(d.data)-d.off)/size) {
		d.fail("%s: %d items in %d bytes", what, n, len(d.data)-d.off)
		return 0
	}
	return int(n)
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.data)-d.off) {
		d.fail("%s: string of %d bytes in %d", what, n, len(d.data)-d.off)
		return ""
	}
	s := d.all[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) time(what string) time.Time {
	u := d.uvarint(what)
	if d.err != nil {
		return time.Time{}
	}
	switch {
	case u == 0:
		return time.Time{}
	case u&3 == 1:
		z := u >> 2
		delta := int64(z>>1) ^ -int64(z&1)
		ms := d.lastMS + delta // |lastMS| < 2^50, |delta| < 2^61: no overflow
		t := time.UnixMilli(ms).UTC()
		if sec := t.Unix(); sec <= -msLimitSec || sec >= msLimitSec {
			d.fail("%s: %d ms out of range", what, ms)
			return time.Time{}
		}
		d.lastMS = ms
		return t
	case u == 2:
		sec := d.varint(what)
		ns := d.uvarint(what)
		if d.err != nil {
			return time.Time{}
		}
		if ns >= uint64(time.Second) || sec < zeroUnixSec || sec > maxUnixSec {
			d.fail("%s: time %d s %d ns out of range", what, sec, ns)
			return time.Time{}
		}
		return time.Unix(sec, int64(ns)).UTC()
	}
	d.fail("%s: bad time tag %d", what, u)
	return time.Time{}
}

func (d *decoder) state() (*State, error) {
	if v := d.byte("format version"); d.err == nil && v != formatV2 {
		d.fail("format version %d, want %d", v, formatV2)
	}
	flags := d.uvarint("state flags")
	if flags&^stateKnown != 0 {
		d.fail("unknown state flags %#x", flags)
	}
	s := &State{Known: flags&stateKnown != 0}
	s.SKU = d.str("sku")
	s.OnHand = d.varint("on_hand")
	s.Version = d.varint("version")

	if n := d.count("holds", minHold); n > 0 {
		s.Holds = make([]Hold, n)
		for i := range s.Holds {
			d.hold(&s.Holds[i], s.SKU)
			if d.err == nil && i > 0 && s.Holds[i-1].RequestID >= s.Holds[i].RequestID {
				d.fail("hold %q: holds not strictly sorted", s.Holds[i].RequestID)
			}
		}
	}
	if n := d.count("pending lines", minPending); n > 0 {
		s.Pending = make([]Pending, n)
		for i := range s.Pending {
			p := &s.Pending[i]
			p.RequestID = d.str("pending request_id")
			p.InventoryVersion = d.varint("pending inventory_version")
			p.At = d.time("pending at")
			if d.err == nil && i > 0 && s.Pending[i-1].RequestID >= p.RequestID {
				d.fail("pending %q: pending lines not strictly sorted", p.RequestID)
			}
		}
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

func (d *decoder) hold(h *Hold, sku string) {
	f := d.byte("hold flags")
	if f&^holdFlags != 0 {
		d.fail("unknown hold flags %#x", f)
		return
	}
	h.State = Held
	if f&holdCommitted != 0 {
		h.State = Committed
	}
	h.HasInventoryVersion = f&holdHasVersion != 0
	h.RequestID = d.str("hold request_id")
	h.CartID = d.str("hold cart_id")
	if f&holdCheckout != 0 {
		h.CheckoutID = d.str("hold checkout_id")
	} else if prefix, ok := cutJoin(h.RequestID, sku); ok {
		h.CheckoutID = prefix
	} else if d.err == nil {
		d.fail("hold request_id %q does not end in :%s", h.RequestID, sku)
	}
	h.Qty = d.int32("hold qty")
	h.ExpiresAt = d.time("hold expires_at")
	h.CommittedAt = d.time("hold committed_at")
	h.InventoryVersion = d.varint("hold inventory_version")
}

// result reads a result whose SKU, unless stored, is sku.
func (d *decoder) result(r *schemas.ReservationResult, sku string) {
	f := d.byte("result flags")
	op := d.byte("result op")
	status := d.byte("result status")
	if d.err != nil {
		return
	}
	switch {
	case f&^resFlags != 0:
		d.fail("unknown result flags %#x", f)
	case op > opStored:
		d.fail("bad op code %d", op)
	case status > statusStored:
		d.fail("bad status code %d", status)
	}
	var rc byte
	if f&resReason != 0 {
		rc = d.byte("result reason")
		if int(rc) >= len(reasonCodes) {
			d.fail("bad reason code %d", rc)
		}
	}
	if d.err != nil {
		return
	}
	if op == opStored {
		r.Op = schemas.ReservationOp(d.str("result op"))
	} else {
		r.Op = opCodes[op]
	}
	if status == statusStored {
		r.Status = d.str("result status")
	} else {
		r.Status = statusCodes[status]
	}
	if f&resReason != 0 {
		reason := reasonCodes[rc]
		if rc == 0 {
			reason = d.str("result reason")
		}
		r.Reason = &reason
	}
	r.CommandID = d.str("result command_id")
	r.CartID = d.str("result cart_id")
	r.SKU = sku
	if f&resSKU != 0 {
		r.SKU = d.str("result sku")
	}
	if f&resRequest != 0 {
		r.RequestID = d.str("result request_id")
	} else if prefix, ok := cutJoin(r.CommandID, string(r.Op)); ok {
		r.RequestID = prefix
	} else if d.err == nil {
		d.fail("command_id %q does not end in :%s", r.CommandID, r.Op)
	}
	if f&resCheckout != 0 {
		r.CheckoutID = d.str("result checkout_id")
	} else if prefix, ok := cutJoin(r.RequestID, r.SKU); ok {
		r.CheckoutID = prefix
	} else if d.err == nil {
		d.fail("request_id %q does not end in :%s", r.RequestID, r.SKU)
	}
	r.Qty = d.int32("result qty")
	r.Available = d.varint("result available")
	if f&resExpires != 0 {
		expires := d.time("result expires_at")
		r.ExpiresAt = &expires
	}
	r.EventTime = d.time("result event_time")
}

// cutJoin returns a when x == a + ":" + b.
func cutJoin(x, b string) (string, bool) {
	if len(x) < len(b)+1 || x[len(x)-len(b)-1] != ':' || !strings.HasSuffix(x, b) {
		return "", false
	}
	return x[:len(x)-len(b)-1], true
}
