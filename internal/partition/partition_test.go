package partition_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"math/rand/v2"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/partition"
)

// randomKeyCount is how many random keys the agreement tests check.
const randomKeyCount = 10_000

// kafkaMurmur2Vectors are the cases of Kafka's own UtilsTest.testMurmur2
// (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java), as the
// signed Java ints that test expects.
var kafkaMurmur2Vectors = []struct {
	key  []byte
	want int32
}{
	{[]byte("21"), -973932308},
	{[]byte("foobar"), -790332482},
	{[]byte("a-little-bit-long-string"), -985981536},
	{[]byte("a-little-bit-longer-string"), -1486304829},
	{[]byte("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971},
	{[]byte{'a', 'b', 'c'}, 479470107},
}

func TestMurmur2MatchesKafkaUtilsTest(t *testing.T) {
	for _, tc := range kafkaMurmur2Vectors {
		t.Run(string(tc.key), func(t *testing.T) {
			if got := int32(partition.Murmur2(tc.key)); got != tc.want {
				t.Fatalf("Murmur2(%q) = %d, Kafka's UtilsTest expects %d", tc.key, got, tc.want)
			}
		})
	}
}

// franzDefaultPartition returns the partition franz-go's default producer
// partitioner (murmur2, Kafka's rule) picks for key among n partitions.
func franzDefaultPartition(key []byte, n int) int {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	return p.Partition(&kgo.Record{Topic: "t", Key: key}, n)
}

func TestMaskedHashMatchesFranzGo(t *testing.T) {
	// With n = 2^31 Kafka's (murmur2 & 0x7fffffff) % n is the masked hash
	// itself, so franz-go reveals its full 31-bit value for comparison.
	const n = 1 << 31
	// A nil key is left out: Kafka clients give it no owner and spread it
	// stickily instead of hashing it.
	keys := [][]byte{{}, []byte("a"), []byte("ab"), []byte("abc"), []byte("abcd"), []byte("abcde")}
	for _, tc := range kafkaMurmur2Vectors {
		keys = append(keys, tc.key)
	}
	for _, key := range keys {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			want := uint32(franzDefaultPartition(key, n))
			if got := partition.Murmur2(key) & 0x7fffffff; got != want {
				t.Fatalf("Murmur2(%q)&0x7fffffff = %d, franz-go says %d", key, got, want)
			}
			h := partition.NewHasher()
			h.Write(key)
			if got := h.Sum32(); got != want {
				t.Fatalf("hasher Sum32 of %q = %d, franz-go says %d", key, got, want)
			}
		})
	}
}

func TestForSmallCases(t *testing.T) {
	tests := []struct {
		name       string
		key        []byte
		partitions int32
	}{
		{"single partition owns everything", []byte("cart-1"), 1},
		{"empty key", []byte{}, 8},
		{"negative murmur2 masked", []byte("21"), 8},
		{"positive murmur2", []byte("abc"), 7},
		{"many partitions", []byte("foobar"), 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := int32(franzDefaultPartition(tc.key, int(tc.partitions)))
			if got := partition.For(tc.key, tc.partitions); got != want {
				t.Fatalf("For(%q, %d) = %d, franz-go chooses %d", tc.key, tc.partitions, got, want)
			}
		})
	}
}

func TestForNilKeyHashesLikeEmpty(t *testing.T) {
	if got, want := partition.For(nil, 8), partition.For([]byte{}, 8); got != want {
		t.Fatalf("For(nil, 8) = %d, For(empty, 8) = %d", got, want)
	}
}

func TestForPanicsOnNonPositiveCount(t *testing.T) {
	for _, n := range []int32{0, -1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("For(key, %d) did not panic", n)
				}
			}()
			partition.For([]byte("k"), n)
		})
	}
}

// randomKeys returns count random keys of 0..40 bytes from a fixed seed, so
// failures reproduce.
func randomKeys(count int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, count)
	for i := range keys {
		k := make([]byte, rng.IntN(41))
		for j := range k {
			k[j] = byte(rng.UintN(256))
		}
		keys[i] = k
	}
	return keys
}

// gokaViewPartition is goka's View.hash arithmetic: the absolute value of the
// signed hash, then the remainder.
func gokaViewPartition(newHash func() hash.Hash32, key []byte, n int32) int32 {
	h := newHash()
	h.Write(key)
	v := int32(h.Sum32())
	if v < 0 {
		v = -v
	}
	return v % n
}

// saramaPartition is what goka's emitters and processors produce with:
// sarama's custom hash partitioner over the given hasher.
func saramaPartition(t *testing.T, p sarama.Partitioner, key []byte, n int32) int32 {
	t.Helper()
	got, err := p.Partition(&sarama.ProducerMessage{Topic: "t", Key: sarama.ByteEncoder(key)}, n)
	if err != nil {
		t.Fatalf("sarama partitioning %q: %v", key, err)
	}
	return got
}

func TestGokaAndSaramaAgreeWithKafkaDefault(t *testing.T) {
	keys := randomKeys(randomKeyCount)
	for _, n := range []int32{1, 3, 8, 12, 100} {
		t.Run(fmt.Sprintf("partitions=%d", n), func(t *testing.T) {
			sp := sarama.NewCustomHashPartitioner(partition.Hasher())("t")
			fp := kgo.StickyKeyPartitioner(nil).ForTopic("t")
			for _, key := range keys {
				want := int32(fp.Partition(&kgo.Record{Topic: "t", Key: key}, int(n)))
				if got := partition.For(key, n); got != want {
					t.Fatalf("For(%x, %d) = %d, franz-go chooses %d", key, n, got, want)
				}
				if got := saramaPartition(t, sp, key, n); got != want {
					t.Fatalf("sarama with our hasher puts %x in %d of %d, franz-go in %d", key, got, n, want)
				}
				if got := gokaViewPartition(partition.NewHasher, key, n); got != want {
					t.Fatalf("goka view with our hasher puts %x in %d of %d, franz-go in %d", key, got, n, want)
				}
			}
		})
	}
}

// unmaskedHasher is the tempting but wrong hasher: plain murmur2 as Sum32.
type unmaskedHasher struct{ bytes.Buffer }

func (h *unmaskedHasher) Sum32() uint32       { return partition.Murmur2(h.Bytes()) }
func (h *unmaskedHasher) Sum(b []byte) []byte { return binary.BigEndian.AppendUint32(b, h.Sum32()) }
func (h *unmaskedHasher) Size() int           { return 4 }
func (h *unmaskedHasher) BlockSize() int      { return 4 }

// TestUnmaskedHasherDisagrees proves the agreement test can fail: without the
// mask, goka's and sarama's abs-based arithmetic sends about half the keys
// (those whose murmur2 has the top bit set) elsewhere.
func TestUnmaskedHasherDisagrees(t *testing.T) {
	const n = 8
	newUnmasked := func() hash.Hash32 { return new(unmaskedHasher) }
	sp := sarama.NewCustomHashPartitioner(newUnmasked)("t")
	keys := randomKeys(randomKeyCount)
	var gokaWrong, saramaWrong int
	for _, key := range keys {
		want := partition.For(key, n)
		if gokaViewPartition(newUnmasked, key, n) != want {
			gokaWrong++
		}
		if saramaPartition(t, sp, key, n) != want {
			saramaWrong++
		}
	}
	// With n = 8 a key with the top bit set lands right only by chance
	// (2^32 - h ≡ h - 2^31 mod 8 iff 2h ≡ 0 mod 8), so about 3/8 of all keys
	// disagree; demand at least a quarter.
	for name, wrong := range map[string]int{"goka view": gokaWrong, "sarama": saramaWrong} {
		if wrong < randomKeyCount/4 {
			t.Errorf("%s with an unmasked murmur2 disagreed on only %d of %d keys; the agreement test would not catch a missing mask", name, wrong, randomKeyCount)
		}
		t.Logf("%s with an unmasked murmur2 disagrees with Kafka on %d of %d keys", name, wrong, randomKeyCount)
	}
}

func TestHasherImplementsHash32(t *testing.T) {
	key := []byte("a-little-bit-longer-string")
	want := partition.Murmur2(key) & 0x7fffffff

	tests := []struct {
		name   string
		writes [][]byte
	}{
		{"one write", [][]byte{key}},
		{"split writes accumulate", [][]byte{key[:3], key[3:10], {}, key[10:]}},
		{"byte at a time", func() [][]byte {
			var w [][]byte
			for i := range key {
				w = append(w, key[i:i+1])
			}
			return w
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := partition.NewHasher()
			for _, w := range tc.writes {
				n, err := h.Write(w)
				if n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", w, n, err, len(w))
				}
			}
			if got := h.Sum32(); got != want {
				t.Fatalf("Sum32 = %#x, want %#x", got, want)
			}
			prefix := []byte("prefix")
			sum := h.Sum(append([]byte(nil), prefix...))
			if !bytes.Equal(sum[:len(prefix)], prefix) || len(sum) != len(prefix)+h.Size() {
				t.Fatalf("Sum did not append %d bytes to its argument: %x", h.Size(), sum)
			}
			if got := binary.BigEndian.Uint32(sum[len(prefix):]); got != want {
				t.Fatalf("Sum appended %#x, want big-endian %#x", got, want)
			}
			if got := h.Sum32(); got != want {
				t.Fatalf("Sum changed the state: Sum32 now %#x, want %#x", got, want)
			}
			h.Reset()
			if got, empty := h.Sum32(), partition.Murmur2(nil)&0x7fffffff; got != empty {
				t.Fatalf("after Reset Sum32 = %#x, want the empty hash %#x", got, empty)
			}
			h.Write(key)
			if got := h.Sum32(); got != want {
				t.Fatalf("after Reset and rewrite Sum32 = %#x, want %#x", got, want)
			}
		})
	}

	h := partition.NewHasher()
	if h.Size() != 4 || h.BlockSize() != 4 {
		t.Fatalf("Size, BlockSize = %d, %d; want 4, 4", h.Size(), h.BlockSize())
	}
}

func TestHasherSum32NeverNegativeAsInt32(t *testing.T) {
	h := partition.NewHasher()
	for _, key := range randomKeys(randomKeyCount) {
		h.Reset()
		h.Write(key)
		if int32(h.Sum32()) < 0 {
			t.Fatalf("int32(Sum32) of %x is negative; goka's abs would diverge from Kafka", key)
		}
	}
}

func FuzzForMatchesFranzGo(f *testing.F) {
	for _, tc := range kafkaMurmur2Vectors {
		f.Add(tc.key, int32(8))
	}
	f.Add([]byte{}, int32(1))
	f.Fuzz(func(t *testing.T, key []byte, n int32) {
		if n <= 0 {
			return
		}
		if key == nil {
			key = []byte{} // Kafka clients do not hash nil keys; see For.
		}
		want := int32(franzDefaultPartition(key, int(n)))
		if got := partition.For(key, n); got != want {
			t.Fatalf("For(%x, %d) = %d, franz-go chooses %d", key, n, got, want)
		}
		if got := gokaViewPartition(partition.NewHasher, key, n); got != want {
			t.Fatalf("goka view arithmetic gives %d, franz-go %d", got, want)
		}
	})
}
