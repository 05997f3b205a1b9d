# The README's two commands: `make up` runs the platform, `make test` runs the tests.
# Both create the virtual environment first (Python packages only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test lint unit e2e venv clean services services-down services-status bench web

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

up: venv web
	$(BIN)/mybroker up

# The trading screen (web/), served by the router at /, and GraphiQL (web/playground/),
# served at GET /graphql: built into web/dist by launch/web_build.py, the same build and
# freshness check the browser tests use (so `make test` after `make up` builds nothing).
# Without npm, or when the build fails (in one sentence), the platform still runs and /
# and /graphql say what they need.
web: venv
	@$(BIN)/python -m launch.web_build || true

# The lint and the type check run once per CI run: on the embedded pass, not again on
# MYBROKER_INFRA=real (.ci/run), which tests the same code against other engines.
LINT := $(if $(filter real,$(MYBROKER_INFRA)),,lint)

test: venv $(LINT)
	$(BIN)/pytest -q

# ruff and mypy, configured in pyproject.toml; either failing fails the build.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q tests/unit

e2e: venv
	$(BIN)/pytest -q tests/e2e tests/contract

# The router beside Hive Gateway and Apollo Gateway, then subscriptions (BENCHMARKS.md).
# Needs wrk and npm; the gateways are installed by npm ci from bench/gateways/.
bench: venv
	$(BIN)/mybroker bench router
	$(BIN)/mybroker bench subscriptions

clean:
	rm -rf .mybroker .pytest_cache .hypothesis .mypy_cache .ruff_cache

# Local engines for MYBROKER_INFRA=real (Kafka, RabbitMQ, MariaDB, PostgreSQL, MongoDB
# wire-compatible SecantusDB, Redis) on 127.0.0.1; installs what is missing first.
services:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

services-status:
	bash scripts/services.sh status
