"""Disk full during `landmark data import`: a clear error naming the file, and the previous data version
intact and verified (DVC status clean, every manifest sha256 matching, data.dvc not moved).

Two ways to fill the disk, both honest about what they are:
- tmpfs: the project lives on a real 3 MB tmpfs (`mount -t tmpfs`, needs root / CAP_SYS_ADMIN;
  skipped otherwise) and the import of ~6 MB of photos really hits ENOSPC, through the real CLI;
- injected: `shutil.copyfile` (the import's file copy, only that) raises OSError(ENOSPC) on the third
  photo, for the extend and the replace mode; runs everywhere.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from landmark.data.import_store import DataImportError
from landmark.data.importers import import_folder
from landmark.data.versions import commit_data_version, list_versions, verify_data
from tests.project_limits import IMPORT_LIMITS

pytestmark = pytest.mark.integration


def _photos(folder: Path, n: int, side: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(n):
        path = folder / ("Tower" if i % 2 else "Bridge") / f"p{seed}_{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
    return folder


def _snapshot(data: Path) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data.rglob("*")) if p.is_file()}


def _project(root: Path, repo_dir: Path, sources: Path) -> Path:
    """A git + DVC project at `root` with a first data version of 6 small photos."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo_dir / "params.yaml", root / "params.yaml")
    for args in (["init", "-q"], ["config", "user.email", "t@example.org"], ["config", "user.name", "t"],
                 ["add", "params.yaml"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    first = _photos(sources / "first", 6, 48, seed=1)
    import_folder(first, root / "data", mode="replace", limits=IMPORT_LIMITS)
    commit_data_version(root, "first", source="import", push=False)
    return root


def _assert_previous_version_intact(project: Path, before: dict[str, str], version: str) -> None:
    assert _snapshot(project / "data") == before  # not one file added, removed or changed
    verify_data(project)  # dvc status clean and every manifest sha256 matches
    assert list_versions(project)[0].commit == version
    assert not list((project / "data").rglob("*.part"))


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_real_disk_full_through_the_cli(tmpfs: Path, tmp_path: Path, repo_dir: Path) -> None:
    project = _project(tmpfs / "proj", repo_dir, tmp_path / "src")
    before, version = _snapshot(project / "data"), list_versions(project)[0].commit
    big = _photos(tmp_path / "src" / "big", 8, 512, seed=2)  # 8 x ~790 KB: more than the tmpfs holds
    env = dict(os.environ, PYTHONPATH=str(repo_dir), COLUMNS="400")
    done = subprocess.run([sys.executable, "-c", "from landmark.cli.main import app; app()", "data", "import",
                           "--from-folder", str(big)], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)
    message = " ".join(done.stdout.split() + done.stderr.split())
    assert done.returncode == 2, message[-3000:]
    assert "import failed:" in message and "no space left on device" in message, message[-3000:]
    assert "bytes free on its device" in message and "is unchanged (the previous data version)" in message
    assert "Traceback" not in message
    _assert_previous_version_intact(project, before, version)


def _copy_failing_at(call: int) -> Callable[..., object]:
    real, calls = shutil.copyfile, [0]

    def copyfile(src: str | Path, dst: str | Path) -> str | Path:
        calls[0] += 1
        if calls[0] == call:
            Path(dst).write_bytes(b"half a photo")  # what a full disk leaves behind
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst)

    return copyfile


@pytest.mark.parametrize("mode", ["extend", "replace"])
def test_injected_enospc_at_the_copy(tmp_path: Path, repo_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                     mode: str) -> None:
    project = _project(tmp_path / f"proj-{uuid.uuid4().hex[:6]}", repo_dir, tmp_path / "src")
    before, version = _snapshot(project / "data"), list_versions(project)[0].commit
    more = _photos(tmp_path / "src" / "more", 5, 48, seed=3)
    monkeypatch.setattr("landmark.data.import_store.shutil.copyfile", _copy_failing_at(3))
    with pytest.raises(DataImportError) as caught:
        import_folder(more, project / "data", mode=mode, limits=IMPORT_LIMITS)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "no space left on device" in message and f"{more}/" in message and ".png" in message
    assert "The 2 photo(s) already copied were removed" in message
    _assert_previous_version_intact(project, before, version)
