#!/usr/bin/env bash
# A KRaft node (broker and controller in one process) from the Maven Central jars, for
# development and tests: one alone (`make up`), or one of a cluster of three.
#
#   kafka.sh fetch            download the jars into infra/kafka/libs (idempotent)
#   kafka.sh config           write server.properties (and the operator's admin.properties)
#   kafka.sh format           write server.properties and format storage (once per data dir)
#   kafka.sh start            format if needed, then run the broker in the foreground
#
# Environment (safe local defaults):
#   KAFKA_PORT=9092 KAFKA_CONTROLLER_PORT=9093 KAFKA_DATA_DIR=.data/kafka KAFKA_HEAP=1g
#   KAFKA_ADMIN_PASSWORD (required for format/start; komagane_devstack generates one per data dir)
#   A node of a cluster: KAFKA_NODE_ID=1..n, KAFKA_VOTERS=1@127.0.0.1:9093,2@…,3@… (every
#   node's controller), KAFKA_REPLICATION=3 (copies of Kafka's own topics; the min ISR is 2
#   from three copies), and the same KAFKA_CLUSTER_ID and admin password on every node.
#   In a container (docker-compose.yml): KAFKA_LIBS=/opt/kafka/libs (the image's jars; nothing
#   is fetched), KAFKA_BIND_HOST=0.0.0.0, KAFKA_ADVERTISED_HOST=kafka, KAFKA_ADMIN_PASSWORD_FILE
#   (a secret file), and KAFKA_PARTNER_PORT / KAFKA_PARTNER_HOST for the listener partners use.
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
LIBS="${KAFKA_LIBS:-$HERE/libs}"
BIND_HOST="${KAFKA_BIND_HOST:-127.0.0.1}"
ADVERTISED_HOST="${KAFKA_ADVERTISED_HOST:-127.0.0.1}"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
DATA_DIR="${KAFKA_DATA_DIR:-$HERE/../../.data/kafka}"
HEAP="${KAFKA_HEAP:-1g}"
CLUSTER_ID="${KAFKA_CLUSTER_ID:-komagane-local-kraft01}"
NODE_ID="${KAFKA_NODE_ID:-1}"
VOTERS="${KAFKA_VOTERS:-${NODE_ID}@127.0.0.1:${CONTROLLER_PORT}}"
REPLICATION="${KAFKA_REPLICATION:-1}"
if [ "$REPLICATION" -ge 3 ]; then MIN_ISR=2; else MIN_ISR=1; fi

java_cp() { echo "$LIBS/*"; }

fetch() {
  if [ "$LIBS" != "$HERE/libs" ]; then return 0; fi  # jars given (a Kafka image's own)
  # The marker holds the POM's checksum, so a changed POM (a new jar) fetches again.
  local want; want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [ -f "$LIBS/.complete" ] && [ "$(cat "$LIBS/.complete")" = "$want" ]; then return 0; fi
  (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime)
  echo "$want" > "$LIBS/.complete"
}

admin_password() {
  if [ -z "${KAFKA_ADMIN_PASSWORD:-}" ] && [ -n "${KAFKA_ADMIN_PASSWORD_FILE:-}" ]; then
    KAFKA_ADMIN_PASSWORD="$(tr -d '\n' < "$KAFKA_ADMIN_PASSWORD_FILE")"
  fi
  if [ -z "${KAFKA_ADMIN_PASSWORD:-}" ]; then
    echo "KAFKA_ADMIN_PASSWORD is not set (komagane_devstack sets it)" >&2; exit 2
  fi
  echo "$KAFKA_ADMIN_PASSWORD"
}

write_config() {
  local password listeners advertised protocols
  password="$(admin_password)"
  listeners="CLIENT://${BIND_HOST}:${PORT},CONTROLLER://${BIND_HOST}:${CONTROLLER_PORT}"
  advertised="CLIENT://${ADVERTISED_HOST}:${PORT}"
  protocols="CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
  if [ -n "${KAFKA_PARTNER_PORT:-}" ]; then
    # Partners reach this listener only (network policy); their ACLs allow partner.<id>.* alone.
    listeners="$listeners,PARTNER://${BIND_HOST}:${KAFKA_PARTNER_PORT}"
    advertised="$advertised,PARTNER://${KAFKA_PARTNER_HOST:-$ADVERTISED_HOST}:${KAFKA_PARTNER_PORT}"
    protocols="$protocols,PARTNER:SASL_PLAINTEXT"
  fi
  mkdir -p "$DATA_DIR/logs"
  umask 077
  # The operator's login for Kafka's own tools (--command-config), e.g. a health check.
  cat > "$DATA_DIR/admin.properties" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${password}";
PROPS
  cat > "$DATA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=${NODE_ID}
controller.quorum.voters=${VOTERS}
listeners=${listeners}
advertised.listeners=${advertised}
listener.security.protocol.map=${protocols}
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
default.replication.factor=${REPLICATION}
min.insync.replicas=${MIN_ISR}
offsets.topic.replication.factor=${REPLICATION}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${REPLICATION}
transaction.state.log.min.isr=${MIN_ISR}
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
  config) write_config ;;
  format) format ;;
  start) start ;;
  *) echo "usage: $0 fetch|config|format|start" >&2; exit 2 ;;
esac
