// Package inventory is the inventory group (DESIGN §3, §6): a goka processor
// that keeps the reservation state of every SKU (internal/reserve) in a
// Pebble table keyed by SKU, applies stock rows from cdc-inventory, order
// lines from cdc-outbox and reservation commands from the carts group, and
// answers every command on cartstream.reservation-results (key cart_id).
//
// # The dedup store lives beside the SKUs, not inside them
//
// A command's result must be kept for 48 h of stream time so a redelivery
// gets it again and changes nothing. Kept inside the SKU's value, a hot SKU
// (a flash sale) would rewrite thousands of results to the changelog with
// every command. Instead the table holds three kinds of keys:
//
//	<sku>                          the SKU's value: reserve.State, the last
//	                               dedup entry written for it, stream time
//	0x00 'd' <command id>          a dedup entry: the result and the origin
//	                               (partition, offset) of the command record
//	0x00 't' <time> <command id>   the entry's time index, for pruning
//
// No SKU begins with a NUL byte (ValidateSKU), so the kinds never collide.
// goka's SetValue can only write the key of the record being processed, so
// the group writes its table itself: to the local store, then to the table
// topic (the changelog goka recovers from) at the processed partition, with
// a franz-go client of its own, and defers the input's commit
// (goka.Context.DeferCommit) until every record is acknowledged. goka still
// owns the table: it opens the stores, recovers them from the changelog on
// start and on rebalance, and views can read it (IsSKUKey tells SKU keys
// apart).
//
// # Why a crash cannot apply a command twice or lose one
//
// A command is written as two records in this order: the SKU's value
// (which carries the entry as Last) and then the entry (and its index key).
// franz-go's idempotent producer appends one partition's records in the
// order they were produced, and Pebble recovers a prefix of its writes, so
// in the changelog and in the local store alike:
//   - an entry that survived implies the value written before it survived:
//     a redelivery answered from the store never hides a lost effect;
//   - a value whose entry was lost is the latest value of its SKU (any later
//     value was produced after the entry), so its Last is that entry: the
//     lookup (partitionLog) consults Last before the keys.
//
// After a process crash the local store may be ahead of the changelog (a
// write stored locally whose record never reached the broker). The input is
// then read again from the committed offset; a command found in the store
// with the same origin is the same record read again, and its value and
// entry are written once more, which is idempotent and brings the changelog
// level with the store. Stock rows and order lines are idempotent in
// internal/reserve and their value is always rewritten.
//
// A partition's writes never outlive its ownership by more than WriteGrace:
// those still unacknowledged then are cancelled (even once sent), so they
// cannot land in the changelog after the next owner's. Cancelling fails
// the rest of the partition's buffered records with them, which keeps the
// prefix argument above; the records whose writes failed are not committed
// and are read again by the next owner.
//
// # Time
//
// Stream time is per partition: the largest event time among commands,
// stock rows, order lines and ticks. Every SKU value records the stream time
// it was written at, so after a restart a SKU's first record restores at
// least that much. Ticks also prune dedup entries older than the dedup
// window, at most PruneBatch per tick, deleting them locally and in the
// changelog (tombstones, which compaction removes).
//
// # Bad input
//
// Undecodable records, commands that fail reserve.ValidateCommand, records
// whose key is not their SKU and tombstones are dead-lettered; the partition
// goes on. Commands with qty <= 0, unknown SKUs and unknown holds are
// answered with a result (DESIGN §6), never dead-lettered.
package inventory
