"""Data versions: every import or sample becomes a DVC-tracked, git-committed `data.dvc`.

`commit_data_version` tracks data/ with DVC, records counts in data.dvc's `meta`, pushes to the
default local remote and commits data.dvc; `list_versions` reads the history of data.dvc;
`rollback_data` puts data.dvc back to a revision, checks the files out and verifies them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from landmark.data.manifest import NON_LANDMARK, read_manifest
from landmark.project_lock import project_lock
from landmark.vcs import CommandError, dvc, git, is_git_repo

log = logging.getLogger(__name__)
DATA_DIR = "data"
DVC_FILE = "data.dvc"
DEFAULT_REMOTE_NAME = "local"
DEFAULT_REMOTE_URL = ".dvc-remote"  # given from the repo root; DVC stores it relative to .dvc/
REMOTE_ENV = "LANDMARK_DVC_REMOTE"  # e.g. s3://landmark/dvc: the team's remote (`landmark services env`)


@dataclass(frozen=True)
class DataVersion:
    """One committed state of data.dvc."""

    commit: str
    date: str
    message: str
    md5: str
    nfiles: int
    size: int
    meta: dict[str, Any]


def use_remote(root: Path, remote_url: str) -> None:
    """Point the default remote at `remote_url` in .dvc/config.local (this clone only, not committed):
    a folder, or a URL such as s3://bucket/dvc; for s3 the endpoint is AWS_ENDPOINT_URL when set
    (MinIO, SeaweedFS), and the keys come from the usual AWS_* variables."""
    url = remote_url if "://" in remote_url else str(Path(remote_url).resolve())
    dvc(root, "remote", "modify", "--local", DEFAULT_REMOTE_NAME, "url", url)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if url.startswith("s3://") and endpoint:
        dvc(root, "remote", "modify", "--local", DEFAULT_REMOTE_NAME, "endpointurl", endpoint)


def ensure_dvc(root: Path, remote_url: str | None = None) -> None:
    """Initialise DVC in a git repository if needed and make sure the default remote exists.

    `remote_url` (a folder or an s3:// URL; default: LANDMARK_DVC_REMOTE when set) replaces the remote's
    location in .dvc/config.local (not committed).
    """
    if not is_git_repo(root):
        raise CommandError(f"{root} is not a git repository: data versions are git commits of data.dvc")
    if not (root / ".dvc").is_dir():
        dvc(root, "init", "-q")
        git(root, "add", ".dvc")
    remotes = dvc(root, "remote", "list")
    if DEFAULT_REMOTE_NAME not in remotes.split():
        dvc(root, "remote", "add", "-d", DEFAULT_REMOTE_NAME, DEFAULT_REMOTE_URL)
        git(root, "add", ".dvc/config")
    remote_url = remote_url or os.environ.get(REMOTE_ENV)
    if remote_url:
        use_remote(root, remote_url)


def data_counts(data_root: Path) -> dict[str, int]:
    """Photos, landmarks and non-landmark photos in data/manifest.csv (zeros when absent)."""
    path = data_root / "manifest.csv"
    if not path.is_file():
        return {"photos": 0, "landmarks": 0, "non_landmark": 0}
    frame = read_manifest(path)
    landmark_rows = frame["landmark"] != NON_LANDMARK
    return {"photos": int(len(frame)), "landmarks": int(frame.loc[landmark_rows, "landmark"].nunique()),
            "non_landmark": int((~landmark_rows).sum())}


def _read_dvc_file(text: str) -> tuple[str, int, int, dict[str, Any]]:
    doc = yaml.safe_load(text) or {}
    out = (doc.get("outs") or [{}])[0]
    return str(out.get("md5", "")), int(out.get("nfiles", 0)), int(out.get("size", 0)), dict(doc.get("meta") or {})


def commit_data_version(root: Path, message: str, source: str, push: bool = True) -> DataVersion:
    """Track data/ with DVC, record counts and source in data.dvc's meta, push, and git-commit it.

    A commit is made only when data.dvc changed; the current version is returned either way.
    """
    ensure_dvc(root)
    dvc(root, "add", "-q", DATA_DIR)
    dvc_file = root / DVC_FILE
    doc = yaml.safe_load(dvc_file.read_text())
    doc["meta"] = {**data_counts(root / DATA_DIR), "source": source}
    dvc_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    if push:
        try:
            dvc(root, "push", "-q", DVC_FILE)
        except CommandError as exc:  # the cache still holds the version; rollback works without the remote
            log.warning("dvc push to the default remote failed: %s", exc)
    git(root, "add", DVC_FILE, ".gitignore")
    if git(root, "status", "--porcelain", "--", DVC_FILE, ".gitignore").strip():
        git(root, "commit", "-q", "-m", f"data: {message}", "--", DVC_FILE, ".gitignore")
    return list_versions(root)[0]


def list_versions(root: Path) -> list[DataVersion]:
    """The history of data.dvc, newest first."""
    if not (root / DVC_FILE).exists() and not git(root, "log", "--oneline", "-1", "--", DVC_FILE, check=False):
        return []
    lines = git(root, "log", "--format=%H%x1f%cI%x1f%s", "--", DVC_FILE).splitlines()
    versions = []
    for line in lines:
        commit, date, subject = line.split("\x1f", 2)
        text = git(root, "show", f"{commit}:{DVC_FILE}", check=False)
        if not text:
            continue
        md5, nfiles, size, meta = _read_dvc_file(text)
        versions.append(DataVersion(commit, date, subject, md5, nfiles, size, meta))
    return versions


def verify_data(root: Path) -> None:
    """Check that data/ matches data.dvc byte for byte (DVC status) and that every file the manifest
    lists with a sha256 still has it. Raises CommandError naming what differs."""
    status = dvc(root, "status", "--json", DVC_FILE).strip()
    if status not in ("", "{}"):
        raise CommandError(f"data/ does not match {DVC_FILE}: {status}")
    manifest = root / DATA_DIR / "manifest.csv"
    if manifest.is_file():
        frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
        if "sha256" in frame.columns:
            from landmark.hashing import file_sha256

            for row in frame.itertuples():
                digest = file_sha256(root / DATA_DIR / row.path)
                if row.sha256 and digest != row.sha256:
                    raise CommandError(f"{DATA_DIR}/{row.path}: sha256 {digest} != manifest {row.sha256}")


def rollback_data(root: Path, rev: str) -> DataVersion:
    """Put data.dvc back to its state at `rev`, check the files out, verify them and commit.

    Raises ProjectBusy (nothing changed) while a retrain or another data operation holds the
    project lock."""
    with project_lock(root, f"landmark data rollback {rev}"):
        return _rollback_data(root, rev)


def _rollback_data(root: Path, rev: str) -> DataVersion:
    text = git(root, "show", f"{rev}:{DVC_FILE}", check=False)
    if not text:
        raise CommandError(f"{DVC_FILE} does not exist at revision {rev!r}")
    if os.environ.get(REMOTE_ENV):
        use_remote(root, os.environ[REMOTE_ENV])
    git(root, "checkout", rev, "--", DVC_FILE)
    try:
        dvc(root, "checkout", "-q", "--force", DVC_FILE)
    except CommandError:
        dvc(root, "pull", "-q", DVC_FILE)  # not in the cache: fetch from the default remote
        dvc(root, "checkout", "-q", "--force", DVC_FILE)
    verify_data(root)
    short = git(root, "rev-parse", "--short", rev).strip()
    if git(root, "status", "--porcelain", "--", DVC_FILE).strip():
        git(root, "commit", "-q", "-m", f"data: roll back to {short}", "--", DVC_FILE)
    return list_versions(root)[0]
