"""The frozen view in the same pass (landmark.models.frozen_tail): an embedder carrying it returns its own
embedding and, beside it, exactly the frozen ImageNet embedder's features; a network whose shared layers
were trained is refused; the view survives a checkpoint round trip."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from landmark.models.checkpoint import load_embedder, save_embedder
from landmark.models.embedder import Embedder, create_embedder, frozen_embedder
from landmark.models.frozen_tail import META_KEY, with_frozen_view
from landmark.models.weights import LITE0_PACKAGE
from landmark.params import BackboneParams

torch.set_num_threads(1)
CFG = BackboneParams(name="tf_efficientnet_lite0", weights=LITE0_PACKAGE, pooling="gem", gem_p=3.0, embed_dim=16,
                     image_size=64)


def as_trained(blocks: int) -> Embedder:
    """A network as training with train.trainable_blocks = blocks leaves it: the last blocks, head and neck
    changed, everything before them still ImageNet's."""
    from landmark.training.finetune import apply_trainable_blocks

    model = create_embedder(CFG, pretrained=True)
    apply_trainable_blocks(model.backbone, blocks)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    return model.eval()


def test_one_pass_gives_the_trained_embedding_and_the_frozen_features() -> None:
    model = as_trained(2)
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        alone = model(x)
        both = with_frozen_view(model, 2)(x)
        frozen = frozen_embedder(CFG)(x)
    assert model.output_dim == 16 + 1280 and both.shape == (3, 16 + 1280)
    torch.testing.assert_close(both[:, :16], alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(both[:, 16:], frozen, atol=1e-5, rtol=1e-5)
    assert model.meta[META_KEY]["dim"] == 1280
    assert model.view is not None and not any(p.requires_grad for p in model.view.parameters())


def test_a_network_whose_shared_layers_were_trained_is_refused() -> None:
    model = as_trained(3)  # one more block trained than the view assumes
    with pytest.raises(ValueError, match="differ from the ImageNet weights"):
        with_frozen_view(model, 2)
    with pytest.raises(ValueError, match="trainable_blocks"):
        with_frozen_view(as_trained(2), 0)


def test_the_view_survives_a_checkpoint_round_trip(tmp_path: Path) -> None:
    model = with_frozen_view(as_trained(2), 2)
    save_embedder(model, tmp_path / "model.pt")
    loaded = load_embedder(tmp_path / "model.pt")
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), model(x))
    assert loaded.output_dim == model.output_dim
    plain = dataclasses.replace(CFG, embed_dim=0)
    assert frozen_embedder(plain).view is None


def test_the_onnx_export_returns_both_parts_as_torch_does(tmp_path: Path) -> None:
    from landmark.models.onnx_embedder import onnx_fp32

    model = with_frozen_view(as_trained(2), 2)
    save_embedder(model, tmp_path / "model.pt")
    onnx = onnx_fp32(model, tmp_path / "model.pt", threads=1)
    assert onnx is not None and onnx.embed_dim == 16 + 1280  # None: the export check failed
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        want = model(x).numpy()
    got = onnx.embed_batch(x.numpy())
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_the_view_does_not_change_the_sizes_the_export_is_exact_for() -> None:
    from landmark.models.onnx_export import size_multiple

    model = as_trained(2)
    plain = size_multiple(model)
    assert plain == 32 and size_multiple(with_frozen_view(model, 2)) == plain  # lite0's total stride
