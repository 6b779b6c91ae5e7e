"""Registered versions carry a markdown description (what the MLflow UI shows): metrics of the
recognizer and its baselines, the gate's decision, data version and params digest. Real sqlite registry."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from landmark.params import PromotionParams
from landmark.registry.description import describe_pair, metrics_by_system, metrics_markdown
from landmark.registry.lineage import Lineage
from landmark.registry.promotion import gate

pytestmark = pytest.mark.integration
METRICS = {"gap": 0.4808, "sensitivity_at_fpr_1pct": 0.25, "fpr_at_threshold": 0.01, "accuracy_at_1": 0.9,
           "baseline_frozen.gap": 0.31, "baseline_one_centroid.gap": 0.45, "n_queries": 120, "note": "text"}
LINEAGE = Lineage(git_commit="abc1234def", data_md5="d41d8cd98f00b204e9800998ecf8427e.dir",
                  params_hash="p4r4m5h45h", model_sha256="0" * 20, flow_run_id="run-42")


def test_metrics_split_per_system_and_tabled() -> None:
    systems = metrics_by_system(METRICS)
    assert list(systems) == ["recognizer", "baseline_frozen", "baseline_one_centroid"]
    assert systems["recognizer"]["gap"] == 0.4808 and systems["baseline_frozen"] == {"gap": 0.31}
    table = metrics_markdown(METRICS).splitlines()
    assert table[0].startswith("| system | GAP |") and len(table) == 2 + 3
    assert table[2].startswith("| **recognizer** | 0.4808 | 0.2500 |")
    assert table[3] == "| baseline_frozen | 0.3100 | – | – | – | – |"


def test_descriptions_on_a_real_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    (tmp_path / "model").mkdir()
    versions = {}
    for name in ("landmark-recognizer", "landmark-index"):
        client.create_registered_model(name)
        versions[name] = str(client.create_model_version(name, (tmp_path / "model").as_uri()).version)
    rec = ("landmark-recognizer", versions["landmark-recognizer"])
    for key in ("gap", "fpr_at_threshold"):
        client.set_model_version_tag(*rec, f"metric.{key}", str(METRICS[key]))
    rule = PromotionParams(gap_margin=0.0, confidence=0.95, bootstrap_samples=1000, max_fpr_rise=0.0, seed=0)
    decision = gate(client, *rec, rule)
    describe_pair(client, rec, ("landmark-index", versions["landmark-index"]), METRICS, LINEAGE, decision)

    text = client.get_model_version(*rec).description
    for expected in ("| **recognizer** | 0.4808", "| baseline_frozen | 0.3100", "**promoted to champion**",
                     "- no champion yet", "`d41d8cd98f00b204e9800998ecf8427e.dir`", "params digest: `p4r4m5h45h`",
                     "`abc1234def`", "index: landmark-index v1", "flow run `run-42`"):
        assert expected in text, (expected, text)
    index_text = client.get_model_version("landmark-index", "1").description
    assert "recognizer: landmark-recognizer v1" in index_text and "| **recognizer** | 0.4808" in index_text
