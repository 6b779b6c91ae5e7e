"""One lock per project for the operations that must not overlap: a retrain, a data rollback, an import
into the tracked data root.

The lock is `fcntl.flock` on `<project>/.landmark/retrain.lock`: the kernel drops it when its owner
exits, however it exits (a `kill -9`d retrain never leaves a stale lock). The file holds the owner's
pid, operation and start time, only to say who holds it. A second operation refuses at once with a
message naming the holder, or waits up to `wait` seconds first. The lock is re-entrant within one
process (`landmark retrain` takes it before its checks, the flow it runs takes it again).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)
LOCK_DIR = ".landmark"
LOCK_NAME = "retrain.lock"
POLL_SECONDS = 0.2
_held: dict[Path, list[int]] = {}  # lock path -> [fd, depth] in this process
_guard = threading.Lock()


class ProjectBusy(RuntimeError):
    """Another operation holds the project lock; the message names it, its pid and when it started."""


def lock_path(root: Path) -> Path:
    """`<root>/.landmark/retrain.lock`."""
    return Path(root).resolve() / LOCK_DIR / LOCK_NAME


def holder(root: Path) -> dict[str, object] | None:
    """What the lock file says about its last owner ({pid, operation, started}), or None."""
    try:
        return dict(json.loads(lock_path(root).read_text() or "null") or {}) or None
    except (OSError, ValueError, TypeError):
        return None


def _busy_message(root: Path, operation: str) -> str:
    owner = holder(root) or {}
    who = (f"{owner.get('operation', 'another operation')} (pid {owner.get('pid', '?')}, "
           f"started {owner.get('started', '?')})")
    return (f"{operation} refused: {who} is running in {Path(root).resolve()} and holds {lock_path(root)}; "
            "try again when it has finished")


@contextmanager
def project_lock(root: Path, operation: str, wait: float = 0.0) -> Iterator[Path]:
    """Hold the project's lock for `operation` (e.g. "landmark retrain"); yields the lock file's path.

    Raises ProjectBusy if another process holds it after `wait` seconds (0: refuse at once)."""
    path = lock_path(root)
    with _guard:
        if path in _held:  # re-entered by the same process
            _held[path][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                _held[path][1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(0.0, wait)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ProjectBusy(_busy_message(root, operation)) from None
                time.sleep(POLL_SECONDS)
    except BaseException:
        os.close(fd)
        raise
    owner = {"pid": os.getpid(), "operation": operation, "started": datetime.now(UTC).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(owner).encode(), 0)
    with _guard:
        _held[path] = [fd, 1]
    log.info("%s holds %s", operation, path)
    try:
        yield path
    finally:
        with _guard:
            del _held[path]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
