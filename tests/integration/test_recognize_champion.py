"""`landmark recognize` / `albums` follow the registry: two versions of a tiny recognizer (different
index labels) registered in a real sqlite MLflow store under tmp_path; the champion answers, a
promotion or a rollback changes the answer, no champion is a clear usage error, --index/--model still
use local files, a changed cached file is fetched again, and the registry path needs no torch.
No mocks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from landmark.cli.main import app
from landmark.registry.champion_model import CACHE, RECOGNIZER
from landmark.registry.integrity import record_version_digests
from landmark.registry.promotion import CHAMPION, force_promote, rollback_champion
from landmark.registry.pyfunc import log_recognizer
from tests.integration.served_bundle import REPO, build_bundle
from tests.integration.test_torch_free_serving import PRELUDE
from tests.project_limits import SERVE_LIMITS

pytestmark = pytest.mark.integration


def _relabel(index_dir: Path, out: Path, suffix: str) -> Path:
    """A copy of the index whose landmarks are named `<name><suffix>` (same vectors, same network)."""
    shutil.copytree(index_dir, out)
    for table in ("centroids.csv", "landmarks.csv"):
        path = out / table
        text = path.read_text()
        for name in ("tower", "dome"):
            text = text.replace(name, name + suffix)
        path.write_text(text)
    return out


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project folder whose sqlite store holds landmark-recognizer v1 (tower/dome) and v2
    (tower_v2/dome_v2), digests recorded, no champion yet."""
    root = tmp_path_factory.mktemp("champion")
    index_dir, model_path = build_bundle(root / "bundle")
    project = root / "project"
    project.mkdir()
    uri = f"sqlite:///{project / 'mlflow' / 'mlflow.db'}"
    (project / "mlflow").mkdir()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("t", artifact_location=(project / "mlflow" / "artifacts").as_uri())
    client = MlflowClient(uri)
    for version, index in (("1", index_dir), ("2", _relabel(index_dir, root / "index_v2", "_v2"))):
        with mlflow.start_run(experiment_id=experiment):
            log_recognizer(index, model_path, registered_model_name=RECOGNIZER, limits=SERVE_LIMITS)
        record_version_digests(client, RECOGNIZER, version)
    return {"project": project, "uri": uri, "client": client, "photo": index_dir.parent / "db_0_1.png",
            "index": index_dir, "model": model_path}


@pytest.fixture()
def in_project(registry: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(registry["project"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
    return registry


def _invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, " ".join(result.stderr.split())  # rich wraps long lines


def _answer(photo: Path, *options: object) -> tuple[str, str]:
    code, out, err = _invoke("recognize", photo, *options, "--json")
    assert code == 0, err
    return json.loads(out)[0]["landmark"], err


def test_users_get_the_champion_and_follow_promotion_and_rollback(in_project: dict[str, Any]) -> None:
    client, photo = in_project["client"], in_project["photo"]
    code, _, err = _invoke("recognize", photo)  # registered, but no champion yet
    assert code == 2 and "has no champion yet" in err and "landmark retrain" in err and "--index" in err, err

    force_promote(client, RECOGNIZER, "1", "test")
    landmark, err = _answer(photo)
    assert landmark == "tower" and "landmark-recognizer v1 (champion)" in err, err
    assert (in_project["project"] / CACHE / RECOGNIZER / "1" / "MLmodel").is_file()

    force_promote(client, RECOGNIZER, "2", "test")  # the same command now answers with v2
    landmark, err = _answer(photo)
    assert landmark == "tower_v2" and "landmark-recognizer v2 (champion)" in err, err
    code, out, _ = _invoke("recognize", photo)  # the table names the version that answered
    assert code == 0 and "landmark-recognizer v2 (champion)" in out and "tower_v2" in out, out

    assert rollback_champion(client, RECOGNIZER) == "1"
    assert _answer(photo)[0] == "tower"
    assert _answer(photo, "--model-uri", f"models:/{RECOGNIZER}/2")[0] == "tower_v2"
    assert _answer(photo, "--index", in_project["index"], "--model", in_project["model"])[0] == "tower"

    album = in_project["project"] / "out"
    code, _, err = _invoke("albums", photo.parent, "--out", album)
    assert code == 0 and "landmark-recognizer v1 (champion)" in err, err
    assert "tower" in json.loads((album / "albums.json").read_text())["landmarks"]


def test_clear_errors(in_project: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = in_project["photo"]
    code, _, err = _invoke("recognize", photo, "--model-uri", f"models:/{RECOGNIZER}@nobody")
    assert code == 2 and "has no version with the alias 'nobody' yet" in err, err
    code, _, err = _invoke("recognize", photo, "--model-uri", f"models:/{RECOGNIZER}/9")
    assert code == 2 and "no version 9" in err, err
    code, _, err = _invoke("recognize", photo, "--model", in_project["model"])
    assert code == 2 and "--model needs --index" in err, err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}")
    code, _, err = _invoke("recognize", photo)
    assert code == 2 and "no model registry" in err and "landmark retrain" in err, err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    code, _, err = _invoke("recognize", photo)
    assert code == 2 and "cannot reach the MLflow store" in err, err


def test_a_changed_cached_file_is_fetched_again(in_project: dict[str, Any]) -> None:
    client, photo = in_project["client"], in_project["photo"]
    force_promote(client, RECOGNIZER, "2", "test")
    assert _answer(photo)[0] == "tower_v2"
    cached = in_project["project"] / CACHE / RECOGNIZER / "2"
    table = next(cached.rglob("centroids.csv"))
    table.write_text(table.read_text().replace("tower_v2", "forged"))
    assert _answer(photo)[0] == "tower_v2"  # refused, downloaded again, verified
    assert "forged" not in next(cached.rglob("centroids.csv")).read_text()


def test_champion_path_without_torch(in_project: dict[str, Any]) -> None:
    client = in_project["client"]
    if client.get_model_version_by_alias(RECOGNIZER, CHAMPION).version != 1:
        force_promote(client, RECOGNIZER, "1", "test")
    shutil.rmtree(in_project["project"] / CACHE / RECOGNIZER / "1")  # download and use it, both without torch
    code = "from landmark.cli.main import app; sys.argv = ['landmark', 'recognize', sys.argv[1], '--json']; app()"
    done = subprocess.run([sys.executable, "-c", PRELUDE + code, str(in_project["photo"])],
                          cwd=in_project["project"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": in_project["uri"]})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)[0]["landmark"] == "tower" and "v1 (champion)" in done.stderr


def test_two_processes_fetching_at_once(in_project: dict[str, Any], tmp_path: Path) -> None:
    """Both get a verified copy; one rename wins, the other uses it; no temporary folder is left."""
    code = ("import sys; from pathlib import Path; from landmark.registry.champion_model import fetch_model; "
            "m = fetch_model(Path(sys.argv[1]), 'models:/landmark-recognizer/2'); print(m.describe(), m.index_dir)")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": in_project["uri"]}
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]
        assert out.startswith("landmark-recognizer v2 ") and (Path(out.split()[-1]) / "index.json").is_file()
    assert sorted(p.name for p in (tmp_path / CACHE / RECOGNIZER).iterdir()) == ["2"]
