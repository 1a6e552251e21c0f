# Party Group Governance Suite — developer entry points (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv run test test-unit test-integration test-e2e test-browser bench chaos compose-test definitions clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "pip==25.3"
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $@

## make run: every service as its own process (deploy/Procfile), SQLite under ./data,
## RabbitMQ from AMQP_URI (default localhost). Seeds the demo organization
## on an empty data folder. A service that dies is started again (the log says so);
## the others keep running. Ctrl-C stops them all.
run: venv
	DEMO_SEED=$${DEMO_SEED:-1} $(BIN)/python -m shared.runner supervise deploy/Procfile

## make test: the whole suite (unit, integration, e2e, then browser).
## The browser tests run in a process of their own: Playwright's synchronous API keeps an
## asyncio loop alive in the test process, which other asyncio users (the SMTP test server)
## cannot share.
test: venv
	$(BIN)/python -m pytest --ignore=tests/browser --durations=15
	$(BIN)/python -m pytest tests/browser

test-unit: venv
	$(BIN)/python -m pytest tests/unit

test-integration: venv
	$(BIN)/python -m pytest tests/integration

test-e2e: venv
	$(BIN)/python -m pytest tests/e2e

test-browser: venv
	$(BIN)/python -m pytest tests/browser

## make bench: every benchmark, then a summary (RabbitMQ with management, and PostgreSQL);
## BENCH_ARGS=--quick for a smoke run, BENCH_ARGS=--full adds the city-scale lifetime query
bench: venv
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

## make chaos: crashes, broker restarts, duplicates, poison, bad input and security checks on a
## RabbitMQ node and databases of its own, then the figures (docs/reliability.md); not part of
## make test. CHAOS_ARGS=--quick for a smoke run, CHAOS_ARGS=--write-doc records the figures
chaos: venv
	$(BIN)/python -m chaos.run $(CHAOS_ARGS)

## make compose-test: deploy/compose.yaml built and run for real (not part of make test):
## starts a Docker engine if none answers, local stand-ins where the images cannot be pulled,
## the six images, up, healthchecks, the README walk-through, voting x3, a killed container,
## teardown, image sizes (docs/operations.md, "Compose test")
compose-test: venv
	$(BIN)/python tools/compose_test.py $(COMPOSE_TEST_ARGS)

## regenerate the RabbitMQ definitions loaded by deploy/ from shared/topology.py
definitions: venv
	$(BIN)/python -m shared.topology > deploy/rabbitmq/definitions.json

clean:
	rm -rf $(VENV) data .pytest_cache
