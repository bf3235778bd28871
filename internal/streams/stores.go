package streams

import (
	"sort"
	"sync"

	"github.com/lovoo/goka/storage"
)

// Stores keeps the local stores processors have open, by topic and
// partition: the inventory group writes its table through them, and the
// HTTP API reads tables from them. A store is tracked from the moment goka
// builds it until goka closes it (its partition revoked, its processor
// stopped), and knows whether its recovery finished. Pass one Stores to
// every processor through ProcessorOptions.Stores.
type Stores struct {
	mu sync.RWMutex
	m  map[storeKey]*tracked
}

type storeKey struct {
	topic     string
	partition int32
}

// NewStores returns an empty registry.
func NewStores() *Stores { return &Stores{m: map[storeKey]*tracked{}} }

// Get returns the open store of a topic's partition and whether it has
// finished recovering; nil when none is open.
func (s *Stores) Get(topic string, partition int32) (storage.Storage, bool) {
	s.mu.RLock()
	t := s.m[storeKey{topic, partition}]
	s.mu.RUnlock()
	if t == nil {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t, t.recovered
}

// Partitions returns the partitions of a topic with an open store, sorted.
func (s *Stores) Partitions(topic string) []int32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []int32
	for k := range s.m {
		if k.topic == topic {
			out = append(out, k.partition)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Each calls fn with every open store, by topic and partition.
func (s *Stores) Each(fn func(topic string, partition int32, st storage.Storage)) {
	s.mu.RLock()
	open := make([]*tracked, 0, len(s.m))
	for _, t := range s.m {
		open = append(open, t)
	}
	s.mu.RUnlock()
	for _, t := range open {
		fn(t.key.topic, t.key.partition, t.Storage)
	}
}

// Wrap returns a builder that tracks the stores b builds. A nil registry
// returns b itself.
func (s *Stores) Wrap(b storage.Builder) storage.Builder {
	if s == nil {
		return b
	}
	return func(topic string, partition int32) (storage.Storage, error) {
		st, err := b(topic, partition)
		if err != nil {
			return nil, err
		}
		t := &tracked{Storage: st, stores: s, key: storeKey{topic, partition}}
		s.mu.Lock()
		s.m[t.key] = t
		s.mu.Unlock()
		return t, nil
	}
}

// tracked is a store that leaves its registry when closed and remembers
// whether it recovered.
type tracked struct {
	storage.Storage
	stores *Stores
	key    storeKey

	mu        sync.Mutex
	recovered bool
}

// MarkRecovered marks the store recovered once the underlying one is.
func (t *tracked) MarkRecovered() error {
	if err := t.Storage.MarkRecovered(); err != nil {
		return err
	}
	t.mu.Lock()
	t.recovered = true
	t.mu.Unlock()
	return nil
}

// Close removes the store from its registry (unless a newer store for the
// same partition replaced it) and closes it.
func (t *tracked) Close() error {
	t.stores.mu.Lock()
	if t.stores.m[t.key] == t {
		delete(t.stores.m, t.key)
	}
	t.stores.mu.Unlock()
	return t.Storage.Close()
}
