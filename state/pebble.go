package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/lovoo/goka/storage"
)

// ErrClosed is returned (wrapped) by every operation on a Store, or on one
// of its iterators, after the Store has been closed.
var ErrClosed = errors.New("state: store closed")

// Key namespaces; see the package documentation.
const (
	prefixMeta byte = 0x00
	prefixUser byte = 0x01
	// prefixUserEnd is the exclusive upper bound of the user namespace.
	prefixUserEnd byte = prefixUser + 1

	// Metadata keys, in the prefixMeta namespace.
	metaOffsetKey = "\x00offset"
	metaLayoutKey = "\x00layout"

	// layoutVersion is stored under metaLayoutKey when a store is created.
	layoutVersion = "1"
)

// Store is a goka storage.Storage backed by one Pebble database. Create it
// with Open or through Builder. See the package documentation for the key
// layout, the sync policy and the concurrency guarantees.
type Store struct {
	dir  string
	opts Options
	db   *pebble.DB

	// lifecycle makes Close safe against concurrent use: every operation
	// holds it shared, Close holds it exclusively.
	lifecycle sync.RWMutex
	closed    bool // guarded by lifecycle

	// recovering is true until MarkRecovered; it is only a fast-path hint,
	// batch (under wmu) is authoritative.
	recovering atomic.Bool

	wmu           sync.Mutex    // guards the fields below
	batch         *pebble.Batch // pending recovery writes; nil once recovered
	pendingOffset int64         // latest SetOffset not yet in the database
	hasPending    bool          // whether pendingOffset is set

	itersMu sync.Mutex
	iters   map[*iterator]struct{} // open iterators, closed by Close

	// writes counts commits after recovery so the background sync can skip
	// idle periods.
	writes    atomic.Uint64
	syncErr   atomic.Pointer[error] // first background sync error
	syncStop  chan struct{}         // closed by Close; nil if no syncer
	syncDone  chan struct{}
	closeErr  error
	closeOnce sync.Once
}

var _ storage.Storage = (*Store)(nil)

// Open opens, or creates, the Pebble database in dir and returns a Store in
// recovery mode (see MarkRecovered). The directory is created if missing. It
// fails if dir holds a Pebble database that was not written by this package
// (or by an incompatible layout version), or if another process holds it
// open. The returned Store must be closed with Close.
func Open(dir string, opts Options) (*Store, error) {
	if opts.CacheBytes < 0 || opts.RecoveryBatchBytes < 0 {
		return nil, fmt.Errorf("state: open %s: negative CacheBytes or RecoveryBatchBytes", dir)
	}
	opts = opts.withDefaults()
	if opts.Cache == nil && uint64(opts.CacheBytes) < 2*opts.MemTableBytes {
		return nil, fmt.Errorf("state: open %s: CacheBytes %d is below 2 × MemTableBytes %d", dir, opts.CacheBytes, opts.MemTableBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	db, err := pebble.Open(dir, opts.pebbleOptions())
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	if err := checkLayout(db); err != nil {
		return nil, errors.Join(fmt.Errorf("state: open %s: %w", dir, err), db.Close())
	}
	s := &Store{
		dir:   dir,
		opts:  opts,
		db:    db,
		batch: db.NewBatch(),
		iters: make(map[*iterator]struct{}),
	}
	s.recovering.Store(true)
	return s, nil
}

// checkLayout verifies the layout marker, writing it into an empty database.
func checkLayout(db *pebble.DB) error {
	v, closer, err := db.Get([]byte(metaLayoutKey))
	switch {
	case err == nil:
		got := string(v)
		_ = closer.Close()
		if got != layoutVersion {
			return fmt.Errorf("unsupported layout version %q (want %q)", got, layoutVersion)
		}
		return nil
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("read layout marker: %w", err)
	}
	it, err := db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("check emptiness: %w", err)
	}
	nonEmpty := it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("check emptiness: %w", err)
	}
	if nonEmpty {
		return errors.New("database has data but no layout marker; not a state store")
	}
	if err := db.Set([]byte(metaLayoutKey), []byte(layoutVersion), pebble.Sync); err != nil {
		return fmt.Errorf("write layout marker: %w", err)
	}
	return nil
}

// Builder returns a goka storage.Builder that opens a Store with opts in
// baseDir/<topic>.<partition> for every table partition. Topics that are not
// plain path elements (empty, ".", "..", or containing a path separator) are
// rejected with an error.
func Builder(baseDir string, opts Options) storage.Builder {
	return func(topic string, partition int32) (storage.Storage, error) {
		if topic == "" || topic == "." || topic == ".." || strings.ContainsAny(topic, `/\`) {
			return nil, fmt.Errorf("state: build storage: invalid topic name %q", topic)
		}
		st, err := Open(filepath.Join(baseDir, fmt.Sprintf("%s.%d", topic, partition)), opts)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

// Dir returns the directory of the store's database.
func (s *Store) Dir() string { return s.dir }

// DiskBytes returns the disk space the store's database uses (tables,
// write-ahead log, manifests); 0 after Close.
func (s *Store) DiskBytes() uint64 {
	if err := s.acquire("size"); err != nil {
		return 0
	}
	defer s.lifecycle.RUnlock()
	return s.db.Metrics().DiskSpaceUsage()
}

// Open implements storage.Storage. The database is already open when the
// Store exists, so Open only reports ErrClosed for a closed Store.
func (s *Store) Open() error {
	s.lifecycle.RLock()
	defer s.lifecycle.RUnlock()
	if s.closed {
		return fmt.Errorf("state: open %s: %w", s.dir, ErrClosed)
	}
	return nil
}

// userKey returns the internal key of the user key k.
func userKey(k []byte) []byte {
	out := make([]byte, 1+len(k))
	out[0] = prefixUser
	copy(out[1:], k)
	return out
}

func userKeyString(k string) []byte {
	out := make([]byte, 1+len(k))
	out[0] = prefixUser
	copy(out[1:], k)
	return out
}

// acquire takes the shared lifecycle lock; it fails if the store is closed.
// On success the caller must call s.lifecycle.RUnlock.
func (s *Store) acquire(op string) error {
	s.lifecycle.RLock()
	if s.closed {
		s.lifecycle.RUnlock()
		return fmt.Errorf("state: %s %s: %w", op, s.dir, ErrClosed)
	}
	return nil
}

// Has reports whether key exists.
func (s *Store) Has(key string) (bool, error) {
	if err := s.acquire("has"); err != nil {
		return false, err
	}
	defer s.lifecycle.RUnlock()
	if err := s.flushForRead(); err != nil {
		return false, fmt.Errorf("state: has %q: %w", key, err)
	}
	_, closer, err := s.db.Get(userKeyString(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("state: has %q: %w", key, err)
	}
	return true, closer.Close()
}

// Get returns a copy of the value stored under key, which the caller may
// keep and modify, or nil and no error if the key does not exist. A key set
// to an empty value yields a non-nil empty slice.
func (s *Store) Get(key string) ([]byte, error) {
	if err := s.acquire("get"); err != nil {
		return nil, err
	}
	defer s.lifecycle.RUnlock()
	if err := s.flushForRead(); err != nil {
		return nil, fmt.Errorf("state: get %q: %w", key, err)
	}
	v, closer, err := s.db.Get(userKeyString(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: get %q: %w", key, err)
	}
	out := make([]byte, len(v))
	copy(out, v)
	return out, closer.Close()
}

// Set stores value under key; a nil value is stored as an empty value. The
// store copies both, so the caller may reuse value afterwards. During
// recovery the write is batched (see the package documentation).
func (s *Store) Set(key string, value []byte) error {
	if err := s.acquire("set"); err != nil {
		return err
	}
	defer s.lifecycle.RUnlock()
	if err := s.write(userKeyString(key), value, false); err != nil {
		return fmt.Errorf("state: set %q: %w", key, err)
	}
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (s *Store) Delete(key string) error {
	if err := s.acquire("delete"); err != nil {
		return err
	}
	defer s.lifecycle.RUnlock()
	if err := s.write(userKeyString(key), nil, true); err != nil {
		return fmt.Errorf("state: delete %q: %w", key, err)
	}
	return nil
}

// write applies one Set or Delete of the internal key k, batched during
// recovery and as an unsynced single commit afterwards.
func (s *Store) write(k, value []byte, del bool) error {
	if s.recovering.Load() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if s.batch != nil {
			var err error
			if del {
				err = s.batch.Delete(k, nil)
			} else {
				err = s.batch.Set(k, value, nil)
			}
			if err != nil {
				return err
			}
			if int(s.batch.Count()) >= s.opts.RecoveryBatchOps || s.batch.Len() >= s.opts.RecoveryBatchBytes {
				return s.commitLocked()
			}
			return nil
		}
		// MarkRecovered ran in between; fall through to a direct write.
	}
	s.writes.Add(1)
	if del {
		return s.db.Delete(k, pebble.NoSync)
	}
	return s.db.Set(k, value, pebble.NoSync)
}

// commitLocked commits the pending recovery batch, appending the latest
// offset so that it is stored atomically with all data written before it.
// It requires s.wmu and a non-nil batch.
func (s *Store) commitLocked() error {
	if s.hasPending {
		if err := s.batch.Set([]byte(metaOffsetKey), encodeOffset(s.pendingOffset), nil); err != nil {
			return err
		}
	}
	if s.batch.Empty() {
		return nil
	}
	if err := s.batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("commit recovery batch: %w", err)
	}
	if err := s.batch.Close(); err != nil {
		return fmt.Errorf("release recovery batch: %w", err)
	}
	s.batch = s.db.NewBatch()
	s.hasPending = false
	return nil
}

// flushForRead commits pending recovery writes so that reads observe every
// write that returned before them.
func (s *Store) flushForRead() error {
	if !s.recovering.Load() {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.batch == nil {
		return nil
	}
	return s.commitLocked()
}

func encodeOffset(o int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(o))
	return b[:]
}

// GetOffset returns the stored partition offset, or def if none was ever
// stored. During recovery it includes offsets not yet committed.
func (s *Store) GetOffset(def int64) (int64, error) {
	if err := s.acquire("get offset"); err != nil {
		return 0, err
	}
	defer s.lifecycle.RUnlock()
	if err := s.flushForRead(); err != nil {
		return 0, fmt.Errorf("state: get offset %s: %w", s.dir, err)
	}
	v, closer, err := s.db.Get([]byte(metaOffsetKey))
	if errors.Is(err, pebble.ErrNotFound) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("state: get offset %s: %w", s.dir, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("state: get offset %s: corrupt offset value of %d bytes", s.dir, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// SetOffset stores the partition offset. Callers must call it only after
// the writes the offset covers have returned; the store then guarantees the
// stored offset never runs ahead of that data, even across crashes. During
// recovery the offset is kept in memory and committed together with the
// pending batch.
func (s *Store) SetOffset(offset int64) error {
	if err := s.acquire("set offset"); err != nil {
		return err
	}
	defer s.lifecycle.RUnlock()
	if s.recovering.Load() {
		s.wmu.Lock()
		if s.batch != nil {
			s.pendingOffset, s.hasPending = offset, true
			s.wmu.Unlock()
			return nil
		}
		s.wmu.Unlock()
	}
	s.writes.Add(1)
	if err := s.db.Set([]byte(metaOffsetKey), encodeOffset(offset), pebble.NoSync); err != nil {
		return fmt.Errorf("state: set offset %d in %s: %w", offset, s.dir, err)
	}
	return nil
}

// MarkRecovered ends recovery mode: it commits the pending batch together
// with the latest offset, syncs the WAL so the recovered state is durable,
// and starts the background sync (Options.SyncInterval). Afterwards every
// write is committed individually. Calling it again is a no-op.
func (s *Store) MarkRecovered() error {
	if err := s.acquire("mark recovered"); err != nil {
		return err
	}
	defer s.lifecycle.RUnlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.batch == nil {
		return nil
	}
	if err := s.commitLocked(); err != nil {
		return fmt.Errorf("state: mark recovered %s: %w", s.dir, err)
	}
	if err := s.batch.Close(); err != nil {
		return fmt.Errorf("state: mark recovered %s: %w", s.dir, err)
	}
	s.batch = nil
	s.recovering.Store(false)
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("state: mark recovered %s: sync: %w", s.dir, err)
	}
	if s.opts.SyncInterval > 0 {
		s.syncStop = make(chan struct{})
		s.syncDone = make(chan struct{})
		go s.syncLoop(s.opts.SyncInterval, s.syncStop, s.syncDone)
	}
	return nil
}

// syncLoop syncs the WAL every interval if anything was written since the
// previous sync. The first error is kept and reported by Close.
func (s *Store) syncLoop(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	var synced uint64
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		n := s.writes.Load()
		if n == synced {
			continue
		}
		if err := s.acquire("sync"); err != nil {
			return
		}
		err := s.db.LogData(nil, pebble.Sync)
		s.lifecycle.RUnlock()
		if err != nil {
			err = fmt.Errorf("state: background sync %s: %w", s.dir, err)
			s.syncErr.CompareAndSwap(nil, &err)
			return
		}
		synced = n
	}
}

// Close commits pending recovery writes (with their offset), releases any
// iterators that are still open (they then report ErrClosed), syncs the WAL
// and closes the database. It returns the first error, including a failed
// background sync. Calling Close again returns the same result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	s.lifecycle.Lock()
	s.closed = true
	var errs []error
	s.wmu.Lock()
	if s.batch != nil {
		errs = append(errs, s.commitLocked(), s.batch.Close())
		s.batch = nil
	}
	s.wmu.Unlock()
	s.itersMu.Lock()
	for it := range s.iters {
		errs = append(errs, it.closeLocked(ErrClosed))
	}
	clear(s.iters)
	s.itersMu.Unlock()
	errs = append(errs, s.db.LogData(nil, pebble.Sync), s.db.Close())
	stop, done := s.syncStop, s.syncDone
	s.lifecycle.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	if p := s.syncErr.Load(); p != nil {
		errs = append(errs, *p)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("state: close %s: %w", s.dir, err)
	}
	return nil
}

// Iterator returns an iterator over a point-in-time snapshot of all user
// keys in ascending byte order. Writes made after it was created are not
// visible to it. The caller must Release it.
func (s *Store) Iterator() (storage.Iterator, error) {
	return s.IteratorWithRange(nil, nil)
}

// IteratorWithRange returns an iterator over a point-in-time snapshot of the
// user keys in the half-open range [start, limit). A nil or empty start or
// limit leaves that side unbounded (goka's View passes "" for "no bound").
// If start >= limit the iterator is empty. The caller must Release it.
func (s *Store) IteratorWithRange(start, limit []byte) (storage.Iterator, error) {
	if err := s.acquire("iterator"); err != nil {
		return nil, err
	}
	defer s.lifecycle.RUnlock()
	if err := s.flushForRead(); err != nil {
		return nil, fmt.Errorf("state: iterator %s: %w", s.dir, err)
	}
	lower, upper := []byte{prefixUser}, []byte{prefixUserEnd}
	if len(start) > 0 {
		lower = userKey(start)
	}
	if len(limit) > 0 {
		upper = userKey(limit)
	}
	it := &iterator{store: s}
	if string(lower) >= string(upper) {
		it.done = true // empty range; no Pebble iterator needed
		return it, nil
	}
	pit, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("state: iterator %s: %w", s.dir, err)
	}
	it.iter = pit
	s.itersMu.Lock()
	s.iters[it] = struct{}{}
	s.itersMu.Unlock()
	return it, nil
}
