package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/internal/kafkasec"
	"cartstream/processors/carts"
	"cartstream/topology"
)

// ResetSchemaVersion is the schema_version of the reset records this
// package writes.
const ResetSchemaVersion = 1

// EpochFile is the file in a group's state directory
// (<data-dir>/<group id>/) that records the reset epoch its local stores
// were built under. A directory without one was built under epoch 0.
const EpochFile = "reset-epoch"

// Reset is one record of the resets topic (key: the Kafka group id): the
// latest reset of a group. Epochs count a group's resets from 1.
type Reset struct {
	SchemaVersion int       `json:"schema_version"`
	Epoch         int64     `json:"epoch"`
	Group         string    `json:"group"`    // logical name (carts, cdc-products, ...)
	GroupID       string    `json:"group_id"` // Kafka group id
	At            time.Time `json:"at"`       // when the reset was made (operator's clock)
	Scenario      string    `json:"scenario"` // the flags, for people
	// Partitions are the table partitions whose state was rebuilt.
	Partitions []int32 `json:"partitions"`
	// From are the input offsets the reset committed: where rebuilt state
	// starts (verify rebuilds from here).
	From []Offset `json:"from"`
	// Boundary are the input offsets the group had committed before the
	// reset (or an earlier reset's boundary, when larger): records below
	// them had been processed. The carts group sends no reservation
	// command and no checkout status for them.
	Boundary []Offset `json:"boundary"`
}

// Resets are the latest reset per Kafka group id.
type Resets map[string]Reset

// ReadResets reads the resets topic from start to end and returns the
// latest reset per group id. A missing topic holds no resets.
func ReadResets(ctx context.Context, cluster kafkasec.Cluster, adm *kadm.Client, topic string) (Resets, error) {
	ranges, err := wholeTopics(ctx, adm, topic)
	if err != nil {
		if isUnknownTopic(err) {
			return Resets{}, nil
		}
		return nil, err
	}
	out := Resets{}
	err = readRanges(ctx, cluster, ranges, func(r *kgo.Record) error {
		if r.Value == nil {
			delete(out, string(r.Key))
			return nil
		}
		var rs Reset
		if err := json.Unmarshal(r.Value, &rs); err != nil {
			return fmt.Errorf("replay: %s[%d]@%d: reset record: %w", r.Topic, r.Partition, r.Offset, err)
		}
		if prev, ok := out[string(r.Key)]; !ok || rs.Epoch >= prev.Epoch {
			out[string(r.Key)] = rs
		}
		return nil
	}, nil)
	return out, err
}

// WriteReset writes a reset record (key: its group id) and waits for the
// broker's acknowledgement.
func WriteReset(ctx context.Context, cl *kgo.Client, topic string, rs Reset) error {
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(rs.GroupID), Value: b})
	if err := res.FirstErr(); err != nil {
		return fmt.Errorf("replay: write reset epoch to %s: %w", topic, err)
	}
	return nil
}

// LocalEpoch returns the epoch recorded in a group's state directory; 0
// when none is.
func LocalEpoch(groupDir string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(groupDir, EpochFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	e, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("replay: %s: not an epoch: %q", filepath.Join(groupDir, EpochFile), b)
	}
	return e, nil
}

// WriteLocalEpoch records epoch in a group's state directory (creating it),
// atomically (a temp file renamed over the old one).
func WriteLocalEpoch(groupDir string, epoch int64) error {
	if err := os.MkdirAll(groupDir, 0o755); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	tmp := filepath.Join(groupDir, EpochFile+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(epoch, 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(groupDir, EpochFile)); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	return nil
}

// tableStores lists the existing local stores of a group's table under
// dataDir (<data-dir>/<group id>/<table>.<partition>), optionally only
// those of the given partitions. Lookup tables' stores in the same
// directory are caches of topics a reset does not touch; they are kept.
func tableStores(dataDir string, g topology.Group, partitions []int32) ([]string, error) {
	dir := filepath.Join(dataDir, g.ID)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var only map[int32]bool
	if partitions != nil {
		only = map[int32]bool{}
		for _, p := range partitions {
			only[p] = true
		}
	}
	var out []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), g.Table+".")
		if !ok || !e.IsDir() {
			continue
		}
		p, err := strconv.ParseInt(rest, 10, 32)
		if err != nil {
			continue
		}
		if only == nil || only[int32(p)] {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// PrepareConfig is what Prepare needs from an instance.
type PrepareConfig struct {
	Brokers  []string
	Security *kafkasec.Security // of every client Prepare creates
	Admin    *kadm.Client
	Topology *topology.Topology
	DataDir  string
	Logger   *slog.Logger
}

// Prepare runs at instance start, before any processor: it reads the
// latest reset epoch of every group, wipes the local table stores of each
// group whose directory records an older epoch (they were built from a
// changelog a replay has since truncated), and records the current epoch
// in every group's directory. It returns the resets, for CartsBoundary.
func Prepare(ctx context.Context, cfg PrepareConfig) (Resets, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	resets, err := ReadResets(ctx, kafkasec.Cluster{Brokers: cfg.Brokers, Security: cfg.Security}, cfg.Admin, cfg.Topology.Names.Resets)
	if err != nil {
		return nil, err
	}
	for _, g := range cfg.Topology.Groups {
		latest := resets[g.ID].Epoch
		dir := filepath.Join(cfg.DataDir, g.ID)
		local, err := LocalEpoch(dir)
		if err != nil {
			return nil, err
		}
		if local >= latest {
			continue
		}
		stores, err := tableStores(cfg.DataDir, g, nil)
		if err != nil {
			return nil, err
		}
		for _, s := range stores {
			if err := os.RemoveAll(s); err != nil {
				return nil, fmt.Errorf("replay: wipe %s: %w", s, err)
			}
		}
		if len(stores) > 0 {
			log.Warn("local state older than the group's last reset; wiped, it rebuilds from the changelog",
				"group", g.Name, "local_epoch", local, "epoch", latest, "stores", len(stores))
		}
		if err := WriteLocalEpoch(dir, latest); err != nil {
			return nil, err
		}
	}
	return resets, nil
}

// CartsBoundary returns the boundary the carts group must honour: the
// latest reset's boundary, less the partitions the group has already
// committed past (their replay is over). Nil when nothing is held back.
func CartsBoundary(ctx context.Context, adm *kadm.Client, topo *topology.Topology, resets Resets) (carts.Boundary, error) {
	g, _ := topo.Group(topology.GroupCarts)
	rs, ok := resets[g.ID]
	if !ok || len(rs.Boundary) == 0 {
		return nil, nil
	}
	committed, err := adm.FetchOffsets(ctx, g.ID)
	if err != nil {
		return nil, fmt.Errorf("replay: committed offsets of %s: %w", g.ID, err)
	}
	b := carts.Boundary{}
	for _, o := range rs.Boundary {
		if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.Err == nil && c.At >= o.Offset {
			continue
		}
		b[carts.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}
