"""The recognizer: embedder + centroid index + threshold (+ landmark coordinates and cities).

One CNN pass per photo, a nearest-centroid search, the location filter when the photo has a
location, and "no landmark" below the calibrated similarity threshold.
Folder layout (artifacts/index/): index.faiss, centroids.csv, landmarks.csv, index.json.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

from landmark.retrieval.geo import geo_allowed
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.threshold import Threshold

if TYPE_CHECKING:
    from landmark.models.embedder import Embedder

log = logging.getLogger(__name__)
GEO_CANDIDATES = 64  # centroids searched when a location filter applies
Location = tuple[float, float] | None


@dataclass(frozen=True)
class Prediction:
    """landmark: the answer or None ("no landmark"); candidate: the nearest allowed landmark, answered
    or not; confidence in [0, 1] (0.5 at the threshold); similarity: cosine to the nearest centroid."""

    landmark: str | None
    confidence: float
    similarity: float
    candidate: str | None = None
    city: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def landmark_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Per landmark: median lat/lon of its photos (NaN when none) and its most common city."""

    def _city(values: pd.Series) -> str:
        values = values[values.astype(str) != ""]
        return str(values.mode().iloc[0]) if len(values) else ""

    frame = manifest.copy()
    for col in ("lat", "lon"):
        frame[col] = pd.to_numeric(frame.get(col, np.nan), errors="coerce")
    frame["city"] = frame.get("city", "").astype(str) if "city" in frame else ""
    table = frame.groupby("landmark").agg(lat=("lat", "median"), lon=("lon", "median"), city=("city", _city))
    return table.reset_index()


class Recognizer:
    """Answers a landmark or None per photo. embedder may be None for embedding-only use."""

    def __init__(
        self,
        embedder: Embedder | None,
        index: CentroidIndex,
        threshold: Threshold,
        landmarks: pd.DataFrame | None = None,
        geo_radius_km: float = 50.0,
        model_ref: str = "",
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        self.embedder, self.index, self.threshold = embedder, index, threshold
        names = index.landmarks
        table = landmarks if landmarks is not None else pd.DataFrame({"landmark": names})
        table = table.set_index("landmark").reindex(names)
        for col, default in (("lat", np.nan), ("lon", np.nan), ("city", "")):
            if col not in table:
                table[col] = default
        table["city"] = table["city"].fillna("").astype(str)
        self.landmarks = table.reset_index()
        self._lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(dtype=np.float64)
        self._lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(dtype=np.float64)
        self._city = {n: (c or None) for n, c in zip(names, table["city"], strict=True)}
        self._pos = {n: i for i, n in enumerate(names)}
        self.geo_radius_km, self.model_ref = float(geo_radius_km), model_ref
        self.device, self.batch_size = device, batch_size

    def embed(self, photos: Sequence[Image.Image | str | Path]) -> np.ndarray:
        """Photos (PIL images or paths, decoded with load_rgb) -> (N, D) float32, L2-normalised."""
        from landmark.data.images import load_rgb
        from landmark.models.extract import embed_images

        if self.embedder is None:
            raise RuntimeError("this Recognizer has no embedder; use predict_embeddings")
        images = [p if isinstance(p, Image.Image) else load_rgb(p) for p in photos]
        return embed_images(self.embedder, images, batch_size=self.batch_size, device=self.device)

    def predict_embeddings(
        self, embeddings: np.ndarray, locations: Sequence[Location] | None = None
    ) -> list[Prediction]:
        """(N, D) float32 L2-normalised embeddings (+ optional (lat, lon) per photo) -> N predictions."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        n = embeddings.shape[0]
        if n == 0:
            return []
        locations = list(locations) if locations is not None else [None] * n
        if len(locations) != n:
            raise ValueError(f"{n} photos but {len(locations)} locations")
        has_geo = any(loc is not None for loc in locations) and np.isfinite(self._lat).any()
        k = min(self.index.index.ntotal, GEO_CANDIDATES) if has_geo else 1
        sims, labels = self.index.search(embeddings, k=k)
        out = []
        for i in range(n):
            sim, cand = -np.inf, None
            loc = locations[i]
            allowed = (
                geo_allowed(loc[0], loc[1], self._lat, self._lon, self.geo_radius_km)
                if has_geo and loc is not None
                else None
            )
            for s, lab in zip(sims[i], labels[i], strict=True):
                if lab is not None and (allowed is None or allowed[self._pos[lab]]):
                    sim, cand = float(s), str(lab)
                    break
            conf = float(self.threshold.confidence(np.array([sim]))[0])
            answer = cand if cand is not None and sim >= self.threshold.value else None
            out.append(
                Prediction(
                    answer,
                    conf,
                    float(sim) if np.isfinite(sim) else -1.0,
                    cand,
                    self._city.get(answer) if answer else None,
                )
            )
        return out

    def recognize(
        self, photos: Sequence[Image.Image | str | Path], locations: Sequence[Location] | None = None
    ) -> list[Prediction]:
        """Photos (PIL images or paths) -> one Prediction each; one CNN pass per photo."""
        return self.predict_embeddings(self.embed(photos), locations)

    def save(self, folder: Path, extra: dict | None = None) -> None:
        """Write index.faiss, centroids.csv, landmarks.csv and index.json (threshold, FPRs, model ref)."""
        folder = Path(folder)
        self.index.save(folder)
        self.landmarks.to_csv(folder / "landmarks.csv", index=False)
        meta = {
            "threshold": self.threshold.value,
            "calibration": self.threshold.to_dict(),
            "fprs": self.threshold.by_fpr,
            "geo_radius_km": self.geo_radius_km,
            "model": self.model_ref,
            "index": self.index.describe(),
            **(extra or {}),
        }
        (folder / "index.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))

    @classmethod
    def load(cls, index_dir: Path, model_path: Path | None = None, device: str = "cpu") -> Recognizer:
        """Read a saved index folder; with model_path, also the embedder (load_embedder)."""
        index_dir = Path(index_dir)
        meta = json.loads((index_dir / "index.json").read_text())
        embedder = None
        if model_path is not None:
            from landmark.models.checkpoint import load_embedder

            embedder = load_embedder(Path(model_path), device=device)
        table_path = index_dir / "landmarks.csv"
        table = (
            pd.read_csv(table_path, dtype={"landmark": str, "city": str}, keep_default_na=False)
            if table_path.is_file()
            else None
        )
        if table is not None:
            for col in ("lat", "lon"):
                if col in table:
                    table[col] = pd.to_numeric(table[col].replace("", None), errors="coerce")
        return cls(
            embedder,
            CentroidIndex.load(index_dir),
            Threshold.from_dict(meta["calibration"]),
            table,
            float(meta.get("geo_radius_km", 50.0)),
            str(meta.get("model", model_path or "")),
            device,
        )
