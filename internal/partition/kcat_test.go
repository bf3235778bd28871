package partition_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/partition"
)

const (
	// kcatTopic and kcatPartitions describe the topic kcat produces to.
	kcatTopic      = "t"
	kcatPartitions = 8
	// kcatRecords is how many keyed records kcat produces.
	kcatRecords = 10_000
	// kcatMaxKeyBytes bounds the random key length, in bytes.
	kcatMaxKeyBytes = 32
	// kcatTimeout bounds the whole produce-and-consume round trip.
	kcatTimeout = 60 * time.Second
)

// kcatKeys returns count distinct-enough random keys of 1..kcatMaxKeyBytes
// bytes that kcat's line format can carry: no key delimiter ':', no line
// breaks, no NUL. Empty keys are avoided because kcat may send them as null
// keys, which Kafka clients do not hash.
func kcatKeys(count int) [][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([][]byte, count)
	for i := range keys {
		k := make([]byte, 1+rng.IntN(kcatMaxKeyBytes))
		for j := range k {
			for {
				b := byte(1 + rng.UintN(255))
				if b != ':' && b != '\n' && b != '\r' {
					k[j] = b
					break
				}
			}
		}
		keys[i] = k
	}
	return keys
}

// TestKcatMurmur2RandomAgreesWithFor produces keyed records with kcat
// (librdkafka) using its murmur2_random partitioner into an in-process kfake
// broker over TCP, reads them back with franz-go, and checks that librdkafka
// put every key in the partition For names.
func TestKcatMurmur2RandomAgreesWithFor(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat (librdkafka's CLI) is not on PATH; install it (e.g. apt-get install kcat) to run the librdkafka interoperability test")
	}

	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(0),
		kfake.SeedTopics(kcatPartitions, kcatTopic),
	)
	if err != nil {
		t.Fatalf("starting kfake cluster: %v", err)
	}
	defer cluster.Close()
	addr := cluster.ListenAddrs()[0]

	ctx, cancel := context.WithTimeout(context.Background(), kcatTimeout)
	defer cancel()

	keys := kcatKeys(kcatRecords)
	var input bytes.Buffer
	for i, k := range keys {
		// The value is the key's index, so each record read back can be
		// matched to the key that was sent.
		fmt.Fprintf(&input, "%s:%d\n", k, i)
	}

	cmd := exec.CommandContext(ctx, kcat,
		"-P", "-b", addr, "-t", kcatTopic, "-K:",
		"-X", "partitioner=murmur2_random",
	)
	cmd.Stdin = &input
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s", err, out)
	}

	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumeTopics(kcatTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatalf("creating franz-go consumer: %v", err)
	}
	defer cl.Close()

	seen := make([]bool, len(keys))
	received, misplaced := 0, 0
	var firstMisplaced string
	for received < len(keys) {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records before giving up: %v", received, len(keys), err)
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetching %s/%d: %v", topic, p, err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			i, err := strconv.Atoi(string(r.Value))
			if err != nil || i < 0 || i >= len(keys) {
				t.Fatalf("record at %s/%d@%d has unexpected value %q", r.Topic, r.Partition, r.Offset, r.Value)
			}
			if !bytes.Equal(r.Key, keys[i]) {
				t.Fatalf("record %d came back with key %x, sent %x", i, r.Key, keys[i])
			}
			if seen[i] {
				t.Fatalf("record %d read twice", i)
			}
			seen[i] = true
			received++
			if want := partition.For(r.Key, kcatPartitions); r.Partition != want {
				if misplaced == 0 {
					firstMisplaced = fmt.Sprintf("key %x in partition %d, For says %d", r.Key, r.Partition, want)
				}
				misplaced++
			}
		})
	}
	if misplaced > 0 {
		t.Fatalf("kcat murmur2_random disagreed with For on %d of %d keys; first: %s", misplaced, len(keys), firstMisplaced)
	}
}
