package inventory

import (
	"sync"

	"github.com/lovoo/goka/storage"
)

// Stores keeps a handle to the local store of every partition of the
// inventory table the processor opened. The group writes its table itself
// (see the package documentation), and the HTTP API reads SKUs from it.
// Pass Hook to the processor as streams.ProcessorOptions.OnStore.
type Stores struct {
	table string

	mu sync.RWMutex
	m  map[int32]storage.Storage
}

// NewStores returns an empty registry for the table topic.
func NewStores(table string) *Stores {
	return &Stores{table: table, m: map[int32]storage.Storage{}}
}

// Hook records st when it is a partition of the table; other stores
// (lookups) are ignored. A later store for the same partition (a restarted
// processor) replaces the earlier one.
func (s *Stores) Hook(topic string, partition int32, st storage.Storage) {
	if topic != s.table {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[partition] = st
}

// Get returns the store of a partition, or nil when none was opened.
func (s *Stores) Get(partition int32) storage.Storage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[partition]
}
