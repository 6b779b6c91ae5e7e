"""Where every stage reads and writes, relative to the project root (dvc.yaml uses the same paths)."""

from __future__ import annotations

from pathlib import Path

DATA = Path("data")
DATA_MANIFEST = DATA / "manifest.csv"
DATA_NOISE_TRUTH = DATA / "noise_truth.csv"

ARTIFACTS = Path("artifacts")
VALIDATE = ARTIFACTS / "validate"  # manifest.csv, quarantine.csv, report.html, metrics.json
SPLIT = ARTIFACTS / "split"  # manifest.csv (+ split column), metrics.json
CLEAN = ARTIFACTS / "clean"  # manifest.csv, removed.csv, landmarks.csv, duplicates.csv, gallery.png, metrics.json
TRAIN = ARTIFACTS / "train"  # stage_1 .. stage_K: model.pt, model.json, checkpoints/, metrics.json, curves.png
INDEX = ARTIFACTS / "index"  # index.faiss, centroids.csv, index.json, metrics.json
EVALUATE = ARTIFACTS / "evaluate"  # metrics.json, per_landmark.csv, sensitivity_fpr.png, precision_recall.png


def train_stage_dir(stage: int) -> Path:
    """Output folder of curriculum stage `stage` (1-based)."""
    return TRAIN / f"stage_{stage}"


def stage_start(stage: int) -> Path:
    """What curriculum stage `stage` starts from (its `after` in params.yaml, a DVC dependency): the
    clean stage's outputs for stage 1, the previous stage's network after that."""
    return CLEAN if stage == 1 else train_stage_dir(stage - 1) / "model.pt"


def final_model(num_stages: int) -> Path:
    """The network the pipeline ships: the last curriculum stage's model.pt (num_stages = len(train.stages))."""
    return train_stage_dir(num_stages) / "model.pt"
