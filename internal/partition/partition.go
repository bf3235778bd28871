// Package partition owns cartstream's key-to-partition rule: the partition
// Kafka's Java client, franz-go's default partitioner and librdkafka's
// murmur2_random partitioner choose for a key, (murmur2(key) & 0x7fffffff) % n.
//
// It provides the rule as a plain function ([For]) and as a hash.Hash32
// ([NewHasher], [Hasher]) to replace goka's default FNV hasher in every
// processor (goka.WithHasher), view (goka.WithViewHasher) and emitter
// (goka.WithEmitterHasher), so that goka and every other Kafka-default client
// agree on which partition owns a key.
//
// This package must never depend on Kafka clients, goka or any I/O, and never
// hold mutable package-level state: it is pure arithmetic on key bytes.
package partition

import (
	"encoding/binary"
	"hash"
)

// Murmur2 parameters as Kafka's Java client fixes them
// (org.apache.kafka.common.utils.Utils.murmur2). Changing any of them changes
// which partition owns every key.
const (
	// murmur2Seed is the seed Kafka uses for its partitioning hash.
	murmur2Seed uint32 = 0x9747b28c
	// murmur2Mul is MurmurHash2's mixing multiplier.
	murmur2Mul uint32 = 0x5bd1e995
	// murmur2Shift is MurmurHash2's mixing right shift, in bits.
	murmur2Shift = 24

	// positiveMask clears the sign bit, as Kafka's Utils.toPositive does.
	positiveMask uint32 = 0x7fffffff

	// hashSize is the size of a 32-bit hash, in bytes.
	hashSize = 4
	// blockSize is the number of key bytes murmur2 mixes per round.
	blockSize = 4
)

// Murmur2 returns Kafka's 32-bit MurmurHash2 of key (seed 0x9747b28c),
// bit-for-bit the value Kafka's Java Utils.murmur2 returns, read as unsigned.
// A nil and an empty key hash alike. It never fails and does not retain key.
func Murmur2(key []byte) uint32 {
	n := len(key)
	// Kafka's Java code computes seed ^ length on a 32-bit int, so only the
	// low 32 bits of the length count.
	h := murmur2Seed ^ uint32(n)

	full := n &^ (blockSize - 1)
	for i := 0; i < full; i += blockSize {
		k := binary.LittleEndian.Uint32(key[i : i+blockSize])
		k *= murmur2Mul
		k ^= k >> murmur2Shift
		k *= murmur2Mul
		h *= murmur2Mul
		h ^= k
	}

	// Mix in the last 1-3 bytes, least significant first.
	tail := key[full:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= murmur2Mul
	}

	h ^= h >> 13
	h *= murmur2Mul
	h ^= h >> 15
	return h
}

// For returns the partition in [0, partitions) that owns key under Kafka's
// default rule, (murmur2(key) & 0x7fffffff) % partitions. It panics if
// partitions is not positive, as there is no owner among zero partitions.
//
// A nil key is hashed like an empty one. Kafka clients do not hash nil keys
// at all (they spread keyless records over partitions), so callers routing
// keyless records must not rely on For to match them.
func For(key []byte, partitions int32) int32 {
	if partitions <= 0 {
		panic("partition: For called with a non-positive partition count")
	}
	return int32((Murmur2(key) & positiveMask) % uint32(partitions))
}

// Hasher returns a constructor of [NewHasher] hashers, in the shape
// goka.WithHasher, goka.WithViewHasher, goka.WithEmitterHasher and
// sarama.NewCustomHashPartitioner take.
func Hasher() func() hash.Hash32 {
	return NewHasher
}

// NewHasher returns a hash.Hash32 whose Sum32 is the masked Kafka hash
// murmur2(data) & 0x7fffffff of everything written since creation or the last
// Reset.
//
// # Why the mask
//
// goka and sarama do not reduce a hash the way Kafka does. goka's view takes
// abs(int32(Sum32())) % n, and sarama's hash partitioner (which goka's
// emitters and processors use) takes abs(int32(Sum32()) % n). Kafka takes
// (murmur2 & 0x7fffffff) % n. For a hash with the top bit clear the three
// agree. For a hash h with the top bit set they do not: Kafka uses
// h - 2^31, goka and sarama use 2^32 - h, and those differ modulo n for most
// n, so a plain murmur2 hasher would put a large share of all keys in a
// partition other than the one Kafka clients choose: nearly half for odd or
// large partition counts, three eighths with 8 partitions. Returning the masked
// value makes int32(Sum32()) always non-negative, so both abs steps are
// no-ops and goka's and sarama's arithmetic reduces to exactly Kafka's
// (murmur2 & 0x7fffffff) % n. The mask also keeps Sum32 away from
// int32's minimum value, whose absolute value would overflow to a negative
// partition in goka's view.
//
// Murmur2 mixes the key's length in first, so the hasher buffers written
// bytes and hashes them when Sum32 or Sum is called; Write never fails. Like
// every hash.Hash, it is not safe for concurrent use.
func NewHasher() hash.Hash32 {
	return &hasher{}
}

// hasher buffers the key because murmur2 cannot be computed incrementally:
// its initial state depends on the total length.
type hasher struct {
	buf []byte
}

// Write appends p to the data to hash. It always returns len(p), nil.
func (h *hasher) Write(p []byte) (int, error) {
	h.buf = append(h.buf, p...)
	return len(p), nil
}

// Sum appends the big-endian bytes of Sum32 to b, as hash/fnv does, without
// changing the hasher's state.
func (h *hasher) Sum(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, h.Sum32())
}

// Sum32 returns murmur2 & 0x7fffffff of the data written so far.
func (h *hasher) Sum32() uint32 {
	return Murmur2(h.buf) & positiveMask
}

// Reset forgets all written data; the buffer's memory is kept for reuse.
func (h *hasher) Reset() {
	h.buf = h.buf[:0]
}

// Size returns 4, the number of bytes Sum appends.
func (h *hasher) Size() int { return hashSize }

// BlockSize returns 4, the number of bytes murmur2 mixes per round.
func (h *hasher) BlockSize() int { return blockSize }
