"""`landmark model list` on a real MLflow registry (sqlite in tmp_path): three versions gated by the
real promotion gate, so aliases, decisions and reasons are the ones a retrain writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from landmark.cli.main import app
from landmark.evaluation.bootstrap import PairedGap
from landmark.params import PromotionParams
from landmark.registry.listing import list_versions, readable_time
from landmark.registry.promotion import gate

pytestmark = pytest.mark.integration
NAME = "landmark-recognizer"
RULE = PromotionParams(gap_margin=0.0, confidence=0.95, bootstrap_samples=1000, max_fpr_rise=0.0, seed=0)


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (params.yaml marks its root) whose registry is a fresh sqlite store."""
    (tmp_path / "params.yaml").write_text("{}\n")
    uri = f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    (tmp_path / "mlflow").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(uri)
    return tmp_path


def _version(client: MlflowClient, root: Path, gap: float, fpr: float, extra: dict[str, str] | None = None) -> str:
    """A tiny registered version (an empty artifact folder) with its metrics, then the gate's verdict."""
    if not client.search_registered_models(f"name='{NAME}'"):
        client.create_registered_model(NAME)
    source = root / "artifacts" / f"v{gap}"
    source.mkdir(parents=True)
    (source / "MLmodel").write_text("flavors: {}\n")
    version = str(client.create_model_version(NAME, source.as_uri()).version)
    tags = {"metric.gap": str(gap), "metric.fpr_at_threshold": str(fpr), "lineage.data_md5": "0123456789abcdef",
            **(extra or {})}
    for key, value in tags.items():
        client.set_model_version_tag(NAME, version, key, value)
    registered = client.get_registered_model(NAME).aliases.get("champion")
    paired = None
    if registered is not None:  # a paired comparison whose interval is the difference +- 0.02
        champion_gap = float(client.get_model_version(NAME, str(registered)).tags["metric.gap"])
        delta = gap - champion_gap
        paired = PairedGap(gap, champion_gap, delta, delta - 0.02, delta + 0.02, 0.95, 1000, 500)
    gate(client, NAME, version, RULE, paired=paired)
    return version


def _registry(root: Path) -> MlflowClient:
    client = MlflowClient()
    _version(client, root, 0.40, 0.01)  # v1: no champion yet -> champion
    _version(client, root, 0.45, 0.01, {"gate.gap_ci_low": "0.41", "gate.gap_ci_high": "0.49"})  # v2 wins
    _version(client, root, 0.30, 0.01)  # v3: lower GAP -> rejected, stays challenger
    return client


def test_rows_carry_aliases_dates_and_the_gate(project: Path) -> None:
    client = _registry(project)
    assert all(not v.aliases for v in client.search_model_versions(f"name='{NAME}'"))  # why we do not use them
    rows = list_versions(client)
    assert [(r.model, r.version) for r in rows] == [(NAME, "1"), (NAME, "2"), (NAME, "3")]
    assert [r.aliases for r in rows] == [("previous_champion",), ("champion",), ("challenger",)]
    assert [r.gate_status for r in rows] == ["passed", "passed", "rejected"]
    assert rows[0].gate_reason == "no champion yet" and rows[1].compared_with == "1"
    assert "GAP 0.3000 vs champion 0.4500" in rows[2].gate_reason and "not above the margin" in rows[2].gate_reason
    assert rows[1].gap == pytest.approx(0.45) and rows[1].fpr_at_threshold == pytest.approx(0.01)
    assert rows[1].gap_interval is not None and (rows[1].gap_interval.low, rows[1].gap_interval.high) == (0.41, 0.49)
    assert rows[0].gap_interval is None and rows[1].gate_tags["gate.gap_ci_low"] == "0.41"
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row.created), row.created
    assert readable_time(0) == "" and readable_time(86_400_000 + 61_000) == "1970-01-02T00:01:01Z"


def test_cli_table_and_json(project: Path) -> None:
    _registry(project)
    result = CliRunner().invoke(app, ["model", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["version"], r["aliases"], r["gate_status"]) for r in rows] == [
        ("1", ["previous_champion"], "passed"), ("2", ["champion"], "passed"), ("3", ["challenger"], "rejected")]
    assert rows[1]["gap_interval"] == {"low": 0.41, "high": 0.49, "of": "gap"}
    assert rows[0]["gap_interval"] is None and rows[0]["created"].endswith("Z")

    result = CliRunner().invoke(app, ["model", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("champion", "previous_champion", "challenger", "rejected", "no champion yet",
                 "0.4500 [0.410, 0.490]", "01234567"):
        assert text in result.stdout, (text, result.stdout)
    assert not re.search(r"\b1[0-9]{12}\b", result.stdout)  # no raw epoch milliseconds


def test_empty_registry_says_so(project: Path) -> None:
    result = CliRunner().invoke(app, ["model", "list"])
    assert result.exit_code == 0 and "no registered model yet" in result.stderr
    assert json.loads(CliRunner().invoke(app, ["model", "list", "--json"]).stdout) == []
