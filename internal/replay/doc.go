// Package replay resets a group so it re-runs its topology from a chosen
// point, as Kafka Streams' application reset tool does, and proves rebuilt
// state matches (DESIGN §8).
//
// It owns four things:
//
//   - The plan (NewPlan): for one group and one scenario (--to-earliest,
//     --to-offset, --to-datetime, --by-duration, --from-file), the input
//     offsets before and after, the loop topic set to its end, the changelog
//     partitions to truncate, the local state directories to wipe, and the
//     boundary of the carts group. Only partitions a scenario names are
//     touched; a reset to anything but the earliest rebuilds their state from
//     that point only.
//   - Carrying it out (Execute): refuse while the group has live members
//     (CheckStopped; --force evicts members that prove dead), commit the new
//     offsets, truncate the changelog with DeleteRecords, wipe local stores
//     (refusing stores a process has open), and write a reset epoch.
//   - Reset epochs (Prepare): every instance, before its processors start,
//     reads the latest epoch per group from the compacted resets topic and
//     wipes a group's local table stores recorded under an older epoch, so
//     stale state on other hosts cannot survive a replay. The carts group's
//     boundary comes from the same record (CartsBoundary).
//   - Verification (Verify): rebuild a group's table from its inputs in
//     memory with the groups' pure cores and compare per-partition digests
//     with the live changelog; for carts, optionally re-price with other
//     promotions.
//
// It never runs a processor, and it changes nothing while a group has live
// members or a store is open.
package replay
