package state

import (
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Defaults applied by Open for zero-valued Options fields.
const (
	// DefaultCacheBytes is the memory budget of a store's block cache, in
	// bytes (16 MiB), used when Options.Cache is nil. Pebble charges its
	// memtables to this budget, so data blocks get what the memtables (one
	// to two of MemTableBytes) leave. Together that is about what goka's
	// default LevelDB storage uses per partition (8 MiB block cache plus
	// 4 MiB write buffers outside it).
	DefaultCacheBytes int64 = 16 << 20

	// DefaultMemTableBytes is the size of one Pebble memtable, in bytes
	// (4 MiB, Pebble's own default).
	DefaultMemTableBytes uint64 = 4 << 20

	// DefaultRecoveryBatchOps is the number of Set/Delete operations buffered
	// in one write batch during recovery before it is committed.
	DefaultRecoveryBatchOps = 1000

	// DefaultRecoveryBatchBytes is the size, in bytes (1 MiB), a recovery
	// write batch may reach before it is committed. Keep it below half of
	// the memtable size: larger batches take Pebble's slower large-batch path.
	DefaultRecoveryBatchBytes = 1 << 20

	// DefaultSyncInterval is the period of the background WAL sync after
	// MarkRecovered (1 s). It bounds how much a machine crash can lose.
	DefaultSyncInterval = time.Second
)

// Options configures a Store. The zero value is ready to use; every zero
// field is replaced by the documented default.
type Options struct {
	// CacheBytes is the size in bytes of the store's own block cache when
	// Cache is nil. Zero means DefaultCacheBytes. Memtables are charged to
	// the cache, so Open rejects a CacheBytes below 2 × MemTableBytes: such
	// a cache would hold no blocks at all while a memtable is being flushed.
	CacheBytes int64

	// Cache, if non-nil, is a block cache shared by every store opened with
	// these options (e.g. all partitions built by one Builder), which is the
	// recommended setup for many partitions: it bounds the memory of all
	// stores, memtables included, by one budget. Each store takes its own
	// reference; the caller keeps ownership of the reference it created
	// (pebble.NewCache) and must Unref it when it no longer opens stores.
	Cache *pebble.Cache

	// MemTableBytes is the size in bytes of one memtable. Zero means
	// DefaultMemTableBytes.
	MemTableBytes uint64

	// RecoveryBatchOps is the number of operations a recovery write batch
	// holds before it is committed. Zero means DefaultRecoveryBatchOps; a
	// negative value disables batching (every recovery write is committed on
	// its own, still without sync).
	RecoveryBatchOps int

	// RecoveryBatchBytes is the size in bytes at which a recovery write batch
	// is committed regardless of its operation count. Zero means
	// DefaultRecoveryBatchBytes.
	RecoveryBatchBytes int

	// SyncInterval is the period of the background WAL sync after
	// MarkRecovered. Zero means DefaultSyncInterval; a negative value
	// disables the background sync (the WAL is then synced only by
	// MarkRecovered, Close, and Pebble itself when it rotates the WAL).
	SyncInterval time.Duration

	// Logger receives Pebble's log output. Nil means Pebble's default logger
	// (the standard library log package).
	Logger pebble.Logger
}

// withDefaults returns a copy of o with zero fields replaced by defaults.
func (o Options) withDefaults() Options {
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = DefaultMemTableBytes
	}
	if o.RecoveryBatchOps == 0 {
		o.RecoveryBatchOps = DefaultRecoveryBatchOps
	}
	if o.RecoveryBatchBytes == 0 {
		o.RecoveryBatchBytes = DefaultRecoveryBatchBytes
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	return o
}

// pebbleOptions translates o (with defaults applied) into Pebble options.
func (o Options) pebbleOptions() *pebble.Options {
	po := &pebble.Options{
		Cache:        o.Cache,
		CacheSize:    o.CacheBytes,
		MemTableSize: o.MemTableBytes,
		Logger:       o.Logger,
	}
	return po
}
