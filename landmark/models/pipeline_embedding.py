"""Manifest rows -> embeddings with the pipeline's settings: the one way the stages (clean, index,
evaluate) embed photos. timm preprocessing (the stages' outputs depend on it), `embed` params
(batch size, DataLoader workers, the embedding cache), a progress bar, and the active compute engine
(landmark.compute: this process, or shards on Dask workers inside `open_engine`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from landmark.compute.distributed_embed import embed_photos
from landmark.params import EmbedParams

if TYPE_CHECKING:
    from landmark.models.array_embedder import ArrayEmbedder
    from landmark.models.embedder import Embedder


def embed_rows(
    model: Embedder | ArrayEmbedder,
    rows: pd.DataFrame,
    data_root: Path,
    settings: EmbedParams,
    *,
    use_cache: bool = True,
    desc: str = "embed",
) -> np.ndarray:
    """The photos of manifest rows (data_root / path) -> (N, D) float32, L2-normalised, in row order."""
    paths = [Path(data_root) / p for p in rows["path"]]
    cache = Path(settings.cache_dir) if use_cache and settings.cache_dir else None
    with tqdm(total=len(paths), desc=desc, unit="photo", disable=not paths) as bar:
        return embed_photos(
            model,
            paths,
            preprocessing="timm",
            batch_size=settings.batch_size,
            workers=settings.num_workers,
            cache_dir=cache,
            progress=bar.update,
        )
