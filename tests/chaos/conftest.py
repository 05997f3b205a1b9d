"""The chaos test needs the real engines and restarts RabbitMQ (scripts/services.sh up
provides them): collected only when MYBROKER_INFRA=real, never skipped, as
tests/integration. .ci/run runs the suite a second time with MYBROKER_INFRA=real, so in
CI it always runs, and a missing engine fails it."""
from __future__ import annotations

import os
from pathlib import Path

REAL = os.environ.get("MYBROKER_INFRA") == "real"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if not REAL and collection_path.name != "conftest.py":
        return True
    return None
