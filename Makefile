# UPR Tracker: one target per chore. `make demo` runs everything; `make test` tests everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
STACK := $(ROOT)/.stack
KAFKA_LIBS := $(STACK)/kafka/libs
FERRETDB := $(STACK)/bin/ferretdb
# Everything make starts is a local run: dev mode (README "Configuration", UPR_ENV).
export UPR_ENV ?= dev
APT_PACKAGES := chromium fonts-khmeros libreoffice-writer-nogui poppler-utils

.PHONY: help setup setup-python setup-kafka setup-ferretdb setup-system stack-up stack-down stack-status \
        up down status reset test test-fast lint eval demo bench docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: setup-system setup-python setup-kafka setup-ferretdb ## install everything (idempotent)

setup-python: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

setup-kafka: $(KAFKA_LIBS)/.installed
$(KAFKA_LIBS)/.installed: infra/kafka/pom.xml
	cd infra/kafka && mvn -q -B dependency:copy-dependencies -DoutputDirectory=$(KAFKA_LIBS)
	touch $@

setup-ferretdb: $(FERRETDB)
$(FERRETDB): infra/ferretdb/main.go infra/ferretdb/go.mod infra/ferretdb/build.sh infra/ferretdb/ferretdb-v1.24.2.patch
	infra/ferretdb/build.sh $(FERRETDB)

setup-system: ## Debian packages for browser tests and report rendering (needs root)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

stack-up: ## start Kafka (9092) and the MongoDB-wire server (27017)
	scripts/stack.sh up
stack-down: ## stop them
	scripts/stack.sh down
stack-status:
	scripts/stack.sh status

up: setup stack-up ## stack + ingest, tracker, notifier and the UI in the background
	scripts/services.sh up
down: ## stop the services, the UI and the stack
	scripts/services.sh down
	scripts/stack.sh down
status:
	-scripts/stack.sh status
	-scripts/services.sh status
reset: down ## stop everything and empty the databases and topics (installed dependencies kept)
	scripts/stack.sh reset

test: setup ## install, start the stack, run lint and every test, stop the stack
	scripts/test.sh

test-fast: setup-python ## unit tests only, no servers (< 60 s): while you work
	$(VENV)/bin/pytest -p no:cacheprovider -q -m "not integration" tests/unit

lint: setup-python ## ruff (with complexity limits) + mypy + import contracts (domain purity)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

eval: setup-python ## tagging quality on the labelled 1st-cycle sample
	$(PY) scripts/eval_tagger.py

demo: up ## everything + the real sample data + demo logins
	$(PY) scripts/demo.py

bench: setup stack-up ## every benchmark in bench/ -> bench/results.md and bench/results.json
	$(PY) -m bench.run_all

docs: setup-python ## regenerate the AsyncAPI documents and JSON schemas under docs/
	$(PY) scripts/gen_docs.py

clean: down
	rm -rf $(STACK)
