package deploycheck

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"cartstream/topology"
)

// TopicsScriptPath is where the generated script lives, relative to the
// repository root.
const TopicsScriptPath = "deploy/kafka/create-topics.sh"

// SourceOf returns, for the changelog and loop topics of a group that is
// co-partitioned with its single source only (the cdc groups), that source
// topic; "" for every other topic. Such topics must be created with their
// source's partition count, whatever it is (topology.Ensure does the same).
func SourceOf(t *topology.Topology, topic string) string {
	for _, g := range t.Groups {
		if g.CoPartitionSet == "" && len(g.Inputs) == 1 && (g.Table == topic || g.Loop == topic) {
			return g.Inputs[0]
		}
	}
	return ""
}

// TopicsScript renders the POSIX shell script that creates every topic of
// the topology with kafka-topics.sh, as `cartstream run` would create them
// (topology.Ensure): the partition count from $PARTITIONS (a cdc group's
// table and loop get their source's count), compaction, retention and
// timestamp type from topology.Topic.Configs, min.insync.replicas from
// $MIN_INSYNC_REPLICAS. Existing topics are left alone (--if-not-exists),
// so the script can run on every start.
func TopicsScript(t *topology.Topology) []byte {
	var b bytes.Buffer
	b.WriteString(`#!/bin/sh
# Generated from topology/ by ` + "`go run ./deploy/deploycheck/gentopics`" + ` (make deploy-gen);
# do not edit. deploy/deploycheck fails when it no longer matches the topology.
#
# Creates every topic of cartstream's topology that does not exist yet, with
# the settings ` + "`cartstream run`" + ` would give it (topology.Ensure): partitions,
# compaction, retention, timestamp type, min.insync.replicas. A cdc group's
# table and loop topics get the partition count of the group's source topic,
# whatever it is. Existing topics are never changed: ` + "`cartstream run`" + ` checks
# co-partitioning at startup and names any topic whose count disagrees.
#
# Environment (defaults for the compose stack in deploy/):
#   BOOTSTRAP_SERVER     kafka:9092
#   PARTITIONS           8
#   REPLICATION_FACTOR   1    (a production cluster: 3)
#   MIN_INSYNC_REPLICAS  1    (a production cluster: 2)
#   KAFKA_BIN            /opt/kafka/bin
#   COMMAND_CONFIG       a client properties file for TLS/SASL (optional)
set -eu

: "${BOOTSTRAP_SERVER:=kafka:9092}"
: "${PARTITIONS:=8}"
: "${REPLICATION_FACTOR:=1}"
: "${MIN_INSYNC_REPLICAS:=1}"
: "${KAFKA_BIN:=/opt/kafka/bin}"
: "${COMMAND_CONFIG:=}"

topics() {
  if [ -n "$COMMAND_CONFIG" ]; then
    "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVER" --command-config "$COMMAND_CONFIG" "$@"
  else
    "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP_SERVER" "$@"
  fi
}

# partitions_of TOPIC prints the partition count of an existing topic.
partitions_of() {
  topics --describe --topic "$1" | sed -n 's/.*PartitionCount:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# create TOPIC PARTITIONS [--config KEY=VALUE]...
create() {
  name=$1
  parts=$2
  shift 2
  topics --create --if-not-exists --topic "$name" --partitions "$parts" \
    --replication-factor "$REPLICATION_FACTOR" --config "min.insync.replicas=$MIN_INSYNC_REPLICAS" "$@"
  echo "topic $name: $(partitions_of "$name") partitions"
}

`)
	// Sources first: the cdc tables and loops read their counts.
	var first, rest []topology.Topic
	for _, tp := range t.Topics {
		if SourceOf(t, tp.Name) == "" {
			first = append(first, tp)
		} else {
			rest = append(rest, tp)
		}
	}
	for _, tp := range append(first, rest...) {
		parts := `"$PARTITIONS"`
		if src := SourceOf(t, tp.Name); src != "" {
			parts = fmt.Sprintf(`"$(partitions_of %s)"`, src)
		}
		line := []string{"create", tp.Name, parts}
		cfg := tp.Configs()
		keys := make([]string, 0, len(cfg))
		for k := range cfg {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			line = append(line, "--config", k+"="+cfg[k])
		}
		b.WriteString(strings.Join(line, " "))
		b.WriteByte('\n')
	}
	return b.Bytes()
}
