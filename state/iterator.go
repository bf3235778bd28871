package state

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/lovoo/goka/storage"
)

// iterator implements storage.Iterator over a Pebble iterator whose bounds
// lie inside the user namespace. All methods hold the store's lifecycle lock
// shared so that Store.Close can release the iterator safely.
type iterator struct {
	store *Store
	iter  *pebble.Iterator // nil for an empty range

	seekBuf []byte
	started bool  // Next or Seek has been called
	valid   bool  // positioned on a key
	done    bool  // released, closed with the store, or an empty range
	err     error // sticky error reported by Err
}

var _ storage.Iterator = (*iterator)(nil)

// Next moves to the next key (the first key on the first call) and reports
// whether there is one.
func (it *iterator) Next() bool {
	it.store.lifecycle.RLock()
	defer it.store.lifecycle.RUnlock()
	if it.done {
		it.valid = false
		return false
	}
	if !it.started {
		it.started = true
		it.valid = it.iter.First()
	} else {
		it.valid = it.iter.Next()
	}
	return it.valid
}

// Seek positions the iterator on the first key >= key inside the iterator's
// range and reports whether such a key exists. As with goka's LevelDB
// storage, Key and Value then return that pair immediately; calling Next
// moves past it. Seek may move backwards.
func (it *iterator) Seek(key []byte) bool {
	it.store.lifecycle.RLock()
	defer it.store.lifecycle.RUnlock()
	if it.done {
		it.valid = false
		return false
	}
	it.started = true
	it.seekBuf = append(append(it.seekBuf[:0], prefixUser), key...)
	it.valid = it.iter.SeekGE(it.seekBuf)
	return it.valid
}

// Key returns the current key, or nil if the iterator is not positioned on
// one. The slice is valid until the iterator moves.
func (it *iterator) Key() []byte {
	it.store.lifecycle.RLock()
	defer it.store.lifecycle.RUnlock()
	if it.done || !it.valid {
		return nil
	}
	return it.iter.Key()[1:]
}

// Value returns the current value, or nil if the iterator is not positioned
// on a key. The slice is valid until the iterator moves.
func (it *iterator) Value() ([]byte, error) {
	it.store.lifecycle.RLock()
	defer it.store.lifecycle.RUnlock()
	if it.done || !it.valid {
		return nil, nil
	}
	v, err := it.iter.ValueAndErr()
	if err != nil {
		return nil, fmt.Errorf("state: iterator value: %w", err)
	}
	return v, nil
}

// Err returns the error that stopped the iteration, if any. It wraps
// ErrClosed if the store was closed while the iterator was open.
func (it *iterator) Err() error {
	it.store.lifecycle.RLock()
	defer it.store.lifecycle.RUnlock()
	if it.err != nil {
		return it.err
	}
	if it.done || it.iter == nil {
		return nil
	}
	if err := it.iter.Error(); err != nil {
		return fmt.Errorf("state: iterator: %w", err)
	}
	return nil
}

// Release frees the iterator; it is idempotent. Afterwards Next and Seek
// return false and Key and Value return nil.
func (it *iterator) Release() {
	it.store.lifecycle.RLock()
	defer it.store.lifecycle.RUnlock()
	if it.done {
		return
	}
	it.store.itersMu.Lock()
	delete(it.store.iters, it)
	it.store.itersMu.Unlock()
	if err := it.closeLocked(nil); err != nil {
		it.err = err
	}
}

// closeLocked closes the Pebble iterator and marks it done, recording
// reason as the sticky error. The caller holds the lifecycle lock (shared if
// it owns the iterator, exclusive from Store.Close).
func (it *iterator) closeLocked(reason error) error {
	it.done, it.valid = true, false
	if reason != nil {
		it.err = fmt.Errorf("state: iterator: %w", reason)
	}
	if it.iter == nil {
		return nil
	}
	err := it.iter.Close()
	it.iter = nil
	if err != nil {
		return fmt.Errorf("state: close iterator: %w", err)
	}
	return nil
}
