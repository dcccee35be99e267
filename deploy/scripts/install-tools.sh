#!/usr/bin/env bash
# Installs, once, the pinned tools that render and validate the Helm chart without a cluster
# (tests/deploy), at the versions of deploy/tools.env:
#   - helm, built from the Go module proxy (helm.sh/helm/v4) into .tools/helm-<version>/helm;
#   - CloudNativePG's CRDs, from its Go module (config/crd/bases) into .tools/crds/cloudnative-pg-<version>/;
#   - Strimzi 0.49.0's CRD schemas as validators, from npm at the version package-lock.json pins.
# The Kubernetes JSON schemas come with the venv (kubernetes-validate, constraints.txt).
# Each step leaves a marker and is skipped when its marker is there; Go and npm are prerequisites.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../tools.env
source "$ROOT/deploy/tools.env"
TOOLS="$ROOT/.tools"

helm_dir="$TOOLS/helm-$HELM_VERSION"
if [ ! -f "$helm_dir/.installed" ]; then
  command -v go >/dev/null || { echo "go is needed to build helm (Go 1.24+)" >&2; exit 1; }
  echo "building helm $HELM_VERSION (a few minutes, once)"
  mkdir -p "$helm_dir"
  (cd "$TOOLS" && GOBIN="$helm_dir" GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION")
  "$helm_dir/helm" version >/dev/null
  touch "$helm_dir/.installed"
fi

cnpg_dir="$TOOLS/crds/cloudnative-pg-$CNPG_VERSION"
if [ ! -f "$cnpg_dir/.installed" ]; then
  command -v go >/dev/null || { echo "go is needed to fetch CloudNativePG's CRDs" >&2; exit 1; }
  module_dir="$(cd "$TOOLS" && GOFLAGS=-mod=mod go mod download -json "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  mkdir -p "$cnpg_dir"
  cp "$module_dir"/config/crd/bases/postgresql.cnpg.io_*.yaml "$cnpg_dir/"
  chmod u+w "$cnpg_dir"/*.yaml
  touch "$cnpg_dir/.installed"
fi

schemas="$ROOT/deploy/schemas"
if [ ! -f "$schemas/node_modules/.installed" ] || [ "$schemas/package-lock.json" -nt "$schemas/node_modules/.installed" ]; then
  npm ci --prefix "$schemas" --ignore-scripts --no-audit --no-fund --loglevel=error
  touch "$schemas/node_modules/.installed"
fi
