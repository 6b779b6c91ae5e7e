"""Shared fixtures: offline environment, the real photos from ../shared (skipped when absent)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from landmark.env import OFFLINE_ENV

REPO = Path(__file__).resolve().parents[1]
REAL_LANDMARKS = Path(os.environ.get("LANDMARK_REAL_DATA", REPO.parent / "shared" / "data" / "real-landmarks"))

for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="landmark-prefect-"))
os.environ.setdefault("LANDMARK_NO_MLFLOW", "1")  # unit tests log nothing unless a test opts in


@pytest.fixture(scope="session")
def real_landmarks_dir() -> Path:
    """../shared/data/real-landmarks (manifest.csv + images/), or skip the test when absent."""
    if not (REAL_LANDMARKS / "manifest.csv").is_file():
        pytest.skip(f"real photos not found at {REAL_LANDMARKS}")
    return REAL_LANDMARKS


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop Prefect's temporary API server (started by flows run in-process) while pytest's streams are
    still open: its own atexit stop logs "Stopping temporary server" to a stream pytest has closed by
    then, which printed a "--- Logging error --- I/O operation on closed file" traceback after every
    run. Its atexit stop is then a no-op."""
    if "prefect.server.api.server" not in sys.modules:
        return
    from prefect.server.api.server import SubprocessASGIServer

    # one per port; no public registry, so a Prefect without it simply keeps its own atexit stop
    for server in list(getattr(SubprocessASGIServer, "_instances", {}).values()):
        server.stop()
