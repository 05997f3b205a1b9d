"""b3-sim's matching core reads no configuration and does no I/O: its rules and the maker's
policy come in as values (b3sim.config makes them of the settings), so the same commands
at the same times give the same reports, which is what the journal's replay rests on."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import b3sim

CORE = ("exchange", "book", "auction", "session", "market_maker", "tape", "stops")
# What the core may import of ours: the pure kernel parts (catalog data, money arithmetic,
# the trading enums, the envelope's type names, B3's calendar of business days and session
# hours), never settings, a store, a bus or a server.
ALLOWED_OURS = {"mybroker.catalog", "mybroker.money", "mybroker.trading", "mybroker.events", "mybroker.calendar"}


def imported_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def foreign(modules: set[str]) -> set[str]:
    """The modules of ours outside the core and the allowed kernel parts."""
    core = {f"b3sim.{name}" for name in CORE}
    return {
        module for module in modules
        if module.split(".")[0] in {"mybroker", "b3sim", "router", "subgraphs", "ingest", "bench"}
        and module not in core and module not in ALLOWED_OURS
    }


@pytest.mark.parametrize("name", CORE)
def test_a_core_module_imports_only_the_core_and_the_pure_kernel(name):
    source = (Path(b3sim.__file__).parent / f"{name}.py").read_text()
    assert foreign(imported_modules(source)) == set()


def test_the_check_sees_a_settings_import_inside_a_function():
    source = "def rules():\n    from mybroker.settings import Settings\n    return Settings()\n"
    assert foreign(imported_modules(source)) == {"mybroker.settings"}
