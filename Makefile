# Komagane Lifelong-Active Town platform — every command sets up what it needs first.
#   make up     the whole suite locally on SQLite with demo data (Ctrl-C stops everything)
#   make test   lint, type checks, contract checks and the full test suite (real Kafka, Redis, PostgreSQL)
#   make token ROLE=<role> [SUB=<person_id>] [HUB=<hub_id>]   a development bearer token for the local gateway

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYPROJECTS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml infra/devstack/pyproject.toml tools/*/pyproject.toml)

.PHONY: deps system-deps kafka-jars zipkin-jar web-assets deploy-tools venv up test pytest lint schemas bench clean help token

help:
	@sed -n 's/^#   //p' Makefile

deps: system-deps kafka-jars zipkin-jar venv web-assets deploy-tools

system-deps:
	@bash infra/scripts/install-system-deps.sh

kafka-jars:
	@bash infra/kafka/kafka.sh fetch

# helm, CloudNativePG's CRDs and Strimzi's CRD validators at pinned versions, for rendering and
# validating the Kubernetes chart offline (tests/deploy); each installed once.
deploy-tools:
	@bash deploy/scripts/install-tools.sh
# The trace store of `make up` (docs/operations.md): Zipkin's executable jar from Maven Central,
# pinned and checked against infra/zipkin/zipkin-server.sha256, into infra/zipkin/lib (git-ignored).
zipkin-jar:
	@bash infra/zipkin/zipkin.sh fetch

venv: $(STAMP)

# Browser assets served by the console and the gateway's /docs (no CDN), and axe-core for the
# browser tests: from npm at the versions package-lock.json pins (install scripts off).
WEB_ASSETS := infra/web-assets
web-assets: $(WEB_ASSETS)/node_modules/.installed

$(WEB_ASSETS)/node_modules/.installed: $(WEB_ASSETS)/package.json $(WEB_ASSETS)/package-lock.json
	@npm ci --prefix $(WEB_ASSETS) --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMP): requirements-dev.txt constraints.txt $(PYPROJECTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -r requirements-dev.txt
	@touch $(STAMP)

up: deps
	@$(PY) -m komagane_devstack up

test: deps lint pytest

# Signed with the gateway's development key in $(KOMAGANE_DATA_DIR)/gateway (created on first use); roles
# and what each may call: docs/access-matrix.md. Prints the token alone on stdout.
token: venv
	@DATA_DIR="$${KOMAGANE_DATA_DIR:-.data}/gateway" $(PY) -m komagane_gateway.tokens --role "$(ROLE)" $(if $(SUB),--sub "$(SUB)") $(if $(HUB),--hub "$(HUB)")

pytest: deps
	@$(VENV)/bin/pytest

lint: venv
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@$(PY) -m komagane_contracts.schemas check

schemas: venv
	@$(PY) -m komagane_contracts.schemas write

bench: deps
	@$(PY) -m bench.startup
	@$(PY) -m bench.jobs_matching
	@$(PY) -m bench.health_ingest
	@$(PY) -m bench.gateway_reads
	@$(PY) -m bench.gateway_writes
	@$(PY) -m bench.e2e $(E2E_ARGS)

clean:
	rm -rf .data
