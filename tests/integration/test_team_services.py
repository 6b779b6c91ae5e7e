"""The team services for real: `landmark services up` starts PostgreSQL, the S3 object store (SeaweedFS),
the MLflow server (PostgreSQL + artifacts in S3), the Prefect server (PostgreSQL) and a worker of the
`landmark` work pool. On a tiny project pointed there by the printed variables: the scheduled retrain
deployment runs on the worker, a second version is registered, promoted by hand and rolled back, the
data is changed and rolled back from the S3 remote with an empty local cache. Runs, versions, aliases
and flow runs are read back with SQL, artifacts and data objects with boto3, and nothing of it lands in
local files. `landmark services down` leaves no process.

A missing server binary or client package skips with its reason, except under CI (CI=true), where
.ci/run installs them and a skip would hide the gap: there it fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.tiny_project import make_tiny_project

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RECOGNIZER = "landmark-recognizer"
POOL = "landmark"


def _missing() -> str | None:
    """Why the stack cannot start here, or None."""
    from landmark.services.object_store import weed_binary
    from landmark.services.postgres import bin_dir
    from landmark.services.process import ServiceError

    try:
        bin_dir()
        weed_binary()
    except ServiceError as exc:
        return str(exc)
    for module in ("psycopg2", "asyncpg", "boto3", "dvc_s3"):
        try:
            __import__(module)
        except ImportError:
            return f"Python package {module} is missing: pip install -e '.[services]'"
    return None


@dataclass
class Stack:
    project: Path
    services: Path
    env: dict[str, str]
    state: dict  # name -> ServiceRecord, as `up` returned it


def landmark(stack: Stack, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The `landmark` command in the project, with the environment `services env` prints."""
    done = subprocess.run([sys.executable, "-c", "from flows.cli import app; app()", *args], cwd=stack.project,
                          env={**os.environ, **stack.env}, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"landmark {' '.join(args)} exit {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def sql(stack: Stack, database: str, query: str, *params: object) -> list[tuple]:
    from landmark.services import postgres
    from landmark.services.stack import credentials

    conn = postgres.connect(stack.state[postgres.NAME], credentials(stack.services), database)
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return list(cur.fetchall())
    finally:
        conn.close()


def s3_keys(stack: Stack, prefix: str) -> set[str]:
    from landmark.services.object_store import BUCKET, client
    from landmark.services.stack import credentials

    s3 = client(stack.env["AWS_ENDPOINT_URL"], credentials(stack.services))
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys |= {item["Key"] for item in page.get("Contents", [])}
    return keys


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the team services test: {reason} (.ci/run installs it)")
        pytest.skip(reason)
    from landmark.services.stack import SERVICES_DIR_ENV, client_env, credentials, down, up

    project = make_tiny_project(tmp_path_factory.mktemp("team-project"))
    # PostgreSQL runs as the `postgres` account under root: its folder must be reachable by it, which
    # pytest's 0700 temp root is not
    services = Path(tempfile.mkdtemp(prefix="landmark-services-"))
    services.chmod(0o755)
    saved = dict(os.environ)
    os.environ.pop("LANDMARK_NO_MLFLOW", None)  # the worker's flow runs inherit this process's variables
    os.environ["PREFECT_WORKER_QUERY_SECONDS"] = "2"  # the worker polls its pool every 2 s, not 10
    # started with SIGINT ignored, as a shell's background job (`nohup ... &`, a CI script) starts them:
    # children inherit that, and `down` must still stop the worker (it stops by sending itself SIGINT)
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            state = up(services, project)
        finally:
            signal.signal(signal.SIGINT, interrupt)
        env = {**client_env(state, credentials(services)), SERVICES_DIR_ENV: str(services)}
        yield Stack(project, services, env, state)
    finally:
        down(services)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(services, ignore_errors=True)


def test_status_reports_every_service_up(stack: Stack) -> None:
    out = landmark(stack, "services", "status").stdout
    for name in ("postgres", "object_store", "mlflow", "prefect", "worker"):
        line = next(line for line in out.splitlines() if f" {name} " in line)
        assert " up " in line, out
    env_lines = landmark(stack, "services", "env").stdout
    assert f"export MLFLOW_TRACKING_URI={stack.env['MLFLOW_TRACKING_URI']}" in env_lines


def test_scheduled_retrain_runs_on_the_worker_and_lands_in_postgres_and_s3(stack: Stack) -> None:
    from prefect import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from landmark.data.versions import commit_data_version

    landmark(stack, "setup")  # points the DVC remote at s3://landmark/dvc (LANDMARK_DVC_REMOTE)
    config = (stack.project / ".dvc" / "config.local").read_text()
    assert "s3://landmark/dvc" in config and stack.env["AWS_ENDPOINT_URL"] in config
    saved = dict(os.environ)
    os.environ.update(stack.env)
    try:
        commit_data_version(stack.project, "first version, to the team remote", source="test")  # pushes
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert any(key.startswith("dvc/files/md5/") for key in s3_keys(stack, "dvc/"))

    out = landmark(stack, "schedule", "--work-pool", POOL, "--cron", "0 3 * * 1").stdout
    assert f"in work pool '{POOL}'" in out
    with temporary_settings({PREFECT_API_URL: stack.env["PREFECT_API_URL"]}):
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name("retrain/scheduled-retrain")
        assert deployment.work_pool_name == POOL and deployment.schedules[0].schedule.cron == "0 3 * * 1"
        flow_run = run_deployment("retrain/scheduled-retrain", timeout=900, poll_interval=2)
    assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.state

    rows = sql(stack, "prefect", "SELECT fr.state_type, d.name, wp.name FROM flow_run fr JOIN deployment d "
               "ON fr.deployment_id = d.id JOIN work_queue wq ON d.work_queue_id = wq.id "
               "JOIN work_pool wp ON wq.work_pool_id = wp.id WHERE fr.id = %s", str(flow_run.id))
    assert rows == [("COMPLETED", "scheduled-retrain", POOL)]
    runs = sql(stack, "mlflow", "SELECT r.name, r.artifact_uri FROM runs r JOIN experiments e "
               "ON r.experiment_id = e.experiment_id WHERE e.name = 'landmark'")
    assert {"validate", "split", "clean", "train_1", "index", "evaluate"} <= {name for name, _ in runs}
    assert all(uri.startswith("mlflow-artifacts:/") for _, uri in runs)  # stored by the server, in S3
    versions = sql(stack, "mlflow", "SELECT version FROM model_versions WHERE name = %s", RECOGNIZER)
    assert versions == [(1,)]
    assert sql(stack, "mlflow", "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = "
               "'champion'", RECOGNIZER) == [(1,)]
    artifacts = s3_keys(stack, "mlflow/")
    assert any(key.endswith("/MLmodel") for key in artifacts) and any(key.endswith("params.yaml") for key in artifacts)
    # nothing of it in local stores
    assert not list(stack.project.rglob("*.db")) and not list(stack.project.rglob("mlruns"))
    assert not (stack.project / "mlflow" / "artifacts").exists()


def test_register_promote_and_roll_back_model_and_data_against_the_services(stack: Stack) -> None:
    from landmark.data.versions import commit_data_version, list_versions

    params_path = stack.project / "params.yaml"
    raw = yaml.safe_load(params_path.read_text())
    raw["promotion"]["bootstrap_samples"] += 1  # a new lineage; no DVC stage depends on it
    params_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    landmark(stack, "retrain")
    assert sql(stack, "mlflow", "SELECT version FROM model_versions WHERE name = %s ORDER BY version",
               RECOGNIZER) == [(1,), (2,)]
    landmark(stack, "promote", "2", "--reason", "team services test")
    champion = "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = 'champion'"
    assert sql(stack, "mlflow", champion, RECOGNIZER) == [(2,)]
    landmark(stack, "model", "rollback")
    assert sql(stack, "mlflow", champion, RECOGNIZER) == [(1,)]

    first = list_versions(stack.project)[0]
    data = stack.project / "data"
    snapshot = {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file()}
    before = s3_keys(stack, "dvc/")
    local_remote = stack.project / ".dvc-remote"  # the committed default, used before the services
    local_before = sorted(local_remote.rglob("*"))
    manifest = data / "manifest.csv"
    manifest.write_text("\n".join(manifest.read_text().splitlines()[:-10]) + "\n")
    saved = dict(os.environ)
    os.environ.update(stack.env)
    try:
        changed = commit_data_version(stack.project, "drop 10 photos", source="test")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert changed.md5 != first.md5 and s3_keys(stack, "dvc/") > before  # the new version was pushed ...
    assert sorted(local_remote.rglob("*")) == local_before  # ... there, not to the local folder
    shutil.rmtree(stack.project / ".dvc" / "cache")  # the rollback can only come from the S3 remote
    landmark(stack, "data", "rollback", first.commit)
    assert {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file()} == snapshot
    assert not list(stack.project.rglob("*.db")) and not list(stack.project.rglob("mlruns"))


def test_down_stops_everything_and_leaves_no_process(stack: Stack) -> None:
    from landmark.services.process import alive
    from landmark.services.stack import leftover_processes, read_state

    records = read_state(stack.services)
    assert set(records) == {"postgres", "object_store", "mlflow", "prefect", "worker"}
    out = landmark(stack, "services", "down")
    assert "killed" not in out.stderr, out.stderr
    assert leftover_processes(records) == {}
    assert not any(alive(record.pid) for record in records.values())
    assert read_state(stack.services) == {}
