"""Ad hoc evaluation on any data: the database manifest's landmark photos define the known landmarks;
query photos of any other label (or none) must be rejected.

The threshold for `fpr_at_threshold` is calibrated on the queries' `split == calibration` rows when
there are any, else on a seeded half of the must-reject queries (that half is then left out of the
evaluation, so the FPR is measured on photos the threshold never saw).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.data.manifest import SPLIT_CALIBRATION, is_landmark, read_manifest
from landmark.evaluation.run import Evaluation
from landmark.evaluation.systems import embed_sets, evaluate_systems
from landmark.models.embedder import Embedder, frozen_embedder
from landmark.params import Params

log = logging.getLogger(__name__)
FROZEN = "frozen"


def resolve_model(spec: str, params: Params) -> Embedder:
    """`frozen` (the ImageNet backbone), a model.pt path (with its .json), or an MLflow model URI of a
    logged recognizer (models:/NAME@alias, runs:/...): its bundled network."""
    from landmark.models.checkpoint import load_embedder

    if spec == FROZEN:
        return frozen_embedder(params.backbone)
    if Path(spec).is_file():
        return load_embedder(Path(spec))
    import mlflow

    local = Path(
        mlflow.artifacts.download_artifacts(spec, dst_path=tempfile.mkdtemp(prefix="landmark-model-"))
    )
    candidates = sorted(local.rglob("model_dir/model.pt")) or sorted(local.rglob("model.pt"))
    if not candidates:
        raise FileNotFoundError(f"{spec}: no model.pt among the model's artifacts")
    return load_embedder(candidates[0])


def split_queries(
    database: pd.DataFrame, queries: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(collection, calibration): collection with a `truth` column ('' = must reject)."""
    known = set(database.loc[is_landmark(database), "landmark"])
    queries = queries.copy()
    queries["truth"] = np.where(queries["landmark"].isin(known), queries["landmark"], "")
    if "split" in queries and (queries["split"] == SPLIT_CALIBRATION).any():
        cal_mask = (queries["split"] == SPLIT_CALIBRATION) & (queries["truth"] == "")
    else:
        reject = np.flatnonzero((queries["truth"] == "").to_numpy())
        rng = np.random.default_rng(seed)
        chosen = rng.choice(reject, size=len(reject) // 2, replace=False) if len(reject) >= 2 else reject[:0]
        cal_mask = np.zeros(len(queries), dtype=bool)
        cal_mask[chosen] = True
    cal_mask = np.asarray(cal_mask, dtype=bool)
    if not cal_mask.any():
        raise ValueError("the queries hold no photo to calibrate the threshold on (none of an unknown label)")
    return queries[~cal_mask].reset_index(drop=True), queries[cal_mask].reset_index(drop=True)


def evaluate_adhoc(
    model_spec: str, database_path: Path, queries_path: Path, params: Params, frozen_baseline: bool = False
) -> dict[str, Evaluation]:
    """Evaluate a network on any two manifests (photo paths relative to each manifest's folder)."""
    database_path, queries_path = Path(database_path).resolve(), Path(queries_path).resolve()
    database = read_manifest(database_path)
    database = database[is_landmark(database)].reset_index(drop=True)
    queries = read_manifest(queries_path)
    collection, calibration = split_queries(database, queries, params.evaluate.seed)
    for frame, folder in (
        (database, database_path.parent),
        (collection, queries_path.parent),
        (calibration, queries_path.parent),
    ):
        frame["path"] = [str(folder / p) for p in frame["path"]]
    sets = {"database": database, "calibration": calibration, "collection": collection}
    model = resolve_model(model_spec, params)
    trained = embed_sets(model, sets, Path("/"), params, use_cache=False)
    frozen = None
    if frozen_baseline and model_spec != FROZEN:
        frozen = embed_sets(frozen_embedder(params.backbone), sets, Path("/"), params, use_cache=False)
    truth = np.array([t or None for t in collection["truth"]], dtype=object)
    labels = database["landmark"].to_numpy(dtype=object)
    return evaluate_systems(trained, labels, truth, dataclasses.replace(params), frozen)
