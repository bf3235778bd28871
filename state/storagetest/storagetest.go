// Package storagetest owns the behavioural contract of goka's
// storage.Storage as cartstream relies on it, expressed as a reusable test
// suite. Run it against every implementation:
//
//	storagetest.Run(t, func(t *testing.T) storage.Storage { ... },
//		storagetest.Persistent(openAt))
//
// The contract is taken from the documentation of storage.Storage and of
// goka's Iterator (which states that Seek leaves the iterator on the found
// pair). Every case runs twice, before and after MarkRecovered. Mandatory
// for every implementation:
//
//   - Get of a missing key returns nil and no error, Has false; Set, overwrite
//     and Delete (also of missing keys) behave as a map; empty values and
//     binary keys (including "") round-trip; reads see all earlier writes;
//   - GetOffset returns the default until SetOffset is called, then the
//     last offset set; MarkRecovered keeps data and offset;
//   - iterators return keys in ascending byte order, never show the offset,
//     read a snapshot (writes after creation, even during iteration, are
//     invisible), return nil Key/Value once exhausted, Seek to an existing
//     key positions on it, and Release is idempotent;
//   - one data writer, one offset writer (goka's producer callback) and
//     concurrent readers and iterators never observe torn or foreign values;
//   - with Persistent: data, deletions and the offset survive Close and
//     reopen, in both modes.
//
// Optional properties (see Property) are not provided by goka's own
// implementations; an implementation declares those with Lacks, and the
// cases that need them are skipped with the given reason instead of the
// contract being weakened.
package storagetest

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lovoo/goka/storage"
)

// Property is an optional part of the contract. Properties combine as a bit
// set.
type Property uint

const (
	// ArbitraryKeys: every string is a usable key, including "__offset"
	// (goka's LevelDB and memory storages reserve it). Such keys round-trip
	// through Get, Has, Delete and iterators, and neither affect nor are
	// affected by SetOffset/GetOffset.
	ArbitraryKeys Property = 1 << iota

	// OwnedBuffers: Set copies its value argument and Get returns a slice
	// the caller may keep and modify without changing the stored value.
	OwnedBuffers

	// EmptyValueNonNil: Get of a key stored with an empty value returns a
	// non-nil empty slice, so it is distinguishable from a missing key
	// without an extra Has.
	EmptyValueNonNil

	// HalfOpenRange: IteratorWithRange(start, limit) excludes limit itself.
	HalfOpenRange

	// UnboundedRange: a nil or empty start or limit leaves that side of
	// IteratorWithRange unbounded (rather than, e.g., meaning "keys with
	// prefix start").
	UnboundedRange

	// SeekGE: Seek(k) positions on the first key >= k from any position,
	// including backwards and after exhaustion, and clamps to the range of
	// a ranged iterator.
	SeekGE

	// UnpositionedNil: Key and Value return nil (without panicking) before
	// the first Next or Seek.
	UnpositionedNil

	// ZeroOffset: 0 is a valid offset; after SetOffset(0), GetOffset
	// returns 0 rather than the default, in every mode.
	ZeroOffset
)

type propertyName struct {
	p    Property
	name string
}

// propertyNames lists every property with its name, in declaration order.
func propertyNames() []propertyName {
	return []propertyName{
		{ArbitraryKeys, "ArbitraryKeys"},
		{OwnedBuffers, "OwnedBuffers"},
		{EmptyValueNonNil, "EmptyValueNonNil"},
		{HalfOpenRange, "HalfOpenRange"},
		{UnboundedRange, "UnboundedRange"},
		{SeekGE, "SeekGE"},
		{UnpositionedNil, "UnpositionedNil"},
		{ZeroOffset, "ZeroOffset"},
	}
}

// String returns the names of the properties in p joined by "|".
func (p Property) String() string {
	var names []string
	for _, pn := range propertyNames() {
		if p&pn.p != 0 {
			names = append(names, pn.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// Option configures Run.
type Option func(*config)

type config struct {
	lacks  map[Property]string
	openAt func(t *testing.T, dir string) storage.Storage
}

// Lacks declares that the implementation under test does not provide props.
// Cases needing them are skipped and the skip message quotes reason, which
// should say why the implementation deviates.
func Lacks(reason string, props ...Property) Option {
	return func(c *config) {
		for _, p := range props {
			for _, pn := range propertyNames() {
				if p&pn.p != 0 {
					c.lacks[pn.p] = reason
				}
			}
		}
	}
}

// Persistent enables the close/reopen cases. openAt must return a storage
// whose data lives in dir, creating it if needed; Run calls Open and Close
// on it and reopens the same dir after closing to check what persisted.
func Persistent(openAt func(t *testing.T, dir string) storage.Storage) Option {
	return func(c *config) { c.openAt = openAt }
}

// mode is the recovery state a case runs in.
type mode int

const (
	recovering mode = iota // before MarkRecovered
	recovered              // after MarkRecovered
)

func (m mode) String() string {
	if m == recovering {
		return "recovering"
	}
	return "recovered"
}

// testCase is one row of the contract table.
type testCase struct {
	name  string
	needs Property
	// recoveringOnly cases start in recovery mode and call MarkRecovered
	// themselves; other cases run once in each mode.
	recoveringOnly bool
	run            func(t *testing.T, st storage.Storage)
}

// persistCase is one row of the close/reopen table. run receives a
// function that opens (and Opens) the storage in a fixed directory; run
// must Close every storage it opens.
type persistCase struct {
	name  string
	needs Property
	run   func(t *testing.T, reopen func() storage.Storage)
}

// Run runs the contract suite as subtests of t. open must return a new,
// empty storage for every call (e.g. in t.TempDir()); Run calls its Open
// method, closes it at the end of the subtest, and calls MarkRecovered
// where a case needs the recovered mode.
func Run(t *testing.T, open func(t *testing.T) storage.Storage, opts ...Option) {
	cfg := &config{lacks: make(map[Property]string)}
	for _, o := range opts {
		o(cfg)
	}
	for _, c := range contractCases() {
		modes := []mode{recovering, recovered}
		if c.recoveringOnly {
			modes = modes[:1]
		}
		for _, m := range modes {
			t.Run(c.name+"/"+m.String(), func(t *testing.T) {
				cfg.require(t, c.needs)
				st := open(t)
				if err := st.Open(); err != nil {
					t.Fatalf("Open: %v", err)
				}
				t.Cleanup(func() {
					if err := st.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
				if m == recovered {
					mustOK(t, "MarkRecovered", st.MarkRecovered())
				}
				c.run(t, st)
			})
		}
	}
	for _, c := range persistCases() {
		t.Run("reopen/"+c.name, func(t *testing.T) {
			if cfg.openAt == nil {
				t.Skip("implementation is not persistent (no storagetest.Persistent option)")
			}
			cfg.require(t, c.needs)
			dir := t.TempDir()
			c.run(t, func() storage.Storage {
				t.Helper()
				st := cfg.openAt(t, dir)
				if err := st.Open(); err != nil {
					t.Fatalf("Open: %v", err)
				}
				return st
			})
		})
	}
}

func (c *config) require(t *testing.T, needs Property) {
	t.Helper()
	for _, pn := range propertyNames() {
		if needs&pn.p == 0 {
			continue
		}
		if reason, ok := c.lacks[pn.p]; ok {
			t.Skipf("implementation lacks %s: %s", pn.name, reason)
		}
	}
}

// kv is one key/value pair as seen through an iterator.
type kv struct{ k, v string }

func pairs(kvs ...string) []kv {
	out := make([]kv, 0, len(kvs)/2)
	for i := 0; i+1 < len(kvs); i += 2 {
		out = append(out, kv{kvs[i], kvs[i+1]})
	}
	return out
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func set(t *testing.T, st storage.Storage, kvs ...string) {
	t.Helper()
	for _, p := range pairs(kvs...) {
		mustOK(t, fmt.Sprintf("Set(%q)", p.k), st.Set(p.k, []byte(p.v)))
	}
}

func wantGet(t *testing.T, st storage.Storage, key, want string) {
	t.Helper()
	got, err := st.Get(key)
	mustOK(t, fmt.Sprintf("Get(%q)", key), err)
	if got == nil || string(got) != want {
		t.Fatalf("Get(%q) = %q (nil: %t), want %q", key, got, got == nil, want)
	}
	has, err := st.Has(key)
	mustOK(t, fmt.Sprintf("Has(%q)", key), err)
	if !has {
		t.Fatalf("Has(%q) = false after Get returned a value", key)
	}
}

func wantMissing(t *testing.T, st storage.Storage, key string) {
	t.Helper()
	got, err := st.Get(key)
	mustOK(t, fmt.Sprintf("Get(%q)", key), err)
	if got != nil {
		t.Fatalf("Get(%q) = %q, want nil for a missing key", key, got)
	}
	has, err := st.Has(key)
	mustOK(t, fmt.Sprintf("Has(%q)", key), err)
	if has {
		t.Fatalf("Has(%q) = true, want false for a missing key", key)
	}
}

func wantOffset(t *testing.T, st storage.Storage, def, want int64) {
	t.Helper()
	got, err := st.GetOffset(def)
	mustOK(t, "GetOffset", err)
	if got != want {
		t.Fatalf("GetOffset(%d) = %d, want %d", def, got, want)
	}
}

// drain reads the iterator to exhaustion, copying keys and values, checks
// Err and releases it.
func drain(t *testing.T, it storage.Iterator) []kv {
	t.Helper()
	defer it.Release()
	var out []kv
	for it.Next() {
		v, err := it.Value()
		mustOK(t, "Iterator.Value", err)
		out = append(out, kv{string(it.Key()), string(v)})
	}
	mustOK(t, "Iterator.Err", it.Err())
	return out
}

func iterate(t *testing.T, st storage.Storage) []kv {
	t.Helper()
	it, err := st.Iterator()
	mustOK(t, "Iterator", err)
	return drain(t, it)
}

func iterateRange(t *testing.T, st storage.Storage, start, limit []byte) []kv {
	t.Helper()
	it, err := st.IteratorWithRange(start, limit)
	mustOK(t, "IteratorWithRange", err)
	return drain(t, it)
}

func wantPairs(t *testing.T, what string, got, want []kv) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// wantAt checks that the iterator is positioned on key/value.
func wantAt(t *testing.T, it storage.Iterator, key, value string) {
	t.Helper()
	if got := it.Key(); string(got) != key || got == nil {
		t.Fatalf("iterator at key %q, want %q", got, key)
	}
	v, err := it.Value()
	mustOK(t, "Iterator.Value", err)
	if string(v) != value {
		t.Fatalf("iterator value at %q = %q, want %q", key, v, value)
	}
}

func wantExhausted(t *testing.T, it storage.Iterator) {
	t.Helper()
	if k := it.Key(); k != nil {
		t.Fatalf("exhausted iterator: Key() = %q, want nil", k)
	}
	v, err := it.Value()
	if v != nil || err != nil {
		t.Fatalf("exhausted iterator: Value() = %q, %v, want nil, nil", v, err)
	}
}

// rangeKeys is the data set of the range and seek cases.
var rangeKeys = []string{"a", "b", "ba", "bb", "c", "d"}

func setRangeKeys(t *testing.T, st storage.Storage) {
	t.Helper()
	for _, k := range rangeKeys {
		mustOK(t, "Set", st.Set(k, []byte("v"+k)))
	}
}

func rangePairs(keys ...string) []kv {
	out := make([]kv, 0, len(keys))
	for _, k := range keys {
		out = append(out, kv{k, "v" + k})
	}
	return out
}

func contractCases() []testCase {
	return append(baseCases(), rangeCases()...)
}

// rangeCases returns one case per IteratorWithRange row, so that rows
// needing a lacked property are skipped individually.
func rangeCases() []testCase {
	rows := []struct {
		start, limit []byte
		needs        Property
		want         []kv
	}{
		{nil, nil, UnboundedRange, rangePairs(rangeKeys...)},
		{[]byte{}, []byte{}, UnboundedRange, rangePairs(rangeKeys...)},
		{[]byte("b"), nil, UnboundedRange, rangePairs("b", "ba", "bb", "c", "d")},
		{nil, []byte("b"), HalfOpenRange, rangePairs("a")},
		{[]byte("b"), []byte("c"), HalfOpenRange, rangePairs("b", "ba", "bb")},
		{[]byte("b"), []byte("bb"), HalfOpenRange, rangePairs("b", "ba")},
		{[]byte("ba"), []byte("ba"), HalfOpenRange, nil},
		{[]byte("a\x00"), []byte("bb\x00"), 0, rangePairs("b", "ba", "bb")},
		{[]byte("0"), []byte("z"), 0, rangePairs(rangeKeys...)},
		{[]byte("e"), []byte("f"), 0, nil},
		{[]byte("c"), []byte("b"), 0, nil},
	}
	cases := make([]testCase, 0, len(rows))
	for _, r := range rows {
		cases = append(cases, testCase{
			name:  fmt.Sprintf("iterator-range/%s-%s", boundName(r.start), boundName(r.limit)),
			needs: r.needs,
			run: func(t *testing.T, st storage.Storage) {
				setRangeKeys(t, st)
				wantPairs(t, fmt.Sprintf("IteratorWithRange(%q, %q)", r.start, r.limit),
					iterateRange(t, st, r.start, r.limit), r.want)
			},
		})
	}
	return cases
}

// boundName renders a range bound for a subtest name.
func boundName(b []byte) string {
	switch {
	case b == nil:
		return "nil"
	case len(b) == 0:
		return "empty"
	}
	return strings.ReplaceAll(fmt.Sprintf("%q", b), `"`, "")
}

func baseCases() []testCase {
	return []testCase{
		{name: "get-missing", run: func(t *testing.T, st storage.Storage) {
			wantMissing(t, st, "missing")
			set(t, st, "other", "x")
			wantMissing(t, st, "missing")
			wantMissing(t, st, "othe")
			wantMissing(t, st, "other\x00")
		}},
		{name: "set-get-has", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "a", "1", "b", "2", "key with spaces", "3")
			wantGet(t, st, "a", "1")
			wantGet(t, st, "b", "2")
			wantGet(t, st, "key with spaces", "3")
		}},
		{name: "overwrite", run: func(t *testing.T, st storage.Storage) {
			for _, v := range []string{"first", "a much longer second value", "3"} {
				set(t, st, "k", v)
				wantGet(t, st, "k", v)
			}
			wantPairs(t, "iterator after overwrites", iterate(t, st), pairs("k", "3"))
		}},
		{name: "delete", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "k", "v", "keep", "v")
			mustOK(t, "Delete", st.Delete("k"))
			wantMissing(t, st, "k")
			wantGet(t, st, "keep", "v")
			mustOK(t, "Delete of a missing key", st.Delete("never-set"))
			mustOK(t, "Delete twice", st.Delete("k"))
			set(t, st, "k", "again")
			wantGet(t, st, "k", "again")
			wantPairs(t, "iterator after deletes", iterate(t, st), pairs("k", "again", "keep", "v"))
		}},
		{name: "empty-value", run: func(t *testing.T, st storage.Storage) {
			mustOK(t, "Set empty", st.Set("empty", []byte{}))
			has, err := st.Has("empty")
			mustOK(t, "Has", err)
			if !has {
				t.Fatal("Has(empty) = false after setting an empty value")
			}
			got, err := st.Get("empty")
			mustOK(t, "Get", err)
			if len(got) != 0 {
				t.Fatalf("Get(empty) = %q, want empty", got)
			}
			wantPairs(t, "iterator", iterate(t, st), pairs("empty", ""))
		}},
		{name: "empty-value-non-nil", needs: EmptyValueNonNil, run: func(t *testing.T, st storage.Storage) {
			mustOK(t, "Set empty", st.Set("empty", []byte{}))
			got, err := st.Get("empty")
			mustOK(t, "Get", err)
			if got == nil {
				t.Fatal("Get of an empty value returned nil, indistinguishable from a missing key")
			}
		}},
		{name: "binary-keys", run: func(t *testing.T, st storage.Storage) {
			keys := []string{"", "\x00", "\x00\x01", "a\x00b", "\x7f", "\x80", "ü", "\xff", "\xff\xff", strings.Repeat("long", 256)}
			for i, k := range keys {
				mustOK(t, "Set", st.Set(k, []byte(fmt.Sprint(i))))
			}
			want := make([]kv, 0, len(keys))
			for i, k := range keys {
				wantGet(t, st, k, fmt.Sprint(i))
				want = append(want, kv{k, fmt.Sprint(i)})
			}
			slices.SortFunc(want, func(a, b kv) int { return strings.Compare(a.k, b.k) })
			wantPairs(t, "iterator over binary keys (byte order)", iterate(t, st), want)
		}},
		{name: "reserved-looking-keys", needs: ArbitraryKeys, run: func(t *testing.T, st storage.Storage) {
			mustOK(t, "SetOffset", st.SetOffset(7))
			set(t, st, "__offset", "user", "__", "u2", "__offsetx", "u3")
			wantGet(t, st, "__offset", "user")
			wantOffset(t, st, -1, 7)
			mustOK(t, "SetOffset", st.SetOffset(8))
			wantGet(t, st, "__offset", "user")
			wantOffset(t, st, -1, 8)
			wantPairs(t, "iterator", iterate(t, st), pairs("__", "u2", "__offset", "user", "__offsetx", "u3"))
			wantPairs(t, "ranged iterator", iterateRange(t, st, []byte("__o"), []byte("__p")),
				pairs("__offset", "user", "__offsetx", "u3"))
			mustOK(t, "Delete", st.Delete("__offset"))
			wantMissing(t, st, "__offset")
			wantOffset(t, st, -1, 8)
		}},
		{name: "offset-not-a-key", needs: ArbitraryKeys, run: func(t *testing.T, st storage.Storage) {
			mustOK(t, "SetOffset", st.SetOffset(3))
			wantMissing(t, st, "__offset")
			mustOK(t, "Delete", st.Delete("__offset"))
			wantOffset(t, st, -1, 3)
		}},
		{name: "owned-buffers", needs: OwnedBuffers, run: func(t *testing.T, st storage.Storage) {
			v := []byte("value")
			mustOK(t, "Set", st.Set("k", v))
			v[0] = 'X'
			wantGet(t, st, "k", "value")
			got, err := st.Get("k")
			mustOK(t, "Get", err)
			got[0] = 'Y'
			wantGet(t, st, "k", "value")
		}},
		{name: "large-value", run: func(t *testing.T, st storage.Storage) {
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			mustOK(t, "Set", st.Set("big", big))
			set(t, st, "small", "s")
			got, err := st.Get("big")
			mustOK(t, "Get", err)
			if !bytes.Equal(got, big) {
				t.Fatalf("Get(big) returned %d bytes, want the %d bytes set", len(got), len(big))
			}
			if it := iterate(t, st); len(it) != 2 || it[0].v != string(big) {
				t.Fatalf("iterator did not return the large value intact")
			}
		}},
		{name: "many-keys", run: func(t *testing.T, st storage.Storage) {
			const n = 2000
			key := func(i int) string { return fmt.Sprintf("key-%05d", i) }
			for i := range n {
				mustOK(t, "Set", st.Set(key(i), []byte(fmt.Sprint(i))))
				if i%10 == 0 {
					mustOK(t, "SetOffset", st.SetOffset(int64(i)))
				}
			}
			for i := 0; i < n; i += 3 {
				mustOK(t, "Delete", st.Delete(key(i)))
			}
			for i := range n {
				if i%3 == 0 {
					wantMissing(t, st, key(i))
				} else if i%97 == 1 {
					wantGet(t, st, key(i), fmt.Sprint(i))
				}
			}
			got := iterate(t, st)
			if want := n - (n+2)/3; len(got) != want {
				t.Fatalf("iterator returned %d keys, want %d", len(got), want)
			}
			if !slices.IsSortedFunc(got, func(a, b kv) int { return strings.Compare(a.k, b.k) }) {
				t.Fatal("iterator keys are not in ascending order")
			}
			wantOffset(t, st, -1, n-10)
		}},
		{name: "offset-default", run: func(t *testing.T, st storage.Storage) {
			wantOffset(t, st, -2, -2)
			wantOffset(t, st, 0, 0)
			wantOffset(t, st, 12345, 12345)
			set(t, st, "k", "v")
			mustOK(t, "Delete", st.Delete("k"))
			wantOffset(t, st, -2, -2)
		}},
		{name: "offset-set", run: func(t *testing.T, st storage.Storage) {
			for _, o := range []int64{5, 6, 1 << 40, 3, math.MaxInt64} {
				mustOK(t, "SetOffset", st.SetOffset(o))
				wantOffset(t, st, -1, o)
			}
		}},
		{name: "offset-zero", needs: ZeroOffset, run: func(t *testing.T, st storage.Storage) {
			mustOK(t, "SetOffset", st.SetOffset(0))
			wantOffset(t, st, -1, 0)
		}},
		{name: "offset-hidden-from-iterators", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "_", "1", "__z", "2", "_a", "3", "b", "4")
			mustOK(t, "SetOffset", st.SetOffset(9))
			wantPairs(t, "iterator", iterate(t, st), pairs("_", "1", "__z", "2", "_a", "3", "b", "4"))
			wantPairs(t, "ranged iterator", iterateRange(t, st, []byte("_"), []byte("a")),
				pairs("_", "1", "__z", "2", "_a", "3"))
			wantOffset(t, st, -1, 9)
		}},
		{name: "mark-recovered", recoveringOnly: true, run: func(t *testing.T, st storage.Storage) {
			set(t, st, "a", "1", "b", "2", "c", "3")
			mustOK(t, "Delete", st.Delete("b"))
			mustOK(t, "SetOffset", st.SetOffset(10))
			mustOK(t, "MarkRecovered", st.MarkRecovered())
			wantGet(t, st, "a", "1")
			wantMissing(t, st, "b")
			wantOffset(t, st, -1, 10)
			set(t, st, "d", "4")
			mustOK(t, "SetOffset", st.SetOffset(11))
			wantOffset(t, st, -1, 11)
			wantPairs(t, "iterator", iterate(t, st), pairs("a", "1", "c", "3", "d", "4"))
		}},
		{name: "iterator-full", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "m", "1", "c", "2", "x", "3", "a", "4", "cc", "5")
			it, err := st.Iterator()
			mustOK(t, "Iterator", err)
			defer it.Release()
			var got []kv
			for it.Next() {
				v, err := it.Value()
				mustOK(t, "Value", err)
				got = append(got, kv{string(it.Key()), string(v)})
			}
			mustOK(t, "Err", it.Err())
			wantPairs(t, "iterator", got, pairs("a", "4", "c", "2", "cc", "5", "m", "1", "x", "3"))
			if it.Next() {
				t.Fatal("Next after exhaustion returned true")
			}
			wantExhausted(t, it)
			mustOK(t, "Err", it.Err())
		}},
		{name: "iterator-empty-store", run: func(t *testing.T, st storage.Storage) {
			wantPairs(t, "iterator", iterate(t, st), nil)
			set(t, st, "k", "v")
			mustOK(t, "Delete", st.Delete("k"))
			wantPairs(t, "iterator after delete", iterate(t, st), nil)
		}},
		{name: "iterator-unpositioned", needs: UnpositionedNil, run: func(t *testing.T, st storage.Storage) {
			set(t, st, "k", "v")
			it, err := st.Iterator()
			mustOK(t, "Iterator", err)
			defer it.Release()
			wantExhausted(t, it)
		}},
		{name: "iterator-seek", run: func(t *testing.T, st storage.Storage) {
			setRangeKeys(t, st)
			it, err := st.Iterator()
			mustOK(t, "Iterator", err)
			defer it.Release()
			if !it.Seek([]byte("b")) {
				t.Fatal("Seek(b) = false, want true")
			}
			wantAt(t, it, "b", "vb")
			if !it.Next() {
				t.Fatal("Next after Seek = false")
			}
			wantAt(t, it, "ba", "vba")
		}},
		{name: "iterator-seek-ge", needs: SeekGE, run: func(t *testing.T, st storage.Storage) {
			setRangeKeys(t, st)
			it, err := st.Iterator()
			mustOK(t, "Iterator", err)
			defer it.Release()
			for _, sc := range []struct {
				seek string
				want string // "" = no such key
			}{
				{"bb", "bb"}, {"bc", "c"}, {"a", "a"}, {"", "a"}, {"b\x00", "ba"}, {"z", ""}, {"c", "c"},
			} {
				ok := it.Seek([]byte(sc.seek))
				if ok != (sc.want != "") {
					t.Fatalf("Seek(%q) = %t, want %t", sc.seek, ok, sc.want != "")
				}
				if ok {
					wantAt(t, it, sc.want, "v"+sc.want)
				} else {
					wantExhausted(t, it)
				}
			}
			if it.Next() {
				wantAt(t, it, "d", "vd")
			} else {
				t.Fatal("Next after Seek(c) = false, want d")
			}
			if it.Next() {
				t.Fatal("Next past the last key = true")
			}
			if !it.Seek([]byte("a")) {
				t.Fatal("Seek after exhaustion = false, want true")
			}
			wantAt(t, it, "a", "va")

			rit, err := st.IteratorWithRange([]byte("b"), []byte("c"))
			mustOK(t, "IteratorWithRange", err)
			defer rit.Release()
			if !rit.Seek([]byte("a")) {
				t.Fatal("ranged Seek below start = false, want the first key in range")
			}
			wantAt(t, rit, "b", "vb")
			if rit.Seek([]byte("bc")) {
				t.Fatalf("ranged Seek past the last key in range = true (at %q)", rit.Key())
			}
			if rit.Seek([]byte("c")) {
				t.Fatal("ranged Seek(limit) = true, want false")
			}
		}},
		{name: "iterator-snapshot", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "a", "1", "b", "1", "c", "1")
			full, err := st.Iterator()
			mustOK(t, "Iterator", err)
			ranged, err := st.IteratorWithRange([]byte("a"), []byte("z"))
			mustOK(t, "IteratorWithRange", err)
			set(t, st, "b", "2", "d", "1")
			mustOK(t, "Delete", st.Delete("c"))
			mustOK(t, "SetOffset", st.SetOffset(4))
			before := pairs("a", "1", "b", "1", "c", "1")
			wantPairs(t, "iterator created before the writes", drain(t, full), before)
			wantPairs(t, "ranged iterator created before the writes", drain(t, ranged), before)
			wantPairs(t, "iterator created after the writes", iterate(t, st), pairs("a", "1", "b", "2", "d", "1"))
		}},
		{name: "iterator-writes-during-iteration", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "a", "1", "b", "1", "c", "1")
			it, err := st.Iterator()
			mustOK(t, "Iterator", err)
			defer it.Release()
			var got []kv
			for it.Next() {
				v, err := it.Value()
				mustOK(t, "Value", err)
				got = append(got, kv{string(it.Key()), string(v)})
				// Writing while iterating is what a processor does when it
				// walks its own table; the iterator keeps its snapshot.
				mustOK(t, "Set", st.Set(string(it.Key())+"x", []byte("new")))
				mustOK(t, "Set", st.Set("c", []byte("2")))
			}
			mustOK(t, "Err", it.Err())
			wantPairs(t, "iterator", got, pairs("a", "1", "b", "1", "c", "1"))
		}},
		{name: "iterator-release", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "a", "1", "b", "2")
			it, err := st.Iterator()
			mustOK(t, "Iterator", err)
			if !it.Next() {
				t.Fatal("Next = false on a non-empty store")
			}
			it.Release()
			if it.Next() {
				t.Fatal("Next after Release = true")
			}
			if it.Seek([]byte("a")) {
				t.Fatal("Seek after Release = true")
			}
			it.Release() // idempotent
			wantGet(t, st, "a", "1")
		}},
		{name: "iterator-independent", run: func(t *testing.T, st storage.Storage) {
			set(t, st, "a", "1", "b", "2", "c", "3")
			it1, err := st.Iterator()
			mustOK(t, "Iterator", err)
			defer it1.Release()
			it2, err := st.Iterator()
			mustOK(t, "Iterator", err)
			defer it2.Release()
			var k1, k2 []string
			for it1.Next() {
				k1 = append(k1, string(it1.Key()))
				if it2.Next() {
					k2 = append(k2, string(it2.Key()))
				}
				if it2.Next() {
					k2 = append(k2, string(it2.Key()))
				}
			}
			if want := []string{"a", "b", "c"}; !slices.Equal(k1, want) || !slices.Equal(k2, want) {
				t.Fatalf("interleaved iterators saw %q and %q, want %q each", k1, k2, want)
			}
		}},
		{name: "concurrent-readers-one-writer", run: runConcurrent},
	}
}

// runConcurrent runs one data writer, one offset writer (goka processors
// call SetOffset from the producer callback while the partition goroutine
// keeps writing) and several readers, and checks that readers only ever
// observe complete, consistent values. Run it with -race.
func runConcurrent(t *testing.T, st storage.Storage) {
	const (
		keys    = 64
		rounds  = 30
		readOps = 1000 // per reader; readers also stop when the writer is done
	)
	key := func(i int) string { return fmt.Sprintf("k%03d", i) }
	val := func(i, r int) string { return fmt.Sprintf("%s=%d", key(i), r) }
	for i := range keys {
		mustOK(t, "Set", st.Set(key(i), []byte(val(i, 0))))
	}
	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
		errc = make(chan error, 16)
	)
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	offsets := make(chan int64, 16)
	wg.Add(2)
	go func() { // data writer
		defer wg.Done()
		defer close(stop)
		defer close(offsets)
		var offset int64
		for r := 1; r <= rounds; r++ {
			for i := range keys {
				var err error
				if (i+r)%7 == 0 {
					err = st.Delete(key(i))
				} else {
					err = st.Set(key(i), []byte(val(i, r)))
				}
				if err != nil {
					report(err)
					return
				}
				offset++
				offsets <- offset
			}
		}
	}()
	go func() { // offset writer, fed once the covered write has returned
		defer wg.Done()
		for o := range offsets {
			if err := st.SetOffset(o); err != nil {
				report(err)
				for range offsets {
				}
				return
			}
		}
	}()
	checkValue := func(k string, v []byte) error {
		if v != nil && !strings.HasPrefix(string(v), k+"=") {
			return fmt.Errorf("key %q has foreign or torn value %q", k, v)
		}
		return nil
	}
	for g := range 3 {
		wg.Add(1)
		go func() { // point readers
			defer wg.Done()
			var lastOffset int64 = -1
			for n := g; n < g+readOps; n++ {
				select {
				case <-stop:
					return
				default:
				}
				k := key(n % keys)
				v, err := st.Get(k)
				if err == nil {
					err = checkValue(k, v)
				}
				if err == nil {
					_, err = st.Has(k)
				}
				if err != nil {
					report(err)
					return
				}
				o, err := st.GetOffset(-1)
				if err != nil {
					report(err)
					return
				}
				if o < lastOffset {
					report(fmt.Errorf("GetOffset went backwards from %d to %d", lastOffset, o))
					return
				}
				lastOffset = o
			}
		}()
	}
	wg.Add(1)
	go func() { // iterating reader
		defer wg.Done()
		for range readOps / keys {
			select {
			case <-stop:
				return
			default:
			}
			it, err := st.Iterator()
			if err != nil {
				report(err)
				return
			}
			var prev []byte
			for it.Next() {
				k := it.Key()
				v, err := it.Value()
				if err == nil {
					err = checkValue(string(k), v)
				}
				if err == nil && prev != nil && bytes.Compare(prev, k) >= 0 {
					err = fmt.Errorf("iterator keys out of order: %q then %q", prev, k)
				}
				if err != nil {
					it.Release()
					report(err)
					return
				}
				prev = append(prev[:0], k...)
			}
			err = it.Err()
			it.Release()
			if err != nil {
				report(err)
				return
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for i := range keys {
		if (i+rounds)%7 == 0 {
			wantMissing(t, st, key(i))
		} else {
			wantGet(t, st, key(i), val(i, rounds))
		}
	}
}

func persistCases() []persistCase {
	closeOK := func(t *testing.T, st storage.Storage) {
		t.Helper()
		mustOK(t, "Close", st.Close())
	}
	return []persistCase{
		{name: "empty", run: func(t *testing.T, reopen func() storage.Storage) {
			closeOK(t, reopen())
			st := reopen()
			defer closeOK(t, st)
			wantOffset(t, st, -1, -1)
			wantPairs(t, "iterator", iterate(t, st), nil)
		}},
		{name: "recovering", run: func(t *testing.T, reopen func() storage.Storage) {
			st := reopen()
			set(t, st, "a", "1", "b", "2", "c", "3", "", "empty-key")
			mustOK(t, "Delete", st.Delete("b"))
			mustOK(t, "SetOffset", st.SetOffset(41))
			closeOK(t, st)

			st = reopen()
			defer closeOK(t, st)
			wantOffset(t, st, -1, 41)
			wantGet(t, st, "a", "1")
			wantGet(t, st, "", "empty-key")
			wantMissing(t, st, "b")
			wantPairs(t, "iterator", iterate(t, st), pairs("", "empty-key", "a", "1", "c", "3"))
		}},
		{name: "recovered", run: func(t *testing.T, reopen func() storage.Storage) {
			st := reopen()
			set(t, st, "x", "1")
			mustOK(t, "SetOffset", st.SetOffset(1))
			mustOK(t, "MarkRecovered", st.MarkRecovered())
			set(t, st, "y", "2")
			mustOK(t, "Delete", st.Delete("x"))
			mustOK(t, "SetOffset", st.SetOffset(2))
			closeOK(t, st)

			st = reopen()
			wantOffset(t, st, -1, 2)
			wantMissing(t, st, "x")
			wantGet(t, st, "y", "2")
			// A second generation: recover, run, close again.
			set(t, st, "z", "3")
			mustOK(t, "SetOffset", st.SetOffset(3))
			mustOK(t, "MarkRecovered", st.MarkRecovered())
			mustOK(t, "SetOffset", st.SetOffset(4))
			closeOK(t, st)

			st = reopen()
			defer closeOK(t, st)
			wantOffset(t, st, -1, 4)
			wantPairs(t, "iterator", iterate(t, st), pairs("y", "2", "z", "3"))
		}},
		{name: "reserved-looking-keys", needs: ArbitraryKeys, run: func(t *testing.T, reopen func() storage.Storage) {
			st := reopen()
			set(t, st, "__offset", "user")
			mustOK(t, "SetOffset", st.SetOffset(5))
			mustOK(t, "MarkRecovered", st.MarkRecovered())
			mustOK(t, "SetOffset", st.SetOffset(6))
			closeOK(t, st)

			st = reopen()
			defer closeOK(t, st)
			wantOffset(t, st, -1, 6)
			wantGet(t, st, "__offset", "user")
		}},
	}
}
