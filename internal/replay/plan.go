package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"cartstream/internal/kafkasec"
	"cartstream/topology"
)

// ErrNotReplayable is returned for a reset of the inventory group's inputs:
// it holds decisions (which checkout got the last unit), which cannot be
// re-made, only restored from its changelog (DESIGN §8).
var ErrNotReplayable = errors.New("replay: the inventory group holds decisions; its inputs cannot be reset (replay --group inventory with no scenario only rebuilds its local state from its changelog)")

// PartitionReset is one input partition's offsets in a plan.
type PartitionReset struct {
	Topic     string
	Partition int32
	Committed int64 // -1: nothing committed
	New       int64
	LogStart  int64
	End       int64
	// Kept: the partition's table is rebuilt but this input was not named
	// by the scenario; its committed offset stays.
	Kept bool
	Note string // e.g. "clamped to the log start"
}

// Truncation is one changelog partition to truncate (DeleteRecords up to
// End).
type Truncation struct {
	Partition     int32
	LogStart, End int64
}

// Plan is everything a reset of one group will do. Build it with NewPlan;
// print it with Write; carry it out with Execute.
type Plan struct {
	Group    topology.Group
	Scenario Scenario
	DataDir  string
	// LocalOnly: the inventory group; only its local stores are wiped.
	LocalOnly bool
	// Partitions are the table partitions whose state is rebuilt.
	Partitions []int32
	Inputs     []PartitionReset
	Loop       []PartitionReset
	Changelog  []Truncation
	LocalDirs  []string
	// DropsEarlier: state derived from records before the new offsets is
	// not rebuilt (any scenario but --to-earliest, and --to-earliest when
	// retention already deleted records).
	DropsEarlier bool
	// Boundary (carts only): offsets below which records were processed
	// before; see Reset.Boundary.
	Boundary []Offset
	// Epoch is the reset epoch the reset writes.
	Epoch int64
	Notes []string
}

// PlanConfig is what NewPlan reads from.
type PlanConfig struct {
	Brokers  []string
	Security *kafkasec.Security // of every client NewPlan creates
	Admin    *kadm.Client
	Topology *topology.Topology
	Group    string // logical name
	Scenario Scenario
	DataDir  string
	Now      time.Time // resolves --by-duration
}

// NewPlan reads the group's committed offsets, the inputs' log start and
// end offsets and the latest reset, and returns what a reset would do. It
// changes nothing.
func NewPlan(ctx context.Context, cfg PlanConfig) (*Plan, error) {
	g, ok := cfg.Topology.Group(cfg.Group)
	if !ok {
		return nil, fmt.Errorf("replay: unknown group %q (groups: %s)", cfg.Group, strings.Join(cfg.Topology.GroupNames(), ", "))
	}
	p := &Plan{Group: g, Scenario: cfg.Scenario.Resolve(cfg.Now), DataDir: cfg.DataDir}
	resets, err := ReadResets(ctx, kafkasec.Cluster{Brokers: cfg.Brokers, Security: cfg.Security}, cfg.Admin, cfg.Topology.Names.Resets)
	if err != nil {
		return nil, err
	}
	prev := resets[g.ID]
	p.Epoch = prev.Epoch + 1
	if g.Name == topology.GroupInventory {
		if p.Scenario.Kind != 0 {
			return nil, ErrNotReplayable
		}
		p.LocalOnly = true
		p.Epoch = prev.Epoch // nothing in the log changes; no new epoch
		if p.LocalDirs, err = tableStores(cfg.DataDir, g, nil); err != nil {
			return nil, err
		}
		p.Notes = append(p.Notes, "inventory holds decisions: its inputs are not reset and its changelog is kept; the local stores below are wiped and rebuilt from the changelog when the group starts")
		return p, nil
	}
	if p.Scenario.Kind == 0 {
		return nil, fmt.Errorf("%w: give one of --to-earliest, --to-offset, --to-datetime, --by-duration, --from-file", ErrScenario)
	}

	topics := append(append([]string{}, g.Inputs...), g.Loop, g.Table)
	starts, err := cfg.Admin.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("replay: start offsets: %w", err)
	}
	ends, err := cfg.Admin.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("replay: end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("replay: end offsets: %w (have the group's topics been created? run cartstream once)", err)
	}
	committed, err := cfg.Admin.FetchOffsets(ctx, g.ID)
	if err != nil {
		return nil, fmt.Errorf("replay: committed offsets of %s: %w", g.ID, err)
	}
	var atTime kadm.ListedOffsets
	if p.Scenario.Kind == ToDatetime || p.Scenario.Kind == ByDuration {
		if atTime, err = cfg.Admin.ListOffsetsAfterMilli(ctx, p.Scenario.At.UnixMilli(), g.Inputs...); err != nil {
			return nil, fmt.Errorf("replay: offsets at %s: %w", p.Scenario.At.Format(time.RFC3339), err)
		}
	}
	named := map[string]map[int32]int64{}
	if p.Scenario.Kind == ToOffsets || p.Scenario.Kind == FromFile {
		valid := map[string]bool{g.Loop: true}
		for _, in := range g.Inputs {
			valid[in] = true
		}
		for _, o := range p.Scenario.Offsets {
			if !valid[o.Topic] {
				return nil, fmt.Errorf("%w: %s is not an input of %s (inputs: %s)", ErrScenario, o.Topic, g.Name, strings.Join(g.Inputs, ", "))
			}
			if _, ok := ends.Lookup(o.Topic, o.Partition); !ok {
				return nil, fmt.Errorf("%w: %s has no partition %d", ErrScenario, o.Topic, o.Partition)
			}
			if named[o.Topic] == nil {
				named[o.Topic] = map[int32]int64{}
			}
			named[o.Topic][o.Partition] = o.Offset
		}
	}
	// The table partitions rebuilt: all of them, or those a named offset
	// points into (inputs are co-partitioned with the table).
	tableParts := partitionsOf(ends, g.Table)
	rebuilt := map[int32]bool{}
	for _, tp := range tableParts {
		if len(named) == 0 {
			rebuilt[tp] = true
		}
	}
	for _, m := range named {
		for part := range m {
			rebuilt[part] = true
		}
	}
	for _, part := range tableParts {
		if rebuilt[part] {
			p.Partitions = append(p.Partitions, part)
		}
	}
	prevBoundary := map[[2]any]int64{}
	for _, o := range prev.Boundary {
		prevBoundary[[2]any{o.Topic, o.Partition}] = o.Offset
	}
	lookup := func(l kadm.ListedOffsets, t string, part int32) int64 {
		if o, ok := l.Lookup(t, part); ok && o.Err == nil {
			return o.Offset
		}
		return 0
	}
	retentionGap := false
	for _, topic := range append(append([]string{}, g.Inputs...), g.Loop) {
		for _, part := range partitionsOf(ends, topic) {
			if !rebuilt[part] {
				continue
			}
			r := PartitionReset{Topic: topic, Partition: part, Committed: -1,
				LogStart: lookup(starts, topic, part), End: lookup(ends, topic, part)}
			if c, ok := committed.Lookup(topic, part); ok && c.Err == nil && c.At >= 0 {
				r.Committed = c.At
			}
			off, isNamed := named[topic][part]
			switch {
			case topic == g.Loop && !isNamed:
				// Forwarded copies of re-read records are forwarded
				// again; the old copies are skipped (Kafka Streams
				// deletes its internal topics for the same reason).
				r.New = r.End
			case isNamed:
				r.New = off
			case p.Scenario.Kind == ToOffsets || p.Scenario.Kind == FromFile:
				r.Kept, r.New = true, max(r.Committed, r.LogStart)
				r.Note = "not named: its committed offset stays, its records before it are not re-read"
			case p.Scenario.Kind == ToEarliest:
				r.New = r.LogStart
			default:
				r.New = lookup(atTime, topic, part)
			}
			if r.New < r.LogStart {
				r.New, r.Note = r.LogStart, "clamped to the log start"
			}
			if r.New > r.End {
				r.New, r.Note = r.End, "clamped to the end"
			}
			if topic == g.Loop {
				p.Loop = append(p.Loop, r)
				continue
			}
			if r.LogStart > 0 && r.New == r.LogStart && !r.Kept && topic != cfg.Topology.Names.CartsTicks {
				retentionGap = true
			}
			p.Inputs = append(p.Inputs, r)
			if g.Name == topology.GroupCarts {
				b := max(r.Committed, prevBoundary[[2]any{topic, part}])
				if b > r.New {
					p.Boundary = append(p.Boundary, Offset{Topic: topic, Partition: part, Offset: b})
				}
			}
		}
	}
	for _, part := range p.Partitions {
		t := Truncation{Partition: part, LogStart: lookup(starts, g.Table, part), End: lookup(ends, g.Table, part)}
		p.Changelog = append(p.Changelog, t)
	}
	if p.LocalDirs, err = tableStores(cfg.DataDir, g, p.Partitions); err != nil {
		return nil, err
	}
	p.DropsEarlier = p.Scenario.Kind != ToEarliest || retentionGap
	switch {
	case p.Scenario.Kind != ToEarliest:
		p.Notes = append(p.Notes, "state before the new offsets is dropped: the rebuilt tables hold only what records from there on derive (as with Kafka Streams' reset tool)")
	case retentionGap:
		p.Notes = append(p.Notes, "retention already deleted the first records of some inputs: state they derived is dropped")
	default:
		p.Notes = append(p.Notes, "state is rebuilt from every record the inputs hold")
	}
	if len(p.Partitions) < len(tableParts) {
		p.Notes = append(p.Notes, fmt.Sprintf("only table partitions %v are rebuilt; the others keep their state and offsets", p.Partitions))
	}
	if len(p.Boundary) > 0 {
		p.Notes = append(p.Notes, "carts re-derives carts and re-emits offers for records below the boundary, but sends no reservation command and no checkout status for them")
	}
	if strings.HasPrefix(g.Name, "cdc-") {
		p.Notes = append(p.Notes, fmt.Sprintf("%s re-emits its outputs (%s) for re-read records; consumers keep the latest per key", g.Name, strings.Join(g.Outputs[:1], ", ")))
	}
	return p, nil
}

func partitionsOf(l kadm.ListedOffsets, topic string) []int32 {
	var out []int32
	for part, o := range l[topic] {
		if part >= 0 && o.Err == nil {
			out = append(out, part)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Write prints the plan for people.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "replay plan: group %s (Kafka group %s)", p.Group.Name, p.Group.ID)
	if !p.LocalOnly {
		fmt.Fprintf(&b, ", %s", p.Scenario)
		if p.Scenario.Kind == ByDuration {
			fmt.Fprintf(&b, " (from %s)", p.Scenario.At.Format(time.RFC3339))
		}
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	off := func(o int64) string {
		if o < 0 {
			return "none"
		}
		return fmt.Sprint(o)
	}
	if len(p.Inputs) > 0 {
		fmt.Fprintln(&b, "\ninput offsets (committed -> new):")
		for _, r := range p.Inputs {
			fmt.Fprintf(tw, "  %s\t%d\t%s -> %d\t(%d to re-read)\t%s\n", r.Topic, r.Partition, off(r.Committed), r.New, max(0, r.End-r.New), r.Note)
		}
		tw.Flush()
	}
	if len(p.Loop) > 0 {
		fmt.Fprintln(&b, "\nloop topic (to its end: forwarded copies of re-read records are forwarded again):")
		for _, r := range p.Loop {
			fmt.Fprintf(tw, "  %s\t%d\t%s -> %d\t%s\n", r.Topic, r.Partition, off(r.Committed), r.New, r.Note)
		}
		tw.Flush()
	}
	if len(p.Changelog) > 0 {
		fmt.Fprintf(&b, "\nchangelog %s truncated (DeleteRecords to the end):\n", p.Group.Table)
		for _, t := range p.Changelog {
			fmt.Fprintf(tw, "  partition %d\trecords %d..%d\t(%d deleted)\n", t.Partition, t.LogStart, t.End, t.End-t.LogStart)
		}
		tw.Flush()
	}
	fmt.Fprintf(&b, "\nlocal state wiped under %s:\n", p.DataDir)
	if len(p.LocalDirs) == 0 {
		b.WriteString("  (none here)\n")
	}
	for _, d := range p.LocalDirs {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	if !p.LocalOnly {
		if p.DropsEarlier {
			b.WriteString("\nstate before the point: DROPPED\n")
		} else {
			b.WriteString("\nstate before the point: none (rebuilt from the earliest records)\n")
		}
	}
	if len(p.Boundary) > 0 {
		b.WriteString("\nboundary (records below were processed before; no commands or statuses for them):\n")
		for _, o := range p.Boundary {
			fmt.Fprintf(tw, "  %s\t%d\tbelow %d\n", o.Topic, o.Partition, o.Offset)
		}
		tw.Flush()
	}
	if !p.LocalOnly {
		fmt.Fprintf(&b, "\nreset epoch: %d (other hosts wipe this group's local state from an older epoch when they start)\n", p.Epoch)
	}
	if len(p.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range p.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
