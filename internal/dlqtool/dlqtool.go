// Package dlqtool is the operator's side of the dead-letter topic
// (`cartstream dlq`, DESIGN §10): it reads dead letters back, summarizes
// them by source topic and error class, shows one in full, and redrives
// chosen letters to the topics they came from.
//
// # Redrive
//
// A redriven letter is produced again to its source topic with its original
// key, value and timestamp, partitioned as its original producer would
// have: by Kafka's default murmur2 of the key (the record may land in
// another partition than it was read from when the topic's partition count
// changed or its producer used another partitioner; the groups route it
// either way, DESIGN §2.3). A letter without a key goes back to its source
// partition. Two headers mark the copy: cartstream.redrive.dlq_partition
// and cartstream.redrive.dlq_offset.
//
// Every redrive is recorded in a compacted topic (cartstream.dlq-redrives)
// keyed "<dlq partition>:<dlq offset>", after the copy is acknowledged. A
// letter found there, or whose source record another recorded letter
// already redrove, is never redriven again. The record is written after
// the copy, so a crash in between leaves the copy unrecorded and a second
// redrive would send it again: the groups' idempotence (event ids, command
// ids, row versions; DESIGN §2.2) absorbs such a repeat, while recording
// first could lose the letter. Two operators redriving the same letter at
// the same instant are not stopped: the log has no compare-and-set.
//
// The package reads and writes only the DLQ and the redrive topic, and
// writes to source topics only in Redrive; it never deletes anything.
package dlqtool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/dlq"
	"cartstream/internal/kafkasec"
	"cartstream/internal/partition"
)

// Headers a redriven copy carries.
const (
	HeaderRedriveDLQPartition = "cartstream.redrive.dlq_partition"
	HeaderRedriveDLQOffset    = "cartstream.redrive.dlq_offset"
)

var (
	// ErrNotFound: no dead letter at the given coordinates.
	ErrNotFound = errors.New("dlqtool: no such dead letter")
	// ErrAmbiguous: an offset without a partition matches letters in
	// several DLQ partitions.
	ErrAmbiguous = errors.New("dlqtool: offset is in several DLQ partitions; give the partition")
	// ErrRefused: a letter named explicitly was redriven before.
	ErrRefused = errors.New("dlqtool: already redriven")
)

// Config names the topics and the cluster.
type Config struct {
	Brokers  []string
	DLQ      string // the dead-letter topic
	Redrives string // the compacted redrive log
	// ClientOpts are added to every Kafka client the tool makes (TLS,
	// SASL); they must not set a partitioner or consumed partitions.
	ClientOpts []kgo.Opt
}

// Tool reads and redrives dead letters. It is safe for sequential use by
// one operator command; build one per command.
type Tool struct {
	cfg Config
	// cl produces redriven copies (murmur2 for keyed records, the source
	// partition for keyless ones) and redrive records, with acks from all
	// in-sync replicas.
	cl  *kgo.Client
	adm *kadm.Client
}

// New connects to the cluster. Close the tool when done.
func New(cfg Config) (*Tool, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("dlqtool: no brokers")
	}
	cl, err := kafkasec.Cluster{Brokers: cfg.Brokers}.NewClient(append(append([]kgo.Opt(nil), cfg.ClientOpts...), kgo.ClientID("cartstream-dlq"),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
			return func(r *kgo.Record, n int) int {
				if r.Key == nil {
					return int(r.Partition) // checked against n before producing
				}
				return int(partition.For(r.Key, int32(n)))
			}
		})),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))...)
	if err != nil {
		return nil, fmt.Errorf("dlqtool: kafka client: %w", err)
	}
	return &Tool{cfg: cfg, cl: cl, adm: kadm.NewClient(cl)}, nil
}

// Close releases the client.
func (t *Tool) Close() { t.cl.Close() }

// Entry is one record of the DLQ: where it is, and the letter it holds or
// why it holds none (a record some other writer put there).
type Entry struct {
	Partition int32
	Offset    int64
	Record    *kgo.Record
	Letter    dlq.Letter
	Err       error // not a dead letter
}

// Coord names a DLQ record.
type Coord struct {
	Partition int32 // -1: any partition
	Offset    int64
}

func (c Coord) String() string { return fmt.Sprintf("%d:%d", c.Partition, c.Offset) }

// Source names the record a letter was made of.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
}

func (s Source) String() string { return fmt.Sprintf("%s:%d:%d", s.Topic, s.Partition, s.Offset) }

// ParseSource reads "topic:partition:offset" (the topic may contain ':').
func ParseSource(s string) (Source, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return Source{}, fmt.Errorf("dlqtool: source %q: want topic:partition:offset", s)
	}
	j := strings.LastIndexByte(s[:i], ':')
	if j <= 0 {
		return Source{}, fmt.Errorf("dlqtool: source %q: want topic:partition:offset", s)
	}
	p, err := strconv.ParseInt(s[j+1:i], 10, 32)
	if err != nil || p < 0 {
		return Source{}, fmt.Errorf("dlqtool: source %q: bad partition", s)
	}
	o, err := strconv.ParseInt(s[i+1:], 10, 64)
	if err != nil || o < 0 {
		return Source{}, fmt.Errorf("dlqtool: source %q: bad offset", s)
	}
	return Source{Topic: s[:j], Partition: int32(p), Offset: o}, nil
}

func sourceOf(l dlq.Letter) Source {
	return Source{Topic: l.SourceTopic, Partition: l.SourcePartition, Offset: l.SourceOffset}
}

// Redrive is one record of the redrive log: which letter went where.
type Redrive struct {
	DLQTopic        string    `json:"dlq_topic"`
	DLQPartition    int32     `json:"dlq_partition"`
	DLQOffset       int64     `json:"dlq_offset"`
	SourceTopic     string    `json:"source_topic"`
	SourcePartition int32     `json:"source_partition"`
	SourceOffset    int64     `json:"source_offset"`
	Class           string    `json:"class"`
	Topic           string    `json:"redriven_topic"`
	Partition       int32     `json:"redriven_partition"`
	Offset          int64     `json:"redriven_offset"`
	At              time.Time `json:"redriven_at"` // wall clock, for operators
}

// RedriveKey is the key of a letter's record in the redrive log.
func RedriveKey(partition int32, offset int64) string {
	return fmt.Sprintf("%d:%d", partition, offset)
}

// scan reads topic from its start offsets to the end offsets it has when
// scan begins, calling fn for every record. A topic that does not exist is
// an error wrapping kerr's UnknownTopicOrPartition.
func (t *Tool) scan(ctx context.Context, topic string, fn func(*kgo.Record) error) error {
	starts, err := t.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("dlqtool: offsets of %s: %w", topic, err)
	}
	if err := starts.Error(); err != nil {
		return fmt.Errorf("dlqtool: offsets of %s: %w", topic, err)
	}
	ends, err := t.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("dlqtool: offsets of %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("dlqtool: offsets of %s: %w", topic, err)
	}
	from := map[int32]kgo.Offset{}
	until := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		s, _ := starts.Lookup(topic, o.Partition)
		if o.Offset > s.Offset {
			from[o.Partition] = kgo.NewOffset().At(s.Offset)
			until[o.Partition] = o.Offset
		}
	})
	return t.consume(ctx, topic, from, until, fn)
}

// consume reads the given partitions from their offsets until each reaches
// its end offset.
func (t *Tool) consume(ctx context.Context, topic string, from map[int32]kgo.Offset, until map[int32]int64, fn func(*kgo.Record) error) error {
	if len(from) == 0 {
		return nil
	}
	cl, err := kafkasec.Cluster{Brokers: t.cfg.Brokers}.NewClient(append(append([]kgo.Opt(nil), t.cfg.ClientOpts...), kgo.ClientID("cartstream-dlq-reader"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))...)
	if err != nil {
		return fmt.Errorf("dlqtool: kafka client: %w", err)
	}
	defer cl.Close()
	left := len(until)
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dlqtool: reading %s: %d partitions not read to the end: %w", topic, left, err)
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("dlqtool: reading %s partition %d: %w", topic, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		var cbErr error
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := until[r.Partition]
			if cbErr != nil || !ok {
				return
			}
			if r.Offset < end {
				if err := fn(r); err != nil {
					cbErr = err
				}
			}
			if r.Offset+1 >= end { // past a gap (compaction, markers) too
				delete(until, r.Partition)
				left--
			}
		})
		if cbErr != nil {
			return cbErr
		}
	}
	return nil
}

func entryOf(r *kgo.Record) Entry {
	l, err := dlq.Parse(r)
	return Entry{Partition: r.Partition, Offset: r.Offset, Record: r, Letter: l, Err: err}
}

// Letters returns every record of the DLQ, by partition and offset.
func (t *Tool) Letters(ctx context.Context) ([]Entry, error) {
	var out []Entry
	err := t.scan(ctx, t.cfg.DLQ, func(r *kgo.Record) error {
		out = append(out, entryOf(r))
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out, err
}

// Redrives returns the redrive log by key. A log that does not exist yet
// is empty.
func (t *Tool) Redrives(ctx context.Context) (map[string]Redrive, error) {
	out := map[string]Redrive{}
	exists, err := t.topicExists(ctx, t.cfg.Redrives)
	if err != nil || !exists {
		return out, err
	}
	err = t.scan(ctx, t.cfg.Redrives, func(r *kgo.Record) error {
		if r.Value == nil {
			delete(out, string(r.Key)) // a tombstone forgets a redrive
			return nil
		}
		var rd Redrive
		if err := json.Unmarshal(r.Value, &rd); err != nil {
			return fmt.Errorf("dlqtool: %s partition %d offset %d: %w", t.cfg.Redrives, r.Partition, r.Offset, err)
		}
		out[string(r.Key)] = rd
		return nil
	})
	return out, err
}

func (t *Tool) topicExists(ctx context.Context, topic string) (bool, error) {
	details, err := t.adm.ListTopics(ctx, topic)
	if err != nil {
		return false, fmt.Errorf("dlqtool: list topics: %w", err)
	}
	d, ok := details[topic]
	return ok && d.Err == nil, nil
}

// At returns the DLQ record at c. With c.Partition -1 it looks in every
// partition holding that offset: ErrAmbiguous when several do.
func (t *Tool) At(ctx context.Context, c Coord) (Entry, error) {
	starts, err := t.adm.ListStartOffsets(ctx, t.cfg.DLQ)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return Entry{}, fmt.Errorf("dlqtool: offsets of %s: %w", t.cfg.DLQ, err)
	}
	ends, err := t.adm.ListEndOffsets(ctx, t.cfg.DLQ)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return Entry{}, fmt.Errorf("dlqtool: offsets of %s: %w", t.cfg.DLQ, err)
	}
	from := map[int32]kgo.Offset{}
	until := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		s, _ := starts.Lookup(t.cfg.DLQ, o.Partition)
		if (c.Partition < 0 || c.Partition == o.Partition) && c.Offset >= s.Offset && c.Offset < o.Offset {
			from[o.Partition] = kgo.NewOffset().At(c.Offset)
			until[o.Partition] = c.Offset + 1
		}
	})
	var found []Entry
	err = t.consume(ctx, t.cfg.DLQ, from, until, func(r *kgo.Record) error {
		if r.Offset == c.Offset {
			found = append(found, entryOf(r))
		}
		return nil
	})
	switch {
	case err != nil:
		return Entry{}, err
	case len(found) == 0:
		return Entry{}, fmt.Errorf("%w at %s partition %s offset %d", ErrNotFound, t.cfg.DLQ, partitionText(c.Partition), c.Offset)
	case len(found) > 1:
		var ps []string
		for _, e := range found {
			ps = append(ps, strconv.Itoa(int(e.Partition)))
		}
		sort.Strings(ps)
		return Entry{}, fmt.Errorf("%w: offset %d is in partitions %s", ErrAmbiguous, c.Offset, strings.Join(ps, ", "))
	}
	return found[0], nil
}

func partitionText(p int32) string {
	if p < 0 {
		return "any"
	}
	return strconv.Itoa(int(p))
}

// BySource returns the letters made of the given source record (usually
// one; more when the record was dead-lettered again after a crash).
func (t *Tool) BySource(ctx context.Context, s Source) ([]Entry, error) {
	all, err := t.Letters(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range all {
		if e.Err == nil && sourceOf(e.Letter) == s {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w from %s", ErrNotFound, s)
	}
	return out, nil
}
