"""The fast path on real tourist photos: fp32 ONNX matches torch; int8 is used only if it keeps accuracy."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from landmark.models import onnx_export as ox
from landmark.models.checkpoint import save_embedder
from landmark.models.decode_pool import Preprocessor, embed_photos
from landmark.models.embedder import create_embedder
from landmark.models.onnx_embedder import OnnxEmbedder, build_int8, embed_array, fast_embedder
from landmark.params import load_params

PER_LANDMARK = 60  # 600 photos: 300 queries, so one photo is a third of a point of accuracy@1


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, repo_dir: Path) -> Path:
    torch.set_num_threads(2)
    model = create_embedder(load_params(repo_dir / "params.yaml").backbone, pretrained=True)
    path = tmp_path_factory.mktemp("lite0") / "model.pt"
    save_embedder(model, path)
    return path


@pytest.fixture(scope="module")
def photos(real_landmarks_dir: Path) -> pd.DataFrame:
    manifest = pd.read_csv(real_landmarks_dir / "manifest.csv")
    manifest = manifest.sample(frac=1.0, random_state=0).groupby("landmark").head(PER_LANDMARK)
    manifest["file"] = [real_landmarks_dir / p for p in manifest["path"]]
    return manifest.reset_index(drop=True)


@pytest.mark.parametrize("size", [128, 224])
def test_fp32_onnx_matches_torch_on_real_photos(checkpoint: Path, photos: pd.DataFrame, size: int) -> None:
    onnx, reference = fast_embedder(checkpoint, "fp32"), fast_embedder(checkpoint, "torch")
    assert isinstance(onnx, OnnxEmbedder)
    batch = Preprocessor(reference.data_config, image_size=size)(list(photos["file"][:40]))
    cosine = np.sum(onnx.embed_batch(batch) * embed_array(reference, batch), axis=1)
    assert cosine.min() >= 0.999, f"min cosine {cosine.min():.5f} at {size} px"


def test_int8_keeps_accuracy_or_is_not_used(checkpoint: Path, photos: pd.DataFrame) -> None:
    files, labels = list(photos["file"]), list(photos["landmark"])
    record = build_int8(checkpoint, files, labels, calibration_size=64, seed=0, max_drop=0.01)
    assert record["fp32_accuracy"] > 0.5, record  # the pretrained network does recognise these places
    chosen = fast_embedder(checkpoint, "auto")
    assert isinstance(chosen, OnnxEmbedder)
    if record["passed"]:
        assert record["drop"] <= 0.01
        # int8 embeddings really are that accurate
        int8 = fast_embedder(checkpoint, "int8")
        assert isinstance(int8, OnnxEmbedder)
        emb = embed_photos(int8.embed_batch, files[:20], Preprocessor(int8.data_config), int8.embed_dim)
        assert np.isfinite(emb).all()
        expected = ox.INT8 if record["speedup"] > 1.0 else ox.FP32
        assert chosen.meta["variant"] == expected
    else:
        assert chosen.meta["variant"] == ox.FP32
        warnings.warn(f"int8 is NOT used: accuracy@1 fp32 {record['fp32_accuracy']:.3f} -> int8 "
                      f"{record['int8_accuracy']:.3f} (drop {record['drop']:.3f} > 0.01)", stacklevel=1)
