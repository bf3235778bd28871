// Package streamtime owns cartstream's notion of time: the event time of a
// record (DESIGN §2, principle 1, "time enters only through the log") and the
// per-partition stream time derived from event times.
//
// Event time is a record's claimed time when that lies close enough to the
// time the log gave it, otherwise the log's time. Stream time is the largest
// event time a partition has seen and never moves backwards. Hold expiry,
// dedup retention and other deadlines are judged against stream time.
//
// This package must never read the wall clock (no time.Now, timers or
// tickers): every instant it handles comes from the caller, who takes it from
// a record in the log. That is what makes replays reproduce the same
// decisions. It holds no package-level mutable state.
package streamtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// DefaultMaxSkew is how far, in either direction, a claimed event time may
// lie from the record timestamp and still be believed.
const DefaultMaxSkew = 5 * time.Minute

// Rule decides a record's event time from the time it claims and the time
// the log gave it. The zero Rule uses [DefaultMaxSkew].
type Rule struct {
	// MaxSkew bounds the distance between a claimed time and the record
	// timestamp, inclusive: a claim exactly MaxSkew early or late is still
	// believed. Zero means DefaultMaxSkew. A negative MaxSkew believes no
	// claim, so every event time is the record timestamp.
	MaxSkew time.Duration
}

// maxSkew returns the effective skew bound.
func (r Rule) maxSkew() time.Duration {
	if r.MaxSkew == 0 {
		return DefaultMaxSkew
	}
	return r.MaxSkew
}

// EventTime returns a record's event time.
//
// claimed is the time the record's payload claims (a cart event's ts); the
// zero time means the record claims none. recordTS is the record's log
// timestamp, which for cart-events is the broker's LogAppendTime.
//
// It returns claimed and usedClaimed = true when claimed is present and
// within ±MaxSkew of recordTS, bounds included. Otherwise it returns recordTS
// and usedClaimed = false. A caller counting rejected claims in a metric
// counts the calls where usedClaimed is false and claimed is not zero; an
// absent claim is not a rejection. The returned time is exactly one of the
// two arguments, unchanged.
func (r Rule) EventTime(claimed, recordTS time.Time) (t time.Time, usedClaimed bool) {
	if claimed.IsZero() {
		return recordTS, false
	}
	bound := r.maxSkew()
	if bound < 0 {
		return recordTS, false
	}
	// Sub saturates at the extreme Durations, so claims centuries away
	// still compare as out of bounds rather than wrapping around.
	d := claimed.Sub(recordTS)
	if d < -bound || d > bound {
		return recordTS, false
	}
	return claimed, true
}

// Clock is one partition's stream time: the largest event time observed so
// far. It never moves backwards and is the zero time until the first
// observation of a time after the zero time.
//
// The zero Clock is ready to use. A Clock is not safe for concurrent use; a
// partition's processor owns its Clock.
type Clock struct {
	now time.Time
}

// Observe offers event time t to the clock. It advances the clock to t and
// returns true when t is after the current stream time; otherwise, including
// for t equal to it, it changes nothing and returns false.
func (c *Clock) Observe(t time.Time) (advanced bool) {
	if !t.After(c.now) {
		return false
	}
	// UTC strips any monotonic reading and fixes the location, so Now and
	// a marshal round trip return values that compare equal with ==.
	c.now = t.UTC()
	return true
}

// Now returns the current stream time in UTC, or the zero time if nothing
// has been observed yet.
func (c *Clock) Now() time.Time {
	return c.now
}

// Binary encoding of a Clock, fixed-size and big-endian:
//
//	byte  0      format version (clockFormatV1)
//	bytes 1..8   seconds since the Unix epoch, int64
//	bytes 9..12  nanoseconds within the second, uint32, < 1e9
//
// The zero clock encodes the zero time's seconds (year 1) with 0 ns.
const (
	clockFormatV1   byte = 1
	clockEncodedLen      = 1 + 8 + 4
	nanosPerSecond       = int64(time.Second)

	// zeroUnixSeconds is time.Time{}.Unix(): the zero time (January 1,
	// year 1, UTC) as seconds since the Unix epoch.
	zeroUnixSeconds int64 = -62135596800
	// maxUnixSeconds is the latest second time.Time represents without
	// overflowing its seconds-since-the-zero-time counter.
	maxUnixSeconds = math.MaxInt64 + zeroUnixSeconds
)

// ErrBadClockEncoding is returned, wrapped, by [Clock.UnmarshalBinary] when
// its input is not an encoding [Clock.MarshalBinary] produces.
var ErrBadClockEncoding = errors.New("streamtime: bad clock encoding")

// AppendBinary appends the clock's 13-byte encoding to b. It never fails.
func (c *Clock) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, clockFormatV1)
	b = binary.BigEndian.AppendUint64(b, uint64(c.now.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(c.now.Nanosecond()))
	return b, nil
}

// MarshalBinary returns the clock's 13-byte encoding, which
// [Clock.UnmarshalBinary] restores exactly. It never fails.
func (c *Clock) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(make([]byte, 0, clockEncodedLen))
}

// UnmarshalBinary replaces the clock's stream time with the one encoded in
// data, even if that is earlier: it restores persisted state, it does not
// observe. On error, wrapping [ErrBadClockEncoding], the clock is unchanged.
func (c *Clock) UnmarshalBinary(data []byte) error {
	if len(data) != clockEncodedLen {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadClockEncoding, len(data), clockEncodedLen)
	}
	if data[0] != clockFormatV1 {
		return fmt.Errorf("%w: format version %d, want %d", ErrBadClockEncoding, data[0], clockFormatV1)
	}
	sec := int64(binary.BigEndian.Uint64(data[1:9]))
	nsec := int64(binary.BigEndian.Uint32(data[9:13]))
	if nsec >= nanosPerSecond {
		return fmt.Errorf("%w: %d nanoseconds in a second", ErrBadClockEncoding, nsec)
	}
	// A clock never holds a time before the zero time. time.Time counts
	// seconds from the zero time in an int64, so later seconds would wrap.
	if sec < zeroUnixSeconds {
		return fmt.Errorf("%w: %d seconds is before the zero time", ErrBadClockEncoding, sec)
	}
	if sec > maxUnixSeconds {
		return fmt.Errorf("%w: %d seconds is beyond the range of time.Time", ErrBadClockEncoding, sec)
	}
	// UTC normalises the location as Observe does, so the zero encoding
	// decodes to exactly time.Time{}.
	c.now = time.Unix(sec, nsec).UTC()
	return nil
}
