"""Batch extraction: input order, equality with a direct forward, the content-hash cache."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from landmark.data.images import ImageDecodeError
from landmark.models.embedder import create_embedder
from landmark.models.embedding import embed
from landmark.models.embedding_cache import model_identity
from landmark.params import BackboneParams

torch.set_num_threads(1)

CFG = BackboneParams(name="tf_efficientnet_lite0", weights="none", pooling="gem", gem_p=3.0, embed_dim=8,
                     image_size=32)


def _photos(folder: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"p{seed}_{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


class _Counter:
    def __init__(self, model: torch.nn.Module) -> None:
        self.photos = 0
        model.register_forward_pre_hook(self)

    def __call__(self, _module, args) -> None:  # type: ignore[no-untyped-def]
        self.photos += int(args[0].shape[0])


def test_embed_timm_order_and_match_in_memory(tmp_path: Path) -> None:
    model = create_embedder(CFG, pretrained=False)
    paths = _photos(tmp_path, 5)
    emb = embed(model, paths, preprocessing="timm", batch_size=2, workers=0)
    assert emb.shape == (5, 8) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    direct = embed(model, [Image.open(p) for p in paths], preprocessing="timm", batch_size=5, workers=0)
    np.testing.assert_allclose(emb, direct, atol=1e-5)
    reversed_emb = embed(model, paths[::-1], preprocessing="timm", batch_size=3, workers=0)
    np.testing.assert_allclose(reversed_emb, emb[::-1], atol=1e-5)


def test_cache_embeds_only_new_photos(tmp_path: Path) -> None:
    model = create_embedder(CFG, pretrained=False)
    counter = _Counter(model)
    cache = tmp_path / "cache"
    first = _photos(tmp_path, 4, seed=1)
    a = embed(model, first, preprocessing="timm", batch_size=2, cache_dir=cache, workers=1)
    assert counter.photos == 4
    more = _photos(tmp_path, 3, seed=2)
    b = embed(model, first + more, preprocessing="timm", batch_size=2, cache_dir=cache, workers=0)
    assert counter.photos == 4 + 3  # only the new photos went through the model
    np.testing.assert_allclose(b[:4], a, atol=1e-6)
    renamed = tmp_path / "renamed.png"
    renamed.write_bytes(first[0].read_bytes())
    c = embed(model, [renamed], preprocessing="timm", cache_dir=cache, workers=0, batch_size=32)
    assert counter.photos == 7  # same content, other name: cached
    np.testing.assert_allclose(c[0], a[0], atol=1e-6)


def test_other_model_other_cache(tmp_path: Path) -> None:
    one = create_embedder(CFG, pretrained=False)
    two = create_embedder(dataclasses.replace(CFG, gem_p=4.0), pretrained=False)
    assert model_identity(one) != model_identity(two)
    assert model_identity(one) == model_identity(one)
    counter = _Counter(two)
    paths = _photos(tmp_path, 2)
    embed(one, paths, preprocessing="timm", cache_dir=tmp_path / "c", workers=0, batch_size=32)
    embed(two, paths, preprocessing="timm", cache_dir=tmp_path / "c", workers=0, batch_size=32)
    assert counter.photos == 2


def test_undecodable_photo_names_the_file(tmp_path: Path) -> None:
    model = create_embedder(CFG, pretrained=False)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageDecodeError, match="broken.png"):
        embed(model, [bad], preprocessing="timm", workers=0, batch_size=32)
