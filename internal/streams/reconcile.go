package streams

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"cartstream/state"
)

// ReconcileLocalState removes every local partition store of a group's table
// whose stored offset the changelog does not cover (stored offset >= the
// partition's end offset, or the partition gone), so goka rebuilds it from the
// changelog instead of failing with "kafka tells us there's no message in the
// topic, but our cache has one" or trusting a cache Kafka cannot confirm.
//
// Local state is a cache of the changelog: this happens when the broker's
// data was lost or reset, or a topic was recreated. Stores the changelog
// covers are left alone. It must run before the group's processor starts;
// it returns the directories it removed.
//
// Every store under the group's directory is checked: the group table's and
// those of its lookup tables' views, which goka keeps there too.
func (f *Factory) ReconcileLocalState(ctx context.Context, adm *kadm.Client, group goka.Group) ([]string, error) {
	dir := filepath.Join(f.cfg.DataDir, string(group))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("streams: reconcile %s: %w", dir, err)
	}
	topics := map[string]bool{}
	for _, e := range entries {
		if i := strings.LastIndexByte(e.Name(), '.'); i > 0 && e.IsDir() {
			topics[e.Name()[:i]] = true
		}
	}
	var removed []string
	for topic := range topics {
		r, err := f.reconcileDir(ctx, adm, dir, topic)
		removed = append(removed, r...)
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

func (f *Factory) reconcileDir(ctx context.Context, adm *kadm.Client, dir, topic string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("streams: reconcile %s: %w", dir, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("streams: reconcile %s: end offsets of %s: %w", dir, topic, err)
	}
	if err := ends.Error(); err != nil && !isUnknownTopic(err) {
		return nil, fmt.Errorf("streams: reconcile %s: end offsets of %s: %w", dir, topic, err)
	}
	var removed []string
	for _, e := range entries {
		p, ok := partitionOf(e.Name(), topic)
		if !ok || !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		end := int64(-1)
		if o, ok := ends.Lookup(topic, p); ok && o.Err == nil {
			end = o.Offset
		}
		stored, err := f.storedOffset(path)
		if err != nil {
			return removed, fmt.Errorf("streams: reconcile: %w", err)
		}
		// goka stores the offset of the last record applied; the
		// changelog covers it when it is below the end offset. A store
		// with no offset yet holds nothing the changelog must confirm.
		if stored < 0 || (end >= 0 && stored < end) {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return removed, fmt.Errorf("streams: reconcile: remove %s: %w", path, err)
		}
		removed = append(removed, path)
	}
	return removed, nil
}

// partitionOf parses "<topic>.<partition>", the layout of state.Builder.
func partitionOf(name, topic string) (int32, bool) {
	rest, ok := strings.CutPrefix(name, topic+".")
	if !ok {
		return 0, false
	}
	p, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || p < 0 {
		return 0, false
	}
	return int32(p), true
}

func (f *Factory) storedOffset(dir string) (int64, error) {
	st, err := state.Open(dir, f.storeOptions())
	if err != nil {
		return 0, err
	}
	off, err := st.GetOffset(-1)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("read offset of %s: %w", dir, err)
	}
	return off, nil
}

func isUnknownTopic(err error) bool {
	return errors.Is(err, kerr.UnknownTopicOrPartition)
}
