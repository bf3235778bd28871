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
	// Stores are <topic>.<partition> directories (state.Builder's layout).
	type store struct {
		name, topic string
		partition   int32
	}
	var stores []store
	var topics []string
	seen := map[string]bool{}
	for _, e := range entries {
		i := strings.LastIndexByte(e.Name(), '.')
		if i <= 0 || !e.IsDir() {
			continue
		}
		topic := e.Name()[:i]
		p, ok := partitionOf(e.Name(), topic)
		if !ok {
			continue
		}
		stores = append(stores, store{e.Name(), topic, p})
		if !seen[topic] {
			seen[topic] = true
			topics = append(topics, topic)
		}
	}
	if len(stores) == 0 {
		return nil, nil
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("streams: reconcile %s: end offsets: %w", dir, err)
	}
	if err := ends.Error(); err != nil && !isUnknownTopic(err) {
		return nil, fmt.Errorf("streams: reconcile %s: end offsets: %w", dir, err)
	}
	var removed []string
	for _, st := range stores {
		path := filepath.Join(dir, st.name)
		end := int64(-1)
		if o, ok := ends.Lookup(st.topic, st.partition); ok && o.Err == nil {
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
