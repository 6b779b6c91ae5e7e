"""The embedder on ONNX Runtime, and `fast_embedder`: the fastest verified path for a checkpoint.

Variants of a checkpoint: "torch" (eager reference), "fp32" (ONNX Runtime, checked against torch at
export: cosine >= 0.999), "ov-fp32" (OpenVINO on the same export), and two that change the numbers
and are used only after an accuracy check on labelled photos (`check_variant`): "int8" (static QDQ
on ONNX Runtime) and "ov-bf16" (OpenVINO in bfloat16). `fast_embedder(path, "auto")` picks the
checked variant that passed and was measured fastest, else fp32, else torch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landmark.models import onnx_export as ox
from landmark.models.array_embedder import ArrayEmbedder
from landmark.models.embedder import Embedder
from landmark.models.embedding import embed_batch, output_width
from landmark.models.exported import open_files, variant_meta
from landmark.models.ort_embedder import OnnxEmbedder
from landmark.timing import median_seconds

log = logging.getLogger(__name__)

VARIANTS = ("auto", "torch", ox.FP32, ox.INT8, ox.OV_FP32, ox.OV_BF16)
FP32_MIN_COSINE = 0.999


def _probe(data_config: dict[str, Any], n: int = 4) -> np.ndarray:
    """(n, 3, S, S) smooth pseudo-photos in the model's normalised range (for the export check)."""
    size = int(data_config["input_size"][-1])
    rng = np.random.default_rng(0)
    coarse = rng.uniform(0.0, 1.0, size=(n, 3, 8, 8)).astype(np.float32)
    pixels = torch.nn.functional.interpolate(torch.from_numpy(coarse), size=(size, size), mode="bilinear")
    mean = torch.tensor(data_config["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(data_config["std"]).view(1, 3, 1, 1)
    return ((pixels - mean) / std).numpy().astype(np.float32)


def _variant_meta(model: Embedder, identity: str, runtime: str, variant: str) -> dict[str, Any]:
    return variant_meta(model.meta, identity, runtime, variant, ox.export_size_multiple(model))


def onnx_fp32(model: Embedder, checkpoint: Path, threads: int | None = None) -> OnnxEmbedder | None:
    """The cached fp32 export of `model` (exported now if missing), or None when it does not match torch."""
    from landmark.models.embedding_cache import model_identity

    identity = model_identity(model)
    path = ox.onnx_path(checkpoint, identity, ox.FP32)
    fresh = not path.is_file()
    if fresh:
        ox.export_onnx(model, path)
    onnx = OnnxEmbedder(path, model.data_config, output_width(model),
                        _variant_meta(model, identity, "onnxruntime", ox.FP32), threads=threads)
    if fresh:
        probe = _probe(model.data_config)
        got, want = onnx.embed_batch(probe), embed_batch(model, probe)
        # each L2-normalised part ([embedding | frozen view]) on its own: one broken part must not hide
        d = model.embed_dim if model.view is not None else got.shape[1]
        parts = [(0, d), (d, got.shape[1])] if d < got.shape[1] else [(0, d)]
        cosine = min(float(np.min(np.sum(got[:, a:b] * want[:, a:b], axis=1))) for a, b in parts)
        if cosine < FP32_MIN_COSINE:
            log.warning("ONNX fp32 export of %s differs from torch (min cosine %.5f): not used", checkpoint, cosine)
            path.unlink(missing_ok=True)
            return None
    if ox.read_manifest(checkpoint) is None and model.view is None:  # lets `exported.open_exported` open it
        ox.write_manifest(checkpoint, identity, model.meta, model.data_config, model.embed_dim,
                          ox.export_size_multiple(model))
    return onnx


def open_variant(model: Embedder, checkpoint: Path, variant: str, threads: int | None = None,
                 require_check: bool = True) -> ArrayEmbedder | None:
    """A checked variant of `model` ("int8" | "ov-bf16" | "ov-fp32"), or None when its files are
    missing or (require_check, checked variants only) its accuracy check is missing or failed."""
    from landmark.models.embedding_cache import model_identity

    identity = model_identity(model)
    fp32_path = ox.onnx_path(checkpoint, identity, ox.FP32)
    if variant in ox.CHECKED_VARIANTS and require_check:
        record = ox.read_variant_check(ox.variant_check_path(checkpoint, identity, variant))
        if not (record and record.get("passed")):
            log.info("%s of %s not used: accuracy check %s", variant, checkpoint, "failed" if record else "missing")
            return None
    needs_fp32 = variant in (ox.OV_FP32, ox.OV_BF16) and not fp32_path.is_file()
    if needs_fp32 and onnx_fp32(model, checkpoint, threads) is None:
        return None
    if variant not in ox.CHECKED_VARIANTS + (ox.OV_FP32,):
        raise ValueError(f"open_variant takes {ox.CHECKED_VARIANTS + (ox.OV_FP32,)}, got {variant!r}")
    return open_files(checkpoint, identity, variant, model.meta, model.data_config, model.embed_dim,
                      ox.export_size_multiple(model), threads)


def fast_embedder(model_path: Path, variant: str = "auto", threads: int | None = None,
                  model: Embedder | None = None) -> ArrayEmbedder | Embedder:
    """The embedder of a checkpoint on the fastest verified path (`model`: the network to run, when it is
    not the checkpoint as loaded, e.g. with a frozen view; its exports sit beside the checkpoint too).

    variant: "torch", "fp32", "ov-fp32" (always available when the export matches torch), "int8",
    "ov-bf16" (must have been checked with `check_variant`; int8 must also have been built by it),
    or "auto": the checked variant that passed its accuracy check and was measured faster than fp32
    (the fastest of them), else fp32, else torch (when the export fails or does not match).
    """
    from landmark.models.checkpoint import load_embedder
    from landmark.models.embedding_cache import model_identity

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    model_path = Path(model_path)
    model = model if model is not None else load_embedder(model_path)
    if variant == "torch":
        return model
    if variant in ox.CHECKED_VARIANTS + (ox.OV_FP32,):
        chosen = open_variant(model, model_path, variant, threads, require_check=False)
        if chosen is None:
            raise FileNotFoundError(f"no {variant} model for {model_path}: build and check it with check_variant")
        return chosen
    if variant == "auto":
        for name in ox.checked_by_speed(model_path, model_identity(model)):
            try:
                fastest = open_variant(model, model_path, name, threads)
            except Exception as exc:  # noqa: BLE001 - a runtime that fails here falls back to the next
                log.warning("%s of %s could not be loaded (%s); trying the next variant", name, model_path, exc)
                continue
            if fastest is not None:
                return fastest
    try:
        fp32 = onnx_fp32(model, model_path, threads)
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


def check_variant(model_path: Path, variant: str, photos: list[Path], labels: list[str],
                  calibration_size: int = 64, seed: int = 0, max_drop: float = 0.01,
                  threads: int | None = None) -> dict[str, Any]:
    """Build (int8: quantise from `calibration_size` seeded photos) and check a variant that changes
    the numbers ("int8" | "ov-bf16") on labelled real photos; record the result next to the export.

    Compares nearest-centroid accuracy@1 of fp32 and variant embeddings of all photos
    (`nearest_centroid_accuracy`) and the speed of a 32-photo batch against ONNX Runtime fp32.
    Returns the record: passed = accuracy drop <= max_drop; `fast_embedder(auto)` reads it.
    """
    from landmark.models.checkpoint import load_embedder
    from landmark.models.decode_pool import Preprocessor
    from landmark.models.embedding import embed
    from landmark.models.embedding_cache import model_identity

    if variant not in ox.CHECKED_VARIANTS:
        raise ValueError(f"check_variant takes {ox.CHECKED_VARIANTS}, got {variant!r}")
    if len(photos) != len(labels) or len(set(labels)) < 2:
        raise ValueError(f"need labelled photos of at least 2 landmarks, got {len(photos)} photos, "
                         f"{len(labels)} labels, {len(set(labels))} landmarks")
    model_path = Path(model_path)
    model = load_embedder(model_path)
    fp32 = onnx_fp32(model, model_path, threads)
    if fp32 is None:
        raise RuntimeError(f"ONNX fp32 export of {model_path} does not match torch; no {variant} built")
    pre = Preprocessor(model.data_config)
    identity = model_identity(model)
    details: dict[str, Any] = {}
    if variant == ox.INT8:
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(photos), size=min(calibration_size, len(photos)), replace=False)
        ox.quantize_int8(fp32.path, ox.onnx_path(model_path, identity, ox.INT8),
                         pre([photos[i] for i in sorted(chosen)]))
        details["calibration_photos"] = len(chosen)
    candidate = open_variant(model, model_path, variant, threads, require_check=False)
    assert candidate is not None
    emb32 = embed(fp32, photos, preprocessing="numpy", batch_size=32, workers=2)
    emb = embed(candidate, photos, preprocessing="numpy", batch_size=32, workers=2)
    probe = pre(photos[:32])
    speedup = median_seconds(lambda: fp32.embed_batch(probe)) / median_seconds(lambda: candidate.embed_batch(probe))
    return ox.record_variant_check(
        ox.variant_check_path(model_path, identity, variant), variant,
        nearest_centroid_accuracy(emb32, np.asarray(labels), seed),
        nearest_centroid_accuracy(emb, np.asarray(labels), seed), max_drop=max_drop, speedup=speedup,
        cosine_mean=float(np.mean(np.sum(emb32 * emb, axis=1))),
        cosine_min=float(np.min(np.sum(emb32 * emb, axis=1))), n_photos=len(photos),
        threads=candidate.threads, **details)


def check_fast_variant(model_path: Path, photos: list[Path], labels: list[str]) -> dict[str, float]:
    """Check OpenVINO bf16 against fp32 on labelled photos (recorded next to the model's ONNX export,
    read by `fast_embedder(auto)`) -> metrics. A runtime that fails is logged and skipped: the
    recognizer then runs on ONNX Runtime fp32."""
    try:
        record = check_variant(model_path, ox.OV_BF16, photos, labels)
    except Exception as exc:  # noqa: BLE001 - an optional speed-up must not fail the stage
        log.warning("OpenVINO bf16 not checked (%s): the recognizer will use ONNX Runtime fp32", exc)
        return {"bf16_checked": 0.0}
    return {"bf16_checked": 1.0, "bf16_passed": float(record["passed"]), "bf16_accuracy_drop": record["drop"],
            "bf16_speedup": record["speedup"], "bf16_cosine_mean": record["cosine_mean"]}
