"""ONNX export, the ONNX Runtime and OpenVINO embedders, fast_embedder and the decode pool on a tiny timm
network (random weights)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from landmark.data.images import ImageDecodeError
from landmark.models import onnx_export as ox
from landmark.models.checkpoint import save_embedder
from landmark.models.decode_pool import Preprocessor, iter_batches
from landmark.models.embedder import Embedder, create_embedder
from landmark.models.embedding import embed, embed_batch
from landmark.models.embedding_cache import model_identity
from landmark.models.onnx_embedder import (
    OnnxEmbedder,
    check_variant,
    fast_embedder,
    nearest_centroid_accuracy,
)
from landmark.models.openvino_embedder import OpenVinoEmbedder
from landmark.models.transforms import eval_transform
from landmark.params import BackboneParams

CFG = BackboneParams(name="test_efficientnet", weights="none", pooling="gem", gem_p=3.0, embed_dim=16,
                     image_size=48)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = create_embedder(CFG, pretrained=True)
    with torch.no_grad():  # a GeM exponent other than the default, and a non-trivial BN in the neck
        model.pool.p.fill_(2.5)
        model.neck[1].running_mean.uniform_(-0.1, 0.1)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_embedder(model, path)
    return path


def _photos(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    sizes = [(40, 30), (64, 64), (33, 71), (90, 50)]
    return [Image.fromarray(rng.integers(0, 256, size=(*sizes[i % 4][::-1], 3), dtype=np.uint8))
            for i in range(n)]


def test_fp32_export_matches_torch_with_dynamic_batch(checkpoint: Path) -> None:
    onnx = fast_embedder(checkpoint, "fp32")
    torch_model = fast_embedder(checkpoint, "torch")
    assert isinstance(onnx, OnnxEmbedder) and isinstance(torch_model, Embedder)
    for n, size in ((1, 48), (3, 48), (2, 64)):
        x = np.random.default_rng(n).normal(size=(n, 3, size, size)).astype(np.float32)
        got, ref = onnx.embed_batch(x), embed_batch(torch_model, x)
        assert got.shape == (n, CFG.embed_dim) and got.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert np.min(np.sum(got * ref, axis=1)) >= 0.9999
    assert onnx.embed_batch(np.zeros((0, 3, 48, 48), np.float32)).shape == (0, CFG.embed_dim)
    with pytest.raises(ValueError, match="N, 3, H, W"):
        onnx.embed_batch(np.zeros((2, 48, 48), np.float32))


def test_export_is_cached_by_model_identity(checkpoint: Path) -> None:
    model = fast_embedder(checkpoint, "torch")
    assert isinstance(model, Embedder)
    path = ox.onnx_path(checkpoint, model_identity(model), ox.FP32)
    first = fast_embedder(checkpoint, "auto")
    assert isinstance(first, OnnxEmbedder) and first.path == path and path.is_file()
    stamp = path.stat().st_mtime_ns
    assert fast_embedder(checkpoint, "auto").path == path and path.stat().st_mtime_ns == stamp
    with torch.no_grad():
        model.neck[0].weight.mul_(2.0)
    assert ox.onnx_path(checkpoint, model_identity(model), ox.FP32) != path


def test_checked_variants_need_a_passed_check(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="int8"):
        fast_embedder(checkpoint, "int8")
    target = tmp_path / "m.int8.json"
    record = ox.record_variant_check(target, ox.INT8, 0.80, 0.785)
    assert not record["passed"] and record["drop"] == pytest.approx(0.015)
    assert ox.record_variant_check(target, ox.INT8, 0.80, 0.795)["passed"]
    assert not ox.record_variant_check(target, ox.INT8, 0.80, 0.78)["passed"]
    assert ox.read_variant_check(target)["accuracy"] == 0.78
    assert ox.read_variant_check(tmp_path / "other.int8.json") is None
    with pytest.raises(ValueError, match="variant"):
        fast_embedder(checkpoint, "bf16")
    with pytest.raises(ValueError, match="checked variants"):
        ox.variant_check_path(checkpoint, "x", ox.FP32)


def test_openvino_fp32_matches_torch(checkpoint: Path) -> None:
    ov32, torch_model = fast_embedder(checkpoint, "ov-fp32"), fast_embedder(checkpoint, "torch")
    assert isinstance(ov32, OpenVinoEmbedder) and ov32.meta["variant"] == ox.OV_FP32
    for n, size in ((1, 48), (5, 48), (2, 64)):
        x = np.random.default_rng(n).normal(size=(n, 3, size, size)).astype(np.float32)
        got, ref = ov32.embed_batch(x), embed_batch(torch_model, x)
        assert got.shape == (n, CFG.embed_dim) and got.dtype == np.float32
        assert np.min(np.sum(got * ref, axis=1)) >= 0.9999
    first = ov32.embed_batch(np.ones((2, 3, 48, 48), np.float32))
    ov32.embed_batch(np.zeros((2, 3, 48, 48), np.float32))
    assert not np.allclose(first, ov32.embed_batch(np.zeros((2, 3, 48, 48), np.float32)))  # no shared buffer
    with pytest.raises(ValueError, match="N, 3, H, W"):
        ov32.embed_batch(np.zeros((2, 48, 48), np.float32))


@pytest.mark.parametrize("variant", ["fp32", "ov-fp32"])
def test_streams_give_the_embeddings_of_one_engine_in_order(checkpoint: Path, variant: str) -> None:
    """A batch split over one-thread streams returns, row for row, what the all-threads engine does."""
    streamed = fast_embedder(checkpoint, variant, threads=2)
    assert isinstance(streamed, (OnnxEmbedder, OpenVinoEmbedder)) and streamed.streams == 2
    if isinstance(streamed, OnnxEmbedder):
        single: OnnxEmbedder | OpenVinoEmbedder = OnnxEmbedder(
            streamed.path, streamed.data_config, streamed.embed_dim, streamed.meta, threads=2, streams=1)
    else:
        single = OpenVinoEmbedder(streamed.path, streamed.data_config, streamed.embed_dim, streamed.meta,
                                  threads=2, streams=1)
    for n in (1, 2, 3, 7):
        x = np.random.default_rng(n).normal(size=(n, 3, 48, 48)).astype(np.float32)
        np.testing.assert_allclose(streamed.embed_batch(x), single.embed_batch(x), atol=1e-5)
    ones = streamed.embed_batch(np.ones((4, 3, 48, 48), np.float32))
    streamed.embed_batch(np.zeros((4, 3, 48, 48), np.float32))
    assert not np.allclose(ones, streamed.embed_batch(np.zeros((4, 3, 48, 48), np.float32)))  # no shared buffer
    with pytest.raises(ValueError, match="streams"):
        OnnxEmbedder(streamed.path, streamed.data_config, streamed.embed_dim, threads=1, streams=2)


def test_same_pads_are_fixed_in_the_export_and_exact_at_multiples_of_the_stride(tmp_path: Path) -> None:
    """tf_ models pad their stride-2 convolutions TensorFlow's way, computed from the input size (a
    Shape-driven Pad chain in the plain export); the export fixes those pads and moves them into the
    convolutions, exact at sizes divisible by 32 on both runtimes, and refuses other sizes."""
    import onnx as onnx_lib

    cfg = BackboneParams(name="tf_efficientnet_lite0", weights="none", pooling="gem", gem_p=3.0, embed_dim=16,
                         image_size=64)
    torch.manual_seed(0)
    model = create_embedder(cfg, pretrained=True)
    assert ox.size_multiple(model) == 32 and ox.export_size_multiple(model) == 32
    path = tmp_path / "tf.pt"
    save_embedder(model, path)
    onnx = fast_embedder(path, "fp32", threads=2)
    assert isinstance(onnx, OnnxEmbedder) and onnx.meta["size_multiple"] == 32
    graph = onnx_lib.load(str(onnx.path)).graph

    def ancestors(producer: dict[str, Any], name: str) -> set[str]:
        """op types of everything `name` is computed from"""
        seen: dict[str, str] = {}
        todo = [name]
        while todo:
            node = producer.get(todo.pop())
            if node is not None and node.name not in seen:
                seen[node.name] = node.op_type
                todo += list(node.input)
        return set(seen.values())

    assert not [n for n in graph.node if n.op_type == "Pad"]  # moved into the convolutions
    asymmetric = [n for n in graph.node if n.op_type == "Conv"
                  and any(a.name == "pads" and list(a.ints) in ([0, 0, 1, 1], [1, 1, 2, 2]) for a in n.attribute)]
    assert len(asymmetric) == 5  # the five stride-2 convolutions: TensorFlow pads the smaller half first
    dynamic = ox.export_onnx(model, tmp_path / "dynamic.onnx", static_pads=False)
    old_graph = onnx_lib.load(str(dynamic)).graph
    producer = {out: node for node in old_graph.node for out in node.output}
    old_pads = [n for n in old_graph.node if n.op_type == "Pad"]
    assert len(old_pads) == 5 and all("Shape" in ancestors(producer, n.input[1]) for n in old_pads)
    ov32 = fast_embedder(path, "ov-fp32", threads=2)
    for size in (64, 96, 128):
        x = np.random.default_rng(size).normal(size=(3, 3, size, size)).astype(np.float32)
        np.testing.assert_allclose(onnx.embed_batch(x), embed_batch(model, x), atol=2e-5)
        np.testing.assert_allclose(ov32.embed_batch(x), embed_batch(model, x), atol=2e-5)
    with pytest.raises(ValueError, match="divisible by 32"):
        onnx.embed_batch(np.zeros((1, 3, 80, 80), np.float32))


def test_a_failed_fold_leaves_no_file_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = BackboneParams(name="tf_efficientnet_lite0", weights="none", pooling="gem", gem_p=3.0, embed_dim=16,
                         image_size=64)
    model = create_embedder(cfg, pretrained=True)

    def broken(source: Path, target: Path) -> int:
        target.write_bytes(b"half")
        raise RuntimeError("fold failed")

    monkeypatch.setattr(ox, "_fold_pads_into_convs", broken)
    with pytest.raises(RuntimeError, match="fold failed"):
        ox.export_onnx(model, tmp_path / "m.fp32.onnx")
    assert list(tmp_path.iterdir()) == []


def test_auto_takes_the_fastest_variant_whose_check_passed(checkpoint: Path) -> None:
    photos, labels = _photos(12), [f"l{i % 3}" for i in range(12)]
    files = []
    for i, image in enumerate(photos):
        files.append(checkpoint.parent / f"p{i}.png")
        image.save(files[-1])
    record = check_variant(checkpoint, ox.OV_BF16, files, labels, max_drop=1.0)
    assert record["variant"] == ox.OV_BF16 and record["passed"] and record["n_photos"] == 12
    assert record["cosine_mean"] > 0.95, record  # bf16 (or f32 where the CPU lacks bf16) stays close
    int8 = check_variant(checkpoint, ox.INT8, files, labels, calibration_size=8, max_drop=1.0)
    assert int8["calibration_photos"] == 8
    identity = model_identity(fast_embedder(checkpoint, "torch"))  # type: ignore[arg-type]

    def claim(variant: str, speedup: float, passed: bool = True) -> None:
        ox.record_variant_check(ox.variant_check_path(checkpoint, identity, variant), variant, 0.8,
                                0.8 if passed else 0.5, speedup=speedup)

    claim(ox.INT8, 1.4)
    claim(ox.OV_BF16, 2.0)
    assert fast_embedder(checkpoint, "auto").meta["variant"] == ox.OV_BF16
    claim(ox.OV_BF16, 2.0, passed=False)
    assert fast_embedder(checkpoint, "auto").meta["variant"] == ox.INT8
    claim(ox.INT8, 0.9)  # passed but slower than fp32
    assert fast_embedder(checkpoint, "auto").meta["variant"] == ox.FP32
    with pytest.raises(ValueError, match="check_variant takes"):
        check_variant(checkpoint, ox.FP32, files, labels)
    with pytest.raises(ValueError, match="at least 2 landmarks"):
        check_variant(checkpoint, ox.OV_BF16, files, ["one"] * 12)


def test_onnx_embedder_is_a_drop_in_for_embed(checkpoint: Path, preprocessing="timm", batch_size=32, workers=0) -> None:
    photos = _photos(5)
    onnx, torch_model = fast_embedder(checkpoint, "fp32"), fast_embedder(checkpoint, "torch")
    got = embed(onnx, photos, preprocessing="timm", batch_size=2, workers=0)  # type: ignore[arg-type]
    ref = embed(torch_model, photos, preprocessing="timm", batch_size=2, workers=0)  # type: ignore[arg-type]
    assert got.shape == (5, CFG.embed_dim)
    assert np.min(np.sum(got * ref, axis=1)) >= 0.9999


def test_preprocessor_reproduces_the_timm_eval_transform() -> None:
    config = {"input_size": [3, 48, 48], "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3],
              "interpolation": "bicubic", "crop_pct": 0.875}
    pre = Preprocessor(config)
    photos = _photos(4)
    reference = torch.stack([eval_transform(config)(p) for p in photos]).numpy()
    np.testing.assert_allclose(pre(photos), reference, atol=1e-5)
    pre64 = Preprocessor(config, image_size=64)
    assert pre64(photos[:1]).shape == (1, 3, 64, 64)
    np.testing.assert_allclose(pre64(photos[:1]), eval_transform(config, 64)(photos[0])[None].numpy(), atol=1e-5)


def test_iter_batches_keeps_order_and_names_a_bad_file(tmp_path: Path) -> None:
    config = {"input_size": [3, 32, 32], "mean": [0.5] * 3, "std": [0.5] * 3, "interpolation": "bilinear",
              "crop_pct": 1.0}
    pre = Preprocessor(config)
    paths = []
    for i, photo in enumerate(_photos(7)):
        paths.append(tmp_path / f"p{i}.png")
        photo.save(paths[-1])
    serial = pre(paths)
    batches = list(iter_batches(paths, pre, batch_size=3, workers=2))
    assert [list(rows) for rows, _ in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    np.testing.assert_array_equal(np.concatenate([b for _, b in batches]), serial)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ImageDecodeError, match="bad.png"):
        list(iter_batches([*paths, tmp_path / "bad.png"], pre, batch_size=4, workers=2))


def test_nearest_centroid_accuracy_by_hand() -> None:
    # two labels on two axes; one query of "b" sits on the "a" axis -> 3 of 4 queries right
    emb = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [1, 0]], dtype=np.float32)
    labels = np.array(["a"] * 4 + ["b"] * 4)
    acc = nearest_centroid_accuracy(emb, labels, seed=0)
    rng = np.random.default_rng(0)
    rng.permutation(np.arange(4))  # the queries of "a" are drawn first
    query_b = rng.permutation(np.arange(4, 8))[:2]
    expected_b = sum(1 for q in query_b if q != 7) / 2  # row 7 is the misplaced "b"
    assert acc == pytest.approx((2 + 2 * expected_b) / 4)


def test_openvino_leaves_the_signal_stack_as_it_was(checkpoint: Path) -> None:
    """OpenVINO installs its own alternate signal stack when compiling; destroyed out of order, models
    used to leave a freed one behind (SIGSEGV at the next SIGCHLD). The embedder keeps Python's."""
    import ctypes
    import gc

    from landmark.models.openvino_embedder import _SignalStack

    libc = ctypes.CDLL(None)

    def current() -> tuple[int | None, int]:
        stack = _SignalStack()
        libc.sigaltstack(None, ctypes.byref(stack))
        return stack.ss_sp, stack.ss_size

    before = current()
    first, second = fast_embedder(checkpoint, "ov-fp32"), fast_embedder(checkpoint, "ov-fp32")
    assert current() == before
    first.embed_batch(np.zeros((4, 3, 48, 48), np.float32))  # compiles the streams' model too
    assert current() == before
    del first
    gc.collect()
    assert current() == before
    del second
    gc.collect()
    assert current() == before
