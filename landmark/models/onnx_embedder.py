"""The embedder on ONNX Runtime, and `fast_embedder`: the fastest verified path for a checkpoint.

`OnnxEmbedder.embed_batch` maps (N, 3, H, W) float32 -> (N, D) float32, L2-normalised, like
`Embedder.forward`. It also answers the small part of the torch module surface that the batch
helpers use (`__call__` on a tensor, `eval()`, `to()`, `data_config`, `embed_dim`, `meta`), so
`embed_images(fast_embedder(path), photos)` works unchanged.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landmark.models import onnx_export as ox
from landmark.models.embedder import Embedder

log = logging.getLogger(__name__)

VARIANTS = ("auto", "torch", ox.FP32, ox.INT8)
FP32_MIN_COSINE = 0.999


def cpu_cores() -> int:
    """Cores this process may run on (affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class OnnxEmbedder:
    """An exported embedder on ONNX Runtime's CPU provider.

    threads: intra-op threads (default: the cores this process may use); spinning=False lets idle
    ORT threads sleep, which leaves the cores to decode threads running beside the network.
    """

    def __init__(self, path: Path, data_config: dict[str, Any], embed_dim: int, meta: dict[str, Any] | None = None,
                 threads: int | None = None, spinning: bool = False) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or cpu_cores())
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        options.log_severity_level = 3
        self.path = Path(path)
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.data_config = dict(data_config)
        self.embed_dim = int(embed_dim)
        self.meta = dict(meta or {})
        self.threads = options.intra_op_num_threads

    def embed_batch(self, x: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) float32 -> (N, D) float32, L2-normalised."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"embed_batch expects (N, 3, H, W), got {x.shape}")
        if x.shape[0] == 0:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return np.asarray(self.session.run(None, {self.input_name: x})[0], dtype=np.float32)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Torch-compatible call: (N, 3, H, W) tensor -> (N, D) float32 tensor, L2-normalised."""
        return torch.from_numpy(self.embed_batch(x.detach().cpu().float().numpy()))

    def eval(self) -> OnnxEmbedder:
        return self

    def to(self, device: str | torch.device) -> OnnxEmbedder:
        if torch.device(device).type != "cpu":
            raise ValueError(f"OnnxEmbedder runs on the CPU only, not {device}")
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        """No torch tensors: `meta` carries the source model's identity and the variant instead,
        so `extract.model_identity` (meta + tensors) still separates models and variants."""
        return {}

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.path.name}, D={self.embed_dim}, threads={self.threads})"


def embed_array(model: OnnxEmbedder | Embedder, x: np.ndarray) -> np.ndarray:
    """Either backend: (N, 3, H, W) float32 -> (N, D) float32, L2-normalised (torch: channels_last, inference_mode)."""
    if isinstance(model, OnnxEmbedder):
        return model.embed_batch(x)
    with torch.inference_mode():
        batch = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).contiguous(
            memory_format=torch.channels_last)
        return model(batch).float().numpy()


def _probe(data_config: dict[str, Any], n: int = 4) -> np.ndarray:
    """(n, 3, S, S) smooth pseudo-photos in the model's normalised range (for the export check)."""
    size = int(data_config["input_size"][-1])
    rng = np.random.default_rng(0)
    coarse = rng.uniform(0.0, 1.0, size=(n, 3, 8, 8)).astype(np.float32)
    pixels = torch.nn.functional.interpolate(torch.from_numpy(coarse), size=(size, size), mode="bilinear")
    mean = torch.tensor(data_config["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(data_config["std"]).view(1, 3, 1, 1)
    return ((pixels - mean) / std).numpy().astype(np.float32)


def onnx_fp32(model: Embedder, checkpoint: Path, threads: int | None = None) -> OnnxEmbedder | None:
    """The cached fp32 export of `model` (exported now if missing), or None when it does not match torch."""
    from landmark.models.extract import model_identity

    identity = model_identity(model)
    path = ox.onnx_path(checkpoint, identity, ox.FP32)
    fresh = not path.is_file()
    if fresh:
        ox.export_onnx(model, path)
    meta = {**model.meta, "runtime": "onnxruntime", "variant": ox.FP32, "source_identity": identity}
    onnx = OnnxEmbedder(path, model.data_config, model.embed_dim, meta, threads=threads)
    if fresh:
        probe = _probe(model.data_config)
        cosine = float(np.min(np.sum(onnx.embed_batch(probe) * embed_array(model, probe), axis=1)))
        if cosine < FP32_MIN_COSINE:
            log.warning("ONNX fp32 export of %s differs from torch (min cosine %.5f): not used", checkpoint, cosine)
            path.unlink(missing_ok=True)
            return None
    return onnx


def onnx_int8(model: Embedder, checkpoint: Path, threads: int | None = None,
              require_check: bool = True) -> OnnxEmbedder | None:
    """The cached int8 model of `model`, or None when absent or (require_check) not passed its check."""
    from landmark.models.extract import model_identity

    identity = model_identity(model)
    path = ox.onnx_path(checkpoint, identity, ox.INT8)
    if not path.is_file():
        return None
    record = ox.read_int8_check(path)
    if require_check and not (record and record.get("passed")):
        log.info("int8 model %s not used: accuracy check %s", path.name, "failed" if record else "missing")
        return None
    meta = {**model.meta, "runtime": "onnxruntime", "variant": ox.INT8, "source_identity": identity}
    return OnnxEmbedder(path, model.data_config, model.embed_dim, meta, threads=threads)


def fast_embedder(model_path: Path, variant: str = "auto", threads: int | None = None) -> OnnxEmbedder | Embedder:
    """The embedder of a checkpoint on the fastest verified path.

    variant: "torch" (eager reference), "fp32" (ONNX Runtime), "int8" (static QDQ model; must have
    been built with `build_int8`), "auto": int8 when its accuracy check passed and it was
    measured faster than fp32, else fp32, else torch (when the export fails or does not match).
    """
    from landmark.models.checkpoint import load_embedder

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    model = load_embedder(Path(model_path))
    if variant == "torch":
        return model
    if variant == ox.INT8:
        int8 = onnx_int8(model, Path(model_path), threads, require_check=False)
        if int8 is None:
            raise FileNotFoundError(f"no int8 model for {model_path}: build it with build_int8")
        return int8
    if variant == "auto":
        int8 = onnx_int8(model, Path(model_path), threads)
        record = ox.read_int8_check(int8.path) if int8 is not None else None
        if int8 is not None and record is not None and float(record.get("speedup", 0.0)) > 1.0:
            return int8
    try:
        fp32 = onnx_fp32(model, Path(model_path), threads)
    except Exception as exc:  # noqa: BLE001 - any exporter or runtime failure falls back to torch
        if variant == ox.FP32:
            raise
        log.warning("ONNX export of %s failed, using eager torch: %s", model_path, exc)
        return model
    if fp32 is None and variant == ox.FP32:
        raise RuntimeError(f"ONNX fp32 export of {model_path} does not match torch")
    return fp32 if fp32 is not None else model


def nearest_centroid_accuracy(embeddings: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """accuracy@1 of nearest-centroid classification on a seeded half/half split per label.

    embeddings: (N, D) float32 L2-normalised; labels: (N,) str. Centroids come from one half of each
    label's photos, the other half are the queries.
    """
    labels = np.asarray(labels).astype(str)
    rng = np.random.default_rng(seed)
    query = np.zeros(len(labels), dtype=bool)
    for name in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == name))
        query[rows[: len(rows) // 2]] = True
    names = np.unique(labels[~query])
    centroids = np.stack([embeddings[~query & (labels == n)].mean(axis=0) for n in names])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    predicted = names[np.argmax(embeddings[query] @ centroids.T, axis=1)]
    return float(np.mean(predicted == labels[query]))


def _batch_seconds(embedder: OnnxEmbedder, batch: np.ndarray, repeats: int = 3) -> float:
    import time

    embedder.embed_batch(batch)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        embedder.embed_batch(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def build_int8(model_path: Path, photos: list[Path], labels: list[str], calibration_size: int = 64,
               seed: int = 0, max_drop: float = 0.01, threads: int | None = None) -> dict[str, Any]:
    """Quantise a checkpoint's fp32 export to static int8, check it on labelled real photos, record it.

    Calibrates on `calibration_size` seeded photos; compares nearest-centroid accuracy@1 of fp32 and
    int8 embeddings of all photos (`nearest_centroid_accuracy`) and the speed of a 32-photo batch.
    Returns (and writes next to the int8 model) the record: passed = accuracy drop <= max_drop.
    """
    from landmark.models.checkpoint import load_embedder
    from landmark.models.decode_pool import Preprocessor, embed_photos
    from landmark.models.extract import model_identity

    model = load_embedder(Path(model_path))
    fp32 = onnx_fp32(model, Path(model_path), threads)
    if fp32 is None:
        raise RuntimeError(f"ONNX fp32 export of {model_path} does not match torch; no int8 built")
    pre = Preprocessor(model.data_config)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(photos), size=min(calibration_size, len(photos)), replace=False)
    path = ox.onnx_path(Path(model_path), model_identity(model), ox.INT8)
    ox.quantize_int8(fp32.path, path, pre([photos[i] for i in sorted(chosen)]))
    int8 = onnx_int8(model, Path(model_path), threads, require_check=False)
    assert int8 is not None
    emb32 = embed_photos(fp32.embed_batch, photos, pre, model.embed_dim)
    emb8 = embed_photos(int8.embed_batch, photos, pre, model.embed_dim)
    probe = pre(photos[:32])
    speedup = _batch_seconds(fp32, probe) / _batch_seconds(int8, probe)
    return ox.record_int8_check(
        path, nearest_centroid_accuracy(emb32, np.asarray(labels), seed),
        nearest_centroid_accuracy(emb8, np.asarray(labels), seed), max_drop=max_drop, speedup=speedup,
        cosine_mean=float(np.mean(np.sum(emb32 * emb8, axis=1))), n_photos=len(photos),
        calibration_photos=len(chosen), threads=int8.threads)
