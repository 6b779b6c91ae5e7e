"""Embedder: shapes, normalisation, pooling, the strict weights loader, checkpoints round trip."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from landmark.models.checkpoint import load_embedder, read_meta, save_embedder
from landmark.models.embedder import create_embedder
from landmark.models.gem import GeM, gem
from landmark.models.transforms import eval_transform
from landmark.models.weights import LITE0_PACKAGE, WeightsError, lite0_state_dict, load_weights
from landmark.params import BackboneParams

torch.set_num_threads(1)

CFG = BackboneParams(name="tf_efficientnet_lite0", weights="none", pooling="gem", gem_p=3.0, embed_dim=16,
                     image_size=64)


def test_gem_matches_hand_computed_and_avg_at_p1() -> None:
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = ((1 + 8 + 27 + 64) / 4) ** (1 / 3)
    assert gem(x, 3.0).item() == pytest.approx(expected, rel=1e-5)
    assert gem(x, 1.0).item() == pytest.approx(2.5, rel=1e-5)
    module = GeM(p=3.0)
    assert module.p.requires_grad
    assert module(x).shape == (1, 1)


def test_embedder_shapes_normalised_and_data_config() -> None:
    model = create_embedder(CFG, pretrained=False)
    out = model(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, 16) and out.dtype == torch.float32
    assert torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)
    raw = model.embed_unnormalised(torch.rand(2, 3, 64, 64))
    assert raw.shape == (2, 16)
    assert model.data_config["input_size"] == [3, 64, 64]
    assert model.data_config["mean"] == [0.5, 0.5, 0.5]
    assert model.meta["backbone"]["name"] == "tf_efficientnet_lite0"


def test_embed_dim_zero_gives_pooled_backbone_features() -> None:
    model = create_embedder(dataclasses.replace(CFG, embed_dim=0, pooling="avg"), pretrained=False)
    assert model.embed_dim == 1280
    assert isinstance(model.neck, torch.nn.Identity)
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 1280)


def test_bad_pooling_is_refused() -> None:
    with pytest.raises(ValueError, match="pooling"):
        create_embedder(dataclasses.replace(CFG, pooling="max"), pretrained=False)


def test_package_weights_map_every_tensor_and_load() -> None:
    mapped = lite0_state_dict()
    assert "conv_stem.weight" in mapped and "classifier.weight" in mapped
    model = create_embedder(dataclasses.replace(CFG, weights=LITE0_PACKAGE), pretrained=True)
    assert torch.equal(model.backbone.conv_stem.weight, mapped["conv_stem.weight"])


def test_package_weights_refused_for_another_model() -> None:
    import timm

    other = timm.create_model("resnet18", pretrained=False, num_classes=0)
    with pytest.raises(WeightsError, match="fit only"):
        load_weights(other, "resnet18", LITE0_PACKAGE)


def test_local_weights_file_loads_and_wrong_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import timm
    from safetensors.torch import save_file

    source = timm.create_model("resnet18", pretrained=False, num_classes=0, global_pool="")
    good = tmp_path / "r18.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(good))
    cfg = dataclasses.replace(CFG, name="resnet18", weights=str(good))
    model = create_embedder(cfg)
    assert torch.equal(model.backbone.conv1.weight, source.conv1.weight)
    bad = tmp_path / "bad.pt"
    torch.save({"conv1.weight": torch.zeros(1)}, bad)
    with pytest.raises(WeightsError):
        create_embedder(dataclasses.replace(cfg, weights=str(bad)))
    with pytest.raises(WeightsError, match="not found"):
        create_embedder(dataclasses.replace(cfg, weights=str(tmp_path / "missing.pt")))


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_checkpoint_round_trip(tmp_path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    model = create_embedder(CFG, pretrained=False)
    with torch.no_grad():
        model.pool.p.fill_(4.0)
    path = tmp_path / f"model{suffix}"
    save_embedder(model, path, extra={"stage": 1})
    assert read_meta(path)["extra"] == {"stage": 1}
    again = load_embedder(path)
    x = torch.rand(3, 3, 64, 64)
    assert torch.allclose(model(x), again(x), atol=1e-6)
    assert again.data_config == model.data_config


def test_eval_transform_size_and_normalisation() -> None:
    from PIL import Image

    model = create_embedder(CFG, pretrained=False)
    image = Image.new("RGB", (100, 80), (255, 255, 255))
    tensor = eval_transform(model.data_config)(image)
    assert tensor.shape == (3, 64, 64)
    assert torch.allclose(tensor, torch.ones_like(tensor))  # (1 - 0.5) / 0.5
    assert eval_transform(model.data_config, 32)(image).shape == (3, 32, 32)
