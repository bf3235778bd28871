// Package deploycheck keeps the deployment files in deploy/ and the root
// Dockerfile consistent with the code, and generates the part of them that
// the code already knows (the topic-creation script, from topology/).
//
// Nothing here runs a container: what can only run under Docker or
// Kubernetes (images, Kafka Connect, Grafana) is checked for consistency
// instead. The tests parse every YAML and JSON file; check every cartstream
// flag and CARTSTREAM_* variable against the real flag set of `cartstream
// run` (config.RegisterRun) or, for other commands, docs/configuration.md
// (itself checked against the CLI by cmd/cartstream); check topic names,
// partition counts and compaction against topology.New; derive the topics
// the Debezium connector writes from its settings; find every metric the
// Grafana dashboard queries in the /metrics of a real in-process instance;
// and compare the Dockerfile's Go version with go.mod's.
//
// The package must never be imported by cartstream itself: it exists for
// tests and for `go run ./deploy/deploycheck/gentopics`.
package deploycheck
