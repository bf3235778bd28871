package streams

import (
	"testing"

	"github.com/lovoo/goka/storage"
)

// TestStoresTrackOpenStores: a store is found from build to close, reports
// recovery once marked, and a replaced store's late Close does not remove
// its successor.
func TestStoresTrackOpenStores(t *testing.T) {
	s := NewStores()
	build := s.Wrap(func(string, int32) (storage.Storage, error) { return storage.NewMemory(), nil })
	first, err := build("t", 1)
	if err != nil {
		t.Fatal(err)
	}
	if st, rec := s.Get("t", 1); st != first || rec {
		t.Fatalf("Get after build = %v, %v; want the store, not recovered", st, rec)
	}
	if err := first.MarkRecovered(); err != nil {
		t.Fatal(err)
	}
	if _, rec := s.Get("t", 1); !rec {
		t.Error("not recovered after MarkRecovered")
	}
	second, err := build("t", 1) // the partition assigned again
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Get("t", 1); st != second {
		t.Error("closing the replaced store removed its successor")
	}
	if _, err := build("t", 0); err != nil {
		t.Fatal(err)
	}
	if got := s.Partitions("t"); len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("Partitions = %v, want [0 1]", got)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Get("t", 1); st != nil {
		t.Error("a closed store is still found")
	}
	var none *Stores
	if b := none.Wrap(nil); b != nil {
		t.Error("a nil registry should leave the builder as is")
	}
}
