"""Inference speed against what the CPU allows: FLOPs, matmul rate, network variants, end to end, memory.

Figures (medians of REPEATS runs, all in this process and run, on the real photos):
  * the network's GFLOP per photo (torch FlopCounterMode) and the CPU's float32 matmul rate
    (numpy and torch; bfloat16 in torch too); the share of that rate each network variant reaches;
  * network photos/s on ready tensors: eager torch (baseline: the bare model forward, NCHW,
    no_grad), channels_last + inference_mode, ONNX Runtime fp32 (one stream per core, as in the
    recognizer; one session over all cores, threads sleeping or spinning when idle; and the export
    of session 3, with "SAME" pads computed from the input shape, on one session), OpenVINO
    fp32 and bf16 (streams; bf16 also as one stream), ONNX Runtime int8;
  * the accuracy checks of the variants that change the numbers (int8, bf16) on real photos;
  * end-to-end recognition photos/s (decode + resize + network + faiss search): the fast path
    (decode threads + `fast_embedder(auto)`) against the best eager torch path (serial timm
    transform, channels_last + inference_mode), at 224 px and the pipeline's 128 px;
  * decode and resize alone; peak RSS of a recognition process (fast and torch paths).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from landmark.timing import median_seconds

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("LANDMARK_REAL_DATA", REPO.parent / "shared" / "data" / "real-landmarks"))
CHECKPOINT = REPO / "artifacts" / "bench" / "lite0" / "model.pt"
SIZES = (224, 128)
N_PHOTOS, BATCH, REPEATS = 96, 16, 9  # batch 16: the fastest for every runtime at 128 and 224 px here


def _median(fn: Callable[[], object]) -> float:
    return median_seconds(fn, REPEATS)


SETTLE_S = 0.25  # pause before each timed call: see _interleaved_rates


def _interleaved_rates(fns: dict[str, Callable[[], object]], items: int, repeats: int = REPEATS) -> dict[str, float]:
    """items/s of each fn, median over `repeats` rounds that run every fn once (load drifts hit all alike).

    Each round starts one place further in the list, and each call waits SETTLE_S first: the thread
    pools of the runtimes measured here (OpenBLAS behind numpy's matmul, torch's OpenMP, OpenVINO's
    TBB) keep spinning for a while after a call and slowed whichever variant came next (by up to a
    third for OpenVINO in runs without the pause)."""
    for fn in fns.values():
        fn()  # warm-up
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return {name: items / float(np.median(t)) for name, t in times.items()}


def _row(figure: str, project: float, baseline: float | None, unit: str, note: str = "",
         higher_is_better: bool = True) -> dict[str, object]:
    ratio = None
    if baseline:
        ratio = project / baseline if higher_is_better else baseline / project
    return {"figure": figure, "project": project, "baseline": baseline, "ratio": ratio, "unit": unit,
            "note": note}


def checkpoint() -> Path:
    """The pretrained lite0 embedder of params.yaml, saved once under artifacts/bench/."""
    if not CHECKPOINT.is_file():
        from landmark.models.checkpoint import save_embedder
        from landmark.models.embedder import create_embedder
        from landmark.params import load_params

        save_embedder(create_embedder(load_params(REPO / "params.yaml").backbone, pretrained=True), CHECKPOINT)
    return CHECKPOINT


def real_photos(per_landmark: int | None = None, n: int | None = None) -> pd.DataFrame:
    """A seeded sample of the real photos: columns file, landmark."""
    manifest = pd.read_csv(REAL / "manifest.csv").sample(frac=1.0, random_state=0)
    if per_landmark:
        manifest = manifest.groupby("landmark").head(per_landmark)
    manifest = manifest.head(n) if n else manifest
    return pd.DataFrame({"file": [REAL / p for p in manifest["path"]], "landmark": manifest["landmark"].to_numpy()})


MATMUL_N = 2048


def matmul_fns(n: int = MATMUL_N) -> dict[str, Callable[[], object]]:
    """One (n x n) @ (n x n) product each: numpy fp32, torch fp32, torch bf16 (GFLOP = 2 n^3 / 1e9)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ha, hb = ta.bfloat16(), tb.bfloat16()
    return {"matmul numpy fp32": lambda: a @ b, "matmul torch fp32": lambda: ta @ tb,
            "matmul torch bf16": lambda: ha @ hb}


def network_gflops(model: torch.nn.Module, size: int) -> float:
    """GFLOP (2 x multiply-adds) of one photo at size x size."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 1e9


def checked_variants(path: Path) -> dict[str, dict[str, Any]]:
    """Build and check int8 and bf16 on 600 real photos (recorded next to the export, reused)."""
    from landmark.models import onnx_export as ox
    from landmark.models.checkpoint import load_embedder
    from landmark.models.embedding_cache import model_identity
    from landmark.models.onnx_embedder import check_variant

    identity = model_identity(load_embedder(path))
    records = {}
    for variant in ox.CHECKED_VARIANTS:
        record = ox.read_variant_check(ox.variant_check_path(path, identity, variant))
        if record is None:
            photos = real_photos(per_landmark=60)
            record = check_variant(path, variant, list(photos["file"]), list(photos["landmark"]))
        records[variant] = record
    return records


def network_rows(path: Path, size: int) -> list[dict[str, object]]:
    """photos/s of each network variant on a ready batch of real photos, and its share of the matmul
    rate of its number format (fp32 or bf16, torch; int8 has no rate to compare with), measured in the
    same interleaved rounds, so that load drifts on this shared machine hit both alike."""
    from landmark.models.checkpoint import load_embedder
    from landmark.models.decode_pool import Preprocessor
    from landmark.models.frozen_tail import with_frozen_view
    from landmark.models.onnx_embedder import OnnxEmbedder, fast_embedder, onnx_fp32
    from landmark.models.onnx_export import export_onnx
    from landmark.models.openvino_embedder import OpenVinoEmbedder
    from landmark.params import load_params

    torch_model = load_embedder(path)
    gflop = network_gflops(torch_model, size)
    batch = Preprocessor(torch_model.data_config, size)(list(real_photos(n=BATCH)["file"]))
    tensor = torch.from_numpy(batch)
    cl_model = load_embedder(path).to(memory_format=torch.channels_last)
    trainable_blocks = load_params(REPO / "params.yaml").train.trainable_blocks
    view_model = with_frozen_view(load_embedder(path), trainable_blocks).to(memory_format=torch.channels_last)

    def eager() -> None:
        with torch.no_grad():
            torch_model(tensor.contiguous())

    def channels_last() -> None:
        with torch.inference_mode():
            cl_model(tensor.contiguous(memory_format=torch.channels_last))

    def with_view() -> None:  # index.frozen_weight > 0: the frozen tail runs beside the trained one
        with torch.inference_mode():
            view_model(tensor.contiguous(memory_format=torch.channels_last))

    variants: dict[str, Callable[[], object]] = {"eager torch": eager, "channels_last+inference_mode": channels_last,
                                                 "channels_last+inference_mode, with the frozen view": with_view}
    view_onnx = onnx_fp32(with_frozen_view(load_embedder(path), trainable_blocks), path)
    if view_onnx is not None:  # what a recognizer with index.frozen_weight > 0 runs
        variants["ORT fp32, with the frozen view"] = lambda: view_onnx.embed_batch(batch)
    for label, name in (("ORT fp32", "fp32"), ("OpenVINO fp32", "ov-fp32"), ("OpenVINO bf16", "ov-bf16"),
                        ("ORT int8", "int8")):
        try:
            fast = fast_embedder(path, name)
            variants[label] = lambda fast=fast: fast.embed_batch(batch)  # type: ignore[misc]
            if name == "fp32":  # the streams against one session over all threads (spinning or not)
                assert isinstance(fast, OnnxEmbedder)
                # the exporter's own graph (pads from the input shape), next to the export of the same model
                dynamic = fast.path.with_name(fast.path.name.replace(".fp32.onnx", ".dynamic-pads.fp32.onnx"))
                if not dynamic.is_file():
                    export_onnx(torch_model, dynamic, static_pads=False)
                old = OnnxEmbedder(dynamic, fast.data_config, fast.embed_dim, {}, streams=1)
                variants["ORT fp32, dynamic pads, one session"] = lambda old=old: old.embed_batch(batch)  # type: ignore[misc]
                one = OnnxEmbedder(fast.path, fast.data_config, fast.embed_dim, fast.meta, streams=1)
                spin = OnnxEmbedder(fast.path, fast.data_config, fast.embed_dim, fast.meta, spinning=True, streams=1)
                variants["ORT fp32, one session"] = lambda one=one: one.embed_batch(batch)  # type: ignore[misc]
                variants["ORT fp32, one session, spinning threads"] = lambda spin=spin: spin.embed_batch(batch)  # type: ignore[misc]
            if name == "ov-bf16":
                assert isinstance(fast, OpenVinoEmbedder)
                one_ov = OpenVinoEmbedder(fast.path, fast.data_config, fast.embed_dim, fast.meta, "bf16", streams=1)
                variants["OpenVINO bf16, one stream"] = lambda one_ov=one_ov: one_ov.embed_batch(batch)  # type: ignore[misc]
        except (FileNotFoundError, RuntimeError, ImportError) as exc:
            log.warning("%s not measured: %s", label, exc)
    matmuls = matmul_fns()
    rates = _interleaved_rates({**variants, **matmuls}, BATCH)
    rates = {name: rate / BATCH * 2.0 * MATMUL_N**3 / 1e9 if name in matmuls else rate for name, rate in rates.items()}
    torch32, numpy32 = rates.pop("matmul torch fp32"), rates.pop("matmul numpy fp32")
    matmul, matmul_bf16 = max(torch32, numpy32), rates.pop("matmul torch bf16")  # fp32: the better library
    rows = [_row(f"float32 matmul {MATMUL_N}^3 (same rounds as @{size}): torch vs numpy", torch32, numpy32,
                 "GFLOP/s"),
            _row(f"bfloat16 matmul {MATMUL_N}^3 (torch) vs the best float32 one (same rounds as @{size})",
                 matmul_bf16, matmul, "GFLOP/s"),
            _row(f"network GFLOP/photo @{size}", gflop, None, "GFLOP")]
    base = rates["eager torch"]
    for name, rate in rates.items():
        if "int8" in name:
            note = f"{rate * gflop:.0f} GFLOP/s (int8 ops: no matmul rate of the same format measured)"
        elif "bf16" in name:
            note = (f"{rate * gflop:.0f} GFLOP/s = {100 * rate * gflop / matmul_bf16:.0f}% of the bf16 matmul rate, "
                    f"{100 * rate * gflop / matmul:.0f}% of the fp32 one")
        else:
            note = f"{rate * gflop:.0f} GFLOP/s = {100 * rate * gflop / matmul:.0f}% of the best fp32 matmul rate"
        rows.append(_row(f"network @{size}: {name}", rate, base, "photos/s", note))
    return rows


def recognition_rows(path: Path, size: int, photos: list[Path]) -> list[dict[str, object]]:
    """End-to-end photos/s: fast path vs best eager torch path, same size, same faiss index."""
    from landmark.data.images import load_rgb
    from landmark.models.checkpoint import load_embedder
    from landmark.models.decode_pool import Preprocessor, iter_batches
    from landmark.models.embedding import embed, embed_batch
    from landmark.models.onnx_embedder import fast_embedder
    from landmark.models.transforms import eval_transform
    from landmark.retrieval.index import CentroidIndex

    reference = load_embedder(path).to(memory_format=torch.channels_last)
    fast = fast_embedder(path, "auto")
    pre = Preprocessor(reference.data_config, size)
    labels = np.array([f"l{i % 10}" for i in range(40)])
    index = CentroidIndex.build(
        embed(fast, photos[:40], preprocessing="numpy", batch_size=32, workers=2, image_size=size), labels)
    transform = eval_transform(reference.data_config, size)
    cores = len(os.sched_getaffinity(0))

    def eager() -> None:
        for start in range(0, len(photos), BATCH):
            chunk = torch.stack([transform(load_rgb(p)) for p in photos[start : start + BATCH]])
            index.search(embed_batch(reference, chunk.numpy()), k=1)

    def fast_path() -> None:
        for _, batch in iter_batches(photos, pre, BATCH, workers=cores):
            index.search(embed_batch(fast, batch), k=1)

    def decode_only() -> None:
        for _ in iter_batches(photos, pre, BATCH, workers=cores):
            pass

    rates = _interleaved_rates({"eager": eager, "fast": fast_path}, len(photos))
    base, rate = rates["eager"], rates["fast"]
    variant = getattr(fast, "meta", {}).get("variant", "torch")
    return [_row(f"recognition @{size}: decode+network+search", rate, base, "photos/s",
                 f"fast = {cores} decode threads + {variant} (fast_embedder auto); baseline = serial timm transform + "
                 "channels_last+inference_mode"),
            _row(f"decode+resize @{size}, {cores} threads (no network)", len(photos) / _median(decode_only),
                 None, "photos/s")]


def decode_rows(photos: list[Path], size: int) -> list[dict[str, object]]:
    """Decode alone and resize+crop alone, serial, photos/s; the timm transform as the resize baseline."""
    from landmark.data.images import load_rgb
    from landmark.models.checkpoint import read_meta
    from landmark.models.decode_pool import Preprocessor
    from landmark.models.transforms import eval_transform

    config = read_meta(checkpoint())["data_config"]
    pre, transform = Preprocessor(config, size), eval_transform(config, size)
    images = [load_rgb(p) for p in photos]
    decode = len(photos) / _median(lambda: [load_rgb(p) for p in photos])
    ours = len(photos) / _median(lambda: pre.normalise(np.stack([pre.prepare(im) for im in images])))
    timm_rate = len(photos) / _median(lambda: torch.stack([transform(im) for im in images]))
    return [_row("decode (load_rgb, 128 px PNG), 1 thread", decode, None, "photos/s"),
            _row(f"resize+crop+normalise @{size}, 1 thread", ours, timm_rate, "photos/s",
                 "baseline: timm eval transform per photo")]


def rss_child(variant: str, size: int, n: int) -> None:
    """(subprocess) Recognise n real photos with the given variant; print peak RSS in MiB."""
    from landmark.models.embedding import embed
    from landmark.models.onnx_embedder import fast_embedder
    from landmark.retrieval.index import CentroidIndex

    model = fast_embedder(checkpoint(), variant)
    photos = list(real_photos(n=n)["file"])
    emb = embed(model, photos, preprocessing="numpy", batch_size=32, workers=2, image_size=size)
    CentroidIndex.build(emb, np.array([f"l{i % 10}" for i in range(n)])).search(emb, k=1)
    # ru_maxrss survives exec (it would report the parent's peak): read this process's own VmHWM
    status = Path("/proc/self/status").read_text().splitlines()
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024.0)


def rss_rows(size: int = 224, n: int = 64) -> list[dict[str, object]]:
    """Peak RSS (MiB) of a fresh recognition process: fast path vs eager torch."""
    peaks = {}
    for variant in ("auto", "torch"):
        code = f"from bench.bench_inference import rss_child; rss_child({variant!r}, {size}, {n})"
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
        peaks[variant] = float(done.stdout.strip().splitlines()[-1])
    return [_row(f"peak RSS, recognition of {n} photos @{size}", peaks["auto"], peaks["torch"], "MiB",
                 "fresh process, model + decode + index; ratio = torch / fast", higher_is_better=False)]


def main() -> list[dict[str, object]]:
    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    path = checkpoint()
    records = checked_variants(path)
    rows = []
    for variant, record in records.items():
        rows.append(_row(f"{variant} accuracy@1 (nearest centroid, 600 real photos) vs fp32", float(record["accuracy"]),
                         float(record["fp32_accuracy"]), "accuracy",
                         f"passed={record['passed']} (max drop 1 point), cosine to fp32 mean "
                         f"{float(record['cosine_mean']):.4f}, speed-up {float(record['speedup']):.2f}; used by "
                         "fast_embedder(auto) only if passed and faster (the fastest such)"))
    photos = list(real_photos(n=N_PHOTOS)["file"])
    for size in SIZES:
        rows += network_rows(path, size)
        rows += recognition_rows(path, size, photos)
    rows += decode_rows(photos, 224)
    rows += rss_rows()
    print(__import__("bench.runner", fromlist=["table"]).table(rows))
    return rows
