package carts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"cartstream/schemas"
)

// The carts table's value: a Cart in a compact binary form, written by
// (*Cart).Encode and read by DecodeCart. Carts stored by earlier builds are
// JSON (an object: its first byte is '{'); DecodeCart reads those for ever,
// since changelogs keep old values, and Encode always writes the binary form,
// so a cart moves to it the first time it changes.
//
// # Layout
//
// A value is a format byte, then the fields of the cart in the order below,
// with nothing after them. Integers are encoding/binary varints: "uvarint"
// unsigned, "varint" zigzag-signed, both in their shortest form. DecodeCart
// refuses anything else (bytes left over, a longer varint, a flag other than
// 0 or 1, nanoseconds of a second or more, a qty beyond int32, origins out
// of order), so a value decodes only if it is what Encode writes for the
// cart it decodes to. Composite parts:
//
//	str      uvarint length, then the bytes (not checked for UTF-8)
//	optstr   *string: uvarint 0 for nil, else length+1 and the bytes
//	list     uvarint 0 for a nil slice, else count+1, then the elements
//	count    uvarint count, then the elements (decoded as nil when 0)
//	time     varint Unix seconds, uvarint nanoseconds (< 1e9)
//	opttime  *time.Time: byte 0 for nil, byte 1 and a time
//	bool     byte 0 or 1
//
//	format byte 0x01
//	cart
//	  ID             str
//	  Version        varint
//	  Currency       str
//	  CustomerID     optstr
//	  Segments       list of str
//	  Coupons        list of str
//	  Lines          list of line: SKU str, Qty varint
//	  LastEventTime  time
//	  Applied        list of applied: ID str, At time whose seconds are the
//	                 difference to the previous entry's (the first entry's
//	                 to 0), so the window's ids cost a byte or two of time
//	  Checkout       byte 0 for nil, byte 1 and a checkout
//	  PastCheckouts  count of checkout
//	  EarlyResults   count of result
//	  Origins        count of origin: topic str, offset varint; topics in
//	                 ascending order, so equal carts encode to equal bytes
//	checkout
//	  ID str, Status str, Reason optstr, OrderID optstr,
//	  Lines list of checkout line, EventTime time
//	checkout line
//	  SKU str, Qty varint, Status str, Reason optstr, ExpiresAt opttime,
//	  ReserveAnswered bool
//	result (schemas.ReservationResult)
//	  CommandID str, RequestID str, Op str, SKU str, Qty varint, CartID str,
//	  CheckoutID str, Status str, Reason optstr, Available varint,
//	  ExpiresAt opttime, EventTime time
//
// # Nil and empty, times
//
// A decoded cart is what the JSON form decoded to: the slices JSON wrote as
// null or [] (Segments, Coupons, Lines, Applied, a checkout's Lines) keep nil
// apart from empty, as lists; those JSON omitted when empty (PastCheckouts,
// EarlyResults, Origins) come back nil when empty, as counts. Pointers keep
// nil apart from a pointer to a zero value. Times keep their instant to the
// nanosecond and come back in UTC without a monotonic reading; the zero time
// comes back as time.Time{}. So Encode then DecodeCart returns a cart equal
// (reflect.DeepEqual) to the one encoded, up to those normalizations.
//
// # Adding a field
//
// Fields are never removed or reordered. A build that adds one appends it at
// the end of the record it belongs to (cart, checkout, checkout line or
// result), bumps cartFormat, and reads the new field only from values whose
// format byte says they have it, leaving the zero value for older ones;
// Encode always writes the newest format. Format bytes 0x01 to 0x08 are
// reserved for this form (none can start JSON); a build refuses a format
// newer than its own, so roll back only to a build that reads the newest
// format written. Builds before this form read JSON only.
const (
	cartFormatV1 = 0x01
	// cartFormat is the format Encode writes.
	cartFormat = cartFormatV1
	// cartFormatMax is the last format byte reserved for the binary form.
	cartFormatMax = 0x08
)

// ErrCorruptCart is wrapped by DecodeCart's errors for a binary stored cart
// that is truncated, has bytes left over, or holds an impossible value.
var ErrCorruptCart = errors.New("corrupt stored cart")

// Encode renders the cart for the table, in the binary form (see the Layout
// above). It never fails; the error is for the callers written against the
// JSON form.
func (c *Cart) Encode() ([]byte, error) {
	return c.appendBinary(make([]byte, 0, c.sizeHint())), nil
}

// appendBinary appends the cart's binary form to b and returns the result.
func (c *Cart) appendBinary(b []byte) []byte {
	b = append(b, cartFormat)
	b = appendStr(b, c.ID)
	b = binary.AppendVarint(b, c.Version)
	b = appendStr(b, c.Currency)
	b = appendOptStr(b, c.CustomerID)
	b = appendListLen(b, c.Segments == nil, len(c.Segments))
	for _, s := range c.Segments {
		b = appendStr(b, s)
	}
	b = appendListLen(b, c.Coupons == nil, len(c.Coupons))
	for _, s := range c.Coupons {
		b = appendStr(b, s)
	}
	b = appendListLen(b, c.Lines == nil, len(c.Lines))
	for _, l := range c.Lines {
		b = appendStr(b, l.SKU)
		b = binary.AppendVarint(b, int64(l.Qty))
	}
	b = appendTime(b, c.LastEventTime)
	b = appendListLen(b, c.Applied == nil, len(c.Applied))
	var prev int64
	for _, a := range c.Applied {
		b = appendStr(b, a.ID)
		sec := a.At.Unix()
		b = binary.AppendVarint(b, sec-prev)
		b = binary.AppendUvarint(b, uint64(a.At.Nanosecond()))
		prev = sec
	}
	if c.Checkout == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendCheckout(b, c.Checkout)
	}
	b = binary.AppendUvarint(b, uint64(len(c.PastCheckouts)))
	for i := range c.PastCheckouts {
		b = appendCheckout(b, &c.PastCheckouts[i])
	}
	b = binary.AppendUvarint(b, uint64(len(c.EarlyResults)))
	for i := range c.EarlyResults {
		b = appendResult(b, &c.EarlyResults[i])
	}
	b = binary.AppendUvarint(b, uint64(len(c.Origins)))
	if len(c.Origins) > 0 {
		var small [8]string
		topics := small[:0]
		for t := range c.Origins {
			topics = append(topics, t)
		}
		slices.Sort(topics)
		for _, t := range topics {
			b = appendStr(b, t)
			b = binary.AppendVarint(b, c.Origins[t])
		}
	}
	return b
}

// sizeHint estimates the encoded size, so that Encode allocates once for a
// typical cart.
func (c *Cart) sizeHint() int {
	n := 32 + len(c.ID) + len(c.Currency)
	if c.CustomerID != nil {
		n += len(*c.CustomerID)
	}
	for _, s := range c.Segments {
		n += 1 + len(s)
	}
	for _, s := range c.Coupons {
		n += 1 + len(s)
	}
	for _, l := range c.Lines {
		n += 4 + len(l.SKU)
	}
	for _, a := range c.Applied {
		n += 8 + len(a.ID)
	}
	if c.Checkout != nil {
		n += 32 + 48*len(c.Checkout.Lines)
	}
	for i := range c.PastCheckouts {
		n += 32 + 48*len(c.PastCheckouts[i].Lines)
	}
	n += 160 * len(c.EarlyResults)
	n += 40 * len(c.Origins)
	return n
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendOptStr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(*s))+1)
	return append(b, *s...)
}

func appendListLen(b []byte, isNil bool, n int) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendOptTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, 0)
	}
	return appendTime(append(b, 1), *t)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendCheckout(b []byte, k *Checkout) []byte {
	b = appendStr(b, k.ID)
	b = appendStr(b, k.Status)
	b = appendOptStr(b, k.Reason)
	b = appendOptStr(b, k.OrderID)
	b = appendListLen(b, k.Lines == nil, len(k.Lines))
	for i := range k.Lines {
		l := &k.Lines[i]
		b = appendStr(b, l.SKU)
		b = binary.AppendVarint(b, int64(l.Qty))
		b = appendStr(b, l.Status)
		b = appendOptStr(b, l.Reason)
		b = appendOptTime(b, l.ExpiresAt)
		b = appendBool(b, l.ReserveAnswered)
	}
	return appendTime(b, k.EventTime)
}

func appendResult(b []byte, r *schemas.ReservationResult) []byte {
	b = appendStr(b, r.CommandID)
	b = appendStr(b, r.RequestID)
	b = appendStr(b, string(r.Op))
	b = appendStr(b, r.SKU)
	b = binary.AppendVarint(b, int64(r.Qty))
	b = appendStr(b, r.CartID)
	b = appendStr(b, r.CheckoutID)
	b = appendStr(b, r.Status)
	b = appendOptStr(b, r.Reason)
	b = binary.AppendVarint(b, r.Available)
	b = appendOptTime(b, r.ExpiresAt)
	return appendTime(b, r.EventTime)
}

// Smallest encodings of the repeated elements, which bound the count a
// value of a given length can hold: a count larger than the bytes left
// allow is corrupt, and is refused before anything is allocated for it.
const (
	minStr          = 1                      // length 0
	minTime         = 2                      // seconds, nanoseconds
	minLine         = minStr + 1             // sku, qty
	minApplied      = minStr + minTime       // id, at
	minCheckoutLine = 2*minStr + 4           // sku, status; qty, reason, expires_at, answered
	minCheckout     = 2*minStr + 3 + minTime // id, status; reason, order id, lines; event time
	minResult       = 7*minStr + 4 + minTime // 7 strings; qty, reason, available, expires_at; event time
	minOrigin       = minStr + 1             // topic, offset
)

// decoder reads one binary stored cart. Every string of the cart is a
// substring of s, one copy of the value, so decoding allocates once for all
// of them. The first error sticks; reads after it return zero values.
type decoder struct {
	data   []byte
	s      string
	off    int
	format byte // the value's: a later format reads its added fields only when this says they are there
	err    error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrCorruptCart, what, d.off)
	}
	d.off = len(d.data) // nothing more to read
}

func (d *decoder) left() int { return len(d.data) - d.off }

// uvarint, varint and str first try the one-byte form most reads are.
// After an error off is at the end, so that never reads past one.

func (d *decoder) uvarint(what string) uint64 {
	if off := d.off; off < len(d.data) && d.data[off] < 0x80 {
		d.off++
		return uint64(d.data[off])
	}
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 || n > 1 && d.data[d.off+n-1] == 0 { // bad or not minimal
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	if off := d.off; off < len(d.data) && d.data[off] < 0x80 {
		v := d.data[off]
		d.off++
		return int64(v>>1) ^ -int64(v&1)
	}
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.data[d.off:])
	if n <= 0 || n > 1 && d.data[d.off+n-1] == 0 { // bad or not minimal
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) int32(what string) int32 {
	v := d.varint(what)
	if v != int64(int32(v)) {
		d.fail(what + " out of range")
		return 0
	}
	return int32(v)
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.left() < 1 {
		d.fail(what)
		return 0
	}
	v := d.data[d.off]
	d.off++
	return v
}

// flag reads a byte that must be 0 or 1.
func (d *decoder) flag(what string) bool {
	switch d.byte(what) {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(what)
	return false
}

// bytesOf reads n bytes as a substring of the value, n having been read as
// a length.
func (d *decoder) bytesOf(n uint64, what string) string {
	if d.err != nil {
		return ""
	}
	if n > uint64(d.left()) {
		d.fail(what + " longer than the value")
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) str(what string) string {
	if off := d.off; off < len(d.s) {
		if n := int(d.s[off]); n < 0x80 && n < len(d.s)-off {
			d.off = off + 1 + n
			return d.s[off+1 : d.off]
		}
	}
	return d.bytesOf(d.uvarint(what), what)
}

func (d *decoder) optStr(what string) *string {
	n := d.uvarint(what)
	if n == 0 || d.err != nil {
		return nil
	}
	s := d.bytesOf(n-1, what)
	return &s
}

// count reads a count of elements of at least min bytes each.
func (d *decoder) count(min int, what string) int {
	n := d.uvarint(what)
	if n > uint64(d.left()/min) {
		d.fail(what + " count larger than the value")
		return 0
	}
	return int(n)
}

// list reads a list's header: whether the slice is nil, and its length.
func (d *decoder) list(min int, what string) (isNil bool, n int) {
	v := d.uvarint(what)
	if v == 0 || d.err != nil {
		return true, 0
	}
	if v-1 > uint64(d.left()/min) {
		d.fail(what + " count larger than the value")
		return true, 0
	}
	return false, int(v - 1)
}

func (d *decoder) nanos(what string) int64 {
	ns := d.uvarint(what)
	if ns >= uint64(time.Second) {
		d.fail(what + " nanoseconds out of range")
		return 0
	}
	return int64(ns)
}

func (d *decoder) time(what string) time.Time {
	sec := d.varint(what)
	ns := d.nanos(what)
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, ns).UTC()
}

func (d *decoder) optTime(what string) *time.Time {
	if !d.flag(what) || d.err != nil {
		return nil
	}
	t := d.time(what)
	return &t
}

func (d *decoder) strings(what string) []string {
	isNil, n := d.list(minStr, what)
	if isNil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str(what)
	}
	return out
}

// decodeBinary reads a binary stored cart (data[0] is its format byte, one
// this build reads).
func decodeBinary(data []byte) (*Cart, error) {
	d := &decoder{data: data, s: string(data), off: 1, format: data[0]}
	c := &Cart{}
	c.ID = d.str("cart id")
	c.Version = d.varint("version")
	c.Currency = d.str("currency")
	c.CustomerID = d.optStr("customer id")
	c.Segments = d.strings("segments")
	c.Coupons = d.strings("coupons")
	if isNil, n := d.list(minLine, "lines"); !isNil {
		c.Lines = make([]Line, n)
		for i := range c.Lines {
			c.Lines[i] = Line{SKU: d.str("line sku"), Qty: d.int32("line qty")}
		}
	}
	c.LastEventTime = d.time("last event time")
	if isNil, n := d.list(minApplied, "applied"); !isNil {
		c.Applied = make([]Applied, n)
		var prev int64
		for i := range c.Applied {
			a := &c.Applied[i]
			a.ID = d.str("applied id")
			prev += d.varint("applied at")
			if ns := d.nanos("applied at"); d.err == nil {
				a.At = time.Unix(prev, ns).UTC()
			}
		}
	}
	if d.flag("checkout") {
		k := new(Checkout)
		d.checkout(k)
		c.Checkout = k
	}
	if n := d.count(minCheckout, "past checkouts"); n > 0 {
		c.PastCheckouts = make([]Checkout, n)
		for i := range c.PastCheckouts {
			d.checkout(&c.PastCheckouts[i])
		}
	}
	if n := d.count(minResult, "early results"); n > 0 {
		c.EarlyResults = make([]schemas.ReservationResult, n)
		for i := range c.EarlyResults {
			d.result(&c.EarlyResults[i])
		}
	}
	if n := d.count(minOrigin, "origins"); n > 0 {
		c.Origins = make(map[string]int64, n)
		prev := ""
		for i := range n {
			t := d.str("origin topic")
			if i > 0 && t <= prev {
				d.fail("origin topics out of order")
			}
			c.Origins[t] = d.varint("origin offset")
			prev = t
		}
	}
	if d.err == nil && d.left() > 0 {
		d.fail("bytes after the cart")
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

func (d *decoder) checkout(k *Checkout) {
	k.ID = d.str("checkout id")
	k.Status = d.str("checkout status")
	k.Reason = d.optStr("checkout reason")
	k.OrderID = d.optStr("checkout order id")
	if isNil, n := d.list(minCheckoutLine, "checkout lines"); !isNil {
		k.Lines = make([]CheckoutLine, n)
		for i := range k.Lines {
			l := &k.Lines[i]
			l.SKU = d.str("checkout line sku")
			l.Qty = d.int32("checkout line qty")
			l.Status = d.str("checkout line status")
			l.Reason = d.optStr("checkout line reason")
			l.ExpiresAt = d.optTime("checkout line expires at")
			l.ReserveAnswered = d.flag("checkout line reserve answered")
		}
	}
	k.EventTime = d.time("checkout event time")
}

func (d *decoder) result(r *schemas.ReservationResult) {
	r.CommandID = d.str("result command id")
	r.RequestID = d.str("result request id")
	r.Op = schemas.ReservationOp(d.str("result op"))
	r.SKU = d.str("result sku")
	r.Qty = d.int32("result qty")
	r.CartID = d.str("result cart id")
	r.CheckoutID = d.str("result checkout id")
	r.Status = d.str("result status")
	r.Reason = d.optStr("result reason")
	r.Available = d.varint("result available")
	r.ExpiresAt = d.optTime("result expires at")
	r.EventTime = d.time("result event time")
}
