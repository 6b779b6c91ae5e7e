"""The evaluation world of the real tourist photos (../shared/data/real-landmarks), with non-landmarks.

Landmark photos: the UNKNOWN landmarks are left out of training and the index (split `unknown`, they
must be rejected); every other landmark's photos are split per photo, seeded, into `query` (share
`query_share`) and `train` (database + training).

There are no real non-landmark photos, so the non-landmarks are: the natural photos bundled with
scikit-image, `crops_per_photo` random square crops each (128 px), and `n_scenes` generated
non-landmark scenes of the project's sample world (ordinary buildings, streets, nature, people,
objects; 128 px). They are split, seeded, into `train` (the softmax's non-landmark class),
`calibration` (the distance threshold) and `query` (distractors in the emulated collection). The
skimage crops are split by SOURCE photo, so crops of one photo never land in two splits.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from landmark.data.manifest import (
    NON_LANDMARK,
    SPLIT_CALIBRATION,
    SPLIT_QUERY,
    SPLIT_TRAIN,
    SPLIT_UNKNOWN,
)

log = logging.getLogger(__name__)
UNKNOWN = ("hagia_sophia", "rialto_bridge", "petronas_towers")
SKIMAGE_PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "rocket",
    "text",
    "retina",
    "colorwheel",
    "cell",
)
COLUMNS = ("image_id", "path", "landmark", "split", "source")


def skimage_crops(out: Path, per_photo: int = 8, seed: int = 0, size: int = 128) -> pd.DataFrame:
    """Random square crops of scikit-image's sample photos -> rows (image_id, path, source)."""
    import skimage.data

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in SKIMAGE_PHOTOS:
        image = Image.fromarray(np.asarray(getattr(skimage.data, name)())).convert("RGB")
        w, h = image.size
        for i in range(per_photo):
            side = int(min(w, h) * rng.uniform(0.4, 1.0))
            x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            path = out / f"{name}_{i}.png"
            image.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.BICUBIC).save(path)
            rows.append({"image_id": f"skimage-{name}-{i}", "path": str(path), "source": f"skimage:{name}"})
    return pd.DataFrame(rows)


def generated_scenes(out: Path, n: int, seed: int = 17, size: int = 128) -> pd.DataFrame:
    """`n` generated non-landmark scenes of the sample world -> rows (image_id, path, source)."""
    from landmark.params import load_params, with_overrides
    from samples.world import generate_sample_world

    sample = with_overrides(
        load_params(),
        "sample",
        seed=seed,
        n_landmarks=1,
        photos_per_landmark=1,
        n_non_landmark=n,
        image_size=size,
        mislabel_fraction=0.0,
        workers=1,
    ).sample
    generate_sample_world(out, sample, overwrite=True)
    scenes = pd.read_csv(out / "manifest.csv", dtype=str)
    scenes = scenes[scenes["landmark"] == NON_LANDMARK]
    return pd.DataFrame(
        {
            "image_id": [f"scene-{i}" for i in scenes["image_id"]],
            "path": [str(out / p) for p in scenes["path"]],
            "source": [f"scene:{i}" for i in scenes["image_id"]],
        }
    )


def split_by_source(sources: pd.Series, shares: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """(N,) split names (train | calibration | query) drawn per distinct source, shares = (train, cal)."""
    names = sorted(sources.unique())
    draw = rng.random(len(names))
    cut_train, cut_cal = shares[0], shares[0] + shares[1]
    chosen = np.where(draw < cut_train, SPLIT_TRAIN, np.where(draw < cut_cal, SPLIT_CALIBRATION, SPLIT_QUERY))
    lookup = dict(zip(names, chosen, strict=True))
    return sources.map(lookup).to_numpy(dtype=object)


def build_real_world(
    real_dir: Path,
    work_dir: Path,
    seed: int = 17,
    unknown: tuple[str, ...] = UNKNOWN,
    query_share: float = 0.3,
    non_landmark_shares: tuple[float, float] = (0.3, 0.35),
    n_scenes: int = 400,
    crops_per_photo: int = 8,
) -> pd.DataFrame:
    """The split manifest (image_id, path [absolute], landmark, split, source) of the real-photo world.

    Non-landmark photos (scenes and skimage crops, written under `work_dir`) get `non_landmark_shares`
    = (train, calibration) and the rest query. Every photo is in exactly one split."""
    work_dir, real_dir = Path(work_dir).resolve(), Path(real_dir).resolve()
    rng = np.random.default_rng(seed)
    real = pd.read_csv(Path(real_dir) / "manifest.csv", dtype=str)
    missing = set(unknown) - set(real["landmark"])
    if missing:
        raise ValueError(f"unknown landmarks not in {real_dir}: {sorted(missing)}")
    real["path"] = [str(Path(real_dir) / p) for p in real["path"]]
    real["source"] = "real:" + real["image_id"]
    real["split"] = np.where(
        real["landmark"].isin(unknown),
        SPLIT_UNKNOWN,
        np.where(rng.random(len(real)) < query_share, SPLIT_QUERY, SPLIT_TRAIN),
    )
    scenes = generated_scenes(work_dir / "scenes", n_scenes, seed=seed)
    crops = skimage_crops(work_dir / "skimage", crops_per_photo, seed=seed)
    non = pd.concat([scenes, crops], ignore_index=True).assign(landmark=NON_LANDMARK)
    non["split"] = split_by_source(non["source"], non_landmark_shares, rng)
    world = pd.concat([real[list(COLUMNS)], non[list(COLUMNS)]], ignore_index=True)
    if world["image_id"].duplicated().any() or world["path"].duplicated().any():
        raise ValueError("a photo appears twice in the real-photo world")
    counts = world.groupby(["split", world["landmark"] == NON_LANDMARK]).size().to_dict()
    log.info("real-photo world: %d photos, (split, non-landmark) -> %s", len(world), counts)
    return world
