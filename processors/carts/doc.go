// Package carts holds the carts group: it folds cart events into cart state
// (deduplicated by event id), joins each changed cart with the product and
// promotion tables and emits an evaluated offer (DESIGN §5).
//
// The cart state machine (ParseEvent, Apply) is pure: no Kafka, no clock.
// Event time comes from the event's ts within the allowed skew of the
// record's LogAppendTime, and stream time from the log (DESIGN §2.1).
package carts
