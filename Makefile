# The README's two commands: `make up` runs the platform, `make test` runs the tests.
# Both create the virtual environment first (Python packages only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test unit e2e venv clean services services-down services-status

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

up: venv
	$(BIN)/mybroker up

test: venv
	$(BIN)/pytest -q

unit: venv
	$(BIN)/pytest -q tests/unit

e2e: venv
	$(BIN)/pytest -q tests/e2e tests/contract

clean:
	rm -rf .mybroker .pytest_cache .hypothesis

# Local engines for MYBROKER_INFRA=real (Kafka, RabbitMQ, MariaDB, PostgreSQL, MongoDB
# wire-compatible SecantusDB, Redis) on 127.0.0.1; installs what is missing first.
services:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

services-status:
	bash scripts/services.sh status
