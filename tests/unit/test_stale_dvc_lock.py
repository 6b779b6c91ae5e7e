"""A DVC lock left by a killed run is removed only when every process it names is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flows.dvc_tasks import clear_stale_dvc_lock


def _lock(root: Path, pid: int) -> Path:
    path = root / ".dvc" / "tmp" / "rwlock"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"read": {"a": [{"pid": pid, "cmd": "dvc repro"}]},
                                "write": {"b": {"pid": pid, "cmd": "dvc repro"}}}))
    return path


def test_lock_of_a_finished_process_is_removed(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = _lock(tmp_path, int(done.stdout))
    assert clear_stale_dvc_lock(tmp_path) and not path.exists()


def test_lock_of_a_running_process_is_kept(tmp_path: Path) -> None:
    path = _lock(tmp_path, os.getpid())
    assert not clear_stale_dvc_lock(tmp_path) and path.exists()


def test_no_lock_is_fine(tmp_path: Path) -> None:
    assert not clear_stale_dvc_lock(tmp_path)
