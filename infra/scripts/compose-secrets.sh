#!/usr/bin/env bash
# Makes every secret file docker-compose.yml names under .secrets/ that does not exist yet: a
# random password each (mode 600, never in git). Run once before `docker compose up`; existing
# files are kept, since Kafka's logins were created with them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$ROOT/.secrets"
chmod 700 "$ROOT/.secrets"
grep -oE 'file: \./\.secrets/[A-Za-z0-9._-]+' "$ROOT/docker-compose.yml" | sed 's|file: \./||' | sort -u | while read -r path; do
  if [ ! -s "$ROOT/$path" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$ROOT/$path")
    echo "made $path"
  fi
done
