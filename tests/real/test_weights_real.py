"""The packaged ImageNet weights are real: scikit-image's coffee photo is classified as espresso."""

from __future__ import annotations

import pytest
import timm
import torch
from PIL import Image

from landmark.models.embedder import data_config_for
from landmark.models.transforms import eval_transform
from landmark.models.weights import LITE0_MODEL, LITE0_PACKAGE, load_weights

ESPRESSO = 967


@pytest.mark.real
def test_coffee_is_espresso() -> None:
    skdata = pytest.importorskip("skimage.data")
    torch.set_num_threads(2)
    classifier = timm.create_model(LITE0_MODEL, pretrained=False, num_classes=1000).eval()
    load_weights(classifier, LITE0_MODEL, LITE0_PACKAGE)
    transform = eval_transform(data_config_for(classifier, 224))
    batch = transform(Image.fromarray(skdata.coffee())).unsqueeze(0)
    with torch.inference_mode():
        probs = classifier(batch).softmax(dim=1)[0]
    assert int(probs.argmax()) == ESPRESSO
    assert float(probs[ESPRESSO]) > 0.5
