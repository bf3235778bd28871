#!/bin/sh
# Generated from topology/ by `go run ./deploy/deploycheck/gentopics` (make deploy-gen);
# do not edit. deploy/deploycheck fails when it no longer matches the topology.
#
# Creates every topic of cartstream's topology that does not exist yet, with
# the settings `cartstream run` would give it (topology.Ensure): partitions,
# compaction, retention, timestamp type, min.insync.replicas. A cdc group's
# table and loop topics get the partition count of the group's source topic,
# whatever it is. Existing topics are never changed: `cartstream run` checks
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

create shop.public.products "$PARTITIONS"
create shop.public.promotions "$PARTITIONS"
create shop.public.inventory "$PARTITIONS"
create outbox.event.order "$PARTITIONS"
create cart-events "$PARTITIONS" --config message.timestamp.type=LogAppendTime --config retention.ms=604800000
create cartstream.products "$PARTITIONS" --config cleanup.policy=compact
create cartstream.promotions "$PARTITIONS" --config cleanup.policy=compact
create cartstream.inventory-changes "$PARTITIONS" --config retention.ms=604800000
create cartstream.order-lines "$PARTITIONS" --config retention.ms=604800000
create cartstream.reservations "$PARTITIONS" --config retention.ms=604800000
create cartstream.reservation-results "$PARTITIONS" --config retention.ms=604800000
create cartstream.offers "$PARTITIONS" --config retention.ms=604800000
create cartstream.checkouts "$PARTITIONS" --config retention.ms=604800000
create cartstream.dlq "$PARTITIONS" --config retention.ms=1209600000
create cartstream.dlq-redrives "$PARTITIONS" --config cleanup.policy=compact
create cartstream.carts-ticks "$PARTITIONS" --config retention.ms=604800000
create cartstream.inventory-ticks "$PARTITIONS" --config retention.ms=604800000
create cartstream.resets "$PARTITIONS" --config cleanup.policy=compact
create cartstream-carts-table "$PARTITIONS" --config cleanup.policy=compact
create cartstream-carts-loop "$PARTITIONS" --config retention.ms=604800000
create cartstream-inventory-table "$PARTITIONS" --config cleanup.policy=compact
create cartstream-inventory-loop "$PARTITIONS" --config retention.ms=604800000
create cartstream-cdc-products-table "$(partitions_of shop.public.products)" --config cleanup.policy=compact
create cartstream-cdc-products-loop "$(partitions_of shop.public.products)" --config retention.ms=604800000
create cartstream-cdc-promotions-table "$(partitions_of shop.public.promotions)" --config cleanup.policy=compact
create cartstream-cdc-promotions-loop "$(partitions_of shop.public.promotions)" --config retention.ms=604800000
create cartstream-cdc-inventory-table "$(partitions_of shop.public.inventory)" --config cleanup.policy=compact
create cartstream-cdc-inventory-loop "$(partitions_of shop.public.inventory)" --config retention.ms=604800000
create cartstream-cdc-outbox-table "$(partitions_of outbox.event.order)" --config cleanup.policy=compact
create cartstream-cdc-outbox-loop "$(partitions_of outbox.event.order)" --config retention.ms=604800000
