// Package state owns cartstream's local table storage: an implementation of
// goka's storage.Storage on top of Pebble (github.com/cockroachdb/pebble/v2),
// and a storage.Builder that gives every topic/partition its own Pebble
// database in <baseDir>/<topic>.<partition>.
//
// # Key layout
//
// A Store keeps two namespaces in one Pebble keyspace. Every user key k is
// stored as 0x01 followed by k; internal metadata (the partition offset and a
// layout marker) lives under keys starting with 0x00. User keys can therefore
// be any byte string — including "__offset", which goka's own LevelDB storage
// reserves — without colliding with the stored offset, and iterators never
// see metadata because their bounds lie inside the user namespace.
//
// # Sync policy
//
// goka treats the Kafka changelog as the source of truth: on start it reads
// the stored offset O and re-reads the changelog from O+1. Losing the most
// recent local writes in a crash is therefore harmless, as long as the stored
// offset never runs ahead of the data it covers. The store guarantees exactly
// that, and nothing stronger, in both phases:
//
// Recovery (from Open until MarkRecovered): Set and Delete are appended to a
// Pebble write batch. SetOffset only remembers the offset; the latest offset
// is appended to the same batch right before the batch is committed. The
// batch is committed with pebble.NoSync once it holds Options.RecoveryBatchOps
// operations or Options.RecoveryBatchBytes bytes, when any read (Get, Has,
// GetOffset, an iterator) needs read-your-writes, on MarkRecovered and on
// Close. A batch is atomic, and it contains the data of every record whose
// offset it stores, so after a crash either the whole batch — data and
// offset — is present or none of it is. MarkRecovered commits the last batch
// and then syncs the WAL, so the fully recovered state is durable before the
// store reports recovery as done.
//
// Running (after MarkRecovered): every Set, Delete and SetOffset is its own
// Pebble commit with pebble.NoSync, and a background goroutine syncs the WAL
// every Options.SyncInterval if anything was written. Pebble assigns sequence
// numbers and appends to its write-ahead log in commit order, and WAL replay
// stops at the first missing or torn record, so the state recovered after a
// crash is always a prefix of the commits in the order they happened. goka
// calls SetOffset(N) only after the write for offset N has returned, so any
// recovered offset is preceded by its data. What may be lost is the tail
// that was not yet synced: after a process crash (SIGKILL, panic, OOM kill)
// the writes still in Pebble's in-process WAL block (at most 32 KiB, and no
// older than SyncInterval because the background sync flushes it); after a
// machine crash at most about SyncInterval of writes. Both are re-read from
// the changelog. Close commits, syncs and closes the database, so a clean
// shutdown loses nothing.
//
// # Concurrency
//
// A Store is safe for any number of concurrent readers and writers (goka
// writes from the partition goroutine and, for processors, calls SetOffset
// from the producer's callback goroutine). Iterators read a point-in-time
// snapshot; a single iterator must not be used from several goroutines at
// once. Operations after Close fail with ErrClosed.
package state
