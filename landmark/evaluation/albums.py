"""Albums: a folder of photos grouped per landmark and per city, as JSON and a static HTML page."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

from landmark.retrieval.recognizer import Prediction

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def find_photos(folder: Path) -> list[Path]:
    """Photo files under `folder` (recursive), sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def group_albums(paths: Sequence[Path], predictions: Sequence[Prediction], root: Path) -> dict[str, object]:
    """{'cities': {city: {landmark: [photo...]}}, 'no_landmark': [...]}; photos relative to root."""
    cities: dict[str, dict[str, list[dict[str, object]]]] = {}
    rest = []
    for path, pred in zip(paths, predictions, strict=True):
        entry = {
            "photo": str(Path(path).relative_to(root)),
            "confidence": round(pred.confidence, 4),
            "similarity": round(pred.similarity, 4),
        }
        if pred.landmark is None:
            rest.append(entry)
        else:
            cities.setdefault(pred.city or "unknown city", {}).setdefault(pred.landmark, []).append(entry)
    return {
        "cities": cities,
        "no_landmark": rest,
        "counts": {
            "photos": len(paths),
            "recognised": len(paths) - len(rest),
            "albums": sum(len(v) for v in cities.values()),
        },
    }


def _thumb(path: Path, size: int = 128) -> str:
    from landmark.data.images import load_rgb

    image = load_rgb(path)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def albums_html(albums: dict, root: Path, show_rejected: int = 24) -> str:
    """A self-contained page: one section per city, one album per landmark, base64 thumbnails."""
    esc = html.escape
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Landmark albums</title>",
        "<style>body{font-family:sans-serif;margin:2em}img{margin:2px;border-radius:4px}"
        "figure{display:inline-block;margin:4px;text-align:center;font-size:11px}</style>",
        f"<h1>Landmark albums</h1><p>{esc(str(albums['counts']))}</p>",
    ]
    for city, landmarks in sorted(albums["cities"].items()):
        parts.append(f"<h2>{esc(city)}</h2>")
        for landmark, photos in sorted(landmarks.items()):
            parts.append(f"<h3>{esc(landmark)} ({len(photos)})</h3><div>")
            for p in photos:
                parts.append(
                    f"<figure><img src='{_thumb(root / p['photo'])}' title='{esc(p['photo'])}'>"
                    f"<figcaption>{p['confidence']:.2f}</figcaption></figure>"
                )
            parts.append("</div>")
    rejected = albums["no_landmark"]
    parts.append(f"<h2>No landmark ({len(rejected)})</h2><div>")
    for p in rejected[:show_rejected]:
        parts.append(f"<img src='{_thumb(root / p['photo'], 64)}' title='{esc(p['photo'])}'>")
    parts.append("</div>")
    return "\n".join(parts)
