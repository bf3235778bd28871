package instance

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/lovoo/goka"
)

// restoreReport is how often restore progress is logged while a group's
// tables recover.
const restoreReport = 2 * time.Second

// restoreProgress logs, while a processor's tables recover from their
// changelogs, how many records are restored out of how many, per group: the
// plain-line progress of a restore (the instance's output is a log, so no
// bar is drawn over it).
type restoreProgress struct {
	mu    sync.Mutex
	procs map[string]*goka.Processor
}

// track returns the onBuild hook that registers each new incarnation of a
// group's processor.
func (r *restoreProgress) track(group string, also func(*goka.Processor)) func(*goka.Processor) {
	return func(p *goka.Processor) {
		r.mu.Lock()
		if r.procs == nil {
			r.procs = map[string]*goka.Processor{}
		}
		r.procs[group] = p
		r.mu.Unlock()
		if also != nil {
			also(p)
		}
	}
}

// run logs progress every restoreReport until ctx ends.
func (r *restoreProgress) run(ctx context.Context, in *Instance) {
	t := time.NewTicker(restoreReport)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		groups := make([]string, 0, len(r.procs))
		for g := range r.procs {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		procs := make([]*goka.Processor, len(groups))
		for i, g := range groups {
			procs[i] = r.procs[g]
		}
		r.mu.Unlock()
		for i, p := range procs {
			if p.Recovered() {
				continue
			}
			done, total, parts := restoreCounts(p.Stats())
			if parts == 0 {
				continue
			}
			pct := 100.0
			if total > 0 {
				pct = float64(done) * 100 / float64(total)
			}
			in.log.Info("restoring state", "group", groups[i], "partitions", parts,
				"records_restored", done, "records_total", total, "percent", int(pct))
		}
	}
}

// restoreCounts sums, over a processor's table partitions still
// recovering, the changelog offsets reached and the high watermarks.
func restoreCounts(st *goka.ProcessorStats) (done, total int64, parts int) {
	if st == nil {
		return 0, 0, 0
	}
	for _, pp := range st.Group {
		if pp == nil || pp.TableStats == nil || pp.TableStats.Recovery == nil {
			continue
		}
		rec := pp.TableStats.Recovery
		if rec.Hwm <= 0 {
			continue
		}
		parts++
		done += min(max(rec.Offset+1, 0), rec.Hwm)
		total += rec.Hwm
	}
	return done, total, parts
}
