"""Runs a `mybroker bench NAME` command as a user would, on the embedded default (every
MYBROKER_* variable dropped), and reads the JSON object its last line must be."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str, timeout: float = 110) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYBROKER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "b3-sim"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "launch.cli", "bench", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
