"""Albums: a folder of photos grouped per landmark and per city (albums.json); the page a person opens is
written by `landmark.evaluation.albums_page`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landmark.retrieval.recognizer import Prediction

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def find_photos(folder: Path) -> list[Path]:
    """Photo files under `folder` (recursive), sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def group_albums(paths: Sequence[Path], predictions: Sequence[Prediction], root: Path) -> dict[str, Any]:
    """{'cities': {city: {landmark: [photo...]}}, 'landmarks': {landmark: {'city', 'photos'}},
    'no_landmark': [...], 'errors': [{'photo', 'error'}], 'counts': {...}}; photos relative to root.
    A photo whose prediction carries an error (unreadable) goes to 'errors' with the reason."""
    cities: dict[str, dict[str, list[dict[str, object]]]] = {}
    rest: list[dict[str, object]] = []
    errors: list[dict[str, object]] = []
    for path, pred in zip(paths, predictions, strict=True):
        photo = str(Path(path).relative_to(root))
        if pred.error is not None:
            errors.append({"photo": photo, "error": pred.error})
            continue
        entry = {"photo": photo, "confidence": round(pred.confidence, 4), "similarity": round(pred.similarity, 4)}
        if pred.landmark is None:
            rest.append(entry)
        else:
            cities.setdefault(pred.city or "unknown city", {}).setdefault(pred.landmark, []).append(entry)
    landmarks = {
        name: {"city": city, "photos": [e["photo"] for e in entries]}
        for city, by_landmark in cities.items()
        for name, entries in by_landmark.items()
    }
    return {
        "cities": cities,
        "landmarks": dict(sorted(landmarks.items())),
        "no_landmark": rest,
        "errors": errors,
        "counts": {
            "photos": len(paths),
            "recognised": sum(len(v["photos"]) for v in landmarks.values()),
            "no_landmark": len(rest),
            "unreadable": len(errors),
            "albums": len(landmarks),
        },
    }


def city_places(landmarks: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """city -> (lat, lon): the median over its landmarks with finite coordinates (the recognizer's
    `landmarks` table: columns landmark, city, lat, lon). Cities without coordinates are left out."""
    if landmarks is None or not {"city", "lat", "lon"} <= set(landmarks.columns):
        return {}
    frame = landmarks[["city", "lat", "lon"]].copy()
    frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
    frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce")
    frame = frame[(frame["city"].astype(str) != "") & np.isfinite(frame["lat"]) & np.isfinite(frame["lon"])]
    medians = frame.groupby(frame["city"].astype(str))[["lat", "lon"]].median()
    return {str(city): (float(row.lat), float(row.lon)) for city, row in medians.iterrows()}
