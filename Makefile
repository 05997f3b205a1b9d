# The README's two commands: `make up` runs the platform, `make test` runs the tests.
# Both create the virtual environment first (Python packages only).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test unit e2e venv clean

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
