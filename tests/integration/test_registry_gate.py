"""The promotion gate on a real MLflow registry (sqlite): aliases, tags, forced promotion, rollback."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from landmark.evaluation.bootstrap import PairedGap
from landmark.params import PromotionParams
from landmark.registry.index_model import log_index_model
from landmark.registry.promotion import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    champion_version,
    force_promote,
    gate,
    rollback_champion,
)
from landmark.retrieval.index import CentroidIndex

pytestmark = pytest.mark.integration
NAME = "landmark-index"
RULE = PromotionParams(gap_margin=0.0, confidence=0.95, bootstrap_samples=1000, max_fpr_rise=0.0, seed=0)


def _index_dir(tmp: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(6, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    folder = tmp / f"index_{seed}"
    CentroidIndex.build(vectors, np.array(["a", "a", "b", "b", "c", "c"], dtype=object)).save(folder)
    (folder / "index.json").write_text(json.dumps({"threshold": 0.5}))
    return folder


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("gate", artifact_location=(tmp_path / "artifacts").as_uri())
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment)  # restored after the test, unlike set_experiment
    return MlflowClient()


def _register(client: MlflowClient, tmp: Path, seed: int, gap: float, fpr: float) -> str:
    with mlflow.start_run():
        info = log_index_model(_index_dir(tmp, seed), registered_model_name=NAME)
    version = str(info.registered_model_version)
    client.set_model_version_tag(NAME, version, "metric.gap", str(gap))
    client.set_model_version_tag(NAME, version, "metric.fpr_at_threshold", str(fpr))
    return version


def _paired(gap: float, champion_gap: float, spread: float = 0.02) -> PairedGap:
    """A paired comparison whose interval is the difference +- spread (as a bootstrap would give)."""
    delta = gap - champion_gap
    return PairedGap(gap, champion_gap, delta, delta - spread, delta + spread, 0.95, 1000, 500)


def test_gate_promotes_only_a_better_model_and_rolls_back(client: MlflowClient, tmp_path: Path) -> None:
    v1 = _register(client, tmp_path, 1, gap=0.80, fpr=0.01)
    assert gate(client, NAME, v1, RULE).promote
    assert champion_version(client, NAME) == v1

    v2 = _register(client, tmp_path, 2, gap=0.70, fpr=0.01)  # worse: stays challenger
    decision = gate(client, NAME, v2, RULE, paired=_paired(0.70, 0.80), collection="c1 (data md5 d1)")
    assert not decision.promote and decision.champion_version == v1
    assert champion_version(client, NAME) == v1
    assert str(client.get_model_version_by_alias(NAME, CHALLENGER).version) == v2
    tags = client.get_model_version(NAME, v2).tags
    assert tags["gate.status"] == "rejected" and "GAP 0.7000 vs champion 0.8000" in tags["gate.reasons"]
    assert float(tags["gate.gap_delta_ci_high"]) == pytest.approx(-0.08)
    assert tags["gate.collection"] == "c1 (data md5 d1)"

    v_noise = _register(client, tmp_path, 4, gap=0.81, fpr=0.01)  # higher GAP, but inside the noise: kept out
    assert not gate(client, NAME, v_noise, RULE, paired=_paired(0.81, 0.80)).promote
    assert champion_version(client, NAME) == v1

    v3 = _register(client, tmp_path, 3, gap=0.85, fpr=0.005)  # better: promoted, v1 becomes previous
    assert gate(client, NAME, v3, RULE, paired=_paired(0.85, 0.80)).promote
    assert champion_version(client, NAME) == v3
    assert str(client.get_model_version_by_alias(NAME, PREVIOUS).version) == v1
    passed = client.search_model_versions(f"name='{NAME}' and tags.`gate.status`='passed'")
    assert sorted(str(v.version) for v in passed) == sorted([v1, v3])
    assert float(client.get_model_version(NAME, v3).tags["gate.gap_delta_ci_low"]) == pytest.approx(0.03)

    # the champion loads by alias and answers
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@{CHAMPION}")
    vec = CentroidIndex.load(tmp_path / "index_3").vectors()[2]
    out = model.predict(pd.DataFrame({"embedding": [vec.tolist()]}))
    assert out["landmark"].iloc[0] == "b" and bool(out["accepted"].iloc[0])

    assert rollback_champion(client, NAME) == v1
    assert champion_version(client, NAME) == v1
    assert client.get_model_version(NAME, v3).tags["gate.status"] == "rolled_back"

    force_promote(client, NAME, v2, "operator override")
    assert champion_version(client, NAME) == v2
    assert client.get_model_version(NAME, v2).tags["gate.status"] == "forced"


def test_rollback_without_previous_champion_is_a_clear_error(client: MlflowClient, tmp_path: Path) -> None:
    v1 = _register(client, tmp_path, 1, gap=0.8, fpr=0.01)
    gate(client, NAME, v1, RULE)
    with pytest.raises(LookupError, match="no previous champion"):
        rollback_champion(client, NAME)
