"""Who may import whom (docs/design.md, "Who may import whom"), read from the source.

Every import statement of a package's files is collected from its syntax tree, wherever it
sits (module level, inside a function, under TYPE_CHECKING), together with
`importlib.import_module("...")` calls and "module:attribute" strings (what uvicorn and
entry points import by name). A rule names a package and the packages of ours it must not
reach (a top-level package, or a dotted one such as a sibling subgraph)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The top-level packages of this repository (b3sim lives in b3-sim/).
OURS = ("mybroker", "subgraphs", "b3sim", "ingest", "router", "bench", "launch", "tests")
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
                if "." not in node.module:  # `from subgraphs import wallet` reaches subgraphs.wallet
                    modules.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
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
    """`file: module` for every import under `package` of a `forbidden` package or one inside it."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(skip):
            continue
        for module in sorted(imported_modules(path.read_text(encoding="utf-8"))):
            if any(module == name or module.startswith(name + ".") for name in forbidden):
                found.append(f"{relative}: {module}")
    return found


SUBGRAPHS = sorted(path.parent.name for path in (ROOT / "subgraphs").glob("*/__init__.py"))
# What no service may reach: the router, the composition root, the benchmarks, the tests.
_ABOVE_SERVICES = ("router", "launch", "bench", "tests")

# (package, what it must not import, paths under it not held to the rule yet). Layers, from
# the bottom: the kernel (mybroker/); the services (each subgraph, b3-sim, ingest) and the
# router beside them; the composition root (launch/) and the benchmarks (bench/) on top,
# which may import everything but the tests.
RULES = [
    # The kernel imports nothing of ours: the services and the router build on it, and the
    # composition root (launch/) alone puts them together.
    ("mybroker", ("subgraphs", "b3sim", "ingest", "router", "bench", "launch", "tests"), ()),
    # The router stands alone: itself and third-party code only (its benchmarks live in
    # the top-level bench/ package, which may import everything).
    ("router", ("mybroker", "subgraphs", "b3sim", "ingest", "bench", "launch", "tests"), ()),
    # A subgraph imports the kernel and itself, never another subgraph (they talk over the
    # bus and the internal HTTP API), the exchange, the market-data ingest or the router.
    *(
        (f"subgraphs/{name}", ("b3sim", "ingest", *_ABOVE_SERVICES, *(f"subgraphs.{other}" for other in SUBGRAPHS if other != name)), ())
        for name in SUBGRAPHS
    ),
    # The simulated exchange knows the broker only by its wire messages.
    ("b3-sim/b3sim", ("subgraphs", "ingest", *_ABOVE_SERVICES), ()),
    # The market-data ingest publishes quotes on the bus; it calls no subgraph or exchange.
    ("ingest", ("subgraphs", "b3sim", *_ABOVE_SERVICES), ()),
    ("launch", ("tests",), ()),
    ("bench", ("tests",), ()),
]


def test_every_package_of_ours_has_a_rule():
    held = {package.split("/")[0] for package, _forbidden, _skip in RULES} | {"b3sim"}
    assert set(OURS) - {"tests"} <= held
    assert {f"subgraphs/{name}" for name in SUBGRAPHS} <= {package for package, _f, _s in RULES}
    assert len(SUBGRAPHS) >= 5


@pytest.mark.parametrize("package, forbidden, skip", RULES, ids=[rule[0] for rule in RULES])
def test_packages_import_only_what_their_layer_allows(package, forbidden, skip):
    assert forbidden_imports(ROOT / package, forbidden, skip=skip) == []


# Every subgraph has the same rooms for its data (issue 14): `tables.py` describes the rows,
# `migrations/` changes them, and `repository.py` alone holds the SQL, as functions taking
# the caller's session and answering domain objects. Services keep the transactions and the
# business logic; they never build a statement.
SQL_BUILDERS = ("select", "insert", "update", "delete", "text")
SQL_ROOMS = ("repository.py", "tables.py", "migrations/")
# Who may import a subgraph's tables besides its SQL rooms: the app, for `metadata` (its
# migrations and the embedded engine's create_all).
TABLE_READERS = (*SQL_ROOMS, "app.py")


def sql_statement_builders(source: str) -> set[str]:
    """The SQLAlchemy statement builders one file reaches, as dotted names: imported
    (`from sqlalchemy import select`, `from sqlalchemy.sql import text`) or called through
    an imported SQLAlchemy module (`sa.select`, `mysql.insert`)."""
    found: set[str] = set()
    modules: dict[str, str] = {}  # local name -> the SQLAlchemy module it is bound to
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_sqlalchemy(alias.name):
                    name = alias.asname or alias.name.partition(".")[0]
                    modules[name] = alias.name if alias.asname else name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_sqlalchemy(node.module):
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    found.add(f"{node.module}.{alias.name}")
                elif alias.name != "*":  # maybe a module (`from sqlalchemy.dialects import mysql`)
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SQL_BUILDERS:
            path = _dotted(node.value)
            if path and path[0] in modules:
                found.add(".".join((modules[path[0]], *path[1:], node.attr)))
    return found


def _is_sqlalchemy(module: str) -> bool:
    return module == "sqlalchemy" or module.startswith("sqlalchemy.")


def _dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else [*inner, node.attr]
    return None


def imports_tables(source: str, subgraph: str) -> bool:
    """Whether a file imports `subgraphs.<subgraph>.tables`, however it names it."""
    package = f"subgraphs.{subgraph}"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(a.name == f"{package}.tables" or a.name.startswith(f"{package}.tables.") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == f"{package}.tables" or (node.module == package and any(a.name == "tables" for a in node.names)):
                return True
        if isinstance(node, ast.ImportFrom) and node.level == 1 and (node.module == "tables" or (not node.module and any(a.name == "tables" for a in node.names))):
            return True
    return False


def _outside(subgraph: str, rooms: tuple[str, ...]) -> list[Path]:
    base = ROOT / "subgraphs" / subgraph
    return [path for path in sorted(base.rglob("*.py")) if not path.relative_to(base).as_posix().startswith(rooms)]


@pytest.mark.parametrize("subgraph", SUBGRAPHS)
def test_every_subgraph_has_the_same_rooms_for_its_data(subgraph):
    base = ROOT / "subgraphs" / subgraph
    assert [room for room in ("repository.py", "tables.py", "migrations/env.py") if not (base / room).is_file()] == []


@pytest.mark.parametrize("subgraph", SUBGRAPHS)
def test_only_the_repository_builds_sql(subgraph):
    found = [
        f"{path.relative_to(ROOT).as_posix()}: {builder}"
        for path in _outside(subgraph, SQL_ROOMS)
        for builder in sorted(sql_statement_builders(path.read_text(encoding="utf-8")))
    ]
    assert found == []


@pytest.mark.parametrize("subgraph", SUBGRAPHS)
def test_only_the_repository_and_the_app_import_the_tables(subgraph):
    found = [
        path.relative_to(ROOT).as_posix()
        for path in _outside(subgraph, TABLE_READERS)
        if imports_tables(path.read_text(encoding="utf-8"), subgraph)
    ]
    assert found == []


def test_every_way_of_reaching_a_statement_builder_is_seen():
    source = '''
import sqlalchemy as sa
import sqlalchemy.sql
from sqlalchemy import Column, delete
from sqlalchemy.sql import expression
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

def later():
    from sqlalchemy.sql.expression import text
    sa.select(1)
    sqlalchemy.sql.update(t)
    expression.insert(t)
    mysql.insert(t)
    session.delete(row)  # the ORM's session, not a builder
    IntegrityError.args
'''
    assert sql_statement_builders(source) == {
        "sqlalchemy.delete", "sqlalchemy.sql.expression.text", "sqlalchemy.select", "sqlalchemy.sql.update",
        "sqlalchemy.sql.expression.insert", "sqlalchemy.dialects.mysql.insert",
    }


def test_every_way_of_importing_the_tables_is_seen():
    assert imports_tables("from subgraphs.wallet.tables import wallets\n", "wallet")
    assert imports_tables("from subgraphs.wallet import domain, tables\n", "wallet")
    assert imports_tables("def f():\n    import subgraphs.wallet.tables\n", "wallet")
    assert imports_tables("from .tables import wallets\n", "wallet")
    assert imports_tables("from . import tables\n", "wallet")
    assert not imports_tables("from subgraphs.wallet import domain, repository\n", "wallet")
    assert not imports_tables("from subgraphs.orders.tables import orders\n", "wallet")


# Where each package of ours lives (b3sim in b3-sim/), for the module graph below.
PACKAGE_DIRS = {top: ROOT / ("b3-sim/b3sim" if top == "b3sim" else top) for top in OURS if top != "tests"}
# Import cycles not broken yet, each one strongly connected set of modules, with why.
KNOWN_CYCLES: list[set[str]] = []  # none left: the bus's port moved to mybroker/bus/port.py


def module_graph(dirs: dict[str, Path]) -> dict[str, set[str]]:
    """Each of our modules (dotted name) and the modules of ours it imports, however it does."""
    files = {}
    for top, base in dirs.items():
        for path in base.rglob("*.py"):
            parts = [top, *path.relative_to(base).with_suffix("").parts]
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        graph[name] = set()
        for module in imported_modules(path.read_text(encoding="utf-8")):
            while module and module not in files:  # `from a.b import name`: the module a.b
                module = module.rpartition(".")[0]
            if module and module != name:
                graph[name].add(module)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Every set of two or more modules that import one another, directly or not (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            cycle = {stack.pop()}
            while module not in cycle:
                cycle.add(stack.pop())
            if len(cycle) > 1:
                cycles.append(cycle)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_of_ours_is_part_of_an_import_cycle():
    found = import_cycles(module_graph(PACKAGE_DIRS))
    assert [sorted(cycle) for cycle in found if cycle not in KNOWN_CYCLES] == []


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    router = tmp_path / "router"
    router.mkdir()
    (router / "compose.py").write_text("def compose():\n    from router.printer import print_it\n")
    (router / "printer.py").write_text("from router.model import Merged\nfrom router.compose import compose\n")
    (router / "model.py").write_text("")
    assert import_cycles(module_graph({"router": router})) == [{"router.compose", "router.printer"}]


def test_every_kind_of_import_is_seen():
    source = '''
import mybroker.settings
from subgraphs.orders import app
from mybroker import money
from . import sibling
import importlib

def later():
    from b3sim.exchange import Exchange
    importlib.import_module("ingest.feed")

SERVER = "mybroker.edge_timeouts:EdgeTimeoutProtocol"
NOT_AN_IMPORT = "see mybroker.auth: it verifies tokens"
'''
    assert imported_modules(source) == {
        "mybroker.settings", "mybroker", "mybroker.money", "subgraphs.orders", "importlib", "b3sim.exchange", "ingest.feed",
        "mybroker.edge_timeouts",
    }


def test_a_forbidden_import_is_reported_with_its_file(tmp_path, monkeypatch):
    package = tmp_path / "router"
    (package / "bench").mkdir(parents=True)
    (package / "http.py").write_text("from router.errors import RequestError\n")
    (package / "edge.py").write_text("def f():\n    from mybroker.errors import ErrorCode\n")
    (package / "bench" / "host.py").write_text("import mybroker.platform\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert forbidden_imports(package, ("mybroker",), skip=("router/bench/",)) == ["router/edge.py: mybroker.errors"]


def test_a_sibling_subgraph_is_forbidden_however_it_is_named(tmp_path, monkeypatch):
    package = tmp_path / "subgraphs" / "orders"
    package.mkdir(parents=True)
    (package / "a.py").write_text("from subgraphs import wallet\n")
    (package / "b.py").write_text("import subgraphs.wallet.store\nfrom subgraphs.orders import domain\n")
    (package / "c.py").write_text("from subgraphs.walletish import x\n")  # another name, not the wallet
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert forbidden_imports(package, ("subgraphs.wallet",)) == [
        "subgraphs/orders/a.py: subgraphs.wallet", "subgraphs/orders/b.py: subgraphs.wallet.store",
    ]
