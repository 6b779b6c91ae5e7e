"""Where a checkpoint's exports live, what they are, and how to open them without torch.

Files sit next to the checkpoint, keyed by the model's identity (hash of its meta and weights, see
`landmark.models.embedding_cache.model_identity`) and the export format:
``<checkpoint dir>/onnx/<identity>-<format>.fp32.onnx``, ``...int8.onnx``, ``...<variant>.json``
(the accuracy check of a variant that changes the numbers). The exporter itself (torch) is in
`landmark.models.onnx_export`.

The export manifest ``<checkpoint dir>/onnx/<checkpoint name>.exports.json`` records, for the
checkpoint file's sha256, the identity and everything an embedder needs (meta, data config,
embedding size). With it, `landmark.models.exported.open_exported` opens a variant reading nothing
but files: no torch, no timm (a fast cold start, and a serving install without torch).
This module imports nothing heavy.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from landmark.hashing import file_sha256

log = logging.getLogger(__name__)

FP32, INT8 = "fp32", "int8"  # ONNX Runtime
OV_FP32, OV_BF16 = "ov-fp32", "ov-bf16"  # OpenVINO, compiled from the fp32 export
CHECKED_VARIANTS = (INT8, OV_BF16)  # their numbers differ from torch: used only after an accuracy check
EXPORT_FORMAT = "x3"  # part of every file name; bump when the graph of the same model changes (x3: pads in convs)
MANIFEST_FORMAT = 1


def onnx_dir(checkpoint: Path) -> Path:
    """The folder holding the ONNX exports of a checkpoint: ``<checkpoint dir>/onnx``."""
    return Path(checkpoint).parent / "onnx"


def onnx_path(checkpoint: Path, identity: str, variant: str) -> Path:
    """``<checkpoint dir>/onnx/<identity>-<EXPORT_FORMAT>.<variant>.onnx`` (variant: fp32 | int8)."""
    if variant not in (FP32, INT8):
        raise ValueError(f"ONNX variant must be {FP32!r} or {INT8!r}, got {variant!r}")
    return onnx_dir(checkpoint) / f"{identity}-{EXPORT_FORMAT}.{variant}.onnx"


def atomic_target(target: Path) -> Path:
    """A temporary name beside target (its folder created), to write and then os.replace."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def _write_json(target: Path, record: dict[str, Any]) -> None:
    tmp = atomic_target(Path(target))
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
    os.replace(tmp, target)


def variant_check_path(checkpoint: Path, identity: str, variant: str) -> Path:
    """``<checkpoint dir>/onnx/<identity>-<EXPORT_FORMAT>.<variant>.json``: the accuracy check of a
    checked variant."""
    if variant not in CHECKED_VARIANTS:
        raise ValueError(f"checked variants are {CHECKED_VARIANTS}, got {variant!r}")
    return onnx_dir(checkpoint) / f"{identity}-{EXPORT_FORMAT}.{variant}.json"


def record_variant_check(target: Path, variant: str, fp32_accuracy: float, accuracy: float,
                         max_drop: float = 0.01, **details: Any) -> dict[str, Any]:
    """Write a variant's accuracy check at `target`; passed = accuracy@1 drop against fp32 <= max_drop."""
    drop = float(fp32_accuracy) - float(accuracy)
    record = {"variant": variant, "fp32_accuracy": float(fp32_accuracy), "accuracy": float(accuracy),
              "drop": drop, "max_drop": float(max_drop), "passed": bool(drop <= max_drop + 1e-9), **details}
    _write_json(Path(target), record)
    log.info("%s check %s: accuracy@1 fp32 %.4f %s %.4f (drop %.4f, max %.4f)", variant,
             "passed" if record["passed"] else "FAILED", fp32_accuracy, variant, accuracy, drop, max_drop)
    return record


def read_variant_check(target: Path) -> dict[str, Any] | None:
    """The recorded check, or None when the variant was never checked."""
    target = Path(target)
    if not target.is_file():
        return None
    return dict(json.loads(target.read_text()))


def checked_by_speed(checkpoint: Path, identity: str) -> list[str]:
    """The checked variants whose accuracy check passed and that were measured faster than fp32,
    fastest first (what `auto` tries before fp32)."""
    speedups = {}
    for name in CHECKED_VARIANTS:
        record = read_variant_check(variant_check_path(checkpoint, identity, name))
        if record and record.get("passed") and float(record.get("speedup", 0.0)) > 1.0:
            speedups[name] = float(record["speedup"])
    return sorted(speedups, key=speedups.__getitem__, reverse=True)


def manifest_path(checkpoint: Path) -> Path:
    """``<checkpoint dir>/onnx/<checkpoint file name>.exports.json``."""
    return onnx_dir(checkpoint) / f"{Path(checkpoint).name}.exports.json"


def write_manifest(checkpoint: Path, identity: str, meta: dict[str, Any], data_config: dict[str, Any],
                   embed_dim: int, size_multiple: int) -> None:
    """Record what the exports of this checkpoint file are (keyed by the file's sha256)."""
    record = {"format": MANIFEST_FORMAT, "export_format": EXPORT_FORMAT, "checkpoint": Path(checkpoint).name,
              "checkpoint_sha256": file_sha256(checkpoint), "identity": identity, "meta": meta,
              "data_config": data_config, "embed_dim": int(embed_dim), "size_multiple": int(size_multiple)}
    _write_json(manifest_path(checkpoint), record)


def read_manifest(checkpoint: Path) -> dict[str, Any] | None:
    """The manifest when it describes this very checkpoint file in the current export format, else None
    (missing, from another checkpoint or exporter, or unreadable)."""
    path = manifest_path(checkpoint)
    if not path.is_file() or not Path(checkpoint).is_file():
        return None
    try:
        record = dict(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        log.warning("export manifest %s unreadable, ignored: %s", path, exc)
        return None
    if record.get("format") != MANIFEST_FORMAT or record.get("export_format") != EXPORT_FORMAT:
        return None
    if record.get("checkpoint_sha256") != file_sha256(checkpoint):
        return None
    return record
