// Package bench is the harness behind `make bench` and `make bench-quick`
// (the hidden command `cartstream bench`): it measures cartstream end to
// end, side by side in one run, on the machine it runs on, and reports the
// figures of DESIGN §11.
//
// # Processes
//
// Every measured part runs as its own process, started from the harness's
// own binary (the harness is `cartstream bench`): the broker (`cartstream
// broker`, a durable kfake over TCP), each cartstream instance (`cartstream
// run --brokers`), and the goka baseline (`cartstream bench
// baseline-worker`). So the RSS and CPU read from /proc are those of the
// process measured, and the broker's work is never counted as
// cartstream's. Load is produced and outputs are consumed with franz-go in
// the harness's process, every client built through kafkasec.
//
// # Figures
//
// Each figure is printed as a name=value line on stderr as soon as it is
// measured; the last line on stdout is one JSON object with every figure
// (Results.JSON). A figure that could not be measured is left out of the
// JSON and its error reported; the run then fails. Nothing is clamped: an
// offered load the pipeline cannot carry is reported with the load it did
// carry and the latency it really had.
//
// The files each do one job: sizes.go (what a run measures), stats.go
// (percentiles), results.go (the report), procfs.go and promtext.go
// (reading a process's /proc and /metrics), svg.go and plots.go (the
// plots), procs.go and stack.go (processes), kafka.go, events.go,
// catalog.go and offers.go (records in and out), and one file per
// measurement.
//
// The package holds no package-level mutable state.
package bench
