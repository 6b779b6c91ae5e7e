"""Two retrains at once, a data rollback or an import during a retrain: the second operation refuses
with a message naming the holder; a killed holder releases the lock. Real processes, real flock."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.retrain import retrain
from landmark.data.versions import rollback_data
from landmark.project_lock import ProjectBusy, holder, lock_path, project_lock

pytestmark = pytest.mark.integration
HOLD = """
import sys, time
from pathlib import Path
from landmark.project_lock import project_lock
with project_lock(Path(sys.argv[1]), "landmark retrain"):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def project(tmp_path: Path, repo_dir: Path) -> Path:
    shutil.copy(repo_dir / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


@pytest.fixture
def retrain_running(project: Path, repo_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock as `landmark retrain` does."""
    env = dict(os.environ, PYTHONPATH=str(repo_dir))
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(project)], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def _cli(project: Path, repo_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(repo_dir), COLUMNS="400")
    return subprocess.run([sys.executable, "-c", "from flows.cli import app; app()", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120)


def test_second_retrain_refuses_naming_the_first(project: Path, repo_dir: Path,
                                                 retrain_running: subprocess.Popen[str]) -> None:
    assert holder(project) == {**holder(project), "pid": retrain_running.pid, "operation": "landmark retrain"}
    done = _cli(project, repo_dir, "retrain")
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert f"landmark retrain refused: landmark retrain (pid {retrain_running.pid}, started" in message
    assert "retrain.lock" in message and "Traceback" not in done.stderr
    with pytest.raises(ProjectBusy, match=f"retrain flow refused: landmark retrain \\(pid {retrain_running.pid}"):
        retrain.fn(project_dir=str(project))  # the flow itself (e.g. a scheduled run) refuses too


def test_data_rollback_during_a_retrain_refuses(project: Path, repo_dir: Path,
                                                retrain_running: subprocess.Popen[str]) -> None:
    done = _cli(project, repo_dir, "data", "rollback", "HEAD~1")
    assert done.returncode == 2, done.stderr
    assert "landmark data rollback HEAD~1 refused: landmark retrain" in " ".join(done.stderr.split())
    with pytest.raises(ProjectBusy):
        rollback_data(project, "HEAD~1")


def test_import_into_the_data_root_during_a_retrain_refuses(project: Path, repo_dir: Path,
                                                             retrain_running: subprocess.Popen[str]) -> None:
    (project / "src" / "Tower").mkdir(parents=True)
    done = _cli(project, repo_dir, "data", "import", "--from-folder", str(project / "src"),
                "--data-root", str(project / "data"))
    assert done.returncode == 2, done.stderr
    assert "landmark data import refused: landmark retrain" in " ".join(done.stderr.split())
    assert not (project / "data").exists()


def test_sample_world_into_the_data_root_during_a_retrain_refuses(
        project: Path, repo_dir: Path, retrain_running: subprocess.Popen[str]) -> None:
    env = dict(os.environ, PYTHONPATH=str(repo_dir), COLUMNS="400")
    done = subprocess.run([sys.executable, "-m", "samples"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert "python -m samples refused: landmark retrain" in " ".join(done.stderr.split())
    assert not (project / "data").exists()


def test_a_killed_holder_releases_the_lock(project: Path, retrain_running: subprocess.Popen[str]) -> None:
    with pytest.raises(ProjectBusy):
        with project_lock(project, "second"):
            pass
    started = time.perf_counter()
    with pytest.raises(ProjectBusy):  # waiting is bounded
        with project_lock(project, "second", wait=0.5):
            pass
    assert 0.4 < time.perf_counter() - started < 5
    os.kill(retrain_running.pid, signal.SIGKILL)
    retrain_running.wait(timeout=30)
    with project_lock(project, "after the kill", wait=5) as path:
        assert path == lock_path(project)
        assert holder(project) == {**holder(project), "pid": os.getpid(), "operation": "after the kill"}
        with project_lock(project, "re-entered"):  # the same process may take it again
            pass
    assert holder(project) is None  # released and cleared
