# The README's two commands: `make up` runs the platform, `make test` runs the tests.
# Both create the virtual environment first (Python packages only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test lint unit e2e venv native clean services services-down services-status bench web

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

up: venv native web
	$(BIN)/mybroker up

# b3-sim's order book compiled with mypyc (mypy, in the test extra, ships it): rebuilt
# whenever b3-sim/b3sim/book.py changes. Optional: without a C compiler, or when the
# compile fails or runs over its timeout, build_native.py says so and the book runs as
# plain Python (b3sim/__init__.py picks the build only if it matches the source).
NATIVE := b3-sim/b3sim/_mypyc/__init__.py

native: $(NATIVE)

$(NATIVE): b3-sim/b3sim/book.py b3-sim/build_native.py $(VENV)/.installed
	$(BIN)/python b3-sim/build_native.py

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

# The book's tests run twice: on the compiled book (the whole suite; CI fails if the
# build is missing there, tests/unit/b3sim/test_native_build.py) and on its plain Python
# source (B3SIM_PURE_PYTHON=1), so both builds keep every rule.
BOOK_TESTS := tests/unit/b3sim tests/unit/core/test_wire_contracts.py tests/unit/core/test_wire_golden.py tests/unit/orders/test_orders_with_exchange.py

test: venv native $(LINT)
	$(BIN)/pytest -q
	B3SIM_PURE_PYTHON=1 $(BIN)/pytest -q $(BOOK_TESTS)

# ruff and mypy, configured in pyproject.toml; either failing fails the build.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: venv native
	$(BIN)/pytest -q tests/unit

e2e: venv native
	$(BIN)/pytest -q tests/e2e tests/contract

# The router beside Hive Gateway and Apollo Gateway, then subscriptions (BENCHMARKS.md).
# Needs wrk and npm; the gateways are installed by npm ci from bench/gateways/.
bench: venv
	$(BIN)/mybroker bench router
	$(BIN)/mybroker bench subscriptions

clean:
	rm -rf .mybroker .pytest_cache .hypothesis .mypy_cache .ruff_cache b3-sim/b3sim/_mypyc

# Local engines for MYBROKER_INFRA=real (Kafka, RabbitMQ, MariaDB, PostgreSQL, MongoDB
# wire-compatible SecantusDB, Redis) on 127.0.0.1; installs what is missing first.
services:
	bash scripts/services.sh up

services-down:
	bash scripts/services.sh down

services-status:
	bash scripts/services.sh status
