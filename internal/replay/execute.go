package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/topology"
)

// ErrStoreInUse is wrapped when a local store to wipe is open in a running
// process (its Pebble lock is held).
var ErrStoreInUse = errors.New("replay: a local store is open in a running instance; stop it first")

// ExecConfig is what Execute needs.
type ExecConfig struct {
	Client   *kgo.Client
	Admin    *kadm.Client
	Topology *topology.Topology
	Plan     *Plan
	Progress Progress // may be nil
	Now      time.Time
}

// Execute carries out a plan: checks every local store to wipe is closed,
// commits the new offsets for the group, truncates the changelog, wipes the
// local stores, and writes the reset epoch (recorded in the local group
// directory too). The caller checks first that the group is stopped
// (CheckStopped); the broker refuses the commit anyway while the group has
// members. Steps are idempotent: after a failure, run the same reset again.
func Execute(ctx context.Context, cfg ExecConfig) (Reset, error) {
	p := cfg.Plan
	prog := cfg.Progress
	if prog == nil {
		prog = nopProgress{}
	}
	for _, d := range p.LocalDirs {
		if err := checkClosed(d); err != nil {
			return Reset{}, err
		}
	}
	steps := int64(len(p.LocalDirs))
	if !p.LocalOnly {
		steps += 1 + int64(len(p.Changelog)) + 1
	}
	prog.Start("replay "+p.Group.Name, steps)
	defer prog.Done()
	rs := Reset{SchemaVersion: ResetSchemaVersion, Epoch: p.Epoch, Group: p.Group.Name, GroupID: p.Group.ID,
		At: cfg.Now.UTC(), Scenario: p.Scenario.String(), Partitions: p.Partitions, Boundary: p.Boundary}
	if !p.LocalOnly {
		var offs kadm.Offsets
		for _, r := range append(append([]PartitionReset{}, p.Inputs...), p.Loop...) {
			if r.Kept {
				continue
			}
			offs.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.New, LeaderEpoch: -1})
		}
		// Rebuilt state starts at the new offsets (the committed one for
		// an input the scenario did not name).
		for _, r := range p.Inputs {
			rs.From = append(rs.From, Offset{Topic: r.Topic, Partition: r.Partition, Offset: r.New})
		}
		prog.Log("committing %d offsets for %s", len(offs.Sorted()), p.Group.ID)
		if err := cfg.Admin.CommitAllOffsets(ctx, p.Group.ID, offs); err != nil {
			return rs, fmt.Errorf("replay: commit offsets for %s: %w (is the group still running somewhere?)", p.Group.ID, err)
		}
		prog.Add(1)
		for _, t := range p.Changelog {
			if t.End <= t.LogStart {
				prog.Add(1)
				continue
			}
			var del kadm.Offsets
			del.Add(kadm.Offset{Topic: p.Group.Table, Partition: t.Partition, At: t.End})
			res, err := cfg.Admin.DeleteRecords(ctx, del)
			if err == nil {
				err = res.Error()
			}
			if err != nil {
				return rs, fmt.Errorf("replay: truncate %s[%d] to %d: %w", p.Group.Table, t.Partition, t.End, err)
			}
			prog.Add(1)
		}
		prog.Log("truncated %s (%d partitions)", p.Group.Table, len(p.Changelog))
	}
	for _, d := range p.LocalDirs {
		if err := os.RemoveAll(d); err != nil {
			return rs, fmt.Errorf("replay: wipe %s: %w", d, err)
		}
		prog.Add(1)
	}
	if len(p.LocalDirs) > 0 {
		prog.Log("wiped %d local stores under %s", len(p.LocalDirs), p.DataDir)
	}
	if p.LocalOnly {
		return rs, nil
	}
	if err := WriteReset(ctx, cfg.Client, cfg.Topology.Names.Resets, rs); err != nil {
		return rs, err
	}
	// This host's remaining stores of the group are current.
	if err := WriteLocalEpoch(filepath.Join(p.DataDir, p.Group.ID), rs.Epoch); err != nil {
		return rs, err
	}
	prog.Add(1)
	prog.Log("reset epoch %d written to %s", rs.Epoch, cfg.Topology.Names.Resets)
	return rs, nil
}

// checkClosed fails when a Pebble store's lock is held (by this process or
// another).
func checkClosed(dir string) error {
	l, err := vfs.Default.Lock(filepath.Join(dir, "LOCK"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%w: %s (%v)", ErrStoreInUse, dir, err)
	}
	return l.Close()
}
