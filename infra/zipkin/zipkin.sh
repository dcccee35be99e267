#!/usr/bin/env bash
# Zipkin, the trace store with its web UI, from Maven Central's executable jar (no container).
#
#   zipkin.sh fetch     download the pinned jar into infra/zipkin/lib and check its SHA-256 (idempotent)
#   zipkin.sh start     run it in the foreground: in-memory storage, UI and API on ZIPKIN_PORT
#
# Environment: ZIPKIN_PORT=9411 ZIPKIN_HEAP=256m ZIPKIN_MAX_SPANS=200000
# The same server runs in docker-compose.observability.yml (image pinned in .env).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="3.5.1"
# sha256 of io.zipkin:zipkin-server:3.5.1:jar:exec, as first fetched from Maven Central.
SHA256="$(cat "$HERE/zipkin-server.sha256")"
JAR="$HERE/lib/zipkin-server-${VERSION}-exec.jar"

fetch() {
  if [ -f "$JAR" ] && echo "$SHA256  $JAR" | sha256sum -c --quiet - 2>/dev/null; then return 0; fi
  mkdir -p "$HERE/lib"
  # --strict-checksums: Maven refuses a download whose repository checksum does not match.
  mvn -q -B -C dependency:copy -Dartifact="io.zipkin:zipkin-server:${VERSION}:jar:exec" -DoutputDirectory="$HERE/lib"
  echo "$SHA256  $JAR" | sha256sum -c --quiet - || { echo "zipkin-server jar checksum mismatch" >&2; rm -f "$JAR"; exit 1; }
}

start() {
  fetch
  export QUERY_PORT="${ZIPKIN_PORT:-9411}" STORAGE_TYPE=mem MEM_MAX_SPANS="${ZIPKIN_MAX_SPANS:-200000}"
  # Only on the loopback interface; no self-tracing; a small heap: the store keeps spans only.
  exec java -Xms64m -Xmx"${ZIPKIN_HEAP:-256m}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Darmeria.ports[0].ip=127.0.0.1 -Darmeria.ports[0].port="$QUERY_PORT" -Darmeria.ports[0].protocols=http \
    -jar "$JAR" --logging.level.root=WARN
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  *) echo "usage: $0 fetch|start" >&2; exit 2 ;;
esac
