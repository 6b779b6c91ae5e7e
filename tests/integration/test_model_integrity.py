"""sha256 of a registered model's files: recorded at registration, verified when the pyfunc loads.

Real MLflow (sqlite registry, file artifact store in tmp_path), the real index pyfunc; a byte of the
stored index.faiss is changed to play the tampered artifact.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from landmark.registry.index_model import log_index_model
from landmark.registry.integrity import (
    DIGEST_TAG,
    DIGESTS_FILE,
    IntegrityError,
    digests_digest,
    record_digests,
    record_version_digests,
    verify_digests,
    verify_version,
)
from landmark.retrieval.index import CentroidIndex

pytestmark = pytest.mark.integration
NAME = "idx"


def _index_dir(tmp: Path) -> Path:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(4, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    folder = tmp / "index"
    CentroidIndex.build(vectors, np.array(["a", "a", "b", "b"], dtype=object)).save(folder)
    (folder / "index.json").write_text(json.dumps({"threshold": 0.5}))
    return folder


def test_record_and_verify_a_folder(tmp_path: Path) -> None:
    (tmp_path / "sub" / "__pycache__").mkdir(parents=True)
    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "sub" / "b.txt").write_bytes(b"")
    (tmp_path / "sub" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    (tmp_path / DIGESTS_FILE).write_text("{}")
    digests = record_digests(tmp_path)
    assert digests == {  # sha256("abc"), sha256("") from the FIPS 180-2 examples
        "a.bin": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sub/b.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    verify_digests(tmp_path, digests)
    (tmp_path / "extra.txt").write_text("MLflow may add files")
    verify_digests(tmp_path, digests)
    (tmp_path / "a.bin").write_bytes(b"abd")
    with pytest.raises(IntegrityError, match=r"a\.bin: sha256 .* differs from ba7816bf"):
        verify_digests(tmp_path, digests)
    (tmp_path / "a.bin").unlink()
    with pytest.raises(IntegrityError, match=r"a\.bin: recorded at registration but missing"):
        verify_digests(tmp_path, digests)


def test_tampered_index_is_refused_at_load(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    store = tmp_path / "artifacts"
    experiment = mlflow.create_experiment("t", artifact_location=store.as_uri())
    with mlflow.start_run(experiment_id=experiment):
        log_index_model(_index_dir(tmp_path), registered_model_name=NAME)
    client = MlflowClient(uri)
    digests = record_version_digests(client, NAME, "1")
    assert {"MLmodel", "artifacts/index/index.faiss", "artifacts/index/index.json"} <= set(digests)
    assert client.get_model_version(NAME, "1").tags[DIGEST_TAG] == digests_digest(digests)

    query = pd.DataFrame({"embedding": [CentroidIndex.load(tmp_path / "index").vectors()[0].tolist()]})
    assert list(mlflow.pyfunc.load_model(f"models:/{NAME}/1").predict(query)["landmark"]) == ["a"]
    client.set_registered_model_alias(NAME, "champion", "1")  # MLflow writes registered_model_meta per URI
    assert list(mlflow.pyfunc.load_model(f"models:/{NAME}@champion").predict(query)["landmark"]) == ["a"]
    copy = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/1", dst_path=str(tmp_path / "copy")))
    verify_version(client, NAME, "1", copy)

    (stored,) = [p for p in store.rglob("index.faiss") if "models" in p.parts]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"artifacts/index/index\.faiss: sha256 .* recorded at registration"):
        mlflow.pyfunc.load_model(f"models:/{NAME}/1")

    # rewriting the record along with the file passes the offline check, not the registry's
    (record,) = list(store.rglob(DIGESTS_FILE))
    doc = json.loads(record.read_text())
    doc["files"]["artifacts/index/index.faiss"] = record_digests(stored.parent)["index.faiss"]
    record.write_text(json.dumps(doc))
    mlflow.pyfunc.load_model(f"models:/{NAME}/1")
    copy2 = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/1", dst_path=str(tmp_path / "copy2")))
    with pytest.raises(IntegrityError, match="record was rewritten after registration"):
        verify_version(client, NAME, "1", copy2)


def test_a_model_without_digests_loads_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        log_index_model(_index_dir(tmp_path), registered_model_name=NAME)
    mlflow.pyfunc.load_model(f"models:/{NAME}/1")
    assert "not verified" in caplog.text
