"""The clean stage end to end on a tiny generated world (real timm weights, faiss, no MLflow)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from landmark.data.manifest import NON_LANDMARK, read_manifest, write_manifest
from landmark.params import load_params, with_overrides
from landmark.stages.clean import run

torch.set_num_threads(1)


def _landmark_photo(kind: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:48, 0:48] / 48.0
    base = [np.sin(12 * x), np.sin(12 * y), np.sin(9 * (x + y))][kind]
    colour = np.array([[1.0, 0.3, 0.2], [0.2, 0.8, 0.3], [0.2, 0.3, 1.0]])[kind]
    image = (0.5 + 0.5 * base)[..., None] * colour + 0.05 * rng.standard_normal((48, 48, 3))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


@pytest.fixture()
def world(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    rows = []
    for kind, name in enumerate(["a", "b", "c"]):
        for i in range(8):
            rows.append((f"{name}{i}", _landmark_photo(kind, rng), name, "train"))
    rows.append(("a_noise", rng.integers(0, 255, (48, 48, 3), dtype=np.uint8), "a", "train"))
    for i in range(4):
        rows.append((f"n{i}", rng.integers(0, 255, (48, 48, 3), dtype=np.uint8), NON_LANDMARK, "train"))
    rows.append(("q0", _landmark_photo(0, rng), "a", "query"))
    records = []
    for image_id, pixels, landmark, split in rows:
        Image.fromarray(pixels).save(root / "images" / f"{image_id}.png")
        records.append(
            {"image_id": image_id, "path": f"images/{image_id}.png", "landmark": landmark, "split": split}
        )
    manifest = tmp_path / "split.csv"
    write_manifest(pd.DataFrame(records), manifest)
    return root, manifest


def test_clean_stage_outputs(world: tuple[Path, Path], tmp_path: Path, repo_dir: Path) -> None:
    root, manifest = world
    params = load_params(repo_dir / "params.yaml")
    params = with_overrides(params, "backbone", image_size=48)
    params = with_overrides(params, "embed", num_workers=0, batch_size=16, cache_dir=str(tmp_path / "cache"))
    params = dataclasses.replace(
        params,
        clean=dataclasses.replace(
            params.clean, k=4, edge_similarity=0.5, min_cluster_share=0.3, whiten_dim=8, num_parts=3
        ),
    )
    out = tmp_path / "clean"
    metrics = run(params, manifest, out, root)
    for name in (
        "manifest.csv",
        "removed.csv",
        "landmarks.csv",
        "duplicates.csv",
        "gallery.png",
        "report.md",
        "metrics.json",
    ):
        assert (out / name).is_file(), name
    kept = read_manifest(out / "manifest.csv")
    removed = pd.read_csv(out / "removed.csv", dtype=str)
    assert "q0" not in set(kept["image_id"])  # only train rows are cleaned and passed on
    assert {f"n{i}" for i in range(4)} <= set(kept["image_id"])  # non-landmarks pass through untouched
    assert (kept.loc[kept["landmark"] == NON_LANDMARK, "part"].astype(int) == 0).all()
    assert set(kept.loc[kept["landmark"] != NON_LANDMARK, "part"].astype(int)) == {1, 2, 3}
    assert len(kept) + len(removed) == 29
    assert "a_noise" in set(removed["image_id"])
    assert removed["reason"].ne("").all()
    assert (
        json.loads((out / "metrics.json").read_text())["landmark_photos"] == 25 == metrics["landmark_photos"]
    )
    shards = list((tmp_path / "cache").rglob("*.npz"))
    assert len(shards) == 1
    run(params, manifest, tmp_path / "again", root)
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1  # the rerun embedded nothing new


def test_clean_stage_refuses_manifest_without_split(tmp_path: Path, repo_dir: Path) -> None:
    path = tmp_path / "m.csv"
    write_manifest(pd.DataFrame({"image_id": ["x"], "path": ["x.png"], "landmark": ["a"]}), path)
    with pytest.raises(ValueError, match="split"):
        run(load_params(repo_dir / "params.yaml"), path, tmp_path / "o", tmp_path)
