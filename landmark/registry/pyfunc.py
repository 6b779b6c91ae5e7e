"""The recognizer as one MLflow pyfunc model: network + faiss index + threshold, with the project's code.

Input: a dataframe with `image` (base64-encoded photo bytes, any format PIL reads) and optional `lat`,
`lon` (where the photo was taken; enables the location filter). Output, one row per input row:
`landmark` ("" = no landmark; an empty string survives JSON, where None would come back as NaN),
`recognized` (bool), `confidence` in [0, 1], `similarity` (the acceptance score of the nearest allowed
landmark: landmark.retrieval.index),
`error_kind` and `error` ("" for a photo that was used; else the kind and a message naming the row,
see `landmark.serving.request`). A bad row never costs the good rows of the same request their
answers. Safe for concurrent requests (the server calls predict from many threads).
`code_paths=[landmark/]` lets a process that cannot import `landmark` load it.
The network runs on the fastest variant whose accuracy check passed (`model_config={"backend": ...}`:
auto | fp32 | int8 | ov-fp32 | ov-bf16 | torch); the fp32 export and its manifest are made at log time
and shipped in `model_dir/onnx/`, so loading needs no torch (`landmark.models.exported`). Other
model_config keys: max_photos (rows per request), max_photo_bytes: params.yaml `serve`, recorded at
registration (versions logged before they were recorded get LIMITS_BEFORE_RECORDING).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

if TYPE_CHECKING:
    from landmark.params import ServeParams

log = logging.getLogger(__name__)
# what versions registered before the limits were recorded in model_config accept (rows, bytes)
LIMITS_BEFORE_RECORDING = (256, 50 * 1024 * 1024)
DEFAULT_BACKEND = "auto"  # the fastest variant whose accuracy check passed (onnx_embedder.fast_embedder)
INPUT_SCHEMA = Schema(
    [
        ColSpec("string", "image", required=False),  # absent: every row answers error_kind missing_column
        ColSpec("double", "lat", required=False),
        ColSpec("double", "lon", required=False),
    ]
)
OUTPUT_SCHEMA = Schema(
    [
        ColSpec("string", "landmark"),
        ColSpec("boolean", "recognized"),
        ColSpec("double", "confidence"),
        ColSpec("double", "similarity"),
        ColSpec("string", "error_kind"),
        ColSpec("string", "error"),
    ]
)


def encode_image(path: Path | str) -> str:
    """A photo file's bytes as base64 text (what the `image` column carries)."""
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


class RecognizerModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """Loads the embedder and the index folder from the model's artifacts."""

    def load_context(self, context: Any) -> None:
        from landmark.registry.integrity import verify_artifacts
        from landmark.retrieval.recognizer import Recognizer
        from landmark.serving.request import RequestLimits

        verify_artifacts(context.artifacts)  # refuses a file changed since registration, naming it
        config = dict(getattr(context, "model_config", None) or {})
        model_dir = Path(context.artifacts["model_dir"])
        index_dir = Path(context.artifacts["index_dir"])
        backend = str(config.get("backend", DEFAULT_BACKEND))
        recorded = "max_photos" in config and "max_photo_bytes" in config
        self.limits = (
            RequestLimits(int(config["max_photos"]), int(config["max_photo_bytes"]))
            if recorded
            else RequestLimits(*LIMITS_BEFORE_RECORDING)
        )
        try:
            self.recognizer = Recognizer.load(index_dir, model_dir / "model.pt", backend=backend)
        except Exception as exc:  # noqa: BLE001 - any ONNX failure: serve with the torch reference
            if backend == "torch":
                raise
            log.warning("recognizer backend %s unavailable (%s): using torch", backend, exc)
            self.recognizer = Recognizer.load(index_dir, model_dir / "model.pt", backend="torch")
        log.info("recognizer loaded: backend %s", self.recognizer.backend)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """One answer row per input row; bad rows answer their error (see the module docstring)."""
        from landmark.serving.answers import answer_rows, good_rows
        from landmark.serving.request import parse_request

        request = parse_request(pd.DataFrame(model_input), self.limits)
        good = good_rows(request)
        preds = self.recognizer.recognize(
            [request.photos[i] for i in good], [request.locations[i] for i in good], errors="report"
        )
        rows = answer_rows(request, preds)
        return pd.DataFrame(rows, columns=[c.name for c in OUTPUT_SCHEMA.inputs])


def _example_photo(index_dir: Path) -> str:
    """A tiny grey PNG as the input example (no user photo is bundled with the model)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in (
        "torch",
        "torchvision",
        "timm",
        "faiss-cpu",
        "onnxruntime",
        "onnx",
        "openvino",
        "numpy",
        "pandas",
        "pillow",
        "scipy",
        "mlflow",
    ):
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return out


def _export_fp32(model_path: Path, source: Path) -> None:
    """Write the checkpoint's checked fp32 ONNX export into `<model dir>/onnx/` (logged with it), with the
    accuracy checks of the fast variants (and a checked int8 model) beside the source checkpoint's export.
    The source's own fp32 export of the same network is copied when it has one (the index stage made and
    checked it: an export that fails its check is deleted), else the network is exported here."""
    from landmark.models.checkpoint import load_embedder
    from landmark.models.embedding_cache import model_identity
    from landmark.models.onnx_embedder import fast_embedder
    from landmark.models.onnx_export import FP32, onnx_dir, onnx_path

    checked = onnx_path(source, model_identity(load_embedder(source)), FP32)
    copied = [*onnx_dir(source).glob("*.json"), *onnx_dir(source).glob("*.int8.onnx")]
    for found in sorted([*copied, *([checked] if checked.is_file() else [])]):
        onnx_dir(model_path).mkdir(parents=True, exist_ok=True)
        shutil.copy(found, onnx_dir(model_path) / found.name)

    try:
        fast_embedder(model_path, "fp32", threads=1)
    except Exception as exc:  # noqa: BLE001 - the served model then exports (or falls back) at load
        log.warning("no ONNX fp32 export logged for %s: %s", model_path, exc)


def log_recognizer(
    index_dir: Path,
    model_path: Path,
    artifact_path: str = "recognizer",
    registered_model_name: str | None = None,
    backend: str = DEFAULT_BACKEND,
    *,
    limits: ServeParams,
) -> mlflow.models.model.ModelInfo:
    """Log network (model_path + its .json meta, + its ONNX fp32 export unless backend is torch) and
    index folder as one pyfunc model in the active run (a run is started if none is active); register
    it when registered_model_name is given. backend: what the served model runs (auto | fp32 | ov-bf16 |
    torch ...; auto: the fastest variant whose accuracy check, copied from beside model_path, passed);
    limits: the request limits the served model enforces."""
    index_dir, model_path = Path(index_dir), Path(model_path)
    package = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        shutil.copy(model_path, model_dir / "model.pt")
        shutil.copy(model_path.with_suffix(".json"), model_dir / "model.json")
        if backend != "torch":
            _export_fp32(model_dir / "model.pt", model_path)
        example = pd.DataFrame({"image": [_example_photo(index_dir)]})
        info = mlflow.pyfunc.log_model(
            name=artifact_path,
            python_model=RecognizerModel(),
            artifacts={"model_dir": str(model_dir), "index_dir": str(index_dir)},
            signature=ModelSignature(inputs=INPUT_SCHEMA, outputs=OUTPUT_SCHEMA),
            input_example=example,
            code_paths=[str(package)],
            registered_model_name=registered_model_name,
            pip_requirements=_requirements(),
            model_config={"backend": backend, **dataclasses.asdict(limits)},
        )
    log.info("logged recognizer %s", info.model_uri)
    return info
