// Package carts holds the carts group: it folds cart events into cart state
// (deduplicated by event id), joins each changed cart with the product and
// promotion tables and emits an evaluated offer (DESIGN §5), and runs each
// cart's checkout saga against the inventory group (DESIGN §6).
//
// The cart state machine (ParseEvent, ApplyEvent, ApplyResult, ExpireHolds)
// is pure: no Kafka, no clock; it never mutates its inputs and returns the
// input cart itself when nothing changed. Event time comes from the event's
// ts within the allowed skew of the record's LogAppendTime (a reservation
// result's from its event_time), and stream time from the log (DESIGN §2.1).
// The goka callbacks in group.go only decode, call the state machine, and
// write what it returns.
//
// # Checkout saga
//
// checkout_started opens a checkout with one pending line per cart line and
// sends a reserve per line (cartstream.reservations, key sku; request id
// <checkout_id>:<sku>, command id <request_id>:<op>). Results
// (cartstream.reservation-results, key cart id) decide it all or nothing;
// line changes, a new checkout, checkout_abandoned and cart_cleared release
// an open (pending or reserved) checkout; checkout_completed commits; stream
// time past a hold's expiry expires a reserved checkout. Every change of a
// decided status is emitted to cartstream.checkouts (key cart id); pending
// (and completing, while commit results are awaited) are never emitted.
//
// Decisions where DESIGN §6 is silent:
//   - Only a change of the cart's lines releases: an item_removed of a sku
//     not in the cart or a quantity_set to the current quantity does not.
//     Coupon events never do.
//   - A repeated checkout_started (or checkout_completed of a completed
//     checkout) re-emits the stored status unchanged, event_time included,
//     so the record repeats byte for byte; for a pending or completing
//     checkout it emits nothing. Nothing is sent either way.
//   - Besides the current checkout a cart remembers PastCheckoutsMax earlier
//     ones for PastCheckoutsWindow (48 h of stream time) after their last
//     change; beyond that an id is unknown and starts a new checkout.
//   - checkout_completed commits every line of the checkout whatever its
//     state and wherever it lives (current or remembered), and touches no
//     other checkout. For an unknown id it commits the cart's current lines
//     under that id; that checkout becomes the current one unless another is
//     open or completing, which is left alone (its holds then count until
//     released or expired: at worst a sale refused, never an oversell). A
//     completing checkout is not open: line changes, abandon, clear and
//     expiry leave it alone, and a new checkout moves it to the past, where
//     its commit results still complete it.
//   - Expiry is judged only for a reserved checkout, strictly after a line's
//     expires_at. Every reserved line becomes expired/hold_expired; a line
//     whose own hold is still live (reserved at a later stream time) is
//     released with reason hold_expired, so no hold outlives the checkout.
//     The status (and any release) carries the stream time as event time.
//     Records of the cart check expiry before they are applied, so a line
//     change after expiry releases nothing.
//   - A reserve answered committed (already_committed) makes its line
//     committed, which counts as a success for all or nothing.
//   - Rejection reasons: insufficient_stock, unknown_sku, invalid_quantity
//     pass; stale_command → hold_expired; invalid_command → invalid_quantity;
//     request_closed, a missing reason or one this build does not know →
//     checkout_failed.
//   - A reserved result for a line the cart released is released again with
//     that line's reason (its command id repeats the first release's, so the
//     inventory answers from its dedup store); for an unknown checkout, sku
//     or cart, with checkout_failed. Release results never change the cart;
//     a commit result marks its line committed (late_commit when it says
//     so), and an (unexpected) rejected commit marks it committed with the
//     mapped reason. Each line remembers that its reserve was answered, so a
//     redelivered result changes nothing and sends nothing.
//   - checkout_abandoned for an id other than the open current checkout does
//     nothing.
//   - Results never create a cart, move its version or its idle clock.
//   - A record read again that the stored cart already holds (ReadAgain: the
//     last record of its topic the cart applied, read again because the
//     committed offset was behind the state when the partition moved after
//     a crash) first repeats everything the state says was sent (Resend):
//     the status of every decided checkout, the reserves still awaiting
//     results, the releases and the commits. Its first processing wrote the
//     state to the changelog, but its commands and statuses may have died
//     with the instance before the producer sent them; applied again it is
//     a duplicate that sends nothing (DESIGN §9: outputs may repeat, never
//     go missing). A client's duplicate is a new record and sends nothing
//     more than the decisions above say. What the periodic sweep sends (a
//     visit is no record) is not repeated: an expired status lost in a
//     crash stays lost, while the holds expire in the inventory anyway.
package carts
