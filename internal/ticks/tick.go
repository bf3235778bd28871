package ticks

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrBadTick is returned, wrapped, when a tick cannot be encoded or a tick
// record's value cannot be decoded.
var ErrBadTick = errors.New("ticks: bad tick")

// Tick is the value of a tick record: which instance emitted it and the
// instance's clock when it did.
//
// It is encoded as a small JSON object,
//
//	{"instance":"cartstream-7f9c","ts_ms":1795255200000}
//
// where ts_ms is milliseconds since the Unix epoch. The record timestamp
// carries the same instant, but consumers take the tick's time from ts_ms,
// as they do with every internal topic (DESIGN §2, principle 1). Decoding
// ignores unknown fields, so fields can be added without breaking older
// readers.
type Tick struct {
	// Instance identifies the emitting instance; never empty.
	Instance string `json:"instance"`
	// TSMillis is the emitter's clock, in milliseconds since the Unix epoch.
	TSMillis int64 `json:"ts_ms"`
}

// Time returns the tick's instant in UTC.
func (t Tick) Time() time.Time {
	return time.UnixMilli(t.TSMillis).UTC()
}

// Encode returns the tick's JSON encoding. It fails, wrapping [ErrBadTick],
// when Instance is empty or not valid UTF-8, so that every encoded tick
// decodes back to an equal Tick.
func (t Tick) Encode() ([]byte, error) {
	if err := validInstance(t.Instance); err != nil {
		return nil, err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding: %v", ErrBadTick, err)
	}
	return b, nil
}

// wireTick mirrors Tick with pointers, so Decode can tell a missing field
// from a zero one.
type wireTick struct {
	Instance *string `json:"instance"`
	TSMillis *int64  `json:"ts_ms"`
}

// Decode parses a tick record's value. It fails, wrapping [ErrBadTick], on
// anything but a single JSON object with a non-empty string "instance" and an
// integer "ts_ms" that fits in an int64.
func Decode(value []byte) (Tick, error) {
	var w wireTick
	if err := json.Unmarshal(value, &w); err != nil {
		return Tick{}, fmt.Errorf("%w: %v", ErrBadTick, err)
	}
	if w.Instance == nil {
		return Tick{}, fmt.Errorf("%w: missing instance", ErrBadTick)
	}
	if w.TSMillis == nil {
		return Tick{}, fmt.Errorf("%w: missing ts_ms", ErrBadTick)
	}
	if err := validInstance(*w.Instance); err != nil {
		return Tick{}, err
	}
	return Tick{Instance: *w.Instance, TSMillis: *w.TSMillis}, nil
}

func validInstance(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty instance id", ErrBadTick)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: instance id %q is not valid UTF-8", ErrBadTick, id)
	}
	return nil
}
