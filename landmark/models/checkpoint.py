"""Save and load an Embedder: weights (torch.save or safetensors) plus a JSON meta beside them.

`path` holds the state_dict; `path.with_suffix('.json')` holds the model's meta (backbone params, data
config, dims) and any `extra` the caller adds (stage, epoch, metrics, class names, ...).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from landmark.models.embedder import Embedder, create_embedder
from landmark.models.frozen_tail import META_KEY as FROZEN_VIEW
from landmark.models.frozen_tail import frozen_tail
from landmark.models.weights import read_state_dict
from landmark.params import BackboneParams

log = logging.getLogger(__name__)


def meta_path(path: Path) -> Path:
    """The JSON meta file that goes with a weights file."""
    return Path(path).with_suffix(".json")


def save_embedder(model: Embedder, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write model.state_dict() to `path` (.safetensors -> safetensors, else torch.save) and the meta JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    meta = dict(model.meta)
    if extra:
        meta["extra"] = extra
    meta_path(path).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    log.info("saved embedder to %s (+ %s)", path, meta_path(path).name)


def read_meta(path: Path) -> dict[str, Any]:
    """The meta JSON of a saved embedder."""
    target = meta_path(path)
    if not target.is_file():
        raise FileNotFoundError(f"{target}: embedder meta not found (written by save_embedder)")
    return dict(json.loads(target.read_text()))


def load_embedder(path: Path, device: str | torch.device = "cpu") -> Embedder:
    """Rebuild an Embedder from its meta and load its weights strictly (weights_only=True), in eval mode."""
    path = Path(path)
    meta = read_meta(path)
    cfg = BackboneParams(**meta["backbone"])
    model = create_embedder(cfg, pretrained=False)
    if FROZEN_VIEW in meta:  # an embedder saved with its frozen view: the tail's architecture, weights below
        model.view = frozen_tail(cfg, int(meta[FROZEN_VIEW]["shared_units"]), pretrained=False)
    model.load_state_dict(read_state_dict(path), strict=True)
    model.data_config = dict(meta.get("data_config", model.data_config))
    model.meta = meta
    return model.to(device).eval()
