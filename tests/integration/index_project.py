"""A temporary project ready for the index stage: params, a tiny generated world, its split, the known
landmarks' training photos as the clean manifest, and the ImageNet lite0 backbone with a fresh seeded
32-d neck saved as the last training stage's model. Shared by the index-stage tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
import yaml

from landmark.data.manifest import NON_LANDMARK, SPLIT_TRAIN, read_manifest, write_manifest
from landmark.data.split import assign_splits
from landmark.models.checkpoint import save_embedder
from landmark.models.embedder import create_embedder
from landmark.params import parse_params
from samples.world import generate_sample_world


def index_project(root: Path, raw: dict[str, Any]) -> Path:
    """Write `raw` (tiny_params, adjusted by the caller) and everything the index stage reads under root."""
    raw["backbone"]["embed_dim"] = 32
    raw["embed"]["cache_dir"] = "artifacts/cache/embeddings"
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    params = parse_params(raw)
    generate_sample_world(root / "data", params.sample)
    split = assign_splits(read_manifest(root / "data" / "manifest.csv"), params.split)
    write_manifest(split, root / "artifacts" / "split" / "manifest.csv")
    # stand-in for the clean stage: the known landmarks' training photos
    clean = split[(split["split"] == SPLIT_TRAIN) & (split["landmark"] != NON_LANDMARK)]
    write_manifest(clean, root / "artifacts" / "clean" / "manifest.csv")
    stage = root / "artifacts" / "train" / f"stage_{len(params.train.stages)}"
    # the neck is random: seeded, or what the tests measure depends on what earlier tests drew
    torch.manual_seed(0)
    save_embedder(create_embedder(dataclasses.replace(params.backbone, embed_dim=32)), stage / "model.pt")
    return root
