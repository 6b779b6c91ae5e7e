"""The recognizer: embedder + centroid index + threshold (+ landmark coordinates and cities).

One CNN pass per photo, a nearest-centroid search, the location filter when the photo has a
location, and "no landmark" below the calibrated similarity threshold. When the index folder carries
reference features (references.npz, params index.verification), the top candidate landmarks are
verified geometrically (landmark.retrieval.verified_search) and the threshold applies to the
verified score. When it carries a frozen view (frozen_view.npz, params index.frozen_weight), the network
also returns the frozen ImageNet backbone's features in the same pass (torch or ONNX Runtime fp32), and
the acceptance score becomes (score + w x the view's similarity to the answered landmark) / (1 + w),
w = index.frozen_weight (landmark.retrieval.frozen_view).
Photos are decoded and
resized in a thread pool while the network runs (`landmark.models.decode_pool`); the network is the
fastest verified backend of the checkpoint (`fast_embedder`: OpenVINO bf16 / ONNX Runtime int8 /
fp32, or eager
torch, the reference).
Folder layout (artifacts/index/): index.faiss, centroids.csv, landmarks.csv, index.json
(+ references.npz with verification, + frozen_view.npz with the frozen view).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PIL import Image

from landmark.params import VerificationParams
from landmark.retrieval.frozen_view import FrozenView, ViewScore
from landmark.retrieval.geo import geo_allowed
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.threshold import Threshold, read_embedding_threshold

if TYPE_CHECKING:
    from landmark.models.array_embedder import ArrayEmbedder
    from landmark.models.embedder import Embedder
    from landmark.models.embedding import PhotoErrors
    from landmark.retrieval.reference_features import ReferenceFeatures
    from landmark.retrieval.verification import LocalFeatures

log = logging.getLogger(__name__)
GEO_CANDIDATES = 64  # centroids searched when a location filter applies
Location = tuple[float, float] | None
Photo = Image.Image | str | Path | bytes  # bytes: an encoded photo file (served requests)
Progress = Callable[[int], None]
BACKENDS = ("auto", "torch", "fp32", "int8", "ov-fp32", "ov-bf16")


def view_embedder(model_path: Path, view: ViewScore, backend: str, device: str, threads: int | None
                  ) -> Embedder | ArrayEmbedder:
    """The network of an index with a frozen view: the checkpoint with its frozen tail (one pass, rows
    [embedding | view]), on ONNX Runtime fp32 on the CPU (exported beside the checkpoint, checked
    against torch) unless backend is "torch"; int8 and OpenVINO variants of it are not built yet."""
    try:
        from landmark.models.checkpoint import load_embedder
        from landmark.models.frozen_tail import with_frozen_view
        from landmark.models.onnx_embedder import fast_embedder
    except ImportError as exc:  # the serving install has no torch
        raise RuntimeError(f"{model_path}: this index carries a frozen view, which needs torch ({exc.name}) to build "
                           "its network: install the `pipeline` extra") from exc
    model = with_frozen_view(load_embedder(model_path, device=device), view.trainable_blocks)
    if device != "cpu" or backend == "torch":
        return model
    if backend not in ("auto", "fp32"):
        log.warning("%s: the frozen view runs on ONNX Runtime fp32 or torch only: fp32, not %s", model_path, backend)
    # "auto" finds no checked variant of the view's network, so it runs fp32 or, failing that, torch
    return fast_embedder(model_path, "fp32" if backend == "fp32" else "auto", threads, model=model)


def read_view(index_dir: Path, meta: dict) -> ViewScore | None:
    """The frozen view an index folder carries (index.json's `frozen_view` + frozen_view.npz), or None."""
    recorded = meta.get("frozen_view")
    view = FrozenView.load(index_dir)
    if (recorded is None) != (view is None):
        raise ValueError(f"{index_dir}: frozen_view.npz and index.json's `frozen_view` must come together")
    if recorded is None or view is None:
        return None
    return ViewScore(view, float(recorded["weight"]), int(recorded["knn"]), int(recorded["trainable_blocks"]))


@dataclass(frozen=True)
class Prediction:
    """landmark: the answer or None ("no landmark"); candidate: the nearest allowed landmark, answered
    or not; confidence in [0, 1] (0.5 at the threshold); similarity: the candidate's acceptance score
    (CentroidIndex.search: cosine to its mean, minus its impostor mean when the index is centred);
    error: why the photo could not be used (file and reason; only with errors="report"), else None;
    error_kind: that reason as one word (`ImageDecodeError.kind`: not_an_image, truncated, empty,
    too_many_pixels, file_not_found, ...), else None; score: what the threshold was compared with (the
    similarity, or the verified score when the recognizer verifies), None for an unusable photo."""

    landmark: str | None
    confidence: float
    similarity: float
    candidate: str | None = None
    city: str | None = None
    error: str | None = None
    error_kind: str | None = None
    score: float | None = None

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
        embedder: Embedder | ArrayEmbedder | None,
        index: CentroidIndex,
        threshold: Threshold,
        landmarks: pd.DataFrame | None = None,
        geo_radius_km: float | None = None,
        model_ref: str = "",
        device: str = "cpu",
        batch_size: int = 16,  # measured fastest for ORT and OpenVINO at 128 and 224 px (docs/performance.md)
        workers: int = 2,
        references: ReferenceFeatures | None = None,
        verification: VerificationParams | None = None,
        embedding_threshold: float | None = None,
        view: ViewScore | None = None,
    ) -> None:
        self.embedder, self.index, self.threshold = embedder, index, threshold
        self.view = view  # the frozen view's second opinion, added to the acceptance score
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
        # None: no location filter (params `index.geo_radius_km` sets it in the index stage)
        self.geo_radius_km = None if geo_radius_km is None else float(geo_radius_km)
        self.model_ref = model_ref
        self.device, self.batch_size, self.workers = device, batch_size, workers
        if (references is None) != (verification is None):
            raise ValueError("verification needs both reference features and their parameters")
        self.references, self.verification = references, verification
        # the threshold for callers that only have embeddings (the landmark-index pyfunc): with verification
        # `threshold` is calibrated on the verified score, which such callers cannot compute; None: not known
        # (a verifying recognizer built without it answers, but cannot be saved)
        self.embedding_threshold: float | None = (
            float(embedding_threshold) if embedding_threshold is not None
            else None if references is not None else threshold.value)

    @property
    def verifies(self) -> bool:
        """True when answers are verified geometrically (the index carries reference features)."""
        return self.references is not None

    @property
    def backend(self) -> str:
        """The network runtime: "torch", "fp32", "int8", "ov-fp32", "ov-bf16", or "none" without an embedder."""
        if self.embedder is None:
            return "none"
        return str(getattr(self.embedder, "meta", {}).get("variant", "torch"))

    def embed(self, photos: Sequence[Photo], progress: Progress | None = None) -> np.ndarray:
        """Photos (PIL images or paths, decoded with load_rgb in decode threads) -> (N, D) float32,
        L2-normalised. Raises ImageDecodeError naming the file for a photo that cannot be used.
        progress(n) is called after each batch with the number of photos it held."""
        return self._embed(photos, progress, None)

    def embed_checked(
        self, photos: Sequence[Photo], progress: Progress | None = None
    ) -> tuple[np.ndarray, list[tuple[str, str] | None]]:
        """Like embed, but a photo that cannot be used (missing, a folder, not an image, too large)
        gets a zero row and its (kind, "<file>: <why>") in the error list; the others are embedded.
        Bytes photos are named "row <i>" in messages. Returns ((N, D) float32, N errors or None)."""
        errors: PhotoErrors = [None] * len(photos)
        return self._embed(photos, progress, errors), errors

    def _embed(self, photos: Sequence[Photo], progress: Progress | None, errors: PhotoErrors | None) -> np.ndarray:
        from landmark.models.embedding import embed

        if self.embedder is None:
            raise RuntimeError("this Recognizer has no embedder; use predict_embeddings")
        workers = min(self.workers, len(photos) - 1)  # one photo (a served request): decode it in this thread
        return embed(self.embedder, photos, preprocessing="numpy", batch_size=self.batch_size,
                     workers=max(0, workers), device=self.device, errors=errors, progress=progress)

    def predict_embeddings(
        self,
        embeddings: np.ndarray,
        locations: Sequence[Location] | None = None,
        features: Sequence[LocalFeatures | None] | None = None,
    ) -> list[Prediction]:
        """(N, D) float32 L2-normalised embeddings (+ optional (lat, lon) per photo) -> N predictions.
        features: each photo's local features (landmark.retrieval.verification.extract; None: not
        verified), required when the recognizer verifies."""
        from landmark.retrieval.verified_search import SEARCH_CENTROIDS, top_candidates

        embeddings = np.asarray(embeddings, dtype=np.float32)
        n = embeddings.shape[0]
        if n == 0:
            return []
        locations = list(locations) if locations is not None else [None] * n
        if len(locations) != n:
            raise ValueError(f"{n} photos but {len(locations)} locations")
        if self.verifies and (features is None or len(features) != n):
            raise ValueError(f"this recognizer verifies: it needs local features for each of the {n} photos")
        view_features = None
        if self.view is not None:  # rows are [embedding | frozen view] (the embedder's one pass)
            embeddings, view_features = self.view.split(embeddings)
        has_geo = (self.geo_radius_km is not None and any(loc is not None for loc in locations)
                   and bool(np.isfinite(self._lat).any()))
        k = GEO_CANDIDATES if has_geo else 1
        top = 1
        if self.verification is not None:
            k, top = max(k, SEARCH_CENTROIDS), self.verification.top_landmarks
        sims, labels = self.index.search(embeddings, k=min(self.index.index.ntotal, k))
        for i, loc in enumerate(locations):
            if has_geo and loc is not None:
                allowed = geo_allowed(loc[0], loc[1], self._lat, self._lon, float(self.geo_radius_km or 0.0))
                labels[i] = [lab if lab is not None and allowed[self._pos[lab]] else None for lab in labels[i]]
        candidates = top_candidates(sims, labels, top)
        if self.references is not None and self.verification is not None and features is not None:
            from landmark.retrieval.verified_search import verify_candidates

            got = verify_candidates(candidates, list(features), embeddings, self.references, self.verification)
            answers, scores, similarity = list(got.landmark), got.score, got.similarity
        else:
            answers = [c[0][0] if c else None for c in candidates]
            similarity = np.array([c[0][1] if c else -1.0 for c in candidates])
            scores = similarity
        if self.view is not None and view_features is not None:
            scores = self.view.fused(np.asarray(scores, dtype=np.float64), view_features, answers)
        confidence = self.threshold.confidence(scores)
        out = []
        for cand, score, sim, conf in zip(answers, scores, similarity, confidence, strict=True):
            answer = cand if cand is not None and score >= self.threshold.value else None
            out.append(Prediction(answer, float(conf), float(sim), cand, self._city.get(answer) if answer else None,
                                  score=float(score)))
        return out

    def local_features(self, photos: Sequence[Photo], errors: list[tuple[str, str] | None] | None = None
                       ) -> list[LocalFeatures | None]:
        """Each photo's local features for verification (decoded again with load_rgb; a photo with an
        error in `errors` gets None). Only for a recognizer that verifies."""
        from landmark.data.images import load_rgb
        from landmark.retrieval.verification import extract

        if self.verification is None:
            raise RuntimeError("this recognizer does not verify")
        out: list[LocalFeatures | None] = []
        for i, photo in enumerate(photos):
            if errors is not None and errors[i] is not None:
                out.append(None)
                continue
            image = photo if isinstance(photo, Image.Image) else load_rgb(photo)
            out.append(extract(image.convert("RGB"), self.verification))
        return out

    def recognize(
        self,
        photos: Sequence[Photo],
        locations: Sequence[Location] | None = None,
        errors: str = "raise",
        progress: Progress | None = None,
    ) -> list[Prediction]:
        """Photos (PIL images or paths) -> one Prediction each; one CNN pass per photo.

        errors="raise": an unusable photo raises ImageDecodeError naming it; "report": it gets a
        Prediction with landmark None, confidence 0, similarity -1 and `error` set, and the other
        photos are recognised."""
        if errors not in ("raise", "report"):
            raise ValueError(f"errors must be 'raise' or 'report', got {errors!r}")
        if errors == "raise":
            embeddings = self.embed(photos, progress)
            return self.predict_embeddings(embeddings, locations,
                                           self.local_features(photos) if self.verifies else None)
        embeddings, reasons = self.embed_checked(photos, progress)
        preds = self.predict_embeddings(embeddings, locations,
                                        self.local_features(photos, reasons) if self.verifies else None)
        return [
            p if why is None else Prediction(None, 0.0, -1.0, error=why[1], error_kind=why[0])
            for p, why in zip(preds, reasons, strict=True)
        ]

    def save(self, folder: Path, extra: dict | None = None) -> None:
        """Write index.faiss, centroids.csv, landmarks.csv and index.json (threshold, the embedding-only
        threshold, FPRs, model ref);
        with verification also references.npz, and index.json records its parameters."""
        folder = Path(folder)
        if self.embedding_threshold is None:
            raise ValueError(f"{folder}: a verifying recognizer without embedding_threshold (the threshold on the "
                             "plain similarity) cannot be saved: the landmark-index pyfunc needs it")
        self.index.save(folder)
        if self.references is not None:
            self.references.save(folder)
        if self.view is not None:
            self.view.view.save(folder)
        self.landmarks.to_csv(folder / "landmarks.csv", index=False)
        meta = {
            "threshold": self.threshold.value,
            "embedding_threshold": self.embedding_threshold,
            "calibration": self.threshold.to_dict(),
            "fprs": self.threshold.by_fpr,
            "geo_radius_km": self.geo_radius_km,
            "model": self.model_ref,
            "index": self.index.describe(),
            "verification": asdict(self.verification) if self.verification is not None else None,
            "frozen_view": self.view.describe() if self.view is not None else None,
            **(extra or {}),
        }
        (folder / "index.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))

    @classmethod
    def load(
        cls,
        index_dir: Path,
        model_path: Path | None = None,
        backend: str = "auto",
        device: str = "cpu",
        threads: int | None = None,
    ) -> Recognizer:
        """Read a saved index folder; with model_path, also the network on `backend`:
        "auto" (the fastest checked variant: ov-bf16 or int8 when its accuracy check passed and it
        was measured faster, else ONNX fp32, else torch), "fp32", "int8" (ONNX Runtime, CPU),
        "ov-fp32", "ov-bf16" (OpenVINO, CPU) or "torch" (eager reference; the only one on a
        non-CPU device). threads: ONNX Runtime intra-op threads (default: usable cores)."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        index_dir = Path(index_dir)
        meta = json.loads((index_dir / "index.json").read_text())
        view = read_view(index_dir, meta)
        embedder: Embedder | ArrayEmbedder | None = None
        if model_path is not None and view is not None:
            embedder = view_embedder(Path(model_path), view, backend, device, threads)
        elif model_path is not None:
            if device != "cpu" or backend == "torch":
                from landmark.models.checkpoint import load_embedder

                embedder = load_embedder(Path(model_path), device=device)
            else:  # the export opened from files (no torch), else exported now
                from landmark.models.exported import open_exported

                embedder = open_exported(Path(model_path), backend, threads)
                if embedder is None:
                    try:
                        from landmark.models.onnx_embedder import fast_embedder
                    except ImportError as exc:  # the serving install has no torch to export with
                        raise RuntimeError(
                            f"{model_path}: no ONNX export with its manifest beside it, and {exc.name} is not "
                            "installed to make one (install the `pipeline` extra, or copy the checkpoint's "
                            "onnx/ folder from where the index stage ran)") from exc
                    embedder = fast_embedder(Path(model_path), backend, threads)
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
        from landmark.retrieval.reference_features import ReferenceFeatures  # OpenCV: only when loading

        references = ReferenceFeatures.load(index_dir)
        recorded = meta.get("verification")
        if (references is None) != (recorded is None):
            raise ValueError(f"{index_dir}: references.npz and index.json's `verification` must come together")
        return cls(
            embedder,
            CentroidIndex.load(index_dir),
            Threshold.from_dict(meta["calibration"]),
            table,
            meta.get("geo_radius_km"),
            str(meta.get("model", model_path or "")),
            device,
            references=references,
            verification=VerificationParams(**recorded) if recorded is not None else None,
            embedding_threshold=read_embedding_threshold(meta, index_dir),
            view=view,
        )
