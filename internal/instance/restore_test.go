package instance

import (
	"testing"

	"github.com/lovoo/goka"
)

func TestRestoreCounts(t *testing.T) {
	part := func(offset, hwm int64) *goka.PartitionProcStats {
		return &goka.PartitionProcStats{TableStats: &goka.TableStats{Recovery: &goka.RecoveryStats{Offset: offset, Hwm: hwm}}}
	}
	for _, c := range []struct {
		name        string
		st          *goka.ProcessorStats
		done, total int64
		parts       int
	}{
		{"nil", nil, 0, 0, 0},
		{"empty changelogs are not counted", &goka.ProcessorStats{Group: map[int32]*goka.PartitionProcStats{0: part(-1, 0)}}, 0, 0, 0},
		{"halfway and done", &goka.ProcessorStats{Group: map[int32]*goka.PartitionProcStats{0: part(49, 100), 1: part(99, 100)}}, 150, 200, 2},
		{"not started", &goka.ProcessorStats{Group: map[int32]*goka.PartitionProcStats{0: part(-1, 10), 1: {}}}, 0, 10, 1},
	} {
		done, total, parts := restoreCounts(c.st)
		if done != c.done || total != c.total || parts != c.parts {
			t.Errorf("%s: %d/%d over %d, want %d/%d over %d", c.name, done, total, parts, c.done, c.total, c.parts)
		}
	}
}
