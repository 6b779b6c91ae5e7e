"""The plan of the sample world: which photo shows what, and under which label it is filed.

Pure and deterministic: the same (params, seed) always give the same list of `PhotoTask`s, built in
one process before any drawing starts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from landmark.data.manifest import NON_LANDMARK
from samples.render.scenes import SCENE_KINDS
from samples.render.specs import CITIES, LandmarkSpec, viewpoint_plan

NON_LANDMARK_FOLDER = "non_landmark"


@dataclass(frozen=True)
class PhotoTask:
    """One photo to draw. `landmark_index` is the landmark it truly shows (-1 for a scene)."""

    index: int
    image_id: str
    path: str  # relative to the data root
    filed: str  # the label in the manifest (a landmark name or NON_LANDMARK)
    truth: str  # what it really shows (a landmark name or NON_LANDMARK)
    landmark_index: int
    viewpoint: str  # outside / inside / detail, or the scene kind for non-landmark content
    lat: float | None
    lon: float | None
    city: str


def image_id(seed: int, index: int) -> str:
    """A stable, label-free id for photo `index` of the world `seed` (16 hex digits)."""
    return hashlib.sha1(f"sample:{seed}:{index}".encode()).hexdigest()[:16]


def _weighted_view(spec: LandmarkSpec, rng: np.random.Generator) -> str:
    plan = viewpoint_plan(spec, 20)
    return plan[int(rng.integers(0, len(plan)))]


def _scene_kinds(n: int, ordinary_share: float) -> list[str]:
    n_ordinary = round(n * ordinary_share)
    others = [k for k in SCENE_KINDS if k != "ordinary_building"]
    return ["ordinary_building"] * n_ordinary + [others[i % len(others)] for i in range(n - n_ordinary)]


def plan_world(
    specs: list[LandmarkSpec],
    photos_per_landmark: int,
    mislabel_fraction: float,
    mislabel_non_landmark_share: float,
    n_non_landmark: int,
    ordinary_building_share: float,
    seed: int,
) -> list[PhotoTask]:
    """Every photo of the world, landmark-filed photos first (grouped by filed landmark), then scenes.

    Exactly round(mislabel_fraction * n_landmarks * photos_per_landmark) landmark-filed photos are
    noise: a share `mislabel_non_landmark_share` of them show no landmark, the rest another landmark
    (half of those, when possible, one of the same city).
    """
    rng = np.random.default_rng([seed, 7002])
    n_slots = len(specs) * photos_per_landmark
    n_noise = round(mislabel_fraction * n_slots) if len(specs) > 1 else 0
    noisy = set(int(i) for i in rng.choice(n_slots, size=n_noise, replace=False)) if n_noise else set()
    tasks: list[PhotoTask] = []
    for spec in specs:
        views = viewpoint_plan(spec, photos_per_landmark)
        folder = f"images/{spec.name}"
        for j, view in enumerate(views):
            slot, index = spec.index * photos_per_landmark + j, len(tasks)
            truth_index, truth, shown = spec.index, spec.name, view
            if slot in noisy:
                if rng.random() < mislabel_non_landmark_share:
                    truth_index, truth = -1, NON_LANDMARK
                    shown = str(rng.choice(SCENE_KINDS))
                else:
                    same_city = [s for s in specs if s.city == spec.city and s.index != spec.index]
                    pool = (
                        same_city
                        if same_city and rng.random() < 0.5
                        else [s for s in specs if s.index != spec.index]
                    )
                    other = pool[int(rng.integers(0, len(pool)))]
                    truth_index, truth, shown = other.index, other.name, _weighted_view(other, rng)
            ident = image_id(seed, index)
            tasks.append(
                PhotoTask(
                    index,
                    ident,
                    f"{folder}/{ident}.jpg",
                    spec.name,
                    truth,
                    truth_index,
                    shown,
                    spec.lat,
                    spec.lon,
                    spec.city,
                )
            )
    n_cities = len({s.city for s in specs}) or 1
    for kind in _scene_kinds(n_non_landmark, ordinary_building_share):
        index = len(tasks)
        ident = image_id(seed, index)
        lat = lon = None
        city = ""
        if rng.random() < 0.5:
            city, city_lat, city_lon = CITIES[int(rng.integers(0, min(n_cities, len(CITIES))))]
            lat = round(city_lat + float(rng.uniform(-0.09, 0.09)), 6)
            lon = round(city_lon + float(rng.uniform(-0.09, 0.09)) / math.cos(math.radians(city_lat)), 6)
        tasks.append(
            PhotoTask(
                index,
                ident,
                f"images/{NON_LANDMARK_FOLDER}/{ident}.jpg",
                NON_LANDMARK,
                NON_LANDMARK,
                -1,
                kind,
                lat,
                lon,
                city,
            )
        )
    return tasks
