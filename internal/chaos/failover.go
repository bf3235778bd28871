package chaos

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"cartstream/schemas"
)

// executed is a fault as it happened.
type executed struct {
	Fault Fault
	// Instance is the id of the instance hit (instance faults).
	Instance string
	// At is when the signal went out; Restart when the process was
	// started again; Back when it was up (an instance: ready; zero if it
	// never was).
	At, Restart, Back time.Time
	// Owned are the partitions the victim owned just before, by group
	// id; nil when its /v1/status did not answer.
	Owned map[string][]int32
	// Stop is how long the process took to exit after the signal.
	Stop time.Duration
	// StopErr is the exit error after SIGTERM ("" for a clean exit).
	StopErr string
}

// Failover is how long one instance fault stopped processing, measured
// from the processors' own records: for each partition the victim owned,
// the time from the last record written before the fault (by the dead
// owner) to the first written after it (by the new owner, or the victim
// back). Carts is measured on cartstream.offers (one offer per cart
// event), Inventory on cartstream.reservation-results by the SKU's
// partition (one result per reservation command).
type Failover struct {
	Fault    Fault
	Instance string
	At       time.Time
	// Carts and Inventory are the longest gaps over the victim's
	// partitions of each group; zero without traffic to measure.
	Carts, Inventory time.Duration
	// Rejoin is the longest pause of any carts partition while the victim
	// came back, from its start to its readiness (its join is a
	// rebalance too); zero when it did not come back.
	Rejoin time.Duration
	// Clean: the broker was up from cleanMargin before the fault to
	// cleanMargin after processing resumed, so the gap is the failover's
	// alone.
	Clean bool
}

// Worst is the longer of the two groups' gaps.
func (f Failover) Worst() time.Duration { return max(f.Carts, f.Inventory) }

// cleanMargin is how long the broker must have been up around a failover
// for it to count alone.
const cleanMargin = 5 * time.Second

// timeline is, per partition, the timestamps of a group's output records in
// write order.
type timeline map[int32][]time.Time

// gap returns the longest time, over parts (every partition when nil),
// from the last record at or before t to the first after it; partitions
// without records on both sides do not count.
func (tl timeline) gap(parts []int32, t time.Time) time.Duration {
	if parts == nil {
		for p := range tl {
			parts = append(parts, p)
		}
	}
	var worst time.Duration
	for _, p := range parts {
		ts := tl[p]
		i, _ := slices.BinarySearchFunc(ts, t, func(a, b time.Time) int { return a.Compare(b) })
		// ts[i] is the first timestamp >= t; step past equal ones.
		for i < len(ts) && !ts[i].After(t) {
			i++
		}
		if i == 0 || i == len(ts) {
			continue
		}
		worst = max(worst, ts[i].Sub(ts[i-1]))
	}
	return worst
}

// longestPause returns the longest time between two consecutive records
// of any partition that overlaps [from, to].
func (tl timeline) longestPause(from, to time.Time) time.Duration {
	var worst time.Duration
	for _, ts := range tl {
		for i := 1; i < len(ts); i++ {
			if ts[i].After(from) && ts[i-1].Before(to) {
				worst = max(worst, ts[i].Sub(ts[i-1]))
			}
		}
	}
	return worst
}

// readTimelines reads the timestamps of the carts group's offers (by
// partition) and the inventory group's results (by the partition of their
// SKU, which the inventory group processed them on).
func readTimelines(ctx context.Context, brokers []string, offersTopic, resultsTopic, prefix string, inventoryPartitions int) (carts, inventory timeline, err error) {
	carts, inventory = timeline{}, timeline{}
	err = readAll(ctx, brokers, offersTopic, func(r *kgo.Record) {
		carts[r.Partition] = append(carts[r.Partition], r.Timestamp)
	})
	if err != nil {
		return nil, nil, err
	}
	// The Kafka-default partitioner (murmur2), as every cartstream
	// producer partitions by key (DESIGN §2.3).
	part := kgo.StickyKeyPartitioner(nil).ForTopic(resultsTopic)
	err = readAll(ctx, brokers, resultsTopic, func(r *kgo.Record) {
		if len(r.Key) < len(prefix) || string(r.Key[:len(prefix)]) != prefix {
			return
		}
		var res schemas.ReservationResult
		if schemas.Unmarshal(r.Value, &res) != nil {
			return // the audit counts undecodable results
		}
		p := int32(part.Partition(&kgo.Record{Key: []byte(res.SKU)}, inventoryPartitions))
		inventory[p] = append(inventory[p], r.Timestamp)
	})
	if err != nil {
		return nil, nil, err
	}
	// Records of one partition are written in order, but a partition's
	// results come from several inventory partitions: sort.
	for _, tl := range []timeline{carts, inventory} {
		for p := range tl {
			slices.SortFunc(tl[p], func(a, b time.Time) int { return a.Compare(b) })
		}
	}
	return carts, inventory, nil
}

// failovers measures every instance fault; brokerGaps the longest pause of
// any carts partition around each broker restart.
func failovers(faults []executed, cartsGroup, inventoryGroup string, carts, inventory timeline) (out []Failover, brokerGaps []time.Duration) {
	var brokerDown [][2]time.Time
	for _, e := range faults {
		if e.Fault.Kind == RestartBroker {
			brokerDown = append(brokerDown, [2]time.Time{e.At, e.Back})
			brokerGaps = append(brokerGaps, carts.gap(nil, e.At))
		}
	}
	for _, e := range faults {
		if e.Fault.Kind == RestartBroker {
			continue
		}
		f := Failover{Fault: e.Fault, Instance: e.Instance, At: e.At, Clean: true}
		var cp, ip []int32
		if e.Owned != nil {
			cp, ip = nonNil(e.Owned[cartsGroup]), nonNil(e.Owned[inventoryGroup])
		}
		f.Carts = carts.gap(cp, e.At)
		f.Inventory = inventory.gap(ip, e.At)
		if !e.Back.IsZero() && e.Fault.Kind == KillInstance {
			f.Rejoin = carts.longestPause(e.Restart, e.Back)
		}
		from, to := e.At.Add(-cleanMargin), e.At.Add(f.Worst()+cleanMargin)
		for _, b := range brokerDown {
			if b[0].Before(to) && (b[1].IsZero() || b[1].After(from)) {
				f.Clean = false
			}
		}
		out = append(out, f)
	}
	return out, brokerGaps
}

// nonNil keeps "owned nothing" (an empty list) apart from "unknown" (nil).
func nonNil(p []int32) []int32 {
	if p == nil {
		return []int32{}
	}
	return p
}
