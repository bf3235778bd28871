package state

import (
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func TestCorruptOffset(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.db.Set([]byte(metaOffsetKey), []byte("123"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_, err = st.GetOffset(-1)
	if err == nil || !strings.Contains(err.Error(), "corrupt offset") {
		t.Fatalf("GetOffset of a corrupt value = %v, want a corrupt-offset error", err)
	}
}

func TestUnsupportedLayout(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.db.Set([]byte(metaLayoutKey), []byte("99"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := Open(dir, Options{}); err == nil {
		_ = st.Close()
		t.Fatal("Open accepted an unknown layout version")
	} else if !strings.Contains(err.Error(), "layout version") {
		t.Fatalf("unexpected error: %v", err)
	}
}

// TestRecoveryOffsetCommittedWithBatch checks the recovery invariant
// directly: whatever offset is in the database, the data written before
// SetOffset of that offset is in the database too.
func TestRecoveryOffsetCommittedWithBatch(t *testing.T) {
	st, err := Open(t.TempDir(), Options{RecoveryBatchOps: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rawOffset := func() (int64, bool) {
		v, closer, err := st.db.Get([]byte(metaOffsetKey))
		if err != nil {
			return 0, false
		}
		defer closer.Close()
		return int64(decodeOffsetForTest(v)), true
	}
	rawHas := func(k string) bool {
		_, closer, err := st.db.Get(userKeyString(k))
		if err != nil {
			return false
		}
		_ = closer.Close()
		return true
	}
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}
	for i, k := range keys {
		if err := st.Set(k, []byte(k)); err != nil {
			t.Fatal(err)
		}
		if err := st.SetOffset(int64(i)); err != nil {
			t.Fatal(err)
		}
		if o, ok := rawOffset(); ok {
			for _, k := range keys[:o+1] {
				if !rawHas(k) {
					t.Fatalf("after offset %d: committed offset %d but key %q is not committed", i, o, k)
				}
			}
		}
	}
	// With 4 ops per batch, the Set of "h" committed the second batch; it
	// carried offset 6, the latest one set before that Set.
	if o, ok := rawOffset(); !ok || o != 6 {
		t.Fatalf("committed offset = %d (present %t), want 6 from the second batch", o, ok)
	}
}

func decodeOffsetForTest(v []byte) uint64 {
	var o uint64
	for _, b := range v {
		o = o<<8 | uint64(b)
	}
	return o
}
