"""The index and evaluate stages end to end on a tiny generated world, as subprocesses in a temporary
project folder, logging to a temporary MLflow sqlite store. The network is the ImageNet lite0 backbone
with a fresh 32-d neck, saved with save_embedder as if it were the last training stage's model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml

from landmark.data.manifest import NON_LANDMARK, read_manifest
from tests.integration.index_project import index_project
from tests.integration.tiny_project import REPO, tiny_params

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index_eval")
    raw = tiny_params()
    raw["evaluate"]["frozen_baseline"] = True  # this test covers every baseline
    return index_project(root, raw)


def _run(root: Path, module: str, *args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}")
    env.pop("LANDMARK_NO_MLFLOW", None)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_index_then_evaluate(project: Path) -> None:
    _run(project, "landmark.stages.index")
    index_dir = project / "artifacts" / "index"
    meta = json.loads((index_dir / "index.json").read_text())
    index_metrics = json.loads((index_dir / "metrics.json").read_text())
    assert -1.0 <= meta["threshold"] <= 1.0 and set(meta["fprs"]) == {"0.01", "0.001"}
    assert index_metrics["n_landmarks"] == 5  # 6 landmarks, 1 left out as unknown
    assert 5 <= index_metrics["n_centroids"] <= 15
    assert index_metrics["bf16_checked"] == 1.0 and abs(index_metrics["bf16_accuracy_drop"]) < 0.2, index_metrics
    assert list((project / "artifacts" / "train").glob("stage_*/onnx/*.ov-bf16.json"))  # read by fast_embedder
    # every landmark photo of the cleaned database is either indexed or removed by the second pass
    indexed = read_manifest(index_dir / "database.csv")
    removed = pd.read_csv(index_dir / "second_pass_removed.csv", dtype=str)
    clean = read_manifest(project / "artifacts" / "clean" / "manifest.csv")
    assert len(indexed) == index_metrics["n_database_photos"] and len(removed) == index_metrics["second_pass_removed"]
    assert len(indexed) + len(removed) == int((clean["landmark"] != NON_LANDMARK).sum())
    assert set(indexed["image_id"]).isdisjoint(removed["image_id"]) and "evidence" in indexed

    _run(project, "landmark.stages.evaluate")
    out = project / "artifacts" / "evaluate"
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "gap",
        "sensitivity_at_fpr_1pct",
        "sensitivity_at_fpr_0_1pct",
        "accuracy_at_1",
        "fpr_at_threshold",
        "baseline_frozen.gap",
        "baseline_single_centroid.gap",
        "baseline_nearest_photo.gap",
    ):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["n_landmark_queries"] >= 5 and metrics["n_reject_queries"] > metrics["n_landmark_queries"]
    assert metrics["accuracy_at_1"] > 0.3, metrics  # 5 landmarks: chance is 0.2
    for name in ("per_landmark.csv", "sensitivity_fpr.png", "precision_recall.png"):
        assert (out / name).stat().st_size > 100
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.stage = 'evaluate'")
    assert len(runs) == 1 and runs.iloc[0]["metrics.gap"] == pytest.approx(metrics["gap"], abs=1e-6)


def test_left_out_landmarks_floor_the_stored_threshold(project: Path) -> None:
    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["index"]["left_out_landmarks"] = 3
    (project / "params_left_out.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    _run(project, "landmark.stages.index", "--params", "params_left_out.yaml", "--out", "artifacts/index_left_out")
    out = project / "artifacts" / "index_left_out"
    metrics = json.loads((out / "metrics.json").read_text())
    meta = json.loads((out / "index.json").read_text())
    indexed = read_manifest(out / "database.csv")
    # 3 of the 5 indexed landmarks were left out: all of their photos were scored
    assert 0 < metrics["left_out_photos"] < len(indexed)
    assert metrics["threshold"] == pytest.approx(max(metrics["threshold_non_landmarks"],
                                                     metrics["threshold_left_out"]), abs=1e-5)
    assert meta["threshold"] == pytest.approx(metrics["threshold"], abs=1e-5)  # metrics.json: 6 decimals
    default = json.loads((project / "artifacts" / "index" / "metrics.json").read_text())
    assert default["left_out_photos"] == 0 and default["threshold"] == default["threshold_non_landmarks"]


def test_the_frozen_view_adds_its_second_opinion_in_the_same_pass(project: Path) -> None:
    """index.frozen_weight on: the index keeps the database's frozen features, the served recognizer's score
    (ONNX Runtime, one pass) is (the similarity + the weight x the frozen backbone's kNN similarity to its
    answer) / (1 + the weight) (checked against a separate frozen torch network), the same under concurrent single-photo
    calls, and the evaluate stage's baselines are the plain index's."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from landmark.models.embedder import frozen_embedder
    from landmark.models.embedding import embed
    from landmark.params import parse_params
    from landmark.retrieval.frozen_view import FrozenView
    from landmark.retrieval.recognizer import Recognizer

    raw = yaml.safe_load((project / "params.yaml").read_text())
    raw["index"]["frozen_weight"] = 0.5
    raw["evaluate"]["frozen_baseline"] = False
    (project / "params_view.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    _run(project, "landmark.stages.index", "--params", "params_view.yaml", "--out", "artifacts/index_view")
    out = project / "artifacts" / "index_view"
    metrics = json.loads((out / "metrics.json").read_text())
    meta = json.loads((out / "index.json").read_text())
    assert meta["frozen_view"]["weight"] == 0.5 and meta["frozen_view"]["dim"] == 1280
    assert meta["frozen_view"]["photos"] == metrics["n_database_photos"] == metrics["frozen_view_photos"]
    default = json.loads((project / "artifacts" / "index" / "metrics.json").read_text())
    assert metrics["embedding_threshold"] == pytest.approx(default["threshold"], abs=1e-6)  # the plain one
    assert metrics["threshold"] != pytest.approx(metrics["embedding_threshold"], abs=1e-3)  # the fused one

    model_path = project / "artifacts" / "train" / "stage_3" / "model.pt"
    if not model_path.is_file():
        model_path = sorted((project / "artifacts" / "train").glob("stage_*/model.pt"))[-1]
    recognizer = Recognizer.load(out, model_path, backend="auto")
    assert recognizer.view is not None and recognizer.backend == "fp32"  # the one pass, exported to ONNX
    indexed = read_manifest(out / "database.csv")
    paths = [project / "data" / p for p in indexed["path"].iloc[::7]][:8]
    paths += sorted((project / "data").rglob("*.jpg"))[-8:]  # and some of the other photos
    batch = recognizer.recognize(paths)
    frozen = embed(frozen_embedder(parse_params(raw).backbone), paths, preprocessing="numpy", batch_size=8, workers=0)
    view = FrozenView.load(out)
    assert view is not None
    similarity = np.array([p.similarity for p in batch])
    expected = (similarity + 0.5 * view.score(frozen, [p.candidate for p in batch], 3)) / 1.5
    np.testing.assert_allclose([p.score for p in batch], expected, atol=2e-3)  # float16 view on disk
    assert all((p.landmark is not None) == (p.score >= meta["threshold"]) for p in batch)
    with ThreadPoolExecutor(8) as pool:
        alone = list(pool.map(lambda path: recognizer.recognize([path])[0], paths * 2))
    for a, b in zip(alone, batch * 2, strict=True):
        assert a.landmark == b.landmark and a.score == pytest.approx(b.score, abs=1e-5)

    _run(project, "landmark.stages.evaluate", "--params", "params_view.yaml", "--index", "artifacts/index_view",
         "--out", "artifacts/evaluate_view")
    evaluated = json.loads((project / "artifacts" / "evaluate_view" / "metrics.json").read_text())
    plain = json.loads((project / "artifacts" / "evaluate" / "metrics.json").read_text())
    assert evaluated["accuracy_at_1"] == pytest.approx(plain["accuracy_at_1"], abs=1e-9)  # the view only rescores
    for key in ("baseline_single_centroid.gap", "baseline_nearest_photo.gap"):
        assert evaluated[key] == pytest.approx(plain[key], abs=1e-6), key


def test_photos_of_calibration_landmarks_floor_the_threshold(tmp_path_factory: pytest.TempPathFactory) -> None:
    """split.calibration_landmarks: one whole landmark is kept out of the index; the served recognizer
    rejects all but target_fpr of its photos that count (those closer to their own landmark than to the
    answer), the threshold is the higher of the two calibrations, and the evaluate stage reports what
    each must-reject kind lets through."""
    import numpy as np

    from landmark.retrieval.recognizer import Recognizer
    from landmark.retrieval.threshold import allowed_passes
    from landmark.retrieval.unseen_landmarks import counted, own_landmark_similarity

    raw = tiny_params()
    raw["sample"]["n_landmarks"] = 7
    raw["split"]["calibration_landmarks"] = 1
    root = index_project(tmp_path_factory.mktemp("unseen"), raw)
    _run(root, "landmark.stages.index")
    out = root / "artifacts" / "index"
    metrics = json.loads((out / "metrics.json").read_text())
    meta = json.loads((out / "index.json").read_text())
    split = read_manifest(root / "artifacts" / "split" / "manifest.csv")
    unseen = split[(split["split"] == "calibration") & (split["landmark"] != NON_LANDMARK)]
    assert unseen["landmark"].nunique() == 1 and metrics["unseen_landmark_photos"] == len(unseen)
    assert metrics["n_landmarks"] == 5  # 7: 1 unknown, 1 calibration
    assert unseen["landmark"].iloc[0] not in set(read_manifest(out / "database.csv")["landmark"])
    assert 0 < metrics["unseen_landmark_photos_counted"] <= len(unseen)
    assert metrics["threshold"] == pytest.approx(max(metrics["threshold_non_landmarks"],
                                                     metrics["threshold_unseen"]), abs=1e-5)
    assert meta["threshold"] == pytest.approx(metrics["threshold"], abs=1e-5)

    model_path = sorted((root / "artifacts" / "train").glob("stage_*/model.pt"))[-1]
    recognizer = Recognizer.load(out, model_path, backend="fp32")
    rows = recognizer.embed([root / "data" / p for p in unseen["path"]])
    preds = recognizer.predict_embeddings(rows)
    scores = np.array([p.score if p.score is not None else p.similarity for p in preds])
    count = counted(scores, own_landmark_similarity(rows, unseen["landmark"].to_numpy()))
    assert int(count.sum()) == metrics["unseen_landmark_photos_counted"]
    # served on ONNX Runtime, calibrated on torch: a photo right at the floor may differ by 1e-6
    answered = scores >= meta["threshold"] + 1e-4
    assert answered[count].sum() <= allowed_passes(int(count.sum()), meta["calibration"]["target_fpr"])
    assert all((p.landmark is not None) == (p.score >= meta["threshold"]) for p in preds)

    _run(root, "landmark.stages.evaluate")
    evaluated = json.loads((root / "artifacts" / "evaluate" / "metrics.json").read_text())
    predictions = pd.read_csv(root / "artifacts" / "evaluate" / "predictions.csv")
    reject = predictions[predictions["role"] != "known"]
    share = reject["role"].value_counts(normalize=True)
    pooled = sum(share[role] * evaluated[f"{role}_passed_at_threshold"] for role in share.index)
    assert set(share.index) == {"unknown", "non_landmark"}
    assert evaluated["fpr_at_threshold"] == pytest.approx(pooled, abs=1e-6)
    assert unseen["image_id"].isin(predictions["image_id"]).sum() == 0  # calibration photos are no queries


def test_a_champion_with_other_landmarks_is_evaluated_on_the_challengers_collection(project: Path) -> None:
    """The gate's paired comparison needs both models' answers on the same queries with the same truth. A
    champion whose index holds a landmark the challenger's does not (another data version or split) is
    evaluated with --known-from the challenger's index: same collection; without it, another one."""
    from landmark.evaluation.bootstrap import paired_gap_from_files
    from landmark.models.checkpoint import load_embedder
    from landmark.params import load_params
    from landmark.retrieval.database_recognizer import build_database_recognizer

    if not (project / "artifacts" / "index" / "index.json").is_file():
        _run(project, "landmark.stages.index")
    params = load_params(project / "params.yaml")
    model_path = sorted((project / "artifacts" / "train").glob("stage_*/model.pt"))[-1]
    clean = read_manifest(project / "artifacts" / "clean" / "manifest.csv")
    dropped = sorted(clean.loc[clean["landmark"] != NON_LANDMARK, "landmark"].unique())[0]
    split = read_manifest(project / "artifacts" / "split" / "manifest.csv")
    calibration = split[(split["split"] == "calibration") & (split["landmark"] == NON_LANDMARK)]
    database = clean[clean["landmark"] != dropped].reset_index(drop=True)
    built = build_database_recognizer(load_embedder(model_path), database, calibration.reset_index(drop=True),
                                      project / "data", params, str(model_path))
    fewer = project / "artifacts" / "index_fewer"  # the challenger: one landmark fewer
    built.recognizer.save(fewer)
    indexed = built.database[built.database["kept"]].drop(columns=["kept"])
    indexed.to_csv(fewer / "database.csv", index=False)

    ev = project / "artifacts"
    _run(project, "landmark.stages.evaluate", "--index", str(fewer), "--out", str(ev / "eval_fewer"), "--no-frozen")
    _run(project, "landmark.stages.evaluate", "--out", str(ev / "eval_champion"), "--no-frozen",
         "--known-from", str(fewer))
    challenger = pd.read_csv(ev / "eval_fewer" / "predictions.csv", dtype=str, keep_default_na=False)
    champion = pd.read_csv(ev / "eval_champion" / "predictions.csv", dtype=str, keep_default_na=False)
    assert sorted(zip(challenger["image_id"], challenger["truth"], strict=True)) == sorted(
        zip(champion["image_id"], champion["truth"], strict=True))
    assert (challenger.loc[challenger["landmark"] == dropped, "truth"] == "").all()  # must be rejected
    paired = paired_gap_from_files(ev / "eval_fewer" / "predictions.csv", ev / "eval_champion" / "predictions.csv",
                                   200, 0.95, 0)
    assert paired.low <= paired.delta <= paired.high and paired.queries == len(challenger)
    if not (ev / "evaluate" / "predictions.csv").is_file():
        _run(project, "landmark.stages.evaluate", "--no-frozen")
    with pytest.raises(ValueError, match="different collections|disagree"):  # the champion's own collection
        paired_gap_from_files(ev / "eval_fewer" / "predictions.csv", ev / "evaluate" / "predictions.csv",
                              200, 0.95, 0)
