"""The Dask engine on a real LocalCluster of 2 worker processes (started once for the module) against the
local path, on a tiny generated sample world: embeddings, the clean stage's outputs, the index stage's
recognizer and the evaluation metrics are equal; the model reaches each worker once; a worker process
killed with SIGKILL mid-embedding loses and doubles nothing."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from landmark.compute.distributed_embed import embed_photos, model_deliveries
from landmark.compute.engine import LOCAL, Engine, activate, open_engine
from landmark.data.manifest import NON_LANDMARK, SPLIT_CALIBRATION, SPLIT_TRAIN, is_landmark, read_manifest
from landmark.data.split import assign_splits
from landmark.evaluation.collection import emulated_collection, truth_array
from landmark.evaluation.run import flat_metrics
from landmark.evaluation.systems import embed_sets, evaluate_systems
from landmark.models.embedder import create_embedder
from landmark.models.embedding_cache import model_identity
from landmark.params import ComputeParams, Params, parse_params, with_overrides
from landmark.retrieval.database_recognizer import build_database_recognizer
from landmark.stages import clean as clean_stage
from samples.world import generate_sample_world
from tests.integration.tiny_project import REPO, tiny_params

pytestmark = pytest.mark.integration
COSINE_TOL = 1e-5
EMBED = {"preprocessing": "timm", "batch_size": 16, "workers": 0}


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """A LocalCluster of 2 worker processes, started the way params.yaml `compute` asks for it; the
    tests activate it explicitly (LOCAL stays active outside their blocks)."""
    with open_engine(ComputeParams(engine="dask", address="", workers=2)) as started, activate(LOCAL):
        assert started.client is not None and len(started.client.scheduler_info()["workers"]) == 2
        yield started


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Params, Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("engine_world")
    params = parse_params(tiny_params())
    generate_sample_world(root / "data", params.sample)
    split = assign_splits(read_manifest(root / "data" / "manifest.csv"), params.split)
    return params, root, split


@pytest.fixture(scope="module")
def tiny(world: tuple[Params, Path, pd.DataFrame]) -> tuple[torch.nn.Module, list[Path], np.ndarray]:
    """A seeded lite0 with random weights and a 16-d neck, the world's photos and their local rows."""
    params, root, split = world
    model = _tiny_model(params)
    photos = [root / "data" / p for p in split["path"]]
    return model, photos, embed_photos(model, photos, **EMBED)  # type: ignore[arg-type]


def _params(params: Params, root: Path, name: str, **backbone: object) -> Params:
    """Own embedding cache per run, so the dask run cannot read the local run's rows."""
    params = with_overrides(params, "embed", num_workers=0, batch_size=16, cache_dir=str(root / "cache" / name))
    return with_overrides(params, "backbone", **backbone) if backbone else params


def _same_rows(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    cosine = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert float(cosine.min()) >= 1 - COSINE_TOL, f"worst cosine {cosine.min()}"


def _tiny_model(params: Params) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_embedder(dataclasses.replace(params.backbone, weights="none", embed_dim=16))


def test_embeddings_equal_local_and_model_sent_once(engine: Engine, tiny: tuple) -> None:
    model, photos, local = tiny
    with activate(engine):
        done: list[int] = []
        remote = embed_photos(model, photos, progress=done.append, **EMBED)  # type: ignore[arg-type]
    _same_rows(local, remote)
    assert sum(done) == len(photos) and len(done) >= 4  # several shards, every photo reported once
    assert engine.client is not None
    deliveries = engine.client.run(model_deliveries)
    assert {w: d.get(model_identity(model)) for w, d in deliveries.items()} == dict.fromkeys(deliveries, 1)


def test_clean_stage_outputs_equal_local(engine: Engine, world: tuple[Params, Path, pd.DataFrame]) -> None:
    """`python -m landmark.stages.clean` with compute {engine: dask, address: <the cluster>} against the
    stage's run() on the local engine: the same files (the stage connects, embeds and cleans on Dask)."""
    params, root, split = world
    project = root / "clean_project"
    (project / "artifacts" / "split").mkdir(parents=True)
    (project / "data").symlink_to(root / "data")
    split.to_csv(project / "artifacts" / "split" / "manifest.csv", index=False)
    local_params = _params(params, root, "clean_local")
    local_out = root / "clean_local"
    with activate(LOCAL):
        assert clean_stage.run(local_params, project / "artifacts/split/manifest.csv", local_out, root / "data")
    raw = tiny_params()
    raw["embed"].update(num_workers=0, batch_size=16, cache_dir=str(root / "cache" / "clean_dask"))
    assert engine.client is not None
    raw["compute"] = {"engine": "dask", "address": engine.client.scheduler.address, "workers": 2}
    (project / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    env = dict(os.environ, PYTHONPATH=str(REPO), LANDMARK_NO_MLFLOW="1")
    proc = subprocess.run([sys.executable, "-m", "landmark.stages.clean"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dask: connected to" in proc.stderr
    dask_out = project / "artifacts" / "clean"
    for name in ("manifest.csv", "removed.csv", "duplicates.csv", "metrics.json"):
        assert (local_out / name).read_bytes() == (dask_out / name).read_bytes(), name
    a, b = (pd.read_csv(folder / "landmarks.csv") for folder in (local_out, dask_out))
    pd.testing.assert_frame_equal(a, b, rtol=1e-5)  # mean kNN similarity: floats of 1e-7-equal embeddings


def test_index_and_evaluate_equal_local(engine: Engine, world: tuple[Params, Path, pd.DataFrame],
                                        tiny: tuple) -> None:
    params, root, split = world
    train = split[(split["split"] == SPLIT_TRAIN) & is_landmark(split)].reset_index(drop=True)
    calibration = split[(split["split"] == SPLIT_CALIBRATION) & (split["landmark"] == NON_LANDMARK)]
    calibration = calibration.reset_index(drop=True)
    model = tiny[0]
    known = set(train["landmark"])
    e = params.evaluate
    collection = emulated_collection(split, known, e.landmark_share, e.min_landmark_queries, e.seed)
    results = {}
    for name, where in (("local", LOCAL), ("dask", engine)):
        p = _params(params, root, f"index_{name}")  # frozen embedder of the second pass: real weights
        with activate(where):
            built = build_database_recognizer(model, train, calibration, root / "data", p, "tiny")
            recognizer, metrics, database = built.recognizer, built.metrics, built.database
            kept = database[database["kept"]].reset_index(drop=True)
            sets = {"database": kept, "calibration": calibration, "collection": collection}
            trained = embed_sets(model, sets, root / "data", p)
            evaluations = evaluate_systems(trained, kept["landmark"].to_numpy(dtype=object),
                                           truth_array(collection), p, None, recognizer)
        results[name] = (recognizer, metrics, database, flat_metrics(evaluations))
    (rec_a, met_a, db_a, ev_a), (rec_b, met_b, db_b, ev_b) = results["local"], results["dask"]
    assert db_a["kept"].tolist() == db_b["kept"].tolist()
    assert list(rec_a.index.labels) == list(rec_b.index.labels)  # same centroids per landmark, same order
    _same_rows(rec_a.index.vectors(), rec_b.index.vectors())
    assert rec_a.threshold.value == pytest.approx(rec_b.threshold.value, abs=1e-5)
    met_a.pop("seconds"), met_b.pop("seconds")
    assert met_a.keys() == met_b.keys() and all(met_a[k] == pytest.approx(met_b[k], abs=1e-5) for k in met_a)
    assert ev_a.keys() == ev_b.keys() and all(ev_a[k] == pytest.approx(ev_b[k], abs=1e-5) for k in ev_a)


def test_killed_worker_shard_reruns(engine: Engine, tiny: tuple) -> None:
    """SIGKILL the process of a worker that holds a shard in flight, once the first shard is back:
    Dask reruns its shards elsewhere and the rows equal the local path's, each photo exactly once."""
    model, photos, local = tiny
    client = engine.client
    assert client is not None
    pids_before = client.run(os.getpid)
    killed: list[tuple[str, int]] = []

    def kill_busy_worker(_: int) -> None:
        if killed:
            return
        busy = [w for w, keys in client.processing().items() if keys]
        assert busy, "no shard in flight to kill"
        killed.append((busy[0], pids_before[busy[0]]))
        os.kill(pids_before[busy[0]], signal.SIGKILL)

    with activate(engine):
        remote = embed_photos(model, photos, progress=kill_busy_worker, **EMBED)  # type: ignore[arg-type]
    assert killed
    _same_rows(local, remote)
    assert killed[0][1] not in client.run(os.getpid).values()  # the shard really lost its worker
