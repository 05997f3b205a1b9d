"""Who may import whom (docs/design.md, "Who may import whom"), read from the source.

Every import statement of a package's files is collected from its syntax tree, wherever it
sits (module level, inside a function, under TYPE_CHECKING), together with
`importlib.import_module("...")` calls and "module:attribute" strings (what uvicorn and
entry points import by name). A rule names a package and the top-level packages of ours it
must not reach."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The top-level packages of this repository (b3sim lives in b3-sim/).
OURS = ("mybroker", "subgraphs", "b3sim", "ingest", "router", "bench", "tests")
_IMPORT_STRING = re.compile(r"^([A-Za-z_]\w*)(\.\w+)*:\w+$")


def imported_modules(source: str) -> set[str]:
    """The absolute module names one file's source imports, however it imports them."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:  # relative imports stay inside the package
                modules.add(node.module)
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                modules.add(first.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _IMPORT_STRING.match(node.value):
            modules.add(node.value.partition(":")[0])
    return modules


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    )


def forbidden_imports(package: Path, forbidden: tuple[str, ...], *, skip: tuple[str, ...] = ()) -> list[str]:
    """`file: module` for every import of a `forbidden` top-level package under `package`."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(skip):
            continue
        for module in sorted(imported_modules(path.read_text(encoding="utf-8"))):
            if module.split(".")[0] in forbidden:
                found.append(f"{relative}: {module}")
    return found


# (package, what it must not import, paths under it not held to the rule yet)
RULES = [
    # The router stands alone: itself and third-party code only (its benchmarks live in
    # the top-level bench/ package, which may import everything).
    ("router", ("mybroker", "subgraphs", "b3sim", "ingest", "bench", "tests"), ()),
]


@pytest.mark.parametrize("package, forbidden, skip", RULES, ids=[rule[0] for rule in RULES])
def test_packages_import_only_what_their_layer_allows(package, forbidden, skip):
    assert forbidden_imports(ROOT / package, forbidden, skip=skip) == []


def test_every_kind_of_import_is_seen():
    source = '''
import mybroker.settings
from subgraphs.orders import app
from . import sibling
import importlib

def later():
    from b3sim.exchange import Exchange
    importlib.import_module("ingest.feed")

SERVER = "mybroker.edge_timeouts:EdgeTimeoutProtocol"
NOT_AN_IMPORT = "see mybroker.auth: it verifies tokens"
'''
    assert imported_modules(source) == {
        "mybroker.settings", "subgraphs.orders", "importlib", "b3sim.exchange", "ingest.feed", "mybroker.edge_timeouts",
    }


def test_a_forbidden_import_is_reported_with_its_file(tmp_path, monkeypatch):
    package = tmp_path / "router"
    (package / "bench").mkdir(parents=True)
    (package / "http.py").write_text("from router.errors import RequestError\n")
    (package / "edge.py").write_text("def f():\n    from mybroker.errors import ErrorCode\n")
    (package / "bench" / "host.py").write_text("import mybroker.platform\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert forbidden_imports(package, ("mybroker",), skip=("router/bench/",)) == ["router/edge.py: mybroker.errors"]
