"""Stage `clean`: artifacts/split/manifest.csv (train rows) -> artifacts/clean/.

Embeds the train photos with the pretrained backbone and cleans the landmark photos per landmark
(landmark.cleaning.pipeline). The embeddings for cleaning are the pooled backbone features
(`backbone.embed_dim` is forced to 0 here): a freshly initialised linear neck would only be a random
projection, so the ImageNet features themselves, PCA-whitened on the train photos, drive the graph.
Non-landmark train rows pass through untouched.

Outputs: manifest.csv (kept train rows, `part` column: 1..K for landmark rows, 0 for non-landmarks),
removed.csv (image_id, landmark, reason), landmarks.csv, duplicates.csv, gallery.png, report.md,
metrics.json.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from landmark import layout
from landmark.cleaning.pipeline import DatabaseCleaning, clean_landmark_photos
from landmark.cleaning.report import gallery, write_report
from landmark.cleaning.scoring import truth_removal_scores
from landmark.compute.engine import open_engine
from landmark.data.manifest import NOISE_TRUTH_NAME, SPLIT_TRAIN, is_landmark, read_manifest, write_manifest
from landmark.models.embedder import frozen_embedder
from landmark.models.pipeline_embedding import embed_rows
from landmark.params import Params, load_params
from landmark.registry.tracking import log_artifact_safe, log_metrics_safe, stage_run
from landmark.stages.common import run_stage, write_metrics

log = logging.getLogger(__name__)
GALLERY_LANDMARKS = 4


def write_outputs(
    train: pd.DataFrame, landmark_rows: np.ndarray, result: DatabaseCleaning, out: Path, data_root: Path
) -> dict[str, float]:
    """Write every output of the stage; returns the metrics."""
    out.mkdir(parents=True, exist_ok=True)
    lm = train.iloc[landmark_rows].reset_index(drop=True)
    parts = dict(zip(result.landmarks["landmark"], result.landmarks["part"].astype(int), strict=True))
    keep_all = np.ones(len(train), bool)
    keep_all[landmark_rows] = result.keep
    kept = train[keep_all].copy()
    kept["part"] = [parts.get(n, 0) for n in kept["landmark"]]
    write_manifest(kept, out / "manifest.csv")
    removed = lm.loc[~result.keep, ["image_id", "landmark"]].assign(reason=result.reason[~result.keep])
    removed.to_csv(out / "removed.csv", index=False)
    dups = result.duplicates.assign(
        image_id_i=lm["image_id"].to_numpy()[result.duplicates["i"].to_numpy()],
        image_id_j=lm["image_id"].to_numpy()[result.duplicates["j"].to_numpy()],
    )
    dups[["image_id_i", "image_id_j", "landmark_i", "landmark_j", "similarity"]].to_csv(
        out / "duplicates.csv", index=False
    )
    worst = result.landmarks.sort_values("removed", ascending=False)["landmark"].head(GALLERY_LANDMARKS)
    bands = []
    for name in worst:
        rows = lm["landmark"].to_numpy() == name
        bands.append(
            (
                name,
                [data_root / p for p in lm.loc[rows & result.keep, "path"]],
                [data_root / p for p in lm.loc[rows & ~result.keep, "path"]],
            )
        )
    gallery_path = gallery(bands, out / "gallery.png")
    metrics = dict(result.metrics)
    metrics["train_rows"] = int(len(train))
    metrics["non_landmark_rows"] = int(len(train) - landmark_rows.size)
    for part in sorted(set(parts.values()) - {0}):
        metrics[f"part_{part}_landmarks"] = int(sum(1 for v in parts.values() if v == part))
    report = write_report(out, result.landmarks, metrics, gallery_path)
    for path in (report.with_name("landmarks.csv"), report, gallery_path):
        if path is not None:
            log_artifact_safe(path, "clean")
    write_metrics(out / "metrics.json", metrics)
    return metrics


def run(params: Params, split_manifest: Path, out: Path, data_root: Path) -> dict[str, float]:
    """The stage without the MLflow run: read, embed, clean, write."""
    frame = read_manifest(split_manifest)
    if "split" not in frame.columns:
        raise ValueError(f"{split_manifest}: no `split` column (written by the split stage)")
    train = frame[frame["split"] == SPLIT_TRAIN].reset_index(drop=True)
    if train.empty:
        raise ValueError(f"{split_manifest}: no rows with split == {SPLIT_TRAIN!r}")
    emb = embed_rows(frozen_embedder(params.backbone), train, data_root, params.embed)
    landmark_rows = np.flatnonzero(is_landmark(train).to_numpy())
    result = clean_landmark_photos(
        emb[landmark_rows], train["landmark"].to_numpy()[landmark_rows], params.clean, fit_emb=emb
    )
    metrics = write_outputs(train, landmark_rows, result, out, data_root)
    ids = train["image_id"].to_numpy(dtype=str)[landmark_rows]
    truth = truth_removal_scores(ids, ids[result.keep], data_root / NOISE_TRUTH_NAME)  # sample world only
    if truth:
        metrics.update(truth)
        write_metrics(out / "metrics.json", metrics)
    if len(landmark_rows) and not metrics.get("kept_photos"):
        raise ValueError(f"cleaning kept none of the {len(landmark_rows)} landmark photos (outputs in {out} "
                         "for inspection): lower clean.edge_similarity or clean.min_cluster_size")
    return metrics


def main() -> None:
    params = load_params()
    logged = {f"clean.{k}": v for k, v in dataclasses.asdict(params.clean).items()}
    logged.update({f"backbone.{k}": v for k, v in dataclasses.asdict(params.backbone).items()})
    with open_engine(params.compute), stage_run("clean", logged):
        metrics = run(params, layout.SPLIT / "manifest.csv", layout.CLEAN, layout.DATA)
        log_metrics_safe(metrics)
        log.info("clean: %s", metrics)


if __name__ == "__main__":
    run_stage(main)
