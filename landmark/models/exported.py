"""Open a checkpoint's exported network (ONNX Runtime or OpenVINO) from files alone, without torch.

`open_exported(checkpoint, variant)` reads the export manifest (`export_files.read_manifest`: the
checkpoint file's sha256 must match) and opens the variant's files; it returns None when the
checkpoint was never exported, so the caller falls back to `onnx_embedder.fast_embedder`, which
loads the network in torch and exports it. This is the path of `landmark recognize`, `landmark
albums` and the served model: it imports no torch or timm, so it starts fast and runs in an
install without them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from landmark.models import export_files as ef
from landmark.models.array_embedder import ArrayEmbedder

log = logging.getLogger(__name__)
EXPORTED_VARIANTS = ("auto", ef.FP32, ef.INT8, ef.OV_FP32, ef.OV_BF16)


def variant_meta(meta: dict[str, Any], identity: str, runtime: str, variant: str, size_multiple: int) -> dict[str, Any]:
    """The meta of an exported variant: the source model's meta plus runtime, variant and identity."""
    return {**meta, "runtime": runtime, "variant": variant, "source_identity": identity,
            "export_format": ef.EXPORT_FORMAT, "size_multiple": int(size_multiple)}


def open_files(checkpoint: Path, identity: str, variant: str, meta: dict[str, Any], data_config: dict[str, Any],
               embed_dim: int, size_multiple: int, threads: int | None = None) -> ArrayEmbedder | None:
    """The variant ("fp32" | "int8" | "ov-fp32" | "ov-bf16") on its runtime from the files beside
    `checkpoint`, or None when they are missing. No accuracy check is consulted here."""
    fp32_path = ef.onnx_path(checkpoint, identity, ef.FP32)
    if variant in (ef.FP32, ef.INT8):
        path = ef.onnx_path(checkpoint, identity, variant)
        if not path.is_file():
            return None
        from landmark.models.ort_embedder import OnnxEmbedder

        return OnnxEmbedder(path, data_config, embed_dim,
                            variant_meta(meta, identity, "onnxruntime", variant, size_multiple), threads=threads)
    if variant in (ef.OV_FP32, ef.OV_BF16):
        if not fp32_path.is_file():
            return None
        from landmark.models.openvino_embedder import OpenVinoEmbedder

        precision = "bf16" if variant == ef.OV_BF16 else "f32"
        return OpenVinoEmbedder(fp32_path, data_config, embed_dim,
                                variant_meta(meta, identity, "openvino", variant, size_multiple), precision, threads)
    raise ValueError(f"exported variants are {EXPORTED_VARIANTS[1:]}, got {variant!r}")


def open_exported(checkpoint: Path, variant: str = "auto", threads: int | None = None) -> ArrayEmbedder | None:
    """The checkpoint's exported network on `variant`, or None when its export manifest is missing or
    stale or the variant's files are missing.

    variant: "fp32", "int8", "ov-fp32", "ov-bf16" (opened whether or not checked, as `fast_embedder`
    does for a named variant), or "auto": the fastest checked variant whose check passed (see
    `export_files.checked_by_speed`), else fp32.
    """
    if variant not in EXPORTED_VARIANTS:
        raise ValueError(f"variant must be one of {EXPORTED_VARIANTS}, got {variant!r}")
    checkpoint = Path(checkpoint)
    manifest = ef.read_manifest(checkpoint)
    if manifest is None:
        return None
    identity = str(manifest["identity"])
    args = (manifest["meta"], manifest["data_config"], int(manifest["embed_dim"]), int(manifest["size_multiple"]))
    if variant == "auto":
        for name in ef.checked_by_speed(checkpoint, identity):
            try:
                found = open_files(checkpoint, identity, name, *args, threads=threads)
            except Exception as exc:  # noqa: BLE001 - a runtime that fails here falls back to the next
                log.warning("%s of %s could not be loaded (%s); trying the next variant", name, checkpoint, exc)
                continue
            if found is not None:
                return found
        variant = ef.FP32
    return open_files(checkpoint, identity, variant, *args, threads=threads)
