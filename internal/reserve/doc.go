// Package reserve is the pure core of the inventory group (DESIGN §6): the
// reservation state of one SKU and the transitions that reserve, release and
// commit holds, follow the database's stock through CDC and reconcile
// committed holds with the order outbox.
//
// It owns the State of a SKU (stock and version from CDC, holds by request
// id, order lines waiting for their commit), the functions that move it
// ([ApplyCommand], [ApplyStock], [ApplyOrderLine], [Tick]), the availability
// rule ([Available]) and the table encodings of a State ([Encode],
// [Decode]) and of a dedup entry ([AppendHandled], [DecodeHandled]). The
// dedup store of handled commands is not part of the State: the caller
// keeps it and hands it in as a [Log] (see "The dedup store" below). The
// goka processor around the package decodes records, keeps stream time,
// calls these functions and writes what they return.
//
// The package must never read a clock (no time.Now, timers or tickers) and
// never do I/O. Every instant comes from the caller as stream time: the
// partition's largest event time, which the caller has already advanced with
// the record being applied (DESIGN §2.1). The functions never mutate their
// inputs; they return a new State (or the same pointer when nothing changed)
// and the outputs. Hence the same sequence of records and stream times gives
// the same states and results, byte for byte, on every replay.
//
// # Rules (DESIGN §6)
//
//	available = on_hand − Σ held holds not expired − Σ committed holds not yet reflected
//
// A reserve succeeds only if available >= qty. A commit always counts its
// units and says late_commit when no live hold covered them. A committed hold
// is dropped once CDC shows version >= the inventory_version of its order
// line, whichever of the stock row and the order line arrives first; with
// Config.Outbox false, after Config.CommitGrace of stream time instead.
// Every command's result is kept under its command id for
// Config.DedupWindow of stream time, in the caller's dedup store; a
// redelivered command gets the stored result again and changes nothing.
//
// # Decisions where DESIGN §6 is silent
//
// Time:
//   - A hold made at stream time t expires at t + TTL. It counts against
//     available while stream time <= expires_at and stops counting as soon
//     as stream time is after it ([Expired]); it is pruned by the next record
//     for the SKU (or a tick). The TTL is Config.HoldTTL, or the command's
//     hold_ttl_ms when that is positive, capped at Config.DedupWindow so a
//     live hold always has its reserve in the dedup store.
//   - A dedup entry counts, and an order line waits for its commit, while
//     stream time is at most DedupWindow past the stream time at which it
//     was recorded. The dedup store may return older entries; they are
//     ignored, so when the store prunes them does not matter.
//   - With Outbox false a committed hold is dropped once stream time is more
//     than CommitGrace past the commit's event time. [Available] has no
//     Config, so such a hold counts until the next record or tick prunes it
//     (at most one tick interval); results are computed after pruning.
//   - With Outbox true a committed hold still unreflected when stream time
//     is more than DedupWindow past its commit's event time is dropped as
//     well: a safety valve for an order line that never came (or was
//     forgotten as pending before its commit arrived), so no hold leaks
//     forever. By then CDC has long shown the order.
//
// Commands (every result echoes the command's ids, sku, qty and event_time;
// Available is the SKU's availability after the command; ExpiresAt is set on
// reserved results):
//   - A malformed command ([ValidateCommand] fails, or its SKU is not the
//     state's) is answered rejected/invalid_command and is NOT stored: its
//     command id cannot be trusted. The processor should dead-letter such
//     records instead of applying them.
//   - reserve, checked in this order: qty <= 0 → rejected/invalid_quantity;
//     event time more than DedupWindow behind stream time →
//     rejected/stale_command (its original delivery's dedup entry may be
//     gone, so it could be a redelivery: no reserve ever applies twice); the
//     request's release or commit already handled (a reserve reordered after
//     them) → rejected/request_closed; the request already holds (live or
//     committed) → its current state is answered and nothing changes
//     (idempotent by request id, never replaced or extended); unknown SKU →
//     rejected/unknown_sku; available < qty → rejected/insufficient_stock;
//     otherwise reserved with a new hold. A reserve never makes available
//     negative.
//   - release: a live hold → released, reason the command's reason
//     (checkout_failed, cart_changed, …) or null; a committed request (hold
//     or handled commit) → committed/already_committed and nothing changes:
//     a release cannot undo a sale; a hold that expired (pruned or not)
//     while its reserve is in the dedup store → released/hold_expired; no
//     hold at all → released/unknown_hold (the goal, no hold, holds).
//   - commit: qty <= 0 → rejected/invalid_quantity. Otherwise the commit's
//     own qty is counted as a committed hold (the command is self-contained)
//     and the result is committed; the reason is late_commit unless a live
//     held hold of at least qty units was converted: the hold had expired,
//     had been released or pruned, never existed here, or covered fewer
//     units. A commit for a request already committed (only reachable once
//     its dedup entry aged out) changes nothing. If the order line already
//     arrived and the stock already shows its version, the commit is
//     reflected at once and adds no hold.
//
// Stock rows:
//   - A row sets on_hand and version and makes the SKU known. Versions
//     never go backwards (DESIGN §4), so they tell a row that a redelivery
//     replays over newer state (Debezium after a connector restart, or this
//     group re-reading from its committed offset while its table is ahead):
//     while the SKU is known, a row with a lower version is stale and
//     ignored (an equal version is applied: an operator may change on_hand
//     without bumping it); after a delete, only a version above the last
//     one re-creates the SKU, so replaying the rows before the delete can
//     never bring back stock the database no longer has.
//   - A deleted row makes the SKU unknown (reserves get unknown_sku,
//     available is 0) and sets on_hand to 0; holds are kept (held ones until
//     expiry, release or commit; committed ones until reflected or the
//     safety valve), because a delete replayed by a redelivery may be older
//     than the row we have. A delete carrying a version (the deleted row's)
//     lower than the state's is stale and ignored; one without a version
//     (0: cdc-inventory knew neither a before-image nor a previous row with
//     one) is always applied, so a replayed
//     old delete makes the SKU unknown until the next row with a higher
//     version: reserves are refused meanwhile, never oversold.
//   - Consequently a re-created row must continue the version sequence; one
//     at or below the deleted row's version is ignored (the SKU stays
//     unknown). A SKU never seen (version 0) accepts any first row.
//
// Order lines:
//   - A line attaches its inventory_version to the committed hold of request
//     <checkout_id>:<sku>; the first version attached wins. If the stock
//     already shows it, the hold is dropped at once.
//   - With no committed hold yet (the outbox overtook the commit command) the
//     version is remembered as pending, for DedupWindow, and consumed by the
//     commit; if the request's commit was already handled and its hold is
//     gone, the line is a duplicate and ignored. A line without a checkout
//     id (an order cartstream did not reserve) changes nothing.
//   - "Its order showing in CDC" means both records: the order line and a
//     stock row with version >= its inventory_version. Until both arrived a
//     committed hold counts, so the worst case is counting an order twice
//     for a moment (refusing a sale), never not at all.
//
// Availability:
//   - An unknown SKU has available 0.
//   - Available is negative only when the database's own stock fell below
//     the outstanding holds: an adjustment, the decrement of an order no
//     live hold covered (late_commit), or, for a moment, a stock row showing
//     an order whose order line has not arrived (the double count above).
//     Reserves are then rejected with insufficient_stock until it recovers,
//     holds are never cut, and no reserve ever produces a negative value.
//
// # The dedup store
//
// The inventory processor keeps the results of handled commands beside the
// SKU states, one key per command id ([MemoryLog] is an in-memory store for
// tests and simulations). The functions only read it, through [Log]: a nil
// Log is an empty store. [ApplyCommand] looks up the command's own id, and
// the ids of the other operations on its request where the rules above
// depend on them (a reserve: its release and commit; a release: its commit
// and reserve); [ApplyOrderLine] looks up its request's commit.
//
// ApplyCommand's third result, store, says what the caller writes: when it
// is true the caller must store Handled{At: streamTime.UTC(), Result: res}
// under cmd.CommandID before applying the next command for the SKU (which
// may be the command's redelivery, or its request's next operation). It is
// false for a dedup hit, which returns the stored result and the state it
// was given, and for a malformed command, which is never stored. The store
// must keep an entry for DedupWindow of stream time after its At and may
// drop it any time later ([MemoryLog.Prune]). Since the entry says the
// command was applied, the caller should make it durable no earlier than
// the state the command returned. [AppendHandled] and [DecodeHandled] are
// an entry's table encoding. A State that reports [State.Empty] may be
// deleted: its commands stay in the store.
//
// # Cost
//
// Every transition copies the SKU's state: its holds and pending order
// lines. The cost of a record, and of its table encoding, is O(holds +
// pending) of the SKU, independent of how many commands it handled; a
// command adds at most three lookups in the dedup store and one entry for
// the caller to write (about 20 bytes plus its command id, cart id and
// SKU). bench_test.go measures it.
//
// # Boundaries
//
// Records for another SKU are ignored by [ApplyStock] and [ApplyOrderLine]
// (the state is returned unchanged); the processor routes by SKU and should
// dead-letter such records. A command older than the dedup window can no
// longer be recognised as a redelivery: a reserve is refused (stale_command),
// a release finds nothing to do, and a commit counts as a late commit whose
// hold the safety valve above drops at once.
package reserve
