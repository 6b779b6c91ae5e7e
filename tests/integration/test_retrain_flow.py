"""The retrain flow end to end on a tiny generated world, with the real Prefect, DVC and MLflow:
register + gate, a no-op rerun, a failing validation, data change and both rollbacks, kill -9 during
training and resume, and the scheduled deployment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow import MlflowClient

from tests.integration.tiny_project import make_tiny_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RECOGNIZER = "landmark-recognizer"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = make_tiny_project(tmp_path_factory.mktemp("project"))
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "LANDMARK_NO_MLFLOW")}
    (root / "mlflow").mkdir(exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root}/mlflow/mlflow.db"
    os.environ.pop("LANDMARK_NO_MLFLOW", None)
    yield root
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _retrain(root: Path, **kwargs: object) -> dict:
    from flows.retrain import retrain

    return retrain(project_dir=str(root), **kwargs)


def _prefect_env() -> dict[str, str]:
    """This process's environment with PREFECT_API_URL set to the API its flows report to (Prefect's
    temporary server when none is set): a flow in a subprocess reports there too, instead of starting
    a temporary server of its own (5-10 s)."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        server = SubprocessASGIServer()  # the one this process's flows use; started once
        server.start()
        url = server.api_url
    return {**os.environ, "PREFECT_API_URL": str(url)}


def _client(root: Path) -> MlflowClient:
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow/mlflow.db")
    return MlflowClient()


def _champion(root: Path) -> str:
    return str(_client(root).get_model_version_by_alias(RECOGNIZER, "champion").version)


def test_first_retrain_runs_every_stage_registers_and_promotes(project: Path) -> None:
    summary = _retrain(project)
    assert set(summary["stages"].values()) == {"ran"}
    assert summary["metrics"]["gap"] >= 0.0
    registry = summary["registry"]
    assert registry["registered"] and registry["promoted"] and registry["reasons"] == ["no champion yet"]
    client = _client(project)
    version = client.get_model_version(RECOGNIZER, registry["recognizer_version"])
    for tag in ("lineage.git_commit", "lineage.data_md5", "lineage.params_hash", "lineage.flow_run_id", "metric.gap"):
        assert version.tags[tag]
    assert "**promoted to champion**" in version.description and version.tags["lineage.data_md5"] in version.description
    assert _champion(project) == registry["recognizer_version"]
    index_champion = client.get_model_version_by_alias("landmark-index", "champion")
    assert index_champion.tags["recognizer_version"] == registry["recognizer_version"]
    parent = client.get_run(summary["parent_run_id"])
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {"validate", "split", "clean", "train_1", "index", "evaluate"} <= {r.info.run_name for r in children}


def test_rerun_with_nothing_changed_skips_stages_and_registers_nothing(project: Path) -> None:
    before = len(_client(project).search_model_versions(f"name='{RECOGNIZER}'"))
    summary = _retrain(project)
    assert set(summary["stages"].values()) == {"skipped"}
    assert summary["registry"]["registered"] is False
    assert len(_client(project).search_model_versions(f"name='{RECOGNIZER}'")) == before


def test_failing_validation_stops_the_flow_before_any_later_stage(project: Path) -> None:
    from prefect.exceptions import PrefectException  # noqa: F401  (the flow re-raises the task error)

    manifest = project / "data" / "manifest.csv"
    original = manifest.read_bytes()
    split_before = (project / "artifacts" / "split" / "manifest.csv").stat().st_mtime
    manifest.write_text("image_id,path\nx,y.jpg\n")  # the landmark column is gone: a broken table
    try:
        with pytest.raises(Exception, match="validate failed"):
            _retrain(project)
    finally:
        manifest.write_bytes(original)
    assert (project / "artifacts" / "split" / "manifest.csv").stat().st_mtime == split_before


def test_scheduled_deployment_exists_and_a_triggered_run_completes(project: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment is stored with its cron, and a run triggered on it is executed by a Runner, in this
    project, to completion. It runs before the data-change test, on the project as the first retrain left
    it, with only evaluate's seed changed: the triggered run reruns the evaluate stage and registers a
    new version (a new lineage) instead of retraining the whole pipeline."""
    from prefect import get_client
    from prefect.deployments import run_deployment

    from flows.schedule import DEPLOYMENT_NAME, retrain_deployment

    deployment = retrain_deployment(cron="0 3 * * 1", project_dir=str(project))
    assert deployment.schedules[0].schedule.cron == "0 3 * * 1"
    deployment_id = deployment.apply()
    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
        assert stored.name == DEPLOYMENT_NAME and stored.schedules[0].schedule.cron == "0 3 * * 1"
    params_path = project / "params.yaml"
    raw = yaml.safe_load(params_path.read_text())
    raw["evaluate"]["seed"] += 1  # evaluate alone is out of date (a seed DVC's run cache has not seen)
    params_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    evaluated = project / "artifacts" / "evaluate" / "metrics.json"
    evaluated_before = evaluated.stat().st_mtime
    versions_before = len(_client(project).search_model_versions(f"name='{RECOGNIZER}'"))
    flow_run = run_deployment(f"retrain/{DEPLOYMENT_NAME}", timeout=0)
    import asyncio

    from prefect.runner import Runner

    monkeypatch.setenv("PREFECT_API_URL", _prefect_env()["PREFECT_API_URL"])  # the flow run's process
    runner = Runner(query_seconds=1)
    runner.add_deployment(deployment)
    asyncio.run(runner.start(run_once=True))
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run.id).state
    assert state is not None and state.is_completed(), state
    assert evaluated.stat().st_mtime > evaluated_before  # the run ran the stage, in this project
    assert len(_client(project).search_model_versions(f"name='{RECOGNIZER}'")) == versions_before + 1


def test_data_change_kill_during_training_resume_then_data_and_model_rollback(project: Path) -> None:
    """New data, `kill -9` of the flow in the middle of training, retrain again: finished stages are
    skipped, training resumes from its checkpoint and the result is registered once. Then the data is
    rolled back byte for byte and the champion moves back to the previous version."""
    from landmark.data.versions import commit_data_version, list_versions, rollback_data
    from landmark.registry.promotion import force_promote, rollback_champion

    first_data = list_versions(project)[0]
    champion_before = _champion(project)
    snapshot = {p.relative_to(project / "data"): p.read_bytes() for p in (project / "data").rglob("*") if p.is_file()}
    manifest = project / "data" / "manifest.csv"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(lines[:-10]) + "\n")  # drop 10 photos from the database
    assert commit_data_version(project, "drop 10 photos", source="test").md5 != first_data.md5
    params_path = project / "params.yaml"
    raw = yaml.safe_load(params_path.read_text())
    raw["train"]["stages"]["1"]["epochs"] = 2  # a checkpoint after epoch 1, then the kill
    params_path.write_text(yaml.safe_dump(raw, sort_keys=False))

    ckpt = project / "artifacts" / "train" / "stage_1" / "checkpoints" / "last.pt"
    started = time.time()
    code = "import sys; from flows.retrain import retrain; retrain(project_dir=sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(project)], cwd=project, start_new_session=True,
                            env=_prefect_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not (ckpt.exists() and ckpt.stat().st_mtime > started):
            assert proc.poll() is None, "the flow ended before the first checkpoint"
            time.sleep(0.3)
        assert ckpt.exists() and ckpt.stat().st_mtime > started, "no checkpoint within 300 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    versions_before = len(_client(project).search_model_versions(f"name='{RECOGNIZER}'"))
    summary = _retrain(project)
    assert summary["stages"]["validate"] == "skipped"  # finished before the kill
    metrics = json.loads((project / "artifacts" / "train" / "stage_1" / "metrics.json").read_text())
    assert metrics["resumed_from_epoch"] == 1 and metrics["epochs"] == 2
    new_version = summary["registry"]["recognizer_version"]
    assert new_version != champion_before
    assert len(_client(project).search_model_versions(f"name='{RECOGNIZER}'")) == versions_before + 1
    assert _retrain(project)["registry"]["registered"] is False  # registered once

    rollback_data(project, first_data.commit)
    restored = {p.relative_to(project / "data"): p.read_bytes() for p in (project / "data").rglob("*") if p.is_file()}
    assert restored == snapshot  # byte-identical

    client = _client(project)
    if _champion(project) != new_version:  # the gate kept the old champion: promote by hand to test rollback
        force_promote(client, RECOGNIZER, new_version, "test")
    assert rollback_champion(client, RECOGNIZER) == champion_before
    loaded = mlflow.pyfunc.load_model(f"models:/{RECOGNIZER}@champion")
    assert str(loaded.metadata.run_id) == client.get_model_version(RECOGNIZER, champion_before).run_id
