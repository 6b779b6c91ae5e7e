"""A tiny, complete project in a temporary folder: the code, dvc.yaml, small params, a git repo with
DVC and a generated sample world committed as the first data version. For flow tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]

TINY_OVERRIDES: dict[str, dict[str, Any]] = {
    "sample": {"n_landmarks": 6, "photos_per_landmark": 12, "image_size": 64, "n_non_landmark": 90},
    "validate": {"min_photos_per_landmark": 3},
    "split": {"unknown_landmarks": 1, "calibration_landmarks": 0},
    "backbone": {"image_size": 64},
    "embed": {"batch_size": 32},
    "clean": {"k": 5, "min_cluster_size": 2, "whiten_dim": 16},
    "evaluate": {"min_landmark_queries": 5, "landmark_share": 0.2, "frozen_baseline": False},
}


def tiny_params() -> dict[str, Any]:
    """The repository's params.yaml with the tiny overrides and one-epoch, 64 px training stages."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    for section, values in TINY_OVERRIDES.items():
        raw[section].update(values)
    raw["train"].update({"batch_size": 16, "m_per_class": 2, "non_landmark_per_batch": 4, "trainable_blocks": 1})
    raw["train"]["stages"] = {k: {**stage, "epochs": 1, "lr": 0.002, "image_size": 64}
                              for k, stage in raw["train"]["stages"].items()}
    return raw


def make_tiny_project(root: Path) -> Path:
    """Create the project at `root` and commit its first data version; returns `root`."""
    from landmark.data.versions import commit_data_version, ensure_dvc
    from landmark.params import parse_params
    from samples.world import generate_sample_world

    root.mkdir(parents=True, exist_ok=True)
    for name in ("landmark", "flows"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, root / name)
    raw = tiny_params()
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (root / ".gitignore").write_text("/artifacts/\n/mlflow/\n/.prefect/\n/.dvc-remote/\n/.landmark/\n__pycache__/\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    ensure_dvc(root)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "tiny project"],
                   cwd=root, check=True)
    generate_sample_world(root / "data", parse_params(raw).sample)
    commit_data_version(root, "tiny sample world", source="sample")
    return root
