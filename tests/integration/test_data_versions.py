"""Data versions with the real git and dvc: commit, list, change, roll back byte-identically."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from landmark.data.versions import commit_data_version, list_versions, rollback_data, verify_data
from landmark.vcs import CommandError

pytestmark = pytest.mark.integration


def _write_world(root: Path, photos: dict[str, bytes]) -> None:
    data = root / "data"
    data.mkdir(exist_ok=True)
    lines = ["image_id,path,landmark"]
    for name, blob in photos.items():
        (data / f"{name}.bin").write_bytes(blob)
        lines.append(f"{name},{name}.bin,tower")
    (data / "manifest.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    return tmp_path


def test_commit_list_change_and_roll_back(repo: Path) -> None:
    _write_world(repo, {"a": b"first", "b": b"second"})
    v1 = commit_data_version(repo, "sample seed 1", source="test")
    assert v1.nfiles == 3 and v1.meta["photos"] == 2 and v1.meta["landmarks"] == 1
    original = {p.name: p.read_bytes() for p in (repo / "data").iterdir()}

    (repo / "data" / "a.bin").write_bytes(b"changed")
    _write_world(repo, {"a": b"changed", "b": b"second", "c": b"third"})
    v2 = commit_data_version(repo, "extend", source="test")
    assert v2.md5 != v1.md5 and v2.meta["photos"] == 3
    assert [v.commit for v in list_versions(repo)] == [v2.commit, v1.commit]

    back = rollback_data(repo, v1.commit)
    assert back.md5 == v1.md5
    restored = {p.name: p.read_bytes() for p in (repo / "data").iterdir()}
    assert restored == original  # byte-identical, the added file is gone
    verify_data(repo)
    assert len(list_versions(repo)) == 3  # the rollback is a version of its own


def test_unchanged_data_makes_no_new_commit(repo: Path) -> None:
    _write_world(repo, {"a": b"x"})
    first = commit_data_version(repo, "one", source="test")
    again = commit_data_version(repo, "same", source="test")
    assert again.commit == first.commit


def test_rollback_to_a_revision_without_data_is_a_clear_error(repo: Path) -> None:
    _write_world(repo, {"a": b"x"})
    commit_data_version(repo, "one", source="test")
    with pytest.raises(CommandError, match="does not exist at revision"):
        rollback_data(repo, "HEAD~5")


def test_tampered_file_fails_verification(repo: Path) -> None:
    _write_world(repo, {"a": b"x"})
    commit_data_version(repo, "one", source="test")
    (repo / "data" / "a.bin").write_bytes(b"tampered")
    with pytest.raises(CommandError, match="does not match"):
        verify_data(repo)
