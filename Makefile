# Quanta: `make run` serves the app on http://localhost:3000; `make test` runs the whole suite.
# Every target sets up what it needs from a fresh clone, idempotently; second runs are fast.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYSTEM ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/venv/bin/uv
BUN := $(TOOLS)/node/bin/bun
UV_VERSION := 0.13.8
BUN_VERSION := 1.4.5
PORT ?= 3000

export REFLEX_DIR := $(TOOLS)/reflex
export REFLEX_BUN_PATH := $(BUN)
export BUN_INSTALL_CACHE_DIR := $(TOOLS)/bun-cache
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export NPM_CONFIG_REGISTRY ?= $(shell npm config get registry 2>/dev/null)
export PATH := $(TOOLS)/node/bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup system python lock tools data run test lint fmt bench clean kafka kafka-jars flink lock-flink

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: system python tools ## Install everything (Debian packages, Python env, bun)

system: ## Debian packages: chromium, postgresql, redis-server (only when missing)
	@scripts/setup-system.sh

python: $(VENV)/.installed ## The app's Python environment (.venv) from requirements.lock

$(UV):
	$(PYTHON_SYSTEM) -m venv $(TOOLS)/venv
	$(TOOLS)/venv/bin/pip install -q uv==$(UV_VERSION)

$(VENV)/.installed: requirements.lock pyproject.toml | $(UV)
	test -x $(PY) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(UV) pip sync -q --compile-bytecode --python $(PY) requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	$(PY) -m quanta.warmup --quiet
	touch $@

lock: | $(UV) ## Re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile -q pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu -o requirements.lock

tools: $(BUN) ## bun (Reflex's frontend package manager) from the npm registry

$(BUN):
	npm install -g --silent --prefix $(TOOLS)/node bun@$(BUN_VERSION)

data: python ## Load the bundled real market data into var/market.duckdb
	$(PY) -m quanta.cli data load

run: setup data ## Serve Quanta on http://localhost:3000 (embedded default)
	$(VENV)/bin/reflex run --env prod --frontend-port $(PORT) --backend-port $(PORT)

lint: python ## ruff (lint + format check), mypy strict on quanta/, import-linter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: python ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: setup kafka-jars flink lint ## Set up, start the real services, run the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

KAFKA_LIBS := $(TOOLS)/kafka/libs

kafka-jars: $(KAFKA_LIBS)/.fetched ## Kafka broker jars from Maven Central into .tools/kafka/libs (needs java, mvn)

$(KAFKA_LIBS)/.fetched: deploy/kafka/pom.xml
	scripts/kafka.sh fetch

kafka: kafka-jars ## Run a development Kafka broker on 127.0.0.1:9092 (data in var/kafka)
	scripts/kafka.sh run

flink: | $(UV) ## PyFlink env (.venv-flink) and the Kafka connector jar in .tools/flink (needs java, mvn)
	UV=$(UV) PYTHON_SYSTEM=$(PYTHON_SYSTEM) scripts/flink-env.sh

lock-flink: | $(UV) ## Re-resolve requirements-flink.lock from requirements-flink.in
	$(UV) pip compile -q requirements-flink.in --generate-hashes --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu -o requirements-flink.lock

BENCH_VENV := .venv-bench

$(BENCH_VENV)/.installed: requirements.lock pyproject.toml | $(UV)
	test -x $(BENCH_VENV)/bin/python || $(PYTHON_SYSTEM) -m venv $(BENCH_VENV)
	$(UV) pip sync -q --python $(BENCH_VENV)/bin/python requirements.lock
	$(UV) pip install -q --python $(BENCH_VENV)/bin/python --no-deps -e .
	$(UV) pip install -q --python $(BENCH_VENV)/bin/python -e '.[bench]'
	$(BENCH_VENV)/bin/python -m quanta.warmup --quiet
	touch $@

bench: setup $(BENCH_VENV)/.installed ## Speed and memory figures as ratios against named peers
	$(BENCH_VENV)/bin/python -m bench $(BENCH)

clean: ## Remove environments, tools, build output, compiled kernels and local data
	rm -rf $(VENV) $(BENCH_VENV) .venv-flink $(TOOLS) .web var .pytest_cache .mypy_cache .ruff_cache
	find quanta -name '*.nbi' -o -name '*.nbc' | xargs -r rm -f
