package streams

import (
	"strconv"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
)

// Timed wraps a goka callback so the time it takes per record is observed
// in hist under the group and the record's partition. A callback that
// fails (goka's Fail unwinds it) is observed too.
func Timed(hist *prometheus.HistogramVec, group string, cb goka.ProcessCallback) goka.ProcessCallback {
	if hist == nil {
		return cb
	}
	return func(ctx goka.Context, msg any) {
		start := time.Now()
		defer func() {
			hist.WithLabelValues(group, strconv.Itoa(int(ctx.Partition()))).Observe(time.Since(start).Seconds())
		}()
		cb(ctx, msg)
	}
}
