"""The benchmarks live in the top-level bench/ package: every `mybroker bench NAME` runs a
function there, the names are the ones the commands always had, and no product package
imports bench (a benchmark may import anything; nothing the services run depends on one)."""
from __future__ import annotations

import ast
import inspect
from importlib import import_module
from pathlib import Path

import pytest

from launch.cli import BENCHMARKS

REPO = Path(__file__).resolve().parents[3]
PRODUCT = ("mybroker", "router", "subgraphs", "ingest", "b3-sim/b3sim")


def test_the_bench_commands_keep_their_names():
    assert set(BENCHMARKS) == {"matching", "b3-rabbitmq", "router", "subscriptions", "orders", "abuse"}


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_each_bench_command_runs_a_function_of_the_bench_package(name):
    module, _, function = BENCHMARKS[name].partition(":")
    assert module.split(".")[0] == "bench"
    run = getattr(import_module(module), function)
    assert {"ops", "seed"} <= set(inspect.signature(run).parameters)


def imports_bench(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
        if any(name == "bench" or name.startswith("bench.") for name in names):
            return True
    return False


def test_no_product_module_imports_bench():
    files = [path for package in PRODUCT for path in (REPO / package).rglob("*.py")]
    assert len(files) > 100
    assert [str(path.relative_to(REPO)) for path in files if imports_bench(path)] == []


def test_the_check_sees_an_import_of_bench_inside_a_function(tmp_path):
    source = tmp_path / "product.py"
    source.write_text("def measure():\n    from bench.router.compare import router\n    return router\n")
    assert imports_bench(source)
