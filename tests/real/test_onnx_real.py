"""The fast path on real tourist photos: fp32 ONNX and OpenVINO match torch; int8 and bf16 are used
only if they keep accuracy."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from landmark.models import onnx_export as ox
from landmark.models.array_embedder import ArrayEmbedder
from landmark.models.checkpoint import save_embedder
from landmark.models.decode_pool import Preprocessor
from landmark.models.embedder import create_embedder
from landmark.models.embedding import embed, embed_batch
from landmark.models.onnx_embedder import check_variant, fast_embedder
from landmark.params import load_params

PER_LANDMARK = 60  # 600 photos: 300 queries, so one photo is a third of a point of accuracy@1


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, repo_dir: Path) -> Path:
    torch.set_num_threads(2)
    torch.manual_seed(0)  # the 512-d neck is random: the same one whatever the tests before drew
    # at 128 px, the photos' size: the int8 / bf16 checks calibrate and compare at the model's own size
    model = create_embedder(dataclasses.replace(load_params(repo_dir / "params.yaml").backbone, image_size=128),
                            pretrained=True)
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
@pytest.mark.parametrize("variant", ["fp32", "ov-fp32"])
def test_fp32_exports_match_torch_on_real_photos(checkpoint: Path, photos: pd.DataFrame, size: int,
                                                 variant: str) -> None:
    fast, reference = fast_embedder(checkpoint, variant), fast_embedder(checkpoint, "torch")
    assert isinstance(fast, ArrayEmbedder)
    batch = Preprocessor(reference.data_config, image_size=size)(list(photos["file"][:40]))
    cosine = np.sum(fast.embed_batch(batch) * embed_batch(reference, batch), axis=1)
    assert cosine.min() >= 0.999, f"{variant}: min cosine {cosine.min():.5f} at {size} px"


@pytest.mark.parametrize("variant", ["int8", "ov-bf16"])
def test_checked_variant_keeps_accuracy_or_is_not_used(checkpoint: Path, photos: pd.DataFrame, variant: str) -> None:
    files, labels = list(photos["file"]), list(photos["landmark"])
    record = check_variant(checkpoint, variant, files, labels, calibration_size=64, seed=0, max_drop=0.01)
    assert record["fp32_accuracy"] > 0.5, record  # the pretrained network does recognise these places
    assert record["cosine_mean"] > 0.95, record
    chosen = fast_embedder(checkpoint, "auto")
    assert isinstance(chosen, ArrayEmbedder)
    if record["passed"]:
        assert record["drop"] <= 0.01 + 1e-9  # one photo in 100 is exactly the allowed point
        fast = fast_embedder(checkpoint, variant)  # its embeddings really are that accurate
        emb = embed(fast, files[:20], preprocessing="numpy", batch_size=32, workers=2)
        assert np.isfinite(emb).all()
        if record["speedup"] > 1.0:  # auto takes this one or a checked variant measured even faster
            assert chosen.meta["variant"] in ox.CHECKED_VARIANTS
    else:
        assert chosen.meta["variant"] != variant
        warnings.warn(f"{variant} is NOT used: accuracy@1 fp32 {record['fp32_accuracy']:.3f} -> "
                      f"{record['accuracy']:.3f} (drop {record['drop']:.3f} > 0.01)", stacklevel=1)
