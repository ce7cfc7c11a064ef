#!/bin/sh
# Starts one KRaft node (combined broker + controller) of StatefulSet `kafka`.
#
# The quorum is derived here, at container start, from the pod ordinal (the suffix of the
# StatefulSet pod name) and KAFKA_REPLICAS (ConfigMap platform/ca4-kafka-config), so the same
# pod template serves 1, 2 or 3 brokers. Node N is kafka-N.kafka-svc.<ns>.svc.cluster.local;
# clients use :9092, the controller quorum :9093.
#
# The apache/kafka image turns every KAFKA_* environment variable into a broker property
# (KAFKA_NODE_ID -> node.id) and formats the log dir on first start (idempotent on restart);
# /etc/kafka/docker/run does both, so this script only exports the derived values and execs it.
set -eu

die() { echo "kafka-start: $*" >&2; exit 1; }

ordinal="${HOSTNAME##*-}"
case "$ordinal" in
  '' | *[!0-9]*) die "cannot take the pod ordinal from HOSTNAME=$HOSTNAME (expected kafka-N)" ;;
esac
replicas="${KAFKA_REPLICAS:-}"
case "$replicas" in
  1 | 2 | 3) ;;
  *) die "KAFKA_REPLICAS must be 1..3 (ConfigMap platform/ca4-kafka-config), got '$replicas'" ;;
esac
[ "$ordinal" -lt "$replicas" ] ||
  die "pod $HOSTNAME has ordinal $ordinal but KAFKA_REPLICAS=$replicas: scale StatefulSet kafka and the ConfigMap together"
[ -n "${CLUSTER_ID:-}" ] || die "CLUSTER_ID is not set (ConfigMap platform/ca4-kafka-config key KAFKA_CLUSTER_ID)"

ns="${POD_NAMESPACE:-platform}"
domain="kafka-svc.${ns}.svc.cluster.local"

voters=""
for i in 0 1 2; do
  [ "$i" -lt "$replicas" ] || break
  voters="${voters:+$voters,}${i}@kafka-${i}.${domain}:9093"
done

# Internal topics are replicated as far as the brokers allow; with 3 brokers one may be down
# while acks=all producers still succeed (min ISR 2).
isr=1
[ "$replicas" -lt 3 ] || isr=2

export KAFKA_NODE_ID="$ordinal"
export KAFKA_PROCESS_ROLES="broker,controller"
export KAFKA_CONTROLLER_QUORUM_VOTERS="$voters"
export KAFKA_LISTENERS="PLAINTEXT://:9092,CONTROLLER://:9093"
export KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://${HOSTNAME}.${domain}:9092"
export KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
export KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER"
export KAFKA_INTER_BROKER_LISTENER_NAME="PLAINTEXT"
export KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="$replicas"
export KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="$replicas"
export KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="$isr"
export KAFKA_MIN_INSYNC_REPLICAS="$isr"
# Topics are created by Job kafka-topics with the configured partitions and replication.
export KAFKA_AUTO_CREATE_TOPICS_ENABLE="false"
export KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0"
export KAFKA_LOG_DIRS="${KAFKA_DATA_DIR:-/var/lib/kafka/data}/kraft-logs"
# Not broker properties: keep them out of server.properties.
unset KAFKA_REPLICAS KAFKA_DATA_DIR

echo "kafka-start: node.id=$KAFKA_NODE_ID voters=$KAFKA_CONTROLLER_QUORUM_VOTERS advertised=$KAFKA_ADVERTISED_LISTENERS"
exec /etc/kafka/docker/run
