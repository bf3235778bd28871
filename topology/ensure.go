package topology

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrCoPartitioning is returned (wrapped, with the counts found) when the
// members of a co-partitioned set do not share one partition count.
var ErrCoPartitioning = errors.New("co-partitioned topics have different partition counts")

// EnsureOptions tune topic creation. Zero values pick the design's defaults.
type EnsureOptions struct {
	// ReplicationFactor for created topics; 0 means min(3, brokers).
	ReplicationFactor int16
	// MinInsyncReplicas for created topics; 0 means min(2, replication).
	MinInsyncReplicas int
	// Only, when not empty, limits Ensure to the named declared topics and
	// skips the co-partitioning check: for tools that need one topic of
	// their own (cartstream dlq redrive) on a cluster whose other topics
	// they must not touch.
	Only []string
}

// EnsureResult reports what Ensure did.
type EnsureResult struct {
	Created  []string // topics created by this call
	Existing []string // declared topics that were already there
}

// Ensure creates every declared topic that is missing, with the configured
// partition count (a cdc group's table gets its source's count), compaction,
// retention and timestamp type, then checks co-partitioning. Existing topics
// are never altered. A topic created concurrently by another instance counts
// as existing.
func (t *Topology) Ensure(ctx context.Context, adm *kadm.Client, opts EnsureOptions) (EnsureResult, error) {
	var res EnsureResult
	meta, err := adm.Metadata(ctx)
	if err != nil {
		return res, fmt.Errorf("topology: read cluster metadata: %w", err)
	}
	brokers := len(meta.Brokers)
	if brokers == 0 {
		return res, errors.New("topology: the cluster reports no brokers")
	}
	rf := opts.ReplicationFactor
	if rf <= 0 {
		rf = int16(min(3, brokers))
	}
	minISR := opts.MinInsyncReplicas
	if minISR <= 0 {
		minISR = min(2, int(rf))
	}
	counts := map[string]int32{}
	for name, td := range meta.Topics {
		if td.Err == nil {
			counts[name] = int32(len(td.Partitions))
		}
	}
	for _, tp := range t.Topics {
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, tp.Name) {
			continue
		}
		if _, ok := counts[tp.Name]; ok {
			res.Existing = append(res.Existing, tp.Name)
			continue
		}
		parts := t.Partitions
		if src := t.sourceOf(tp.Name); src != "" {
			if n, ok := counts[src]; ok {
				parts = n
			}
		}
		cfg := map[string]*string{}
		for k, v := range tp.Configs() {
			cfg[k] = kadm.StringPtr(v)
		}
		cfg["min.insync.replicas"] = kadm.StringPtr(fmt.Sprint(minISR))
		resp, err := adm.CreateTopic(ctx, parts, rf, cfg, tp.Name)
		switch {
		case errors.Is(err, kerr.TopicAlreadyExists) || errors.Is(resp.Err, kerr.TopicAlreadyExists):
			res.Existing = append(res.Existing, tp.Name)
			// Another instance won the race; learn its count below.
			continue
		case err != nil:
			return res, fmt.Errorf("topology: create topic %s: %w", tp.Name, err)
		case resp.Err != nil:
			return res, fmt.Errorf("topology: create topic %s: %w (%s)", tp.Name, resp.Err, resp.ErrMessage)
		}
		counts[tp.Name] = parts
		res.Created = append(res.Created, tp.Name)
	}
	if len(opts.Only) > 0 {
		return res, nil
	}
	if err := t.CheckCoPartitioning(ctx, adm); err != nil {
		return res, err
	}
	return res, nil
}

// CheckCoPartitioning reads the partition counts of every co-partitioned set
// and of every cdc group's source and table, and fails with a message naming
// each topic and its count when a set disagrees. Missing members are reported
// too: a set cannot be checked with a topic absent.
func (t *Topology) CheckCoPartitioning(ctx context.Context, adm *kadm.Client) error {
	var names []string
	for _, tp := range t.Topics {
		if tp.CoPartitionSet != "" || t.sourceOf(tp.Name) != "" {
			names = append(names, tp.Name)
		}
	}
	for _, g := range t.Groups {
		if g.CoPartitionSet == "" {
			names = append(names, g.Inputs...)
		}
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("topology: read partition counts: %w", err)
	}
	count := func(name string) (int32, bool) {
		td, ok := details[name]
		if !ok || td.Err != nil {
			return 0, false
		}
		return int32(len(td.Partitions)), true
	}
	sets := t.CoPartitionSets()
	for _, g := range t.Groups {
		if g.CoPartitionSet == "" {
			sets[g.Name] = []string{g.Inputs[0], g.Loop, g.Table}
		}
	}
	var problems []string
	setNames := make([]string, 0, len(sets))
	for s := range sets {
		setNames = append(setNames, s)
	}
	sort.Strings(setNames)
	for _, s := range setNames {
		var parts []string
		seen := map[int32]bool{}
		for _, name := range sets[s] {
			n, ok := count(name)
			if !ok {
				parts = append(parts, name+"=missing")
				seen[-1] = true
				continue
			}
			parts = append(parts, fmt.Sprintf("%s=%d", name, n))
			seen[n] = true
		}
		if len(seen) > 1 {
			problems = append(problems, fmt.Sprintf("set %q: %s", s, strings.Join(parts, ", ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("topology: %w: %s (every member of a set needs the same count: add partitions with kafka-topics --alter or recreate the odd topic)", ErrCoPartitioning, strings.Join(problems, "; "))
	}
	return nil
}
