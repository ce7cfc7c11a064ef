#!/bin/sh
# Job kafka-topics: waits until every broker answers, then creates the input topic and its
# dead-letter topic. Idempotent (--if-not-exists): re-running it changes nothing, and a topic
# that already has fewer partitions than KAFKA_PARTITIONS is grown (partitions never shrink).
# Values come from ConfigMap platform/ca4-kafka-config.
set -eu

die() { echo "kafka-topics: $*" >&2; exit 1; }
bin=/opt/kafka/bin

: "${KAFKA_TOPIC:?}" "${KAFKA_DLQ_TOPIC:?}" "${KAFKA_PARTITIONS:?}" "${KAFKA_REPLICATION_FACTOR:?}" "${KAFKA_REPLICAS:?}"
case "$KAFKA_REPLICAS" in 1 | 2 | 3) ;; *) die "KAFKA_REPLICAS must be 1..3, got '$KAFKA_REPLICAS'" ;; esac
[ "$KAFKA_REPLICATION_FACTOR" -ge 1 ] && [ "$KAFKA_REPLICATION_FACTOR" -le "$KAFKA_REPLICAS" ] ||
  die "KAFKA_REPLICATION_FACTOR must be 1..KAFKA_REPLICAS ($KAFKA_REPLICAS), got $KAFKA_REPLICATION_FACTOR"
[ "$KAFKA_TOPIC" != "$KAFKA_DLQ_TOPIC" ] || die "KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC"

ns="${POD_NAMESPACE:-platform}"
domain="kafka-svc.${ns}.svc.cluster.local"
bootstrap=""
for i in 0 1 2; do
  [ "$i" -lt "$KAFKA_REPLICAS" ] || break
  bootstrap="${bootstrap:+$bootstrap,}kafka-${i}.${domain}:9092"
done

# Wait for the brokers: each one must answer an ApiVersions request. 60 x (<=20 s + 5 s).
for i in 0 1 2; do
  [ "$i" -lt "$KAFKA_REPLICAS" ] || break
  broker="kafka-${i}.${domain}:9092"
  n=0
  until timeout 20 "$bin/kafka-broker-api-versions.sh" --bootstrap-server "$broker" >/dev/null 2>&1; do
    n=$((n + 1))
    [ "$n" -lt 60 ] || die "broker $broker did not answer; the Job will retry"
    echo "kafka-topics: waiting for $broker ($n)"
    sleep 5
  done
  echo "kafka-topics: $broker is up"
done

for topic in "$KAFKA_TOPIC" "$KAFKA_DLQ_TOPIC"; do
  "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic" --partitions "$KAFKA_PARTITIONS" \
    --replication-factor "$KAFKA_REPLICATION_FACTOR"
  have=$("$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --describe --topic "$topic" |
    grep -c 'Partition: ' || true)
  if [ "$have" -lt "$KAFKA_PARTITIONS" ]; then
    echo "kafka-topics: $topic has $have partitions, growing to $KAFKA_PARTITIONS"
    "$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --alter --topic "$topic" \
      --partitions "$KAFKA_PARTITIONS"
  fi
done
"$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --describe --topic "$KAFKA_TOPIC"
"$bin/kafka-topics.sh" --bootstrap-server "$bootstrap" --describe --topic "$KAFKA_DLQ_TOPIC"
echo "kafka-topics: done"
