"""Prefect tasks that run DVC stages as subprocesses: DVC owns the graph, Prefect the running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from pathlib import Path

from prefect import get_run_logger, task

from landmark.services.process import alive

# stages whose failure a retry can mend: training resumes from its last checkpoint
RETRYABLE_PREFIXES = ("train@",)


class StageFailed(RuntimeError):
    """A DVC stage exited non-zero; the message holds its last output lines."""


def pipeline_stages(root: Path) -> list[str]:
    """Stage names in dvc.yaml order (the file lists them upstream first), as DVC expands them
    (`foreach` stages: train@1 .. train@K)."""
    done = subprocess.run([sys.executable, "-m", "dvc", "stage", "list", "--name-only"], cwd=root,
                          env=_dvc_env({}), capture_output=True, text=True)
    if done.returncode != 0:
        raise StageFailed(f"dvc stage list failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout.split()


def _pids(node: object) -> list[int]:
    if isinstance(node, dict):
        found = [int(node["pid"])] if "pid" in node else []
        return found + [p for value in node.values() for p in _pids(value)]
    if isinstance(node, list):
        return [p for value in node for p in _pids(value)]
    return []


def clear_stale_dvc_lock(root: Path) -> bool:
    """After a `kill -9` DVC's read/write lock can name processes that are gone; DVC then refuses to
    run ("is busy") and tells the user to delete .dvc/tmp/rwlock. Do that, but only when every
    process the lock names is dead or a zombie. Returns True when a stale lock was removed."""
    lock = root / ".dvc" / "tmp" / "rwlock"
    try:
        holders = _pids(json.loads(lock.read_text() or "{}"))
    except (OSError, ValueError):
        return False
    if not holders or any(alive(pid) for pid in holders):
        return False
    lock.unlink(missing_ok=True)
    return True


def _dvc_env(env: dict[str, str]) -> dict[str, str]:
    process_env = {**os.environ, **env}
    bin_dir = str(Path(sys.executable).parent)  # stage cmds say `python`: make it this environment's
    process_env["PATH"] = bin_dir + os.pathsep + process_env.get("PATH", "")
    return process_env


def stage_changes(root: Path, stage: str, env: dict[str, str]) -> list[object]:
    """What `dvc status --json STAGE` reports changed for the stage alone ([] = up to date)."""
    done = subprocess.run([sys.executable, "-m", "dvc", "status", "--json", stage], cwd=root, env=_dvc_env(env),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise StageFailed(f"dvc status {stage} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    return list(report.get(stage, []))


def _repro(root: Path, stage: str, env: dict[str, str], force: bool) -> str:
    logger = get_run_logger()
    if clear_stale_dvc_lock(root):
        logger.warning("removed a stale DVC lock left by a killed run")
    if not force:
        changes = stage_changes(root, stage, env)
        if not changes:
            logger.info("[%s] up to date: skipped", stage)
            return "skipped"
        logger.info("[%s] changed: %s", stage, json.dumps(changes))
    args = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    if force:
        args.append("--force")
    tail: deque[str] = deque(maxlen=25)
    with subprocess.Popen(args, cwd=root, env=_dvc_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                logger.info("[%s] %s", stage, line)
        code = proc.wait()
    if code != 0:
        raise StageFailed(f"stage {stage} failed (exit {code}):\n" + "\n".join(tail))
    return "ran"


@task(name="dvc-stage", task_run_name="dvc repro {stage}")
def run_dvc_stage(root: Path, stage: str, env: dict[str, str], force: bool = False) -> str:
    """`dvc repro --single-item STAGE` when `dvc status` reports it changed (or force); returns 'ran' or
    'skipped' (up to date: nothing was run)."""
    return _repro(root, stage, env, force)


def stage_task(stage: str):  # type: ignore[no-untyped-def]
    """The task for one stage, with retries where a retry makes sense."""
    retries = 1 if stage.startswith(RETRYABLE_PREFIXES) else 0
    return run_dvc_stage.with_options(retries=retries, retry_delay_seconds=2)
