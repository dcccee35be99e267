#!/usr/bin/env bash
# Installs the Debian packages the platform needs locally, only when missing:
# redis-server, PostgreSQL (server binaries for throw-away test clusters), kcat and wrk (the
# HTTP load generator of bench/gateway_reads.py), Node.js with npm (the console's and /docs' browser
# assets, pinned in infra/web-assets) and chromium (the console's browser tests drive Debian's
# build through Playwright, with fonts-noto-cjk; no browser is downloaded), Prometheus (with
# promtool) and its Redis exporter for the operator's view of `make up` (docs/operations.md).
# Java 17+ and Maven (for the Kafka jars) and Python 3.11+ are prerequisites.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
test -x /usr/bin/chromium || missing+=(chromium)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-redis-exporter >/dev/null 2>&1 || missing+=(prometheus-redis-exporter)
# Japanese glyphs for chromium (the browser tests' screenshots of Japanese pages).
compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null || missing+=(fonts-noto-cjk)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
# Debian's prometheus packages would start their own daemons where an init system runs: the
# devstack starts them itself, on its own ports and data, so the packaged ones are stopped.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for unit in prometheus prometheus-redis-exporter; do
  if [[ " ${missing[*]} " == *" $unit "* ]] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done
