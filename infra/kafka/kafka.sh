#!/usr/bin/env bash
# Single-node KRaft broker from the Maven Central jars, for development and tests.
#
#   kafka.sh fetch            download the jars into infra/kafka/libs (idempotent)
#   kafka.sh format           write server.properties and format storage (once per data dir)
#   kafka.sh start            format if needed, then run the broker in the foreground
#
# Environment (safe local defaults):
#   KAFKA_PORT=9092 KAFKA_CONTROLLER_PORT=9093 KAFKA_DATA_DIR=.data/kafka KAFKA_HEAP=1g
#   KAFKA_ADMIN_PASSWORD (required for format/start; komagane_devstack generates one per data dir)
#
# Security is always on: clients authenticate with SASL/SCRAM-SHA-512, the KRaft standard
# authorizer refuses anything no ACL allows, and the only super user is `admin` (the broker
# itself and operators). SCRAM users live in the metadata log, so `admin` is added at format
# time; the controller listener uses SASL/PLAIN because SCRAM cannot authenticate the quorum.
# server.properties holds the admin secret: it is written into the data dir, mode 600.
# Readiness is not decided here: callers wait for an admin metadata call to succeed
# (see komagane_devstack), because an open port does not mean a usable broker.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIBS="$HERE/libs"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
DATA_DIR="${KAFKA_DATA_DIR:-$HERE/../../.data/kafka}"
HEAP="${KAFKA_HEAP:-1g}"
CLUSTER_ID="${KAFKA_CLUSTER_ID:-komagane-local-kraft01}"

java_cp() { echo "$LIBS/*"; }

fetch() {
  # The marker holds the POM's checksum, so a changed POM (a new jar) fetches again.
  local want; want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [ -f "$LIBS/.complete" ] && [ "$(cat "$LIBS/.complete")" = "$want" ]; then return 0; fi
  (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime)
  echo "$want" > "$LIBS/.complete"
}

admin_password() {
  if [ -z "${KAFKA_ADMIN_PASSWORD:-}" ]; then
    echo "KAFKA_ADMIN_PASSWORD is not set (komagane_devstack sets it)" >&2; exit 2
  fi
  echo "$KAFKA_ADMIN_PASSWORD"
}

write_config() {
  local password
  password="$(admin_password)"
  mkdir -p "$DATA_DIR/logs"
  umask 077
  cat > "$DATA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}
listeners=CLIENT://127.0.0.1:${PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}
advertised.listeners=CLIENT://127.0.0.1:${PORT}
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${password}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${password}" user_admin="${password}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
log.dirs=${DATA_DIR}/logs
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.enable=true
log.cleaner.dedupe.buffer.size=8388608
PROPS
}

format() {
  fetch
  write_config
  if [ ! -f "$DATA_DIR/logs/meta.properties" ]; then
    java -cp "$(java_cp)" -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
      kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$DATA_DIR/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$(admin_password)]" >/dev/null
  fi
}

start() {
  format
  exec java -Xms256m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
    -cp "$(java_cp)" kafka.Kafka "$DATA_DIR/server.properties"
}

case "${1:-}" in
  fetch) fetch ;;
  format) format ;;
  start) start ;;
  *) echo "usage: $0 fetch|format|start" >&2; exit 2 ;;
esac
