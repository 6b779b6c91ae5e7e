"""The recognizer's fast path needs no torch: `landmark recognize` and the logged pyfunc run in a
process where importing torch, timm, torchvision, prefect, dvc or great-expectations fails, from the
export and its manifest alone; a checkpoint that changed after its export is not served a stale one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from landmark.models.export_files import checked_by_speed, manifest_path, read_manifest
from landmark.models.exported import open_exported
from landmark.registry.pyfunc import encode_image, log_recognizer
from tests.integration.served_bundle import REPO, build_bundle
from tests.project_limits import SERVE_LIMITS

pytestmark = pytest.mark.integration
BLOCKED = ("torch", "timm", "torchvision", "prefect", "dvc", "great_expectations")
PRELUDE = f"""
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError("blocked in this test: " + name)
sys.meta_path.insert(0, _Block())
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_bundle(tmp_path_factory.mktemp("torch-free"))


def test_recognize_cli_without_torch(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    index_dir, model_path = bundle
    photo = index_dir.parent / "db_0_1.png"
    code = ("from landmark.cli.main import app; sys.argv = ['landmark', 'recognize', sys.argv[1], '--index', "
            "sys.argv[2], '--model', sys.argv[3], '--json']; app()")
    done = subprocess.run([sys.executable, "-c", PRELUDE + code, str(photo), str(index_dir), str(model_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    rows = answer if isinstance(answer, list) else answer["predictions"]
    assert rows[0]["landmark"] == "tower"


def test_served_pyfunc_without_torch(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    index_dir, model_path = bundle
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_recognizer(index_dir, model_path, limits=SERVE_LIMITS)
    code = ("import mlflow, pandas as pd; m = mlflow.pyfunc.load_model(sys.argv[1]); "
            "r = m.unwrap_python_model().recognizer; "
            "out = m.predict(pd.DataFrame({'image': [sys.argv[2]]})); print(r.backend, out['landmark'][0])")
    done = subprocess.run([sys.executable, "-c", PRELUDE + code, info.model_uri,
                           encode_image(index_dir.parent / "db_0_1.png")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 0, done.stderr[-3000:]
    identity = str(read_manifest(model_path)["identity"])  # auto: ov-bf16 when measured faster here, else fp32
    assert done.stdout.split()[-2:] == [(checked_by_speed(model_path, identity) or ["fp32"])[0], "tower"]


def test_changed_checkpoint_is_not_served_a_stale_export(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    _, model_path = bundle
    copy = tmp_path / "model.pt"
    shutil.copy(model_path, copy)
    shutil.copy(model_path.with_suffix(".json"), copy.with_suffix(".json"))
    shutil.copytree(model_path.parent / "onnx", tmp_path / "onnx")
    shutil.move(tmp_path / "onnx" / manifest_path(model_path).name, manifest_path(copy))
    assert read_manifest(copy) is not None and open_exported(copy, "fp32") is not None
    with copy.open("ab") as handle:  # another checkpoint now (its sha256 changed)
        handle.write(b"\0")
    assert read_manifest(copy) is None and open_exported(copy, "auto") is None


def test_no_export_and_no_torch_is_a_clear_error(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    index_dir, model_path = bundle
    copy = tmp_path / "model.pt"
    shutil.copy(model_path, copy)
    shutil.copy(model_path.with_suffix(".json"), copy.with_suffix(".json"))
    code = ("from landmark.retrieval.recognizer import Recognizer\n"
            "try:\n    Recognizer.load(sys.argv[1], sys.argv[2])\nexcept RuntimeError as exc:\n    print(exc)")
    done = subprocess.run([sys.executable, "-c", PRELUDE + code, str(index_dir), str(copy)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no ONNX export with its manifest" in done.stdout and "pipeline" in done.stdout, done.stdout
