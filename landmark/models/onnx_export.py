"""Export an Embedder to ONNX (fp32) and quantise it to int8 (ONNX Runtime static QDQ), cached.

Files sit next to the checkpoint, keyed by the model's identity (hash of its meta and weights, see
`landmark.models.embedding_cache.model_identity`) and the export format, so neither a retrained model nor a
changed exporter reuses a stale export: ``<checkpoint dir>/onnx/<identity>-<format>.fp32.onnx``,
``...int8.onnx`` and ``...<variant>.json`` (the accuracy check of a variant that changes the numbers:
int8 on ONNX Runtime, bf16 on OpenVINO; written by `record_variant_check`).

The graph takes ``pixels`` (N, 3, H, W) float32 (N, H, W dynamic) and returns ``embedding`` (N, D)
float32, L2-normalised: the same numbers as `Embedder.forward`. GeM's `avg_pool2d` with a kernel
read from the input shape does not export, so the export wraps the model with the same pooling
written as a mean over the spatial axes.

TensorFlow "SAME" padding (timm's `Conv2dSame`, the stride-2 convolutions of the tf_ models) is
computed from the input size at every call; exported, that is a Shape/Gather/.../Pad chain per
convolution, and ONNX Runtime runs each Pad as an op of its own, converting the activations out of
and back into its blocked layout around it (about a quarter of lite0's time on one thread). The
export fixes those pads for input sizes divisible by the network's total stride (`size_multiple`,
32 for lite0), where they are exact, lets ONNX Runtime fold the constants (its hardware-independent
"basic" level, standard ops only) and moves each Pad into its Conv's own (asymmetric) pads
(`_fold_pads_into_convs`): the same numbers, about 1.4x the photos/s of one ONNX Runtime session
(docs/performance.md). The embedders refuse other sizes (`ArrayEmbedder.embed_batch`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from landmark.models.embedder import Embedder
from landmark.models.export_files import (  # noqa: F401 - the file names and records, re-exported for callers
    CHECKED_VARIANTS,
    EXPORT_FORMAT,
    FP32,
    INT8,
    OV_BF16,
    OV_FP32,
    atomic_target,
    checked_by_speed,
    onnx_dir,
    onnx_path,
    read_manifest,
    read_variant_check,
    record_variant_check,
    variant_check_path,
    write_manifest,
)
from landmark.models.gem import GeM

log = logging.getLogger(__name__)

OPSET = 17
INPUT_NAME = "pixels"
OUTPUT_NAME = "embedding"


class _StaticSamePadConv(nn.Module):
    """A `Conv2dSame` with its "SAME" pads fixed for inputs whose size is divisible by its stride
    (there: total pad = dilated kernel - stride, the smaller half first, as TensorFlow does)."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv
        pads = []
        for kernel, stride, dilation in zip(conv.kernel_size, conv.stride, conv.dilation, strict=True):
            total = max((kernel - 1) * dilation + 1 - stride, 0)
            pads.append((total // 2, total - total // 2))
        self.pads = (pads[1][0], pads[1][1], pads[0][0], pads[0][1])  # F.pad order: left, right, top, bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        return F.conv2d(F.pad(x, self.pads), c.weight, c.bias, c.stride, 0, c.dilation, c.groups)


def _is_same_pad_conv(module: nn.Module) -> bool:
    from timm.layers import Conv2dSame

    return isinstance(module, Conv2dSame)


def size_multiple(model: nn.Module) -> int:
    """Input sizes for which the export's fixed pads are exact: the product of the strides of the
    model's strided convolutions (every layer's input then divides by its stride); 1 when the model
    has no `Conv2dSame`. For an Embedder, its backbone's: a frozen view's tail runs beside the backbone's
    own last layers, not after them, so its strides do not multiply in."""
    if not any(_is_same_pad_conv(m) for m in model.modules()):
        return 1
    multiple = 1
    for module in getattr(model, "backbone", model).modules():
        if isinstance(module, nn.Conv2d):
            multiple *= max(module.stride)
    return multiple


def export_size_multiple(model: Embedder) -> int:
    """What the export of `model` needs its input sizes divisible by: `size_multiple(model)` when the
    model's own input size divides by it (pads fixed), else 1 (pads left dynamic, any size works)."""
    multiple = size_multiple(model)
    return multiple if int(model.data_config["input_size"][-1]) % multiple == 0 else 1


def with_static_same_pads(model: Embedder) -> Embedder:
    """A copy of `model` whose `Conv2dSame` layers have fixed pads (`_StaticSamePadConv`)."""
    import copy

    fixed = copy.deepcopy(model)
    for parent in list(fixed.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d) and _is_same_pad_conv(child):
                setattr(parent, name, _StaticSamePadConv(child))
    return fixed


def _fold_pads_into_convs(source: Path, target: Path) -> int:
    """Write `source` to `target` with ONNX Runtime's basic optimisations (constant folding: the fixed
    pads become initializers) and every zero Pad of H/W that feeds a single Conv moved into that
    Conv's `pads`; returns how many Pads were folded."""
    from collections import defaultdict

    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(target)
    options.log_severity_level = 3
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    model = onnx.load(str(target))
    graph = model.graph
    consts = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    users: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            users[name].append(node)
    folded = 0
    for pad in [n for n in graph.node if n.op_type == "Pad"]:
        pads = consts.get(pad.input[1]) if len(pad.input) > 1 else None
        mode = next((a.s.decode() for a in pad.attribute if a.name == "mode"), "constant")
        value = consts.get(pad.input[2], None) if len(pad.input) > 2 and pad.input[2] else np.zeros(1)
        after = users[pad.output[0]]
        if pads is None or pads.size != 8 or mode != "constant" or value is None or np.any(value != 0):
            continue
        begin, end = np.asarray(pads, dtype=np.int64).reshape(2, 4)
        if len(after) != 1 or after[0].op_type != "Conv" or begin[:2].any() or end[:2].any():
            continue
        conv = after[0]
        old = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        if any(a.name == "auto_pad" and a.s not in (b"", b"NOTSET") for a in conv.attribute):
            continue
        for attribute in [a for a in conv.attribute if a.name in ("pads", "auto_pad")]:
            conv.attribute.remove(attribute)
        conv.attribute.append(helper.make_attribute(
            "pads", [old[0] + int(begin[2]), old[1] + int(begin[3]), old[2] + int(end[2]), old[3] + int(end[3])]))
        conv.input[0] = pad.input[0]
        graph.node.remove(pad)
        folded += 1
    onnx.checker.check_model(model)
    onnx.save(model, str(target))
    return folded


def _spatial_pool(pool: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """`pool` written as a mean over the spatial axes (GeM's kernel from the input shape does not export)."""
    if isinstance(pool, GeM):
        p = pool.p
        return features.clamp(min=pool.eps).pow(p).mean(dim=(2, 3)).pow(1.0 / p)
    return features.mean(dim=(2, 3))


class _ExportView(nn.Module):
    """The embedder's forward with pooling as a spatial mean: (N, 3, H, W) -> (N, D) L2-normalised, or
    (N, D + C) [embedding | frozen view] when the embedder carries a frozen view (the shared layers once)."""

    def __init__(self, model: Embedder) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        model = self.model
        if model.view is None:
            return F.normalize(model.neck(_spatial_pool(model.pool, model.backbone(x))).float(), p=2.0, dim=1)
        shared, trained = model.shared_and_trained(x)
        embedding = F.normalize(model.neck(_spatial_pool(model.pool, trained)).float(), p=2.0, dim=1)
        view = F.normalize(_spatial_pool(model.view.pool, model.view.tail(shared)).float(), p=2.0, dim=1)
        return torch.cat([embedding, view], dim=1)


def export_onnx(model: Embedder, target: Path, opset: int = OPSET, image_size: int | None = None,
                static_pads: bool = True) -> Path:
    """Write `model` as an fp32 ONNX graph at `target` (atomically); batch, height, width dynamic,
    "SAME" pads fixed and moved into their convolutions (exact for sizes divisible by
    `size_multiple(model)`, which the model's own input size must be; else, or with static_pads
    False, they stay dynamic and the graph is the exporter's own).

    Uses the TorchScript exporter (dynamo=False): a few seconds, one self-contained file.
    """
    target = Path(target)
    size = int(image_size or model.data_config["input_size"][-1])
    model = model.eval().cpu()
    multiple = export_size_multiple(model)
    fixed = static_pads and multiple > 1 and size % multiple == 0
    if fixed:
        model = with_static_same_pads(model)
    view = _ExportView(model).eval()
    example = torch.zeros(2, 3, size, size)
    tmp, folded_tmp = atomic_target(target), atomic_target(target)
    dynamic = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}, OUTPUT_NAME: {0: "batch"}}
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(view, (example,), str(tmp), dynamo=False, opset_version=opset,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_axes=dynamic,
                              do_constant_folding=True)
        if fixed:
            folded = _fold_pads_into_convs(tmp, folded_tmp)
            log.info("export: %d 'SAME' pads fixed and moved into their convolutions", folded)
            os.replace(folded_tmp, target)
        else:
            os.replace(tmp, target)
    finally:  # a failed export or fold leaves no half-written file beside the target
        tmp.unlink(missing_ok=True)
        folded_tmp.unlink(missing_ok=True)
    log.info("exported %s to ONNX opset %d: %s", type(model).__name__, opset, target)
    return target


def _calibration_reader(batches: list[np.ndarray]) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._it: Iterator[np.ndarray] = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._it, None)
            return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)}

        def rewind(self) -> None:
            self._it = iter(batches)

    return _Reader()


def quantize_int8(fp32_path: Path, target: Path, calibration: np.ndarray, batch_size: int = 16,
                  keep_first_convs: int = 3) -> Path:
    """Static int8 quantisation (QDQ, per-channel int8 weights, uint8 activations, MinMax calibration).

    calibration: (M, 3, H, W) float32 preprocessed real photos (a few dozen suffice). Only Conv
    nodes are quantised: the GeM tail (x**3, mean, x**(1/3)) and the neck stay fp32, and so do the
    first `keep_first_convs` convolutions (the stem and first block). Measured on real photos with
    lite0: quantising every op gave cosine ~0.81 to fp32, Conv only 0.93, Conv minus the first three
    0.987 (at about 1.5x the fp32 speed).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calibration = np.asarray(calibration, dtype=np.float32)
    if calibration.ndim != 4 or calibration.shape[0] == 0:
        raise ValueError(f"calibration must be (M, 3, H, W) with M > 0, got {calibration.shape}")
    target = Path(target)
    pre = atomic_target(target.with_suffix(".pre.onnx"))
    tmp = atomic_target(target)
    try:
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        import onnx

        convs = [node.name for node in onnx.load(str(pre)).graph.node if node.op_type == "Conv"]
        batches = [calibration[i : i + batch_size] for i in range(0, len(calibration), batch_size)]
        quantize_static(str(pre), str(tmp), _calibration_reader(batches), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=["Conv"],
                        nodes_to_exclude=convs[: max(0, keep_first_convs)])
        os.replace(tmp, target)
    finally:
        for leftover in (pre, tmp):
            leftover.unlink(missing_ok=True)
    log.info("static int8 (QDQ) model from %d calibration photos: %s", len(calibration), target)
    return target
