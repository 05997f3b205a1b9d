"""b3-sim: the simulated B3 exchange.

`b3sim.book` is plain Python that mypyc compiles at install time (`make venv` runs
b3-sim/build_native.py, which writes b3sim/_mypyc/). The compiled module is used only
when it was built from the very source in b3sim/book.py (the build records the source's
SHA-256), so an edited book.py is never shadowed by a stale build: without a matching
build, or with B3SIM_PURE_PYTHON=1, the source runs as it is. BOOK_BUILD says which one
this process runs: "mypyc" or "python"."""
from __future__ import annotations

import hashlib
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType


def built_from(source: bytes, recorded: str) -> bool:
    """Whether a build that recorded `recorded` was compiled from `source`."""
    return hashlib.sha256(source).hexdigest() == recorded


def _compiled_book() -> ModuleType | None:
    if os.environ.get("B3SIM_PURE_PYTHON"):
        return None
    try:
        recorded = importlib.import_module("b3sim._mypyc").SOURCE_SHA256
    except (ImportError, AttributeError):  # never built here (no compiler or mypy), or half built
        return None
    if not built_from((Path(__file__).parent / "book.py").read_bytes(), recorded):
        return None  # book.py changed since the build: run the source (make venv rebuilds)
    try:
        return importlib.import_module("b3sim._mypyc.book")
    except ImportError:  # another interpreter's build
        return None


_book = _compiled_book()
if _book is not None:
    # Every `import b3sim.book` gets the compiled twin, so one process never mixes the
    # two builds' classes.
    sys.modules["b3sim.book"] = _book
    book = _book  # what the import system sets when it loads a submodule itself
BOOK_BUILD = "mypyc" if _book is not None else "python"
