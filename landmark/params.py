"""params.yaml read into frozen, typed dataclasses. Defaults live in params.yaml only."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from landmark.layout import stage_start


@dataclass(frozen=True)
class SampleParams:
    """params.yaml `sample`: the generated world of the `samples` package (`python -m samples`); the
    product only parses it."""

    seed: int
    n_landmarks: int
    photos_per_landmark: int
    image_size: int
    mislabel_fraction: float
    mislabel_non_landmark_share: float
    n_non_landmark: int
    ordinary_building_share: float
    workers: int


@dataclass(frozen=True)
class ValidateParams:
    min_photos_per_landmark: int
    min_side: int
    max_side: int
    max_pixels: int
    max_file_bytes: int


@dataclass(frozen=True)
class SplitParams:
    seed: int
    query_fraction: float
    unknown_landmarks: int
    non_landmark_train: float
    non_landmark_calibration: float
    calibration_landmarks: int  # whole landmarks kept out of training and the index, for the threshold


@dataclass(frozen=True)
class BackboneParams:
    name: str
    weights: str
    pooling: str
    gem_p: float
    embed_dim: int
    image_size: int


@dataclass(frozen=True)
class EmbedParams:
    batch_size: int
    num_workers: int
    cache_dir: str


@dataclass(frozen=True)
class CleanParams:
    k: int
    edge_similarity: float
    min_cluster_size: int
    min_cluster_share: float
    duplicate_similarity: float
    num_parts: int
    mutual_knn: bool
    whiten_dim: int
    whiten_photos_per_dim: int  # the whitening keeps at most (photos fitted) / this dimensions
    cross_k: int
    cross_margin: float
    second_pass_margin: float
    twin_share: float

    def __post_init__(self) -> None:
        if self.whiten_photos_per_dim < 1:
            raise ParamsError(
                f"params.yaml: clean.whiten_photos_per_dim must be >= 1, got {self.whiten_photos_per_dim}"
            )


@dataclass(frozen=True)
class StageParams:
    epochs: int
    lr: float
    image_size: int
    after: str  # what the stage starts from: layout.stage_start(k), so that DVC's foreach can chain them


@dataclass(frozen=True)
class TrainParams:
    seed: int
    loss: str
    centre_lambda: float
    centre_alpha: float
    arcface_margin: float
    arcface_scale: float
    subcenters: int
    batch_size: int
    m_per_class: int
    non_landmark_per_batch: int
    trainable_blocks: int
    weight_decay: float
    lr_schedule: str
    num_workers: int
    curriculum: bool
    stages: tuple[StageParams, ...]
    processes: int  # training processes (DDP under torchrun) sharing each global batch; 1 = one process


FEATURES = ("sift", "rootsift", "orb")


@dataclass(frozen=True)
class VerificationParams:
    """params.yaml `index.verification`: geometric verification of the top candidate landmarks
    (landmark.retrieval.verification): local features of the query matched against a few reference
    photos of each candidate, a MAGSAC homography, the capped inlier count folded into the score."""

    enabled: bool  # the index stage stores reference features; the recognizer then verifies
    features: str  # sift | rootsift | orb
    top_landmarks: int  # candidate landmarks verified per query (by centroid similarity)
    photos_per_landmark: int  # reference photos stored per landmark, spread over its views (0 = all)
    verify_per_landmark: int  # of those, the ones nearest the query's embedding that are matched
    max_features: int  # keypoints kept per photo
    ratio: float  # Lowe's ratio test
    min_inliers: int  # fewer inliers count as none
    cap: int  # inliers beyond this add nothing
    weight: float  # score = (similarity + weight * min(inliers, cap) / cap) / (1 + weight)
    upscale: float  # photos are resized by this factor before feature extraction
    reproj_px: float  # MAGSAC reprojection threshold, pixels of the upscaled photo
    rerank: bool  # the candidate with the highest verified score becomes the answer
    seed: int  # cv2.setRNGSeed before each robust fit

    def __post_init__(self) -> None:
        if self.features not in FEATURES:
            raise ParamsError(f"params.yaml: index.verification.features must be one of {FEATURES}, "
                              f"got {self.features!r}")
        if min(self.cap, self.top_landmarks, self.verify_per_landmark) < 1 or self.photos_per_landmark < 0:
            raise ParamsError("params.yaml: index.verification cap, top_landmarks and verify_per_landmark "
                              "must be >= 1, photos_per_landmark >= 0")


@dataclass(frozen=True)
class IndexParams:
    max_centroids_per_landmark: int
    centroid_distance: float
    min_photos_per_centroid: int
    type: str
    hnsw_m: int
    hnsw_ef_search: int
    ivf_nlist: int
    ivf_nprobe: int
    pq_m: int
    target_fpr: float
    fprs: tuple[float, ...]
    geo_radius_km: float
    whiten_dim: int
    whiten_shrinkage: float
    whiten_per_landmark: int  # the whitening is fitted on at most this many photos a landmark (0 = all)
    landmark_mean: bool  # the recognizer's index also holds each landmark's mean; it alone decides acceptance
    impostor_centring: bool  # score = similarity - a row's mean similarity to its nearest other-landmark photos
    impostor_top: int  # those nearest photos (0 = all of the other landmarks' photos)
    impostor_sample: int  # database photos in that cohort at most (0 = all)
    left_out_landmarks: int  # landmarks left out one at a time to floor the threshold (0 = off; left_out.py)
    verification: VerificationParams
    dba_k: int  # database-side augmentation within each landmark: neighbours averaged in (0 = off)
    dba_alpha: float  # their weight = cosine ** dba_alpha
    frozen_weight: float  # > 0: score = (score + this x the frozen view's similarity to the answer) / (1 + this)
    frozen_knn: int  # that similarity: mean cosine of the answered landmark's this many nearest photos

    def __post_init__(self) -> None:
        if self.frozen_weight < 0 or self.frozen_knn < 1:
            raise ParamsError(f"params.yaml: index.frozen_weight must be >= 0 and index.frozen_knn >= 1, got "
                              f"{self.frozen_weight} and {self.frozen_knn}")
        if self.frozen_weight > 0 and self.verification.enabled:
            raise ParamsError("params.yaml: index.frozen_weight > 0 and index.verification.enabled cannot be on "
                              "together yet (each calibrates the threshold on its own score)")


@dataclass(frozen=True)
class EvaluateParams:
    seed: int
    landmark_share: float
    min_landmark_queries: int
    frozen_baseline: bool


@dataclass(frozen=True)
class PromotionParams:
    gap_margin: float  # promote when the lower end of the GAP difference's interval is above this
    confidence: float  # level of that interval (paired bootstrap over the collection's queries)
    bootstrap_samples: int
    max_fpr_rise: float  # ... and the FPR at the stored threshold is not higher than the champion's + this
    seed: int


ENGINES = ("local", "dask")


@dataclass(frozen=True)
class ComputeParams:
    """params.yaml `compute`: where embedding extraction, the per-landmark cleaning graphs and the centroid
    clustering run (landmark.compute). Results do not depend on it, so no DVC stage lists it."""

    engine: str  # local (this process) | dask (Dask distributed)
    address: str  # dask scheduler to connect to, e.g. tcp://10.0.0.5:8786; "" = start a LocalCluster
    workers: int  # worker processes of that LocalCluster (ignored when connecting)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ParamsError(f"params.yaml: compute.engine must be one of {ENGINES}, got {self.engine!r}")
        if self.workers < 1:
            raise ParamsError(f"params.yaml: compute.workers must be >= 1, got {self.workers}")


@dataclass(frozen=True)
class ServeParams:
    """What the registered recognizer accepts per request (recorded in its model_config)."""

    max_photos: int
    max_photo_bytes: int


@dataclass(frozen=True)
class Params:
    seed: int
    sample: SampleParams
    validate: ValidateParams
    split: SplitParams
    backbone: BackboneParams
    embed: EmbedParams
    clean: CleanParams
    train: TrainParams
    index: IndexParams
    evaluate: EvaluateParams
    promotion: PromotionParams
    serve: ServeParams
    compute: ComputeParams


class ParamsError(ValueError):
    """params.yaml is missing a key, has an unknown key or a value of the wrong type."""


T = TypeVar("T")


def _build(cls: type[T], raw: Any, where: str) -> T:
    if not isinstance(raw, dict):
        raise ParamsError(f"params.yaml: {where} must be a mapping, got {type(raw).__name__}")
    names = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(names))
    missing = sorted(set(names) - set(raw))
    if unknown or missing:
        raise ParamsError(f"params.yaml: {where}: unknown keys {unknown}, missing keys {missing}")
    values: dict[str, Any] = {}
    hints = {f.name: f.type for f in fields(cls)}  # type: ignore[arg-type]
    for name, value in raw.items():
        hint = str(hints[name])
        key = f"{where}.{name}"
        sub = _SECTIONS.get(hint)
        if sub is not None:
            values[name] = _build(sub, value, key)
        elif hint == "tuple[StageParams, ...]":
            values[name] = _curriculum_stages(value, key)
        elif hint == "tuple[float, ...]":
            values[name] = tuple(float(v) for v in value)
        elif hint == "bool":
            if not isinstance(value, bool):
                raise ParamsError(f"params.yaml: {key} must be true or false, got {value!r}")
            values[name] = value
        elif hint == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParamsError(f"params.yaml: {key} must be an integer, got {value!r}")
            values[name] = value
        elif hint == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamsError(f"params.yaml: {key} must be a number, got {value!r}")
            values[name] = float(value)
        elif hint == "str":
            if isinstance(value, dict | list):
                raise ParamsError(f"params.yaml: {key} must be a single value, got {value!r}")
            values[name] = str(value)
        else:  # a new section dataclass must be listed in _SECTIONS
            raise TypeError(f"params: {key} has type {hint}, which _build does not know")
    return cls(**values)


def _curriculum_stages(value: Any, key: str) -> tuple[StageParams, ...]:
    """train.stages: a mapping "1".."K" -> stage (dvc.yaml's `foreach` makes train@1 .. train@K of
    it); stage k's `after` must be layout.stage_start(k)."""
    if not isinstance(value, dict) or not value:
        raise ParamsError(f"params.yaml: {key} must be a non-empty mapping \"1\": {{...}}, \"2\": ...")
    names = [str(k) for k in value]
    if names != [str(i) for i in range(1, len(names) + 1)]:
        raise ParamsError(f"params.yaml: {key} keys must be \"1\" .. \"{len(names)}\" in order, got {names}")
    stages = tuple(_build(StageParams, v, f"{key}.{k}") for k, v in zip(names, value.values(), strict=True))
    for k, stage in enumerate(stages, start=1):
        if Path(stage.after) != stage_start(k):
            raise ParamsError(f"params.yaml: {key}.{k}.after must be {stage_start(k)} (what stage {k} starts "
                              f"from), got {stage.after!r}")
    return stages


_SECTIONS: dict[str, type] = {
    "SampleParams": SampleParams,
    "ValidateParams": ValidateParams,
    "SplitParams": SplitParams,
    "BackboneParams": BackboneParams,
    "EmbedParams": EmbedParams,
    "CleanParams": CleanParams,
    "TrainParams": TrainParams,
    "IndexParams": IndexParams,
    "VerificationParams": VerificationParams,
    "EvaluateParams": EvaluateParams,
    "PromotionParams": PromotionParams,
    "ServeParams": ServeParams,
    "ComputeParams": ComputeParams,
}


def parse_params(raw: dict[str, Any]) -> Params:
    """Build Params from an already-loaded mapping (for tests and overrides)."""
    return _build(Params, raw, "params")


def load_params(path: Path | str = "params.yaml") -> Params:
    """Read params.yaml into frozen dataclasses; ParamsError names the bad key."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    with path.open() as handle:
        raw = yaml.safe_load(handle)
    return parse_params(raw)


def with_overrides(params: Params, section: str, **changes: Any) -> Params:
    """A copy of params with some keys of one section replaced."""
    return dataclasses.replace(params, **{section: dataclasses.replace(getattr(params, section), **changes)})


def params_hash(params: Params) -> str:
    """A short stable hash of all parameters, for lineage tags."""
    blob = json.dumps(dataclasses.asdict(params), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
