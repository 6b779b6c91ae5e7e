"""Checkpoint files are atomic and a checkpoint is resumed only by the run it belongs to."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from landmark.data.manifest import NON_LANDMARK
from landmark.models.embedder import create_embedder
from landmark.params import load_params
from landmark.training.head import GrowingHead
from landmark.training.losses import init_centres
from landmark.training.state import LAST, atomic_save, load_checkpoint
from landmark.training.trainer import run_fingerprint, source_digest

REPO = Path(__file__).resolve().parents[2]


def test_atomic_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    atomic_save({"epoch": 3, "w": torch.ones(2)}, tmp_path / LAST)
    assert [p.name for p in tmp_path.iterdir()] == [LAST]
    state = load_checkpoint(tmp_path)
    assert state is not None and state["epoch"] == 3
    assert load_checkpoint(tmp_path / "missing") is None


def test_fingerprint_changes_with_params_labels_and_weights() -> None:
    params = load_params(REPO / "params.yaml")
    backbone = dataclasses.replace(params.backbone, weights="none", embed_dim=8)
    torch.manual_seed(0)
    model = create_embedder(backbone, pretrained=False)
    head = GrowingHead([NON_LANDMARK, "a"], 8)
    centres = init_centres(2, 8)
    stage = params.train.stages[0]

    def fp(**kw: object) -> str:
        args: dict[str, object] = {
            "paths": ["x.png", "y.png"],
            "labels": [0, 1],
            "train": params.train,
            "stage": stage,
            **kw,
        }
        return run_fingerprint(model, head, centres, **args)  # type: ignore[arg-type]

    base = fp()
    assert base == fp()
    assert base != fp(labels=[1, 1])
    assert base != fp(stage=dataclasses.replace(stage, lr=stage.lr * 2))
    assert base != fp(train=dataclasses.replace(params.train, seed=params.train.seed + 1))
    assert base != fp(code="another version of the training code")
    assert base == fp(code=source_digest())  # the default is the code as it is
    with torch.no_grad():
        head.weight[0, 0] += 1.0
    assert base != fp()


def test_source_digest_follows_the_code(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("not code")
    first = source_digest((tmp_path,))
    assert first == source_digest((tmp_path,))
    (tmp_path / "notes.txt").write_text("still not code")
    assert source_digest((tmp_path,)) == first
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    assert source_digest((tmp_path,)) != first
