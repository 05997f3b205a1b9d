"""The compiled book (mypyc, b3-sim/build_native.py) is picked only when it was built from
the source beside it, B3SIM_PURE_PYTHON=1 forces the source, and CI runs the compiled one
(`make test` builds it first), so both builds go through the book's tests."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

import b3sim
import b3sim.book
import b3sim.exchange

SOURCE = b"class Book: pass\n"


def test_a_build_matches_only_the_source_it_was_compiled_from():
    recorded = hashlib.sha256(SOURCE).hexdigest()
    assert b3sim.built_from(SOURCE, recorded)
    assert not b3sim.built_from(SOURCE + b"# edited\n", recorded)


def _build_in_a_fresh_process(**env: str) -> str:
    code = "import b3sim, b3sim.book as b; print(b3sim.BOOK_BUILD, b.Book.__module__)"
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


def test_b3sim_pure_python_forces_the_source():
    assert _build_in_a_fresh_process(B3SIM_PURE_PYTHON="1") == "python b3sim.book"


def test_one_process_uses_one_build_everywhere():
    assert b3sim.exchange.Book is b3sim.book.Book
    expected = "b3sim._mypyc.book" if b3sim.BOOK_BUILD == "mypyc" else "b3sim.book"
    assert b3sim.book.Book.__module__ == expected


@pytest.mark.skipif(not os.environ.get("CI"), reason="a workstation may lack a C compiler: the source runs then")
def test_ci_runs_the_compiled_book_unless_told_otherwise():
    assert b3sim.BOOK_BUILD == ("python" if os.environ.get("B3SIM_PURE_PYTHON") else "mypyc")
