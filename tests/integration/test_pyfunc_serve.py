"""The recognizer pyfunc: logged to a temporary sqlite store, served with `mlflow models serve` on
127.0.0.1, a photo POSTed over HTTP and recognised. Real timm, faiss and MLflow; no mocks."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import requests

from landmark.models.export_files import (
    checked_by_speed,
    onnx_path,
    read_manifest,
    read_variant_check,
    variant_check_path,
)
from landmark.registry.pyfunc import encode_image, log_recognizer
from tests.integration.served_bundle import build_bundle, drawn_photo, free_port, mlflow_serve, stop, wait_ready
from tests.project_limits import SERVE_LIMITS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("pyfunc")
    index_dir, model_path = build_bundle(root)
    return index_dir, model_path, drawn_photo(root / "query_tower.png", 0, 999)


def test_pyfunc_log_load_and_serve(bundle: tuple[Path, Path, Path], tmp_path: Path) -> None:
    index_dir, model_path, query = bundle
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = log_recognizer(
            index_dir, model_path, registered_model_name="landmark-recognizer-test", limits=SERVE_LIMITS
        )
    assert info.signature is not None and "image" in info.signature.inputs.input_names()
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    # the bf16 check travelled with the model: auto runs ov-bf16 when it was measured faster than fp32 here
    identity = str(read_manifest(model_path)["identity"])
    assert read_variant_check(variant_check_path(model_path, identity, "ov-bf16"))["passed"]
    # the index stage's checked fp32 export travelled with the model too (copied, not exported again)
    source_fp32 = onnx_path(model_path, identity, "fp32")
    logged = list(Path(mlflow.artifacts.download_artifacts(info.model_uri)).rglob(source_fp32.name))
    assert len(logged) == 1 and logged[0].read_bytes() == source_fp32.read_bytes()
    expected = (checked_by_speed(model_path, identity) or ["fp32"])[0]
    assert loaded.unwrap_python_model().recognizer.backend == expected
    # the request limits of params.yaml `serve` were recorded in the model and are what it enforces
    limits = loaded.unwrap_python_model().limits
    assert (limits.max_photos, limits.max_photo_bytes) == (SERVE_LIMITS.max_photos, SERVE_LIMITS.max_photo_bytes)
    local = loaded.predict(pd.DataFrame({"image": [encode_image(query)]}))
    assert local["landmark"].tolist() == ["tower"]

    port = free_port()
    log_path = tmp_path / "serve.log"
    server = mlflow_serve("models:/landmark-recognizer-test/1", uri, port, tmp_path, log_path)
    try:
        wait_ready(server, port, log_path)
        payload = {
            "dataframe_split": {
                "columns": ["image", "lat", "lon"],
                "data": [
                    [encode_image(query), 41.89, 12.49],
                    [encode_image(index_dir.parent / "neg_0.png"), None, None],
                ],
            }
        }
        answer = requests.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=60)
        assert answer.status_code == 200, answer.text[:1000]
        rows = answer.json()["predictions"]
        assert rows[0]["landmark"] == "tower" and rows[0]["recognized"] and rows[0]["confidence"] > 0.5
        assert (
            rows[1]["landmark"] == "" and not rows[1]["recognized"] and rows[1]["confidence"] <= 0.5
        )  # a calibration photo: rejected
    finally:
        stop(server)
