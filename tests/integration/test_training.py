"""Two curriculum stages on a tiny generated world (real timm weights, MLflow), the same two in one process
(training.curriculum_run, what research/ uses); resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image, ImageDraw

from landmark.data.images import load_rgb
from landmark.data.manifest import NON_LANDMARK, read_manifest, write_manifest
from landmark.layout import stage_start
from landmark.models.checkpoint import load_embedder
from landmark.models.transforms import eval_transform
from landmark.params import load_params
from landmark.stages import train as train_stage
from landmark.training.curriculum_run import train_curriculum
from landmark.training.head import GrowingHead

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SHAPES = [
    ("ellipse", (200, 40, 40)),
    ("rectangle", (40, 160, 40)),
    ("triangle", (40, 60, 210)),
    ("cross", (220, 200, 40)),
]


def _draw(kind: str, color: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    bg = tuple(int(v) for v in rng.integers(90, 170, 3))
    image = Image.new("RGB", (64, 64), bg)
    draw = ImageDraw.Draw(image)
    cx, cy, r = (int(v) for v in (rng.integers(24, 40), rng.integers(24, 40), rng.integers(12, 20)))
    box = (cx - r, cy - r, cx + r, cy + r)
    if kind == "ellipse":
        draw.ellipse(box, fill=color)
    elif kind == "rectangle":
        draw.rectangle(box, fill=color)
    elif kind == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)
    else:
        draw.rectangle((cx - r, cy - 4, cx + r, cy + 4), fill=color)
        draw.rectangle((cx - 4, cy - r, cx + 4, cy + r), fill=color)
    return image


def make_world(root: Path, photos: int = 12, non_landmarks: int = 16) -> Path:
    """data/ with 4 landmarks (2 per curriculum part) + non-landmark noise scenes; returns the manifest."""
    rng = np.random.default_rng(0)
    rows = []
    for c, (kind, color) in enumerate(SHAPES):
        for i in range(photos):
            path = f"images/l{c}_{i}.png"
            (root / "data" / path).parent.mkdir(parents=True, exist_ok=True)
            _draw(kind, color, rng).save(root / "data" / path)
            rows.append(
                {
                    "image_id": f"l{c}_{i}",
                    "path": path,
                    "landmark": f"shape_{c}",
                    "split": "train",
                    "part": str(1 + c // 2),
                }
            )
    for i in range(non_landmarks):
        path = f"images/n{i}.png"
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(root / "data" / path)
        rows.append(
            {"image_id": f"n{i}", "path": path, "landmark": NON_LANDMARK, "split": "train", "part": ""}
        )
    manifest = root / "artifacts" / "clean" / "manifest.csv"
    write_manifest(pd.DataFrame(rows), manifest)
    return manifest


def write_params(root: Path, epochs: int) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["backbone"]["image_size"] = 64
    raw["train"].update(
        {
            "batch_size": 16,
            "m_per_class": 4,
            "non_landmark_per_batch": 4,
            "trainable_blocks": 2,
            "num_workers": 0,
            "centre_lambda": 0.5,
            "stages": {str(k): {"epochs": epochs, "lr": 0.003, "image_size": 64, "after": str(stage_start(k))}
                       for k in (1, 2)},
        }
    )
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def head_accuracy(model: torch.nn.Module, head: GrowingHead, root: Path, manifest: pd.DataFrame) -> float:
    tf = eval_transform(model.data_config, 64)
    rows = manifest[manifest["landmark"].isin(head.classes)]
    with torch.inference_mode():
        x = torch.stack([tf(load_rgb(root / "data" / p)) for p in rows["path"]])
        pred = head.logits(model.embed_unnormalised(x)).argmax(1)
    return float((pred == head.index(rows["landmark"].tolist())).float().mean())


def test_two_stages_grow_the_head_and_raise_accuracy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.set_num_threads(2)
    manifest = make_world(tmp_path)
    params = load_params(write_params(tmp_path, epochs=3))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LANDMARK_NO_MLFLOW", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    out1, out2 = tmp_path / "artifacts/train/stage_1", tmp_path / "artifacts/train/stage_2"
    m1 = train_stage.run(1, params, manifest, tmp_path / "data", out1, tmp_path / "none", "cpu")
    m2 = train_stage.run(2, params, manifest, tmp_path / "data", out2, out1, "cpu")
    head1, head2 = GrowingHead.load(out1 / "head.pt"), GrowingHead.load(out2 / "head.pt")
    assert (m1["classes"], m2["classes"]) == (3, 5)
    assert head2.classes[:3] == head1.classes == [NON_LANDMARK, "shape_0", "shape_1"]
    for name in (
        "model.pt",
        "model.json",
        "head.pt",
        "classes.json",
        "centres.pt",
        "metrics.json",
        "curves.png",
    ):
        assert (out2 / name).is_file(), name
    model = load_embedder(out2 / "model.pt")
    trained = head_accuracy(model, head2, tmp_path, frame)
    untrained = head_accuracy(model, GrowingHead(head2.classes, head2.dim, seed=5), tmp_path, frame)
    # 0.77 since each photo's augmentation has its own seed (sampler.SeededBatches); 0.84 before
    assert trained >= 0.75 and trained > untrained + 0.4, (trained, untrained)
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs(client.search_experiments()[0].experiment_id, "tags.stage = 'train_2'")
    assert len(runs) == 1
    assert [m.step for m in client.get_metric_history(runs[0].info.run_id, "loss")] == [1, 2, 3]
    # the same two stages in one process (what research/ runs) train exactly the same model
    in_process = train_curriculum(read_manifest(manifest), tmp_path / "data", params.backbone, params.train,
                                  params.train.stages, "cpu")
    assert in_process.head.classes == head2.classes
    assert [h["stage"] for h in in_process.history] == [1.0] * 3 + [2.0] * 3
    for key, value in model.state_dict().items():
        assert torch.allclose(in_process.model.state_dict()[key], value, atol=1e-5), key


def test_kill_9_mid_epoch_resumes_from_last_checkpoint(tmp_path: Path) -> None:
    manifest = make_world(tmp_path, photos=12)
    params_path = write_params(tmp_path, epochs=3)
    env = {**os.environ, "LANDMARK_NO_MLFLOW": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "landmark.stages.train",
        "--stage",
        "1",
        "--params",
        str(params_path),
        "--manifest",
        str(manifest),
        "--data-root",
        str(tmp_path / "data"),
        "--threads",
        "1",
        "--out",
        str(tmp_path / "stage_1"),
    ]
    last = tmp_path / "stage_1" / "checkpoints" / "last.pt"
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not last.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert last.exists(), "no checkpoint after the first epoch"
    proc.send_signal(signal.SIGKILL)  # in the middle of epoch 2
    proc.wait()
    done = torch.load(last, weights_only=True)["epoch"]
    assert done in (1, 2)
    rerun = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{done} epochs done" in rerun.stderr
    metrics = json.loads((tmp_path / "stage_1" / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == done
    assert [h["epoch"] for h in metrics["history"]] == [1.0, 2.0, 3.0]
