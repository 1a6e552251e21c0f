# Party Group Governance Suite — developer entry points (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv run test test-unit test-integration test-e2e definitions clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "pip==25.3"
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $@

## make run: every service as its own process (honcho), SQLite under ./data,
## RabbitMQ from AMQP_URI (default localhost). Seeds the demo organization
## on an empty data folder.
run: venv
	$(BIN)/python -m shared.runner
	DEMO_SEED=$${DEMO_SEED:-1} $(BIN)/honcho -f deploy/Procfile -d $(CURDIR) start

## make test: the whole suite (unit, integration, e2e, browser).
test: venv
	$(BIN)/python -m pytest

test-unit: venv
	$(BIN)/python -m pytest tests/unit

test-integration: venv
	$(BIN)/python -m pytest tests/integration

test-e2e: venv
	$(BIN)/python -m pytest tests/e2e

## regenerate the RabbitMQ definitions loaded by deploy/ from shared/topology.py
definitions: venv
	$(BIN)/python -m shared.topology > deploy/rabbitmq/definitions.json

clean:
	rm -rf $(VENV) data .pytest_cache
