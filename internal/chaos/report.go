package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report is a run's outcome. The fields of the summary line come first:
// the invariants are zero when cartstream kept them.
type Report struct {
	Mode Mode
	Seed int64
	// Kills, Terms, BrokerRestarts and Pauses count the faults executed.
	Kills, Terms, BrokerRestarts, Pauses int
	// Events are the cart events the broker acknowledged to loadgen.
	Events int64
	// Oversold: units promised on time beyond the stock the database
	// ever had (late_commit lines excepted), summed over SKUs.
	Oversold int64
	// DoubleApplied: command ids answered differently, command ids sent
	// with different contents, cart versions above the events produced,
	// holds no result justifies, and SKUs whose available is not on_hand
	// less the holds that count.
	DoubleApplied int
	// LostEvents: acknowledged cart events missing from their cart's
	// version.
	LostEvents int
	// LeakedHolds: holds that still count once the load stopped and every
	// hold had time to expire.
	LeakedHolds int
	// MaxFailover is the longest Failover.Worst of the instance faults
	// away from broker restarts (kills of starting instances aside).
	MaxFailover time.Duration

	// Carts, Checkouts and Orders of the ledger; Commands answered and
	// Results read; LateCommits lines reported late_commit.
	Carts, Checkouts, Orders, Commands, Results, LateCommits int
	// NoStatus: checkouts that never got a decided status; Uncompleted:
	// orders the database accepted whose checkout did not end completed.
	NoStatus, Uncompleted int
	// StockMismatches: SKUs whose on_hand or version is not the
	// database's at the end.
	StockMismatches int
	// BadOutputs: output records that do not decode or follow their
	// schema.
	BadOutputs int
	// BrokerLost: cart events acknowledged to loadgen but missing from
	// the topic.
	BrokerLost int
	// BadInjected bad records went in; DLQRecords dead letters came out,
	// DLQRepeated of them repeats (redelivery), DLQUnexpected not
	// injected; DLQMissing injected ones never dead-lettered.
	BadInjected, DLQRecords, DLQRepeated, DLQUnexpected, DLQMissing int
	// Failovers of every instance fault; BrokerGaps the longest carts
	// partition pause around each broker restart.
	Failovers  []Failover
	BrokerGaps []time.Duration
	// Stops are how long instances took to exit after SIGTERM (rolling
	// restarts and the final stop); StopErrors the ones that did not exit
	// cleanly; Readies how long restarted instances took to be ready.
	Stops, Readies []time.Duration
	StopErrors     []string
	// Probe is what a storefront asking queries all along saw; MaxOutage
	// the limit on its LongestOutage (0: none).
	Probe     ProbeStats
	MaxOutage time.Duration
	// Load is loadgen's own summary line.
	Load string
	// Problems describe the first violations.
	Problems []string
	// Replay is the command that replays the run; WorkDir where a failed
	// run left its logs and data.
	Replay, WorkDir string
}

// Failed reports whether any invariant was broken.
func (r *Report) Failed() bool {
	return r.Oversold != 0 || r.DoubleApplied != 0 || r.LostEvents != 0 || r.LeakedHolds != 0 ||
		r.NoStatus != 0 || r.Uncompleted != 0 || r.StockMismatches != 0 || r.BadOutputs != 0 || r.BrokerLost != 0 ||
		r.DLQUnexpected != 0 || r.DLQMissing != 0 || r.Probe.NoRetryAfter != 0 || len(r.StopErrors) != 0 ||
		(r.MaxOutage > 0 && r.Probe.LongestOutage > r.MaxOutage)
}

// String is the summary line; a failed run ends with its seed and the
// command that replays it.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kills=%d broker_restarts=%d events=%d oversold=%d double_applied=%d lost_events=%d leaked_holds=%d max_failover_s=%.1f",
		r.Kills, r.BrokerRestarts, r.Events, r.Oversold, r.DoubleApplied, r.LostEvents, r.LeakedHolds, r.MaxFailover.Seconds())
	if r.Terms > 0 {
		fmt.Fprintf(&b, " sigterm_restarts=%d", r.Terms)
	}
	if r.Pauses > 0 {
		fmt.Fprintf(&b, " pauses=%d", r.Pauses)
	}
	fmt.Fprintf(&b, " no_status=%d uncompleted_orders=%d stock_mismatches=%d bad_outputs=%d broker_lost=%d dlq=%d/%d dlq_unexpected=%d",
		r.NoStatus, r.Uncompleted, r.StockMismatches, r.BadOutputs, r.BrokerLost, r.BadInjected-r.DLQMissing, r.BadInjected, r.DLQUnexpected)
	fmt.Fprintf(&b, " queries_answered=%d/%d longest_outage_s=%.1f no_retry_after=%d seed=%d",
		r.Probe.Answered, r.Probe.Queries, r.Probe.LongestOutage.Seconds(), r.Probe.NoRetryAfter, r.Seed)
	if r.Failed() {
		fmt.Fprintf(&b, " FAILED seed=%d", r.Seed)
		if r.Replay != "" {
			fmt.Fprintf(&b, " replay: %s", r.Replay)
		}
	}
	return b.String()
}

// Details describes the run beyond the summary line: the faults and their
// failovers, the probe, and the first problems.
func (r *Report) Details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load: %s\n", r.Load)
	fmt.Fprintf(&b, "audit: carts=%d checkouts=%d orders=%d commands=%d results=%d late_commits=%d dead_letters=%d (repeated %d)\n",
		r.Carts, r.Checkouts, r.Orders, r.Commands, r.Results, r.LateCommits, r.DLQRecords, r.DLQRepeated)
	var clean, all []time.Duration
	for _, f := range r.Failovers {
		note := ""
		switch {
		case f.Fault.Starting:
			note = " (killed while starting: not a failover)"
		case !f.Clean:
			note = " (near a broker restart)"
		}
		fmt.Fprintf(&b, "failover: %s %s: carts %.1fs inventory %.1fs, rejoin pause %.1fs%s\n", f.Fault.Kind, f.Instance, f.Carts.Seconds(), f.Inventory.Seconds(), f.Rejoin.Seconds(), note)
		if f.Fault.Starting {
			continue
		}
		all = append(all, f.Worst())
		if f.Clean {
			clean = append(clean, f.Worst())
		}
	}
	if len(clean) > 0 {
		fmt.Fprintf(&b, "failover_s: n=%d min=%.1f median=%.1f max=%.1f (all %d faults: max %.1f)\n",
			len(clean), quantile(clean, 0).Seconds(), quantile(clean, 0.5).Seconds(), quantile(clean, 1).Seconds(), len(all), quantile(all, 1).Seconds())
	}
	for i, g := range r.BrokerGaps {
		fmt.Fprintf(&b, "broker restart %d: carts paused %.1fs\n", i+1, g.Seconds())
	}
	if len(r.Stops) > 0 {
		fmt.Fprintf(&b, "sigterm_exit_s: n=%d median=%.1f max=%.1f\n", len(r.Stops), quantile(r.Stops, 0.5).Seconds(), quantile(r.Stops, 1).Seconds())
	}
	if len(r.Readies) > 0 {
		fmt.Fprintf(&b, "restart_ready_s: n=%d median=%.1f max=%.1f\n", len(r.Readies), quantile(r.Readies, 0.5).Seconds(), quantile(r.Readies, 1).Seconds())
	}
	fmt.Fprintf(&b, "probe: %s\n", r.Probe)
	for _, e := range r.StopErrors {
		fmt.Fprintf(&b, "stop error: %s\n", e)
	}
	if r.MaxOutage > 0 && r.Probe.LongestOutage > r.MaxOutage {
		fmt.Fprintf(&b, "problem: no instance answered queries for %.1fs (allowed %s)\n", r.Probe.LongestOutage.Seconds(), r.MaxOutage)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	if r.WorkDir != "" {
		fmt.Fprintf(&b, "logs and data: %s\n", r.WorkDir)
	}
	return b.String()
}

// quantile returns the q-quantile (0: min, 1: max) of ds, nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return s[i]
}
