"""Compiles b3sim/book.py with mypyc into b3sim/_mypyc/ (`make venv` runs this).

The book's logic stays in plain, typed Python (b3sim/book.py); this builds a native twin
of that very file, module `b3sim._mypyc.book`, and records the source's SHA-256 in
b3sim/_mypyc/__init__.py, written last, so a half-done build is never picked up.
b3sim/__init__.py uses the twin only while book.py still has that hash.

Optional by design: without mypyc (a `pip install .` without the test extra), without a
C compiler, on a failed compile or after TIMEOUT seconds it says why, leaves no build
behind and exits 0, so the platform runs on the source as it is and `make up` never
hangs on it. `--check` fails instead (exit 1) when no fresh build came out."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent  # b3-sim/
ROOT = HERE.parent  # the repository: mypy finds mybroker.trading there
SOURCE = HERE / "b3sim" / "book.py"
TARGET = HERE / "b3sim" / "_mypyc"
TIMEOUT = 300  # seconds; a compile takes ~15 s on a shared 2-core machine


def source_sha256() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def missing() -> str | None:
    """Why this machine cannot compile, or None."""
    try:
        import mypyc.build  # noqa: F401  (mypy ships mypyc)
    except ImportError:
        return "mypyc is not installed (it comes with mypy, in the test extra)"
    try:
        import setuptools  # noqa: F401  (builds the extension)
    except ImportError:
        return "setuptools is not installed"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h)"
    return None


def compile_here() -> None:
    """The build itself, in a child process (so the parent can time it out)."""
    from mypyc.build import mypycify
    from setuptools import setup

    os.chdir(HERE)  # module names are resolved from here: b3sim/_mypyc/book.py -> b3sim._mypyc.book
    os.environ["MYPYPATH"] = str(ROOT)
    copy = TARGET / "book.py"
    shutil.copyfile(SOURCE, copy)
    (TARGET / "__init__.py").write_text("")
    with tempfile.TemporaryDirectory() as work:
        extensions = mypycify([str(copy.relative_to(HERE))], opt_level="3", target_dir=str(Path(work) / "c"))
        setup(
            name="b3sim-native",
            ext_modules=extensions,
            script_args=["--quiet", "build_ext", "--inplace", "--build-temp", str(Path(work) / "temp")],
        )
    copy.unlink()


def clean() -> None:
    shutil.rmtree(TARGET, ignore_errors=True)


def build() -> str | None:
    """Builds; None on success, else why not (and no build is left)."""
    reason = missing()
    if reason is not None:
        return reason
    expected = source_sha256()
    clean()
    TARGET.mkdir()
    try:
        subprocess.run([sys.executable, __file__, "--child"], check=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        clean()
        return f"the compile took over {TIMEOUT} s"
    except subprocess.CalledProcessError as error:
        clean()
        return f"the compile failed (exit {error.returncode}, see above)"
    if source_sha256() != expected:  # book.py was edited during the build
        clean()
        return "b3sim/book.py changed during the build"
    (TARGET / "__init__.py").write_text(
        '"""Written by b3-sim/build_native.py: the SHA-256 of the b3sim/book.py compiled here."""\n'
        f'SOURCE_SHA256 = "{expected}"\n'
    )
    return None


def main(argv: list[str]) -> int:
    if "--child" in argv:
        compile_here()
        return 0
    reason = build()
    if reason is None:
        print("b3-sim: b3sim/book.py compiled with mypyc (b3sim/_mypyc)")
        return 0
    print(f"b3-sim: b3sim/book.py not compiled, {reason}; it runs as plain Python (slower).")
    return 1 if "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
