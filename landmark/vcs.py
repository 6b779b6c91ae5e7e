"""Thin wrappers over the git and dvc command lines (subprocess: DVC's Python API needs the process
cwd at the repo, which is process-wide)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)
_GIT_IDENTITY = ["-c", "user.name=landmark", "-c", "user.email=landmark@localhost"]


class CommandError(RuntimeError):
    """A git or dvc command failed; the message holds the command and its stderr."""


def _run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", GIT_TERMINAL_PROMPT="0")
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise CommandError(f"`{' '.join(args)}` failed in {cwd} (exit {result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()}")
    return result


def git(root: Path, *args: str, check: bool = True) -> str:
    """Run git in `root`; returns stdout. Commits work without a configured identity."""
    has_identity = _run(["git", "config", "user.email"], root, check=False).stdout.strip()
    prefix = [] if has_identity else _GIT_IDENTITY
    return _run(["git", *prefix, *args], root, check=check).stdout


def dvc(root: Path, *args: str, check: bool = True) -> str:
    """Run the dvc of this Python environment in `root`; returns stdout."""
    return _run([sys.executable, "-m", "dvc", *args], root, check=check).stdout


def is_git_repo(root: Path) -> bool:
    return _run(["git", "rev-parse", "--git-dir"], root, check=False).returncode == 0


def head_commit(root: Path) -> str:
    """The current commit, or 'uncommitted' in a repository without commits."""
    result = _run(["git", "rev-parse", "HEAD"], root, check=False)
    return result.stdout.strip() if result.returncode == 0 else "uncommitted"
